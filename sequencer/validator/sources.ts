/**
 * What a validator reads from others: the sealed entries of a height from its sequencer node (the
 * node's external JSON-RPC `get_sealed_entries`, up to 1,024 entries a call; nodes without it are read
 * with `get_block` and `get_encrypted_transaction` per index, batched),
 * the round key the node verified (`get_encryption_key`), and the round secret from the key generators
 * (`get_round_secret`), checked before use.
 */
import { z } from "zod";
import { MAX_SEALED_ENTRIES_PER_CALL, blockResult, encryptionKeyResult } from "../api/wire";
import { entryFromWire, type SealedEntry } from "../block/entries";
import { equals, type Point } from "../crypto/babyjub";
import { isRoundSecret, roundKeyFromJson, secretFromReveals } from "../crypto/roundkey";
import { roundSecretFromJson } from "../keygen/round-secret";
import { RpcCallError, type RpcClient } from "../rpc/client";

/** Entries fetched per JSON-RPC batch request (nodes without `get_sealed_entries`). */
const BATCH = 256;

const sealedWindow = z.object({
  txCount: z.number().int().nonnegative(),
  encRoot: z.string(),
  from: z.number().int().nonnegative(),
  entries: z.array(z.unknown()),
});

export interface SealedHeight {
  readonly txCount: number;
  readonly encRoot: string;
  readonly entries: readonly SealedEntry[];
}

/** The sealed entries of (rollupId, height) from `node`; throws while the height is still open. */
export async function fetchSealedHeight(node: RpcClient, rollupId: bigint, height: bigint): Promise<SealedHeight> {
  const ref = { rollupId: rollupId.toString(), height: height.toString() };
  const entries: SealedEntry[] = [];
  let sealed: { txCount: number; encRoot: string } | undefined;
  try {
    do {
      const window = await node.call(
        "get_sealed_entries",
        { ...ref, from: entries.length, count: MAX_SEALED_ENTRIES_PER_CALL },
        sealedWindow,
      );
      if (sealed !== undefined && (window.txCount !== sealed.txCount || window.encRoot !== sealed.encRoot)) {
        throw new Error(`height ${height} changed its seal while being read`);
      }
      if (window.from !== entries.length || (window.entries.length === 0 && entries.length < window.txCount)) {
        throw new Error(`the node answered entries from ${window.from}, not ${entries.length}`);
      }
      sealed = window;
      for (const e of window.entries) entries.push(entryFromWire(e));
    } while (entries.length < sealed.txCount);
    if (entries.length !== sealed.txCount) throw new Error(`the node answered more than ${sealed.txCount} entries`);
    return { txCount: sealed.txCount, encRoot: sealed.encRoot, entries };
  } catch (error) {
    if (error instanceof RpcCallError && error.errorName === "NOT_FOUND") {
      throw new Error(`height ${height} of rollup ${rollupId} is not sealed yet`);
    }
    if (!(error instanceof RpcCallError && error.errorName === "METHOD_NOT_FOUND")) throw error;
  }
  return fetchSealedHeightPerIndex(node, ref);
}

/** The older read path: `get_block`, then one batched `get_encrypted_transaction` per index. */
async function fetchSealedHeightPerIndex(
  node: RpcClient,
  ref: { rollupId: string; height: string },
): Promise<SealedHeight> {
  const { rollupId, height } = ref;
  const block = await node.call("get_block", ref, blockResult);
  if (block.status === "open") throw new Error(`height ${height} of rollup ${rollupId} is not sealed yet`);
  const entries: SealedEntry[] = [];
  for (let from = 0; from < block.txCount; from += BATCH) {
    const calls = [];
    for (let index = from; index < Math.min(block.txCount, from + BATCH); index++) {
      calls.push({ method: "get_encrypted_transaction", params: { ...ref, index } });
    }
    for (const outcome of await node.batch(calls)) {
      if (!outcome.ok) throw outcome.error;
      entries.push(entryFromWire(outcome.result));
    }
  }
  return { txCount: block.txCount, encRoot: block.encRoot, entries };
}

/** The round key PK of (rollupId, height) as served (and verified against the committee) by the node. */
export async function fetchRoundKey(node: RpcClient, rollupId: bigint, height: bigint): Promise<Point> {
  const ref = { rollupId: rollupId.toString(), height: height.toString() };
  return (await node.call("get_encryption_key", ref, encryptionKeyResult)).publicKey;
}

/**
 * The round secret of (rollupId, height) from the first key generator whose answer checks out: the
 * round key it names is `expected` and for this round, sk·B8 = PK, and revealed shares add up to sk.
 */
export async function fetchRoundSecret(
  keyGenerators: readonly RpcClient[],
  rollupId: bigint,
  height: bigint,
  expected: Point,
): Promise<bigint> {
  const failures: string[] = [];
  for (const client of keyGenerators) {
    try {
      const answer = await client.call(
        "get_round_secret",
        { rollupId: rollupId.toString(), height: height.toString() },
        z.object({ roundKey: z.unknown() }).loose(),
      );
      const key = roundKeyFromJson(answer.roundKey);
      const { roundKey: _ignored, ...rest } = answer;
      const secret = roundSecretFromJson(rest);
      if (key.round.rollupId !== rollupId || key.round.height !== height) throw new Error("round key of another round");
      if (!equals(key.publicKey, expected)) throw new Error("round key differs from the node's");
      if (!isRoundSecret(key, secret.secretKey)) throw new Error("secret key fails sk·B8 = PK");
      if (secret.evidence.kind === "reveals" && secretFromReveals(key, secret.evidence.reveals) !== secret.secretKey) {
        throw new Error("the reveals add up to another secret key");
      }
      if (secret.evidence.kind === "solution" && secret.evidence.solution.secretKey !== secret.secretKey) {
        throw new Error("the solution yields another secret key");
      }
      return secret.secretKey;
    } catch (error) {
      failures.push(`${client.url}: ${(error as Error).message}`);
    }
  }
  throw new Error(`no key generator gave a valid round secret (${failures.join("; ")})`);
}
