/**
 * The solver fallback from outside the committee (`veil keygen solve`): given a sealed round and its
 * seal certificate (the generators reveal only against one), fetch the round key from one generator, check it (h's proof, every
 * contribution, the aggregation), gather the reveals it can get, solve the puzzle if a share is
 * missing, check the result, and optionally publish it to every member.
 */
import type { Logger } from "pino";
import { z } from "zod";
import { aggregateRoundKey, contributionFromJson, roundKeyFromJson, roundKeyToJson } from "../crypto/roundkey";
import { timelockParams } from "../crypto/timelock/params";
import { sealCertificateSchema, type SealCertificate } from "../chain/certificate";
import { RpcClient } from "../rpc/client";
import { recoverRoundSecret, roundSecretToJson, verifyRoundSecret, type RoundSecretJson } from "./round-secret";
import { publishedRoundKeySchema } from "./service";

/** The `--seal` file: the height's seal certificate. */
export const sealFileSchema = sealCertificateSchema;

export interface SolveOptions {
  /** JSON-RPC URL of any key generator of the rollup's committee. */
  readonly url: string;
  readonly certificate: SealCertificate;
  /** Solve when a reveal is missing (otherwise fail). */
  readonly solve: boolean;
  /** Send the result to every committee member with `publish_round_secret`. */
  readonly publish: boolean;
  readonly revealTimeoutMs: number;
  readonly signal?: AbortSignal;
  /** Where the solver keeps its progress, to resume when run again after an interruption. */
  readonly checkpointPath?: string;
  readonly log: Logger;
}

export interface SolveResult {
  readonly rollupId: string;
  readonly height: string;
  readonly roundSecret: RoundSecretJson;
  /** Members that accepted the published secret (empty without `publish`). */
  readonly publishedTo: string[];
}

export async function solveRound(options: SolveOptions): Promise<SolveResult> {
  const { certificate, log } = options;
  const { seal } = certificate;
  const round = { rollupId: seal.rollupId, height: seal.height };
  const roundParams = { rollupId: round.rollupId.toString(), height: round.height.toString() };
  const entry = new RpcClient(options.url, { timeoutMs: 30_000 });

  const tl = await entry.call(
    "get_timelock_params",
    { rollupId: roundParams.rollupId },
    z.object({ N: z.string(), T: z.number().int().positive(), h: z.string(), hProof: z.string() }),
  );
  // The published h is checked against its Wesolowski proof, not trusted.
  const params = await timelockParams({ N: BigInt(tl.N), T: tl.T, h: BigInt(tl.h), hProof: BigInt(tl.hProof) });

  const published = await entry.call("get_round_key", roundParams, publishedRoundKeySchema);
  const claimed = roundKeyFromJson(published.roundKey);
  const contributions = published.contributions.map((c) => contributionFromJson(c));
  const { key, rejected } = await aggregateRoundKey(params, round, contributions);
  if (rejected.length > 0) throw new Error(`the round key includes invalid contributions: ${JSON.stringify(rejected)}`);
  if (JSON.stringify(roundKeyToJson(key)) !== JSON.stringify(roundKeyToJson(claimed))) {
    throw new Error("the served round key is not the aggregate of its contributions");
  }

  const committee = await entry.call(
    "get_committee",
    { rollupId: roundParams.rollupId },
    z.array(z.object({ address: z.string(), url: z.string().nullable() })),
  );
  const clients = new Map<string, RpcClient>();
  for (const member of committee) {
    const url = member.url ?? undefined;
    if (url !== undefined) clients.set(member.address.toLowerCase(), new RpcClient(url, { timeoutMs: 30_000 }));
  }

  const secret = await recoverRoundSecret({
    params,
    key,
    contributions,
    clients,
    certificate,
    revealTimeoutMs: options.revealTimeoutMs,
    solve: options.solve,
    log,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.checkpointPath === undefined ? {} : { checkpointPath: options.checkpointPath }),
  });
  const verdict = await verifyRoundSecret(params, key, contributions, secret);
  if (!verdict.ok) throw new Error(`the recovered secret does not verify: ${verdict.reason}`);
  const roundSecret = roundSecretToJson(secret);

  const publishedTo: string[] = [];
  if (options.publish) {
    for (const member of committee) {
      const client = clients.get(member.address.toLowerCase());
      if (!client) continue;
      try {
        await client.call("publish_round_secret", { ...roundParams, roundSecret });
        publishedTo.push(member.address);
      } catch (error) {
        log.warn({ generator: member.address, err: (error as Error).message }, "publishing to a member failed");
      }
    }
  }
  return { ...roundParams, roundSecret, publishedTo };
}
