/**
 * The node's Groth16 verifier: a pool of worker threads, each with a warm BN254 curve and the
 * verification key prepared once, verifying batches with one random-linear-combination multi-pairing.
 * Generic over the circuit: give it any snarkjs verification key, or a circuit name from the manifest.
 */
import os from "node:os";
import { Piscina } from "piscina";
import { verificationKeySchema, type VerificationKeyJson } from "./batch-verify";
import { verificationKey } from "./groth16";
import type { VerifierWorkerData, VerifyItem } from "./verifier-worker";
import { workerEntry } from "../common/worker-entry";

export type { VerifyItem };

export interface VerifierPoolOptions {
  /** Worker threads (default: one per core). */
  readonly threads?: number;
  /** Largest batch handed to one worker task; larger batches are split across workers (default 64). */
  readonly maxTaskSize?: number;
}

/** Where the worker module is, and how a fresh thread can load it when we run from TypeScript sources. */
function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Keeps only the two fields a worker reads, so extra properties never travel (or fail to clone). */
function plainItem(item: VerifyItem): VerifyItem {
  return { proof: item?.proof, publicSignals: item?.publicSignals };
}

export class Groth16VerifierPool {
  readonly threads: number;
  private readonly maxTaskSize: number;
  private readonly pool: Piscina;
  private closed = false;

  /** A pool for a circuit of the manifest (reads its verification_key.json). */
  static forCircuit(circuit: string, options: VerifierPoolOptions = {}): Groth16VerifierPool {
    return new Groth16VerifierPool(verificationKey(circuit), options);
  }

  /** @param vkey a snarkjs Groth16 verification key for BN254; throws if it is malformed. */
  constructor(vkey: unknown, options: VerifierPoolOptions = {}) {
    const key: VerificationKeyJson = verificationKeySchema.parse(vkey);
    this.threads = Math.max(1, options.threads ?? os.availableParallelism());
    this.maxTaskSize = Math.max(1, options.maxTaskSize ?? 64);
    const { filename, execArgv } = workerEntry(__filename, "verifier-worker");
    const workerData: VerifierWorkerData = { vkey: key };
    this.pool = new Piscina({
      filename,
      name: "verifyBatch",
      execArgv,
      workerData,
      minThreads: this.threads,
      maxThreads: this.threads,
      // Verification is CPU-bound: one task per thread at a time, the rest waits in the queue.
      concurrentTasksPerWorker: 1,
      idleTimeout: Number.POSITIVE_INFINITY,
    });
  }

  /** Resolves when every thread has its curve and key ready (optional; the first tasks wait otherwise). */
  async ready(): Promise<void> {
    this.assertOpen();
    await Promise.all(Array.from({ length: this.threads * 2 }, () => this.pool.run(null, { name: "ready" })));
  }

  /** Verifies one proof; malformed input verifies as false. */
  async verify(proof: unknown, publicSignals: unknown): Promise<boolean> {
    const [ok] = await this.verifyBatch([{ proof, publicSignals }]);
    return ok === true;
  }

  /**
   * Verifies many proofs, one boolean per item in order. Batches larger than `maxTaskSize` are split
   * so that every thread works on a share.
   */
  async verifyBatch(items: readonly VerifyItem[]): Promise<boolean[]> {
    return this.runSplit(items, "verifyBatch");
  }

  /** Reference path: snarkjs's `groth16.verify` on each item (one pairing check per proof), on the workers. */
  async verifyEachWithSnarkjs(items: readonly VerifyItem[]): Promise<boolean[]> {
    return this.runSplit(items, "verifyEachWithSnarkjs");
  }

  /** Terminates the worker threads; pending and later calls reject. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.destroy();
  }

  private async runSplit(items: readonly VerifyItem[], name: string): Promise<boolean[]> {
    this.assertOpen();
    if (items.length === 0) return [];
    const perTask = Math.min(this.maxTaskSize, Math.ceil(items.length / this.threads));
    const parts = await Promise.all(
      chunk(items, perTask).map((part) =>
        (this.pool.run(part.map(plainItem), { name }) as Promise<boolean[]>).catch((err: unknown) => {
          if (this.closed) throw err;
          // Fail closed: input that cannot even reach a worker (e.g. not cloneable) does not verify.
          return part.map(() => false);
        }),
      ),
    );
    return parts.flat();
  }

  private assertOpen(): void {
    if (this.closed) throw new Error("verifier pool is closed");
  }
}
