/**
 * Decrypts a whole block on worker threads: the block is cut into one contiguous slice per thread,
 * so that every core does scalar multiplications and Poseidon permutations at once. Results come
 * back in slot order; an invalid slot is reported, never dropped.
 */
import os from "node:os";
import path from "node:path";
import { Piscina } from "piscina";
import type { DecryptTask } from "./decrypt-worker";
import type { BlockItem, DecryptOutcome } from "./encryption";

function workerEntry(): { filename: string; execArgv: string[] } {
  const ext = path.extname(__filename);
  // Under tsx or Hardhat's ts-node the parent's TypeScript hook does not reach worker threads.
  const execArgv = ext === ".ts" ? ["--require", require.resolve("tsx/cjs")] : [];
  return { filename: path.join(__dirname, `decrypt-worker${ext}`), execArgv };
}

export class DecryptionPool {
  readonly threads: number;
  private readonly pool: Piscina;

  constructor(options: { readonly threads?: number } = {}) {
    this.threads = Math.max(1, options.threads ?? os.availableParallelism());
    const { filename, execArgv } = workerEntry();
    this.pool = new Piscina({
      filename,
      name: "decryptSlice",
      execArgv,
      minThreads: this.threads,
      maxThreads: this.threads,
      concurrentTasksPerWorker: 1,
      idleTimeout: Number.POSITIVE_INFINITY,
    });
  }

  /** Decrypts every slot with the one round secret; outcome i belongs to item i. */
  async decryptBlock(items: readonly BlockItem[], roundSecret: bigint): Promise<DecryptOutcome[]> {
    const size = Math.ceil(items.length / this.threads) || 1;
    const slices: BlockItem[][] = [];
    for (let i = 0; i < items.length; i += size) slices.push(items.slice(i, i + size));
    const results = await Promise.all(
      slices.map(
        (slice) => this.pool.run({ roundSecret, items: slice } satisfies DecryptTask) as Promise<DecryptOutcome[]>,
      ),
    );
    return results.flat();
  }

  /** Runs one tiny task per thread so that each has loaded its modules before the first block. */
  async ready(): Promise<void> {
    await Promise.all(
      Array.from({ length: this.threads }, () => this.pool.run({ roundSecret: 1n, items: [] } satisfies DecryptTask)),
    );
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
