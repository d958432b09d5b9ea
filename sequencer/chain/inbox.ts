/**
 * The forced-inclusion inbox (contracts/ForcedInclusionInbox.sol) as every TypeScript caller sees it: the
 * submission a client posts, the entries a builder or a validator reads back, and the one hash both sides
 * compute over an entry. Entries are read from the contract's events (the ciphertext lives only there) and
 * counted against its own `dueCount`, so that a reader never works from a partial list.
 */
import { AbiCoder, toBeHex } from "ethers";
import { keccak256Bytes } from "./keccak";
import type { Point } from "../crypto/babyjub";
import {
  blockHeight,
  encTxHash as encTxHashOf,
  rollupId as asRollupId,
  type EncryptedTransaction,
} from "../crypto/encryption";
import { toSolidity, type Groth16Proof } from "../zk/groth16";
import { txValidityPublicSignals } from "../zk/prover";
import type { ForcedInclusionInbox } from "../../typechain-types";
import type { ForcedSubmissionStruct } from "../../typechain-types/contracts/ForcedInclusionInbox";

/** An entry of the inbox as posted: the encrypted transaction, what its proof claimed, and where it sits. */
export interface ForcedEntry {
  /** Its place among the entries of its (rollup, height): its slot is the block's sealed count + index. */
  readonly index: number;
  readonly postedBlock: bigint;
  readonly sender: string;
  readonly tx: EncryptedTransaction;
  /** The encTxHash the submitter claimed and the proof was checked against (not recomputed on-chain). */
  readonly encTxHash: bigint;
  readonly txCommitment: bigint;
  /** The round key the proof was checked against (whether it is the height's key is checked at decryption). */
  readonly roundKey: Point;
}

/** A proven encrypted transaction, as a client holds it before posting it. */
export interface ProvenTransaction {
  readonly tx: EncryptedTransaction;
  readonly txCommitment: bigint;
  readonly roundKey: Point;
  readonly proof: Groth16Proof;
}

const hex32 = (v: bigint): string => toBeHex(v, 32);

/** The contract's argument for a proven transaction; its encTxHash is computed here from the ciphertext. */
export function forcedSubmission(p: ProvenTransaction): ForcedSubmissionStruct {
  const encTxHash = encTxHashOf(p.tx);
  const s = toSolidity(
    p.proof,
    txValidityPublicSignals({ encTxHash, txCommitment: p.txCommitment, roundKey: p.roundKey }),
  );
  return {
    rollupId: p.tx.rollupId,
    height: p.tx.height,
    ephemeralKey: [p.tx.ephemeralKey[0], p.tx.ephemeralKey[1]],
    nonce: p.tx.nonce,
    ciphertext: [...p.tx.ciphertext],
    encTxHash: hex32(encTxHash),
    txCommitment: hex32(p.txCommitment),
    roundKey: [p.roundKey[0], p.roundKey[1]],
    proof: { a: [...s.a], b: [[...s.b[0]], [...s.b[1]]], c: [...s.c] },
  };
}

/** keccak-256 of an entry's fields as `ForcedInclusionInbox.submissionHash` encodes them (the proof left out). */
export function submissionHash(e: Pick<ForcedEntry, "tx" | "encTxHash" | "txCommitment" | "roundKey">): string {
  const encoded = AbiCoder.defaultAbiCoder().encode(
    ["uint64", "uint64", "uint256[2]", "uint256", "uint256[]", "bytes32", "bytes32", "uint256[2]"],
    [
      e.tx.rollupId,
      e.tx.height,
      e.tx.ephemeralKey,
      e.tx.nonce,
      e.tx.ciphertext,
      hex32(e.encTxHash),
      hex32(e.txCommitment),
      e.roundKey,
    ],
  );
  return keccak256Bytes(Buffer.from(encoded.slice(2), "hex"));
}

/** The inbox's answer did not add up (missing or extra events, a gap in the indices, a hash that differs). */
export class InboxReadError extends Error {
  override readonly name = "InboxReadError";
}

/**
 * The entries of (rollupId, height) due at `inboxBlock` (posted at or before it), in inbox order. The count
 * comes from the contract's `dueCount`, the fields from its events between the first entry's block and
 * `inboxBlock` (no scan from genesis, no configured start block). The events are the contract's own, so the
 * count is what guards against a partial list; the first entry's fields are also checked against the hash
 * the contract stored, which catches any drift between this decoding and the contract's encoding.
 * `inboxBlock` must be below the provider's latest block (the contract reverts `InboxBlockNotPast`).
 */
export async function readDueEntries(
  inbox: ForcedInclusionInbox,
  rollupId: bigint,
  height: bigint,
  inboxBlock: bigint,
): Promise<ForcedEntry[]> {
  const due = Number(await inbox.dueCount(rollupId, height, inboxBlock));
  if (due === 0) return [];
  const first = await inbox.entryAt(rollupId, height, 0);
  const events = await inbox.queryFilter(
    inbox.filters.ForcedTransactionSubmitted(rollupId, height),
    Number(first.postedBlock),
    Number(inboxBlock),
  );
  const entries = events.map((ev): ForcedEntry => {
    const a = ev.args;
    return {
      index: Number(a.index),
      postedBlock: BigInt(ev.blockNumber),
      sender: a.sender,
      tx: {
        rollupId: asRollupId(a.rollupId),
        height: blockHeight(a.height),
        ephemeralKey: [a.ephemeralKey[0], a.ephemeralKey[1]],
        nonce: a.nonce,
        ciphertext: [...a.ciphertext],
      },
      encTxHash: BigInt(a.encTxHash),
      txCommitment: BigInt(a.txCommitment),
      roundKey: [a.roundKey[0], a.roundKey[1]],
    };
  });
  entries.sort((x, y) => x.index - y.index);
  if (entries.length !== due || entries.some((e, i) => e.index !== i)) {
    throw new InboxReadError(
      `inbox of rollup ${rollupId} height ${height}: ${due} entries due at block ${inboxBlock}, ${entries.length} events read`,
    );
  }
  if (first.submissionHash.toLowerCase() !== submissionHash(entries[0]!)) {
    throw new InboxReadError(`inbox entry 0 of rollup ${rollupId} height ${height}: event differs from storage`);
  }
  return entries;
}

/** Where a builder or a validator gets the forced-inclusion entries due at a seal's inbox block. */
export interface DueEntries {
  dueAt(rollupId: bigint, height: bigint, inboxBlock: bigint): Promise<ForcedEntry[]>;
}

/** The L1 inbox as a `DueEntries`: each call reads the chain (the entries of a past cut never change). */
export class InboxReader implements DueEntries {
  constructor(private readonly inbox: ForcedInclusionInbox) {}

  dueAt(rollupId: bigint, height: bigint, inboxBlock: bigint): Promise<ForcedEntry[]> {
    return readDueEntries(this.inbox, rollupId, height, inboxBlock);
  }
}
