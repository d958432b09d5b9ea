/**
 * The node's block decrypter: a worker-thread DecryptionPool started on the first block large enough
 * to use it (small blocks decrypt on the main thread), so an idle node holds no threads.
 */
import type { BlockDecrypter } from "../block/build";
import { DecryptionPool } from "../crypto/decrypt-pool";
import type { BlockItem, DecryptOutcome } from "../crypto/encryption";

export class LazyDecrypter implements BlockDecrypter {
  private pool: DecryptionPool | undefined;

  constructor(private readonly threads: number) {}

  decryptBlock(items: readonly BlockItem[], roundSecret: bigint): Promise<DecryptOutcome[]> {
    this.pool ??= new DecryptionPool({ threads: this.threads });
    return this.pool.decryptBlock(items, roundSecret);
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await pool?.close();
  }
}
