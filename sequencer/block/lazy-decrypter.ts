/**
 * The block decrypter of a node or a validator: a worker-thread DecryptionPool started on the first block
 * large enough to use it (small blocks are built on the main thread), so an idle process holds no threads. It offers
 * the pool's whole per-slot work (`openBlock`: decrypt, decode, leaf data), not only decryption.
 */
import type { BlockItem, DecryptOutcome } from "../crypto/encryption";
import type { BlockDecrypter } from "./build";
import { DecryptionPool } from "./decrypt-pool";
import type { OpenTask, OpenTimings, OpenedSlot, SlotWork } from "./open-slot";

export class LazyDecrypter implements BlockDecrypter {
  private pool: DecryptionPool | undefined;

  constructor(private readonly threads: number) {}

  private started(): DecryptionPool {
    this.pool ??= new DecryptionPool({ threads: this.threads });
    return this.pool;
  }

  decryptBlock(items: readonly BlockItem[], roundSecret: bigint): Promise<DecryptOutcome[]> {
    return this.started().decryptBlock(items, roundSecret);
  }

  openBlock(
    work: readonly SlotWork[],
    options: Omit<OpenTask, "work">,
  ): Promise<{ slots: OpenedSlot[]; timings: OpenTimings }> {
    return this.started().openBlock(work, options);
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await pool?.close();
  }
}
