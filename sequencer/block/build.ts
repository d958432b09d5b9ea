/**
 * Block building (DESIGN.md step 7), one implementation for the leader and every validator: decrypt
 * each encrypted slot with the one round secret, check it against its commitment, decode it as a signed
 * Ethereum transaction, and mark a slot that fails any check invalid in place (indices never shift).
 * The output is a pure function of (rollupId, height, entries, round secret, chain id), so the leader
 * and the validators compute the same slots, roots and commitment hash byte for byte.
 */
import { hexlify } from "ethers";
import { structHash, typedDataDigest, type BlockCommitment, type VeilDomain } from "../chain/eip712";
import { hashLeaf, rootOfLeafHashes, MERKLE_CAPACITY, type Hash } from "../chain/merkle";
import { SUBGROUP_ORDER, equals, mulBase, type Point } from "../crypto/babyjub";
import { decryptBlock, type BlockItem, type DecryptOutcome } from "../crypto/encryption";
import { decodeSignedTransaction, type InvalidReason } from "./decode";
import { leafDataOf, type SealedEntry } from "./entries";
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
  readonly slots: readonly BlockSlot[];
  readonly encRoot: Hash;
  readonly rawRoot: Hash;
  readonly commitment: BlockCommitment;
  /** hashStruct(commitment): what the VSM stores as the task's commitmentHash. */
  readonly commitmentHash: Hash;
}

/** Something that decrypts a block's items in order, e.g. a DecryptionPool (worker threads). */
export interface BlockDecrypter {
  decryptBlock(items: readonly BlockItem[], roundSecret: bigint): Promise<DecryptOutcome[]>;
}

export interface BuildInput {
  readonly rollupId: bigint;
  readonly height: bigint;
  readonly entries: readonly SealedEntry[];
  /** The round key PK of (rollupId, height) and its released secret: sk·B8 = PK is checked. */
  readonly roundKey: Point;
  readonly secretKey: bigint;
  /** The rollup's chain id: transactions signed for another chain are invalid. Unchecked when absent. */
  readonly chainId?: bigint;
  /** Decrypts on worker threads when given and the block has at least `poolThreshold` encrypted slots. */
  readonly decrypter?: BlockDecrypter;
  readonly poolThreshold?: number;
}

export class RoundSecretMismatch extends Error {
  constructor() {
    super("the round secret does not open the round key (sk·B8 ≠ PK)");
    this.name = "RoundSecretMismatch";
  }
}

const DEFAULT_POOL_THRESHOLD = 64;

/** encRoot: the root of the height's tree over each entry's leaf data, as the node builds it. */
export function encRootOf(entries: readonly SealedEntry[]): Hash {
  return rootOfLeafHashes(entries.map((e) => hashLeaf(leafDataOf(e))));
}

function classifyDecryptError(message: string): InvalidReason {
  return message.includes("txCommitment") ? "commitment-mismatch" : "undecryptable";
}

export async function buildBlock(input: BuildInput): Promise<BuiltBlock> {
  const { rollupId, height, entries } = input;
  if (entries.length > MERKLE_CAPACITY) throw new Error(`a block holds at most ${MERKLE_CAPACITY} entries`);
  if (input.secretKey <= 0n || input.secretKey >= SUBGROUP_ORDER || !equals(mulBase(input.secretKey), input.roundKey)) {
    throw new RoundSecretMismatch();
  }

  // Decrypt every encrypted slot of this round in one pass; slots of another round are not decrypted.
  const inRound = (e: SealedEntry): boolean =>
    e.kind === "encrypted" && e.tx.rollupId === rollupId && e.tx.height === height;
  const toDecrypt: { index: number; item: BlockItem }[] = [];
  entries.forEach((e, index) => {
    if (e.kind === "encrypted" && inRound(e))
      toDecrypt.push({ index, item: { tx: e.tx, txCommitment: e.txCommitment } });
  });
  const items = toDecrypt.map((d) => d.item);
  const usePool = input.decrypter !== undefined && items.length >= (input.poolThreshold ?? DEFAULT_POOL_THRESHOLD);
  const outcomes = usePool
    ? await input.decrypter.decryptBlock(items, input.secretKey)
    : decryptBlock(items, input.secretKey);
  if (outcomes.length !== items.length) throw new Error("the decrypter returned a result per item");
  const byIndex = new Map<number, DecryptOutcome>(toDecrypt.map((d, i) => [d.index, outcomes[i]!]));

  const slots = entries.map((entry, index): BlockSlot => {
    const encTxHash = leafDataOf(entry);
    const invalid = (reason: InvalidReason, detail: string): BlockSlot => ({
      index,
      encTxHash,
      status: "invalid",
      reason,
      detail,
    });
    let bytes: Uint8Array | string;
    if (entry.kind === "raw") bytes = entry.rawTx;
    else {
      const outcome = byIndex.get(index);
      if (outcome === undefined)
        return invalid("wrong-round", `encrypted for rollup ${entry.tx.rollupId} height ${entry.tx.height}`);
      if (!outcome.ok) return invalid(classifyDecryptError(outcome.error), outcome.error);
      bytes = outcome.bytes;
    }
    const decoded = decodeSignedTransaction(typeof bytes === "string" ? bytes : hexlify(bytes), input.chainId);
    if (!decoded.ok) return invalid(decoded.reason, decoded.detail);
    return { index, encTxHash, status: "valid", rawTx: decoded.rawTx, txHash: decoded.txHash };
  });

  const encRoot = rootOfLeafHashes(slots.map((s) => hashLeaf(s.encTxHash)));
  const rawRoot = rawRootOf(slots.map((s) => (s.status === "valid" ? { txHash: s.txHash } : {})));
  const commitment: BlockCommitment = { rollupId, height, txCount: slots.length, encRoot, rawRoot };
  return {
    rollupId,
    height,
    slots,
    encRoot,
    rawRoot,
    commitment,
    commitmentHash: structHash("BlockCommitment", commitment),
  };
}

/** The EIP-712 digest the leader signs for a built block's commitment in `domain`. */
export function commitmentDigest(block: BuiltBlock, domain: VeilDomain): Hash {
  return typedDataDigest(domain, "BlockCommitment", block.commitment);
}

/** The ordered raw transactions of the valid slots: what the rollup executes, in slot order. */
export function rawTransactionsOf(block: BuiltBlock): string[] {
  return block.slots.flatMap((s) => (s.status === "valid" ? [s.rawTx] : []));
}
