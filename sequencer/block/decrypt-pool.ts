/**
 * Decrypts a whole block on worker threads: the block is cut into contiguous slices, so that every
 * core does scalar multiplications and Poseidon permutations at once. Results come back in slot
 * order; an invalid slot is reported, never dropped. `openBlock` also decodes each plaintext and
 * hashes each slot's leaf data on the workers (open-slot.ts), leaving the main thread only the
 * roots to compute. The pool is about blocks, so it lives here; the workers decrypt with the
 * crypto-only primitives of crypto/encryption.ts (crypto/ never imports block/).
 */
import os from "node:os";
import { Piscina } from "piscina";
import {
  CIPHERTEXT_ELEMENTS,
  blockHeight,
  rollupId,
  type BlockItem,
  type DecryptOutcome,
  type EncryptedTransaction,
} from "../crypto/encryption";
import type { DecryptTask } from "./decrypt-worker";
import type { OpenTask, OpenTimings, OpenedSlice, OpenedSlot, SlotWork } from "./open-slot";
import { workerEntry } from "../common/worker-entry";

/** openBlock cuts a block into about this many slices per thread (by default), of at least MIN_OPEN_SLICE slots. */
const OPEN_SLICES_PER_THREAD = 4;
const MIN_OPEN_SLICE = 16;

export class DecryptionPool {
  readonly threads: number;
  /** openBlock's slices per thread: 1 costs the fewest hand-overs, more balance a thread slowed by other work. */
  readonly slicesPerThread: number;
  private readonly pool: Piscina;

  constructor(options: { readonly threads?: number; readonly slicesPerThread?: number } = {}) {
    this.threads = Math.max(1, options.threads ?? os.availableParallelism());
    this.slicesPerThread = Math.max(1, options.slicesPerThread ?? OPEN_SLICES_PER_THREAD);
    const { filename, execArgv } = workerEntry(__filename, "decrypt-worker");
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

  /**
   * Opens every slot of a block (decrypt, decode, hash; open-slot.ts) on the workers; slot i
   * belongs to work i. Slices are smaller than one per thread so that a thread slowed down by other
   * processes on the machine takes fewer of them.
   */
  async openBlock(
    work: readonly SlotWork[],
    options: Omit<OpenTask, "work">,
  ): Promise<{ slots: OpenedSlot[]; timings: OpenTimings }> {
    const size = Math.max(MIN_OPEN_SLICE, Math.ceil(work.length / (this.threads * this.slicesPerThread)));
    const tasks: Promise<OpenedSlice>[] = [];
    for (let i = 0; i < work.length; i += size) {
      const task: OpenTask = { ...options, work: work.slice(i, i + size) };
      tasks.push(this.pool.run(task, { name: "openSlice" }) as Promise<OpenedSlice>);
    }
    const slices = await Promise.all(tasks);
    const timings: OpenTimings = { decryptMs: 0, decodeMs: 0, leafMs: 0 };
    for (const slice of slices) {
      timings.decryptMs += slice.timings.decryptMs;
      timings.decodeMs += slice.timings.decodeMs;
      timings.leafMs += slice.timings.leafMs;
    }
    return { slots: slices.flatMap((s) => s.slots), timings };
  }

  /**
   * Runs one tiny task per thread so that each has loaded its modules, built its wasm field and
   * Poseidon constants before the first block (a dummy slot: it fails to authenticate, as expected).
   */
  async ready(): Promise<void> {
    const dummy: EncryptedTransaction = {
      rollupId: rollupId(0),
      height: blockHeight(0),
      ephemeralKey: [0n, 1n],
      nonce: 0n,
      ciphertext: Array.from({ length: CIPHERTEXT_ELEMENTS }, () => 0n),
    };
    const warmUp: OpenTask = {
      roundSecret: 1n,
      chainId: undefined,
      hashLeaves: true,
      work: [{ kind: "decrypt", tx: dummy, txCommitment: 0n }],
    };
    await Promise.all(Array.from({ length: this.threads }, () => this.pool.run(warmUp, { name: "openSlice" })));
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
