/**
 * The per-slot work of block building that can run on a worker thread: decrypt an encrypted slot of
 * the round, decode the plaintext (or a raw slot's bytes) as a signed transaction, and compute the
 * slot's leaf data (encTxHash). Inputs and outputs are plain data (structured-clone safe), and every
 * failure is returned as data, so that the main thread rebuilds exactly what the single-thread
 * reference computes (build.ts; the property test in block-build.test.ts compares the two).
 */
import { toBytes32, type Hash } from "../chain/merkle";
import { decryptTransaction, encTxHash, prepareRoundSecret, type EncryptedTransaction } from "../crypto/encryption";
import { decodeSignedTransaction, type Decoded, type InvalidReason } from "./decode";
import { rawTxHash } from "./leaf-data";

/** What to do with one slot: open it (decrypt or decode), only hash it (another round), or both. */
export type SlotWork =
  | { readonly kind: "decrypt"; readonly tx: EncryptedTransaction; readonly txCommitment: bigint }
  | { readonly kind: "hash-only"; readonly tx: EncryptedTransaction }
  | { readonly kind: "raw"; readonly rawTx: string };

export interface OpenTask {
  readonly roundSecret: bigint;
  /** The rollup's chain id, or undefined when any chain id is accepted. */
  readonly chainId: bigint | undefined;
  /** Compute each slot's leaf data (false when the caller supplies encTxHashes). */
  readonly hashLeaves: boolean;
  readonly work: readonly SlotWork[];
}

/** Leaf data, or the message of the error that computing it raised (the build then fails with it). */
export type LeafResult = { readonly ok: true; readonly leaf: Hash } | { readonly ok: false; readonly error: string };

export interface OpenedSlot {
  /** Absent for "hash-only" work: the builder marks those slots wrong-round itself. */
  readonly verdict?: Decoded;
  /** Absent when leaves are not hashed. */
  readonly leaf?: LeafResult;
}

/** Elapsed time of each kind of work on this thread, in ms (performance.now: includes preemption). */
export interface OpenTimings {
  decryptMs: number;
  decodeMs: number;
  leafMs: number;
}

export interface OpenedSlice {
  readonly slots: OpenedSlot[];
  readonly timings: OpenTimings;
}

/** A decryption failure as the slot's reason: a plaintext that differs from its commitment, or anything else. */
export function classifyDecryptError(message: string): InvalidReason {
  return message.includes("txCommitment") ? "commitment-mismatch" : "undecryptable";
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

function leafOf(work: SlotWork): LeafResult {
  try {
    return {
      ok: true,
      leaf: work.kind === "raw" ? rawTxHash(work.rawTx) : toBytes32(encTxHash(work.tx)),
    };
  } catch (error) {
    return { ok: false, error: messageOf(error) };
  }
}

/** Opens every slot of `task` in order on this thread. */
export function openSlots(task: OpenTask): OpenedSlice {
  const secret = task.work.some((w) => w.kind === "decrypt") ? prepareRoundSecret(task.roundSecret) : undefined;
  const timings: OpenTimings = { decryptMs: 0, decodeMs: 0, leafMs: 0 };
  const slots = task.work.map((work): OpenedSlot => {
    let start = performance.now();
    const leaf = task.hashLeaves ? leafOf(work) : undefined;
    timings.leafMs += performance.now() - start;
    if (work.kind === "hash-only") return leaf === undefined ? {} : { leaf };
    let bytes: Uint8Array | string = work.kind === "raw" ? work.rawTx : "";
    if (work.kind === "decrypt") {
      start = performance.now();
      try {
        bytes = decryptTransaction(work.tx, secret!, work.txCommitment).bytes;
      } catch (error) {
        const detail = messageOf(error);
        timings.decryptMs += performance.now() - start;
        const verdict: Decoded = { ok: false, reason: classifyDecryptError(detail), detail };
        return leaf === undefined ? { verdict } : { verdict, leaf };
      }
      timings.decryptMs += performance.now() - start;
    }
    start = performance.now();
    const verdict = decodeSignedTransaction(bytes, task.chainId);
    timings.decodeMs += performance.now() - start;
    return leaf === undefined ? { verdict } : { verdict, leaf };
  });
  return { slots, timings };
}
