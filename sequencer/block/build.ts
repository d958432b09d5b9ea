/**
 * Block building (DESIGN.md step 7), one implementation for the leader and every validator: decrypt
 * each encrypted slot with the one round secret, check it against its commitment, decode it as a signed
 * Ethereum transaction, and mark a slot that fails any check invalid in place (indices never shift).
 * The sealed entries come first, then the forced-inclusion entries due at the seal's inbox block
 * (forced.ts). The output is a pure function of (rollupId, height, entries, forced entries, round secret,
 * chain id, view), so the leader and the validators compute the same slots, roots and commitment hash
 * byte for byte.
 */
import { hexlify } from "ethers";
import { structHash, typedDataDigest, type BlockCommitment, type VeilDomain } from "../chain/eip712";
import { hashLeaf, rootOfLeafHashes, MERKLE_CAPACITY, type Hash } from "../chain/merkle";
import { SUBGROUP_ORDER, equals, mulBase, type Point } from "../crypto/babyjub";
import { decryptBlock, type BlockItem, type DecryptOutcome } from "../crypto/encryption";
import { decodeSignedTransaction, type InvalidReason } from "./decode";
import type { SealedEntry } from "./entries";
import { checkForcedEntries, type ForcedBatch } from "./forced";
import { leafDataOf } from "./leaf-data";
import { classifyDecryptError, type OpenTask, type OpenTimings, type OpenedSlot, type SlotWork } from "./open-slot";
import { rawRootOf } from "./raw-root";

/** One slot of a built block. A valid slot has its raw transaction and hash; an invalid one its reason. */
export type BlockSlot =
  | {
      readonly index: number;
      readonly encTxHash: Hash;
      readonly status: "valid";
      readonly rawTx: string;
      readonly txHash: Hash;
    }
  | {
      readonly index: number;
      readonly encTxHash: Hash;
      readonly status: "invalid";
      readonly reason: InvalidReason;
      readonly detail: string;
    };

export interface BuiltBlock {
  readonly rollupId: bigint;
  readonly height: bigint;
  /** The sealed slots (`commitment.txCount`), then the forced ones (`commitment.forcedCount`). */
  readonly slots: readonly BlockSlot[];
  readonly encRoot: Hash;
  readonly rawRoot: Hash;
  readonly commitment: BlockCommitment;
  /** hashStruct(commitment): what the VSM stores as the task's commitmentHash. */
  readonly commitmentHash: Hash;
}

/**
 * Something that decrypts a block's items in order, e.g. a DecryptionPool (worker threads). One that
 * also has `openBlock` takes the whole per-slot work (decrypt, decode, leaf data) off the main thread.
 */
export interface BlockDecrypter {
  decryptBlock(items: readonly BlockItem[], roundSecret: bigint): Promise<DecryptOutcome[]>;
  openBlock?(
    work: readonly SlotWork[],
    options: Omit<OpenTask, "work">,
  ): Promise<{ slots: OpenedSlot[]; timings: OpenTimings }>;
}

/** Where buildBlock spent its time (ms): for benchmarks and metrics. */
export interface BuildTimings {
  /** "workers": decrypt, decode and leaf data on the decrypter's threads; "main-thread": all here. */
  readonly path: "workers" | "main-thread";
  /** Wall time until every slot was opened (decrypted, decoded, leaf data known). */
  readonly openMs: number;
  /** Elapsed time of each kind of work on the threads that did it, summed over them (includes time the OS gave to other processes). */
  readonly decryptMs: number;
  readonly decodeMs: number;
  readonly leafMs: number;
  /** encRoot and rawRoot from the leaf data (main thread). */
  readonly rootsMs: number;
  readonly totalMs: number;
}

export interface BuildInput {
  readonly rollupId: bigint;
  readonly height: bigint;
  /** The sealed entries, in order: the seal's `txCount` and `encRoot`. */
  readonly entries: readonly SealedEntry[];
  /** The seal's inbox block and the forced-inclusion entries due at it, placed after the sealed ones. */
  readonly forced: ForcedBatch;
  /** The round key PK of (rollupId, height) and its released secret: sk·B8 = PK is checked. */
  readonly roundKey: Point;
  readonly secretKey: bigint;
  /**
   * The view of the seal certificate the block is built under (the commitment's `viewNumber`): only the
   * commitment hash depends on it, never the slots or the roots.
   */
  readonly viewNumber: number;
  /** The rollup's chain id: transactions signed for another chain are invalid. Unchecked when absent. */
  readonly chainId?: bigint;
  /**
   * Worker threads: with `openBlock`, used when the block has at least `poolThreshold` slots to open
   * (encrypted for this round, or raw); a decrypter with only `decryptBlock` is used when it has at
   * least `poolThreshold` encrypted slots of this round.
   */
  readonly decrypter?: BlockDecrypter;
  readonly poolThreshold?: number;
  /**
   * The leaf data of each entry (`leafDataOf(entries[i])`, lower-case bytes32), when the caller has
   * already computed it from these same entries: the node from its own store (it computed each
   * encTxHash at admission), a validator after recomputing encRoot itself. TRUSTED, not recomputed:
   * only their shape and count are checked, so never pass hashes received from someone else.
   * Without them, buildBlock recomputes every leaf (on the workers when the pool is used).
   */
  readonly encTxHashes?: readonly Hash[];
  /** Called once per build with where the time went. */
  readonly onTimings?: (timings: BuildTimings) => void;
}

export class RoundSecretMismatch extends Error {
  constructor() {
    super("the round secret does not open the round key (sk·B8 ≠ PK)");
    this.name = "RoundSecretMismatch";
  }
}

const DEFAULT_POOL_THRESHOLD = 64;
const BYTES32 = /^0x[0-9a-f]{64}$/;

/** encRoot: the root of the height's tree over each entry's leaf data, as the node builds it. */
export function encRootOf(entries: readonly SealedEntry[]): Hash {
  return encRootOfLeafData(entries.map(leafDataOf));
}

/** encRoot from each entry's leaf data (e.g. the encTxHashes stored or computed on workers). */
export function encRootOfLeafData(leafData: readonly Hash[]): Hash {
  return rootOfLeafHashes(leafData.map(hashLeaf));
}

/**
 * Each entry's leaf data (`leafDataOf`), the Poseidon encTxHashes computed on the decrypter's threads
 * when it can (`openBlock`), on this thread otherwise. For a validator: recompute encRoot with
 * `encRootOfLeafData`, then pass the same array to buildBlock as `encTxHashes` so nothing is hashed twice.
 */
export async function leafDataOfEntries(
  entries: readonly SealedEntry[],
  decrypter?: BlockDecrypter,
  poolThreshold = DEFAULT_POOL_THRESHOLD,
): Promise<Hash[]> {
  const encrypted = entries.flatMap((e, index) => (e.kind === "encrypted" ? [{ index, tx: e.tx }] : []));
  const openBlock = decrypter?.openBlock?.bind(decrypter);
  if (openBlock === undefined || encrypted.length < poolThreshold) return entries.map(leafDataOf);
  // No slot is decrypted, so the round secret is never used.
  const work = encrypted.map((e): SlotWork => ({ kind: "hash-only", tx: e.tx }));
  const opened = await openBlock(work, { roundSecret: 1n, chainId: undefined, hashLeaves: true });
  if (opened.slots.length !== work.length) throw new Error("the decrypter returned a result per slot");
  const leaves = new Map(encrypted.map((e, i) => [e.index, opened.slots[i]!.leaf]));
  return entries.map((entry, index) => {
    if (entry.kind === "raw") return leafDataOf(entry);
    const leaf = leaves.get(index);
    if (leaf === undefined) throw new Error(`the decrypter returned no leaf data for slot ${index}`);
    if (!leaf.ok) throw new Error(leaf.error);
    return leaf.leaf;
  });
}

function checkedLeafData(hashes: readonly Hash[], count: number): readonly Hash[] {
  if (hashes.length !== count) throw new Error(`encTxHashes has ${hashes.length} entries, the block ${count}`);
  const bad = hashes.findIndex((h) => !BYTES32.test(h));
  if (bad >= 0) throw new Error(`encTxHashes[${bad}] is not lower-case bytes32`);
  return hashes;
}

type Verdict = { readonly ok: true; readonly rawTx: string; readonly txHash: Hash } | Invalid;
type Invalid = { readonly ok: false; readonly reason: InvalidReason; readonly detail: string };

const isInRound = (e: SealedEntry, rollupId: bigint, height: bigint): boolean =>
  e.kind === "encrypted" && e.tx.rollupId === rollupId && e.tx.height === height;

const wrongRound = (e: SealedEntry & { kind: "encrypted" }): Invalid => ({
  ok: false,
  reason: "wrong-round",
  detail: `encrypted for rollup ${e.tx.rollupId} height ${e.tx.height}`,
});

interface Opened {
  readonly leafData: readonly Hash[];
  readonly verdicts: readonly Verdict[];
  readonly path: BuildTimings["path"];
  readonly timings: OpenTimings;
}

const since = (start: number): number => performance.now() - start;

/**
 * The reference: every step on this thread (decryption optionally on a pool without openBlock), with
 * the encTxHash of crypto/encryption.ts. The worker path must give the very same block.
 */
async function openOnThisThread(input: BuildInput, usePool: boolean): Promise<Opened> {
  const { rollupId, height, entries } = input;
  const timings: OpenTimings = { decryptMs: 0, decodeMs: 0, leafMs: 0 };
  const toDecrypt: { index: number; item: BlockItem }[] = [];
  entries.forEach((e, index) => {
    if (e.kind === "encrypted" && isInRound(e, rollupId, height))
      toDecrypt.push({ index, item: { tx: e.tx, txCommitment: e.txCommitment } });
  });
  const items = toDecrypt.map((d) => d.item);
  let start = performance.now();
  const outcomes =
    usePool && input.decrypter !== undefined
      ? await input.decrypter.decryptBlock(items, input.secretKey)
      : decryptBlock(items, input.secretKey);
  timings.decryptMs = since(start);
  if (outcomes.length !== items.length) throw new Error("the decrypter returned a result per item");
  const byIndex = new Map<number, DecryptOutcome>(toDecrypt.map((d, i) => [d.index, outcomes[i]!]));

  start = performance.now();
  const leafData =
    input.encTxHashes === undefined ? entries.map(leafDataOf) : checkedLeafData(input.encTxHashes, entries.length);
  timings.leafMs = since(start);

  start = performance.now();
  const verdicts = entries.map((entry, index): Verdict => {
    let bytes: Uint8Array | string;
    if (entry.kind === "raw") bytes = entry.rawTx;
    else {
      const outcome = byIndex.get(index);
      if (outcome === undefined) return wrongRound(entry);
      if (!outcome.ok) return { ok: false, reason: classifyDecryptError(outcome.error), detail: outcome.error };
      bytes = outcome.bytes;
    }
    return decodeSignedTransaction(typeof bytes === "string" ? bytes : hexlify(bytes), input.chainId);
  });
  timings.decodeMs = since(start);
  return { leafData, verdicts, path: "main-thread", timings };
}

/** The fast path: the decrypter's threads decrypt, decode and hash; this thread only reassembles. */
async function openOnWorkers(input: BuildInput, openBlock: NonNullable<BlockDecrypter["openBlock"]>): Promise<Opened> {
  const { rollupId, height, entries } = input;
  const given = input.encTxHashes === undefined ? undefined : checkedLeafData(input.encTxHashes, entries.length);
  const hashLeaves = given === undefined;
  // Slots of another round need no work at all unless their leaf data is to be computed.
  const sent: number[] = [];
  const work: SlotWork[] = [];
  entries.forEach((e, index) => {
    if (e.kind === "raw") work.push({ kind: "raw", rawTx: e.rawTx });
    else if (isInRound(e, rollupId, height)) work.push({ kind: "decrypt", tx: e.tx, txCommitment: e.txCommitment });
    else if (hashLeaves) work.push({ kind: "hash-only", tx: e.tx });
    else return;
    sent.push(index);
  });
  const opened = await openBlock(work, { roundSecret: input.secretKey, chainId: input.chainId, hashLeaves });
  if (opened.slots.length !== work.length) throw new Error("the decrypter returned a result per slot");
  const bySlot = new Map<number, OpenedSlot>(sent.map((index, i) => [index, opened.slots[i]!]));

  const leafData = entries.map((_, index): Hash => {
    if (given !== undefined) return given[index]!;
    const leaf = bySlot.get(index)?.leaf;
    if (leaf === undefined) throw new Error(`the decrypter returned no leaf data for slot ${index}`);
    if (!leaf.ok) throw new Error(leaf.error);
    return leaf.leaf;
  });
  const verdicts = entries.map((entry, index): Verdict => {
    const verdict = bySlot.get(index)?.verdict;
    if (verdict !== undefined) return verdict;
    if (entry.kind === "encrypted" && !isInRound(entry, rollupId, height)) return wrongRound(entry);
    throw new Error(`the decrypter returned no verdict for slot ${index}`);
  });
  return { leafData, verdicts, path: "workers", timings: opened.timings };
}

export async function buildBlock(input: BuildInput): Promise<BuiltBlock> {
  const started = performance.now();
  const { rollupId, height, entries } = input;
  const txCount = entries.length;
  if (txCount + input.forced.entries.length > MERKLE_CAPACITY) {
    throw new Error(`a block holds at most ${MERKLE_CAPACITY} slots, sealed and forced`);
  }
  if (input.secretKey <= 0n || input.secretKey >= SUBGROUP_ORDER || !equals(mulBase(input.secretKey), input.roundKey)) {
    throw new RoundSecretMismatch();
  }
  // Forced entries that pass their own checks are opened with the sealed ones, their leaf data known (the
  // encTxHash they were checked to hash to); the others keep their verdict.
  const forced = checkForcedEntries(input.forced, rollupId, height, input.roundKey);
  const toOpen = forced.flatMap((f) => (f.open ? [f] : []));
  const all: BuildInput = {
    ...input,
    entries: [...entries, ...toOpen.map((f) => f.entry)],
    ...(input.encTxHashes === undefined
      ? {}
      : { encTxHashes: [...checkedLeafData(input.encTxHashes, txCount), ...toOpen.map((f) => f.encTxHash)] }),
  };
  const threshold = input.poolThreshold ?? DEFAULT_POOL_THRESHOLD;
  const encrypted = all.entries.filter((e) => isInRound(e, rollupId, height)).length;
  const raw = all.entries.filter((e) => e.kind === "raw").length;
  const openBlock = input.decrypter?.openBlock?.bind(input.decrypter);
  const opened =
    openBlock !== undefined && encrypted + raw >= threshold
      ? await openOnWorkers(all, openBlock)
      : await openOnThisThread(all, input.decrypter !== undefined && encrypted >= threshold);
  const openMs = since(started);

  const slotOf = (index: number, encTxHash: Hash, verdict: Verdict): BlockSlot =>
    verdict.ok
      ? { index, encTxHash, status: "valid", rawTx: verdict.rawTx, txHash: verdict.txHash }
      : { index, encTxHash, status: "invalid", reason: verdict.reason, detail: verdict.detail };
  const slots = entries.map((_, index) => slotOf(index, opened.leafData[index]!, opened.verdicts[index]!));
  let next = txCount;
  for (const [j, f] of forced.entries()) {
    slots.push(slotOf(txCount + j, f.encTxHash, f.open ? opened.verdicts[next++]! : f.verdict));
  }

  const rootsStart = performance.now();
  const encRoot = encRootOfLeafData(opened.leafData.slice(0, txCount));
  const rawRoot = rawRootOf(slots.map((s) => (s.status === "valid" ? { txHash: s.txHash } : {})));
  const rootsMs = since(rootsStart);
  const commitment: BlockCommitment = {
    rollupId,
    height,
    txCount,
    encRoot,
    inboxBlock: input.forced.inboxBlock,
    forcedCount: forced.length,
    rawRoot,
    viewNumber: input.viewNumber,
  };
  const block: BuiltBlock = {
    rollupId,
    height,
    slots,
    encRoot,
    rawRoot,
    commitment,
    commitmentHash: structHash("BlockCommitment", commitment),
  };
  input.onTimings?.({ path: opened.path, openMs, ...opened.timings, rootsMs, totalMs: since(started) });
  return block;
}

/** The EIP-712 digest the leader signs for a built block's commitment in `domain`. */
export function commitmentDigest(block: BuiltBlock, domain: VeilDomain): Hash {
  return typedDataDigest(domain, "BlockCommitment", block.commitment);
}

/** The ordered raw transactions of the valid slots: what the rollup executes, in slot order. */
export function rawTransactionsOf(block: BuiltBlock): string[] {
  return block.slots.flatMap((s) => (s.status === "valid" ? [s.rawTx] : []));
}
