/**
 * The forced-inclusion slots of a block (docs/forced-inclusion.md): the inbox entries of the height due at
 * the seal's inbox block, placed after the sealed transactions in inbox order (entry j at slot
 * txCount + j). Whether an entry can run is a pure function of its posted fields and the released round
 * secret, so the leader and every validator reach the same verdict. The checks here come first:
 *   wrong-round-key → the key its proof was checked against is not the height's round key (sk·B8),
 *                     so nobody can decrypt it
 *   hash-mismatch   → its posted fields do not hash to the encTxHash its proof was checked against (the
 *                     contract does not hash the ciphertext itself)
 * An entry that passes is opened like any sealed slot: undecryptable, commitment-mismatch, or decoded.
 */
import { toBytes32, type Hash } from "../chain/merkle";
import type { ForcedEntry } from "../chain/inbox";
import { equals, type Point } from "../crypto/babyjub";
import { encTxHash } from "../crypto/encryption";
import type { Decoded } from "./decode";
import type { SealedEntry } from "./entries";

/** The seal's inbox cut and the entries of the height due at it (`readDueEntries`), in inbox order. */
export interface ForcedBatch {
  readonly inboxBlock: bigint;
  readonly entries: readonly ForcedEntry[];
}

/** A cut with no due entry: what a block built before any entry was posted holds. */
export const noForcedEntries = (inboxBlock: bigint): ForcedBatch => ({ inboxBlock, entries: [] });

/** A forced entry after the checks: refused with its verdict, or to be opened like a sealed slot. */
export type CheckedForced =
  | { readonly open: false; readonly encTxHash: Hash; readonly verdict: Decoded & { ok: false } }
  | { readonly open: true; readonly encTxHash: Hash; readonly entry: SealedEntry & { kind: "encrypted" } };

/**
 * Checks the batch belongs to (rollupId, height) in inbox order (a caller's error otherwise: readDueEntries
 * guarantees it), then each entry against the height's round key.
 */
export function checkForcedEntries(
  batch: ForcedBatch,
  rollupId: bigint,
  height: bigint,
  roundKey: Point,
): CheckedForced[] {
  return batch.entries.map((entry, j): CheckedForced => {
    if (entry.index !== j || entry.tx.rollupId !== rollupId || entry.tx.height !== height) {
      throw new Error(
        `forced entry ${j} is entry ${entry.index} of rollup ${entry.tx.rollupId} height ${entry.tx.height}`,
      );
    }
    const claimed = toBytes32(entry.encTxHash);
    if (!equals(entry.roundKey, roundKey)) {
      const detail = "proven against another key than the height's round key";
      return { open: false, encTxHash: claimed, verdict: { ok: false, reason: "wrong-round-key", detail } };
    }
    let recomputed: bigint;
    try {
      recomputed = encTxHash(entry.tx);
    } catch (error) {
      const detail = `the posted fields cannot be hashed: ${(error as Error).message}`;
      return { open: false, encTxHash: claimed, verdict: { ok: false, reason: "hash-mismatch", detail } };
    }
    if (recomputed !== entry.encTxHash) {
      const detail = `the posted fields hash to ${toBytes32(recomputed)}`;
      return { open: false, encTxHash: claimed, verdict: { ok: false, reason: "hash-mismatch", detail } };
    }
    return {
      open: true,
      encTxHash: claimed,
      entry: { kind: "encrypted", tx: entry.tx, txCommitment: entry.txCommitment },
    };
  });
}
