/**
 * The node methods the SDK calls, with the result schemas it validates answers against (a node's answer is
 * untrusted input like any other). Parameters are named, as the node's API is.
 */
import type { z } from "zod";
import { blockHeightResult, blockResult, postProofResult, type EncryptedSubmissionJson } from "../api/wire";
import { MERKLE_DEPTH } from "../chain/merkle";
import type { CallOptions, RpcClient } from "../rpc/client";
import { NodeAnswerError } from "./errors";
import type { PostProof } from "./inclusion";

async function call<S extends z.ZodType>(
  rpc: RpcClient,
  method: string,
  params: object,
  schema: S,
  options?: CallOptions,
): Promise<z.output<S>> {
  const raw = await rpc.call(method, params as Record<string, unknown>, undefined, options);
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new NodeAnswerError(method, `${issue?.path.join(".") ?? ""}: ${issue?.message ?? "invalid"}`);
  }
  return parsed.data;
}

export class NodeApi {
  constructor(readonly rpc: RpcClient) {}

  /** The open height (the lowest unsealed one, accepting transactions now) and the highest height accepted now. */
  async heights(rollupId: bigint): Promise<{ openHeight: bigint; maxHeight: bigint }> {
    const { openHeight, maxHeight } = await call(
      this.rpc,
      "get_block_height",
      { rollupId: rollupId.toString() },
      blockHeightResult,
    );
    if (maxHeight < openHeight) throw new NodeAnswerError("get_block_height", "maxHeight is below openHeight");
    return { openHeight, maxHeight };
  }

  async openHeight(rollupId: bigint): Promise<bigint> {
    return (await this.heights(rollupId)).openHeight;
  }

  /** The raw (unverified) answer of `get_encryption_key`; round-key.ts verifies it. */
  encryptionKey(rollupId: bigint, height: bigint): Promise<unknown> {
    return this.rpc.call("get_encryption_key", { rollupId: rollupId.toString(), height: height.toString() });
  }

  /** The raw (unverified) receipt; receipt.ts verifies it. */
  sendEncrypted(submission: EncryptedSubmissionJson): Promise<unknown> {
    return this.rpc.call("send_encrypted_transaction", { ...submission });
  }

  /**
   * The raw (unverified) receipt of the leaf `encTxHash` if this node holds it ordered at `height`
   * (`get_order_commitment` by leaf; NOT_FOUND otherwise); receipt.ts verifies it.
   */
  orderCommitmentByLeaf(rollupId: bigint, height: bigint, encTxHash: string, options?: CallOptions): Promise<unknown> {
    const params = { rollupId: rollupId.toString(), height: height.toString(), encTxHash };
    return this.rpc.call("get_order_commitment", params, undefined, options);
  }

  /** A height's status on this node: `sealed` or `finalized` once this node holds its final log. */
  async blockStatus(rollupId: bigint, height: bigint, options?: CallOptions): Promise<"open" | "sealed" | "finalized"> {
    const ref = { rollupId: rollupId.toString(), height: height.toString() };
    return (await call(this.rpc, "get_block", ref, blockResult, options)).status;
  }

  /** The sealed leaf at `index` and its path; checked for shape here, against the block commitment by inclusion.ts. */
  async postProof(rollupId: bigint, height: bigint, index: number): Promise<PostProof> {
    const method = "get_post_merkle_proof";
    const ref = { rollupId: rollupId.toString(), height: height.toString(), index };
    const answer = await call(this.rpc, method, ref, postProofResult);
    if (answer.index !== index) throw new NodeAnswerError(method, `answers index ${answer.index}, not ${index}`);
    if (answer.proof.length !== MERKLE_DEPTH) {
      throw new NodeAnswerError(method, `proof has ${answer.proof.length} siblings, not ${MERKLE_DEPTH}`);
    }
    return { leafHash: answer.leafHash, siblings: answer.proof };
  }
}
