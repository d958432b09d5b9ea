/**
 * The node methods the SDK calls, with the result schemas it validates answers against (a node's answer is
 * untrusted input like any other). Parameters are named, as the node's API is.
 */
import { z } from "zod";
import { bytes32, uint64, type EncryptedSubmissionJson } from "../api/wire";
import { MERKLE_DEPTH } from "../chain/merkle";
import type { RpcClient } from "../rpc/client";
import { NodeAnswerError } from "./errors";
import type { PostProof } from "./inclusion";

/** `get_block_height({rollupId})`: the open height (the one accepting transactions), bare or as `{height}`. */
export const blockHeightResult = z.union([uint64, z.object({ height: uint64 }).transform((r) => r.height)]);

/** `get_post_merkle_proof({rollupId, height, index})`: the sealed leaf and its path. */
export const postProofResult = z.object({
  leafHash: bytes32,
  siblings: z.array(bytes32).length(MERKLE_DEPTH),
});

async function call<S extends z.ZodType>(
  rpc: RpcClient,
  method: string,
  params: object,
  schema: S,
): Promise<z.output<S>> {
  const raw = await rpc.call(method, params as Record<string, unknown>);
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new NodeAnswerError(method, `${issue?.path.join(".") ?? ""}: ${issue?.message ?? "invalid"}`);
  }
  return parsed.data;
}

export class NodeApi {
  constructor(readonly rpc: RpcClient) {}

  openHeight(rollupId: bigint): Promise<bigint> {
    return call(this.rpc, "get_block_height", { rollupId: rollupId.toString() }, blockHeightResult);
  }

  /** The raw (unverified) answer of `get_encryption_key`; round-key.ts verifies it. */
  encryptionKey(rollupId: bigint, height: bigint): Promise<unknown> {
    return this.rpc.call("get_encryption_key", { rollupId: rollupId.toString(), height: height.toString() });
  }

  /** The raw (unverified) receipt; receipt.ts verifies it. */
  sendEncrypted(submission: EncryptedSubmissionJson): Promise<unknown> {
    return this.rpc.call("send_encrypted_transaction", { submission });
  }

  postProof(rollupId: bigint, height: bigint, index: number): Promise<PostProof> {
    return call(
      this.rpc,
      "get_post_merkle_proof",
      { rollupId: rollupId.toString(), height: height.toString(), index },
      postProofResult,
    );
  }
}
