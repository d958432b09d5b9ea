/**
 * Decides, from a verified receipt, the on-chain block commitment and the POST proof, whether the leader
 * kept its promise, and builds the slashing evidence when it did not (with the same rules the contract
 * applies, in chain/evidence.ts). Proofs that open nothing are an InclusionError, never a verdict.
 */
import type { BlockCommitment } from "../chain/eip712";
import { brokenCommitmentEvidence, type BrokenCommitmentEvidence } from "../chain/evidence";
import { MERKLE_DEPTH, bytes32Array, type Hash } from "./hashes";
import { InclusionError } from "./errors";
import type { VerifiedReceipt } from "./receipt";

/** The leaf at an index of the sealed tree and its full path (what `get_post_merkle_proof` serves). */
export interface PostProof {
  readonly leafHash: Hash;
  readonly siblings: readonly Hash[];
}

export type InclusionVerdict =
  | { readonly kept: true; readonly block: BlockCommitment; readonly post: PostProof }
  | { readonly kept: false; readonly block: BlockCommitment; readonly evidence: BrokenCommitmentEvidence };

/**
 * `block` is the on-chain block commitment, whose `viewNumber` is the task's (its seal certificate's). A
 * promise is enforced against the block of its own view only (the contract's rule: a later view may
 * rightly drop an entry a majority never stored), so a broken promise of another view is an
 * InclusionError, not evidence.
 */
export function checkInclusion(
  receipt: VerifiedReceipt,
  block: BlockCommitment,
  post: PostProof | undefined,
): InclusionVerdict {
  const order = receipt.commitment;
  if (block.rollupId !== order.rollupId || block.height !== order.blockHeight) {
    throw new InclusionError(
      "wrong-block",
      `block commitment is for rollup ${block.rollupId} height ${block.height}, the receipt for ${order.rollupId}/${order.blockHeight}`,
    );
  }
  if (post !== undefined) bytes32Array(post.siblings, MERKLE_DEPTH, "POST proof");
  let evidence: BrokenCommitmentEvidence | undefined;
  try {
    evidence = brokenCommitmentEvidence(order, receipt.preProof, block, post);
  } catch (error) {
    const message = (error as Error).message;
    throw new InclusionError(message.startsWith("PRE") ? "pre-proof-invalid" : "post-proof-invalid", message);
  }
  if (evidence !== undefined) {
    if (block.viewNumber !== receipt.viewNumber) {
      throw new InclusionError(
        "other-view",
        `the block was committed in view ${block.viewNumber}, the receipt was signed in view ${receipt.viewNumber}`,
      );
    }
    return { kept: false, block, evidence };
  }
  if (post === undefined) throw new InclusionError("post-proof-invalid", "a POST proof is needed to show inclusion");
  return { kept: true, block, post };
}
