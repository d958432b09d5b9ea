/**
 * Builds the arguments of ValidationServiceManager.slashBrokenOrderCommitment from what a user holds (the
 * signed order commitment and its PRE proof) and what the sealed block shows (the leaf and POST path at the
 * promised index), and decides off-chain whether there is a fault at all, with the same rules as the contract.
 */
import type { BlockCommitment, OrderCommitment } from "./eip712";
import {
  EMPTY_LEAF,
  MERKLE_DEPTH,
  ZERO_HASHES,
  hashLeaf,
  preAndPostAgree,
  verifyPreProof,
  verifyProof,
  type Hash,
} from "./merkle";

export type BrokenCommitmentKind = "index-beyond-block" | "other-leaf" | "prefix-rewritten";

export interface BrokenCommitmentEvidence {
  readonly kind: BrokenCommitmentKind;
  readonly postLeafHash: Hash;
  readonly postSiblings: Hash[];
  readonly preSiblings: Hash[];
}

const EMPTY_PATH: readonly Hash[] = ZERO_HASHES.slice(0, MERKLE_DEPTH);

/**
 * The evidence that `block` breaks `order`, or undefined if it keeps it. `post` is the leaf hash and path
 * at `order.txIndex` in the sealed tree (not needed when the index is beyond the block). Throws when the
 * proofs given do not open the roots they claim to. Views are not compared here: the contract slashes
 * only when `order.viewNumber` is the task's, which is `block.viewNumber` (the caller's check).
 */
export function brokenCommitmentEvidence(
  order: OrderCommitment,
  preSiblings: readonly Hash[],
  block: BlockCommitment,
  post?: { readonly leafHash: Hash; readonly siblings: readonly Hash[] },
): BrokenCommitmentEvidence | undefined {
  if (order.txIndex >= block.txCount) {
    return {
      kind: "index-beyond-block",
      postLeafHash: EMPTY_LEAF,
      postSiblings: [...EMPTY_PATH],
      preSiblings: [...EMPTY_PATH],
    };
  }
  if (!post) throw new Error("a POST proof is needed when the index is inside the block");
  if (!verifyProof(block.encRoot, post.leafHash, order.txIndex, post.siblings))
    throw new Error("POST proof does not open encRoot");
  const evidence = { postLeafHash: post.leafHash, postSiblings: [...post.siblings], preSiblings: [...preSiblings] };
  const promisedLeaf = hashLeaf(order.encTxHash);
  if (post.leafHash !== promisedLeaf) return { kind: "other-leaf", ...evidence };
  if (!verifyPreProof(order.preRoot, promisedLeaf, order.txIndex, preSiblings))
    throw new Error("PRE proof does not open preRoot");
  if (preAndPostAgree(order.txIndex, preSiblings, post.siblings)) return undefined;
  return { kind: "prefix-rewritten", ...evidence };
}
