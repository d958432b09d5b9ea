/**
 * Round keys as the node trusts them: fetched from a source (the key-generator service, or in-process
 * contributions in tests), every contribution verified, its generators checked against the rollup's
 * committee in the registry, its EIP-712 signature checked to recover to its generator, and the key
 * re-aggregated here. A key is never taken on a source's word: without the signatures one generator
 * serving `get_round_key` could fabricate the other members' contributions and know the round secret.
 */
import { z } from "zod";
import type { VeilDomain } from "../chain/eip712";
import {
  aggregateSignedRoundKey,
  incompleteness,
  contributionFromJson,
  contributionSchema,
  roundKeySchema,
  type Contribution,
  type RoundKey,
} from "../crypto/roundkey";
import { timelockParams, type TimelockParams } from "../crypto/timelock/params";
import { warnIfTestModulus, type WarningSink } from "../crypto/timelock/policy";
import { RpcClient } from "../rpc/client";
import type { RollupInfo } from "./chain-view";

/** Where the contributions of a round come from. Undefined: not published (yet). */
export interface RoundKeySource {
  contributions(rollupId: bigint, height: bigint): Promise<readonly Contribution[] | undefined>;
}

/** The key-generator service's answer to `get_round_key({rollupId, height})`. */
const roundKeyAnswer = z.object({ roundKey: roundKeySchema, contributions: z.array(contributionSchema).min(1) });

/**
 * Key-generator services over JSON-RPC, asked in order until one has the round: any of them serves every
 * member's signed contributions, which RoundKeys verifies, so one generator down costs no round key.
 */
export class RpcRoundKeySource implements RoundKeySource {
  private readonly clients: readonly RpcClient[];

  constructor(urls: string | readonly string[], timeoutMs = 5_000) {
    const list = typeof urls === "string" ? [urls] : [...new Set(urls)];
    if (list.length === 0) throw new Error("RpcRoundKeySource needs at least one key-generator URL");
    this.clients = list.map((url) => new RpcClient(url, { timeoutMs }));
  }

  async contributions(rollupId: bigint, height: bigint): Promise<readonly Contribution[] | undefined> {
    for (const client of this.clients) {
      try {
        const answer = await client.call(
          "get_round_key",
          { rollupId: rollupId.toString(), height: height.toString() },
          roundKeyAnswer,
        );
        return answer.contributions;
      } catch {
        // unreachable, not published there yet, or a malformed answer: the next generator may have it
      }
    }
    return undefined;
  }
}

/** Contributions held in memory (tests, benchmarks, a single-operator devnet). */
export class MemoryRoundKeySource implements RoundKeySource {
  private readonly byRound = new Map<string, Contribution[]>();

  add(contribution: Contribution): this {
    const k = `${contribution.round.rollupId}:${contribution.round.height}`;
    this.byRound.set(k, [...(this.byRound.get(k) ?? []), contribution]);
    return this;
  }

  addJson(json: unknown): this {
    return this.add(contributionFromJson(json));
  }

  contributions(rollupId: bigint, height: bigint): Promise<readonly Contribution[] | undefined> {
    return Promise.resolve(this.byRound.get(`${rollupId}:${height}`));
  }
}

/** Why a round has no usable key. */
export class RoundKeyUnavailable extends Error {}

/** A round key with the signed contributions it aggregates: what a client needs to verify it again itself. */
export interface VerifiedRoundKey {
  readonly key: RoundKey;
  readonly contributions: readonly Contribution[];
}

/** How long "not published" is remembered for a round, so that repeated asks do not each reach the source. */
export const UNPUBLISHED_TTL_MS = 500;
/** The most rounds remembered as not published (past this, the memory starts over). */
const MAX_UNPUBLISHED = 4_096;

/** Verified round keys, cached per (rollup, height) once accepted (a published key never changes). */
export class RoundKeys {
  private readonly keys = new Map<string, Promise<VerifiedRoundKey>>();
  private readonly params = new Map<string, Promise<TimelockParams>>();
  /** Rounds the source said it does not have, until when that answer stands. */
  private readonly unpublished = new Map<string, number>();

  /**
   * `domain` is the deployment's EIP-712 domain, in which every contribution must be signed by its generator;
   * `log` hears, once, of a rollup on a test modulus.
   */
  constructor(
    private readonly source: RoundKeySource,
    private readonly domain: VeilDomain,
    private readonly log?: WarningSink,
  ) {}

  /** The round key of (rollup, height), or RoundKeyUnavailable. Failures are not cached. */
  async get(rollup: RollupInfo, height: bigint): Promise<RoundKey> {
    return (await this.getVerified(rollup, height)).key;
  }

  /** The round key of (rollup, height) with its contributions, or RoundKeyUnavailable. */
  getVerified(rollup: RollupInfo, height: bigint): Promise<VerifiedRoundKey> {
    const k = `${rollup.rollupId}:${height}`;
    let key = this.keys.get(k);
    if (key === undefined) {
      const until = this.unpublished.get(k);
      if (until !== undefined && performance.now() < until) return Promise.reject(unpublished(rollup, height));
      this.unpublished.delete(k);
      key = this.load(rollup, height);
      this.keys.set(k, key);
      key.catch(() => this.keys.delete(k));
    }
    return key;
  }

  private async load(rollup: RollupInfo, height: bigint): Promise<VerifiedRoundKey> {
    const contributions = await this.source.contributions(rollup.rollupId, height);
    if (contributions === undefined || contributions.length === 0) {
      if (this.unpublished.size >= MAX_UNPUBLISHED) this.unpublished.clear();
      this.unpublished.set(`${rollup.rollupId}:${height}`, performance.now() + UNPUBLISHED_TTL_MS);
      throw unpublished(rollup, height);
    }
    const committee = new Set(rollup.keyGenerators.map((g) => g.toLowerCase()));
    const fromCommittee = contributions.filter((c) => committee.has(c.generator.toLowerCase()));
    if (fromCommittee.length !== contributions.length) {
      throw new RoundKeyUnavailable(`a contribution for height ${height} is from outside the rollup's committee`);
    }
    const params = await this.paramsOf(rollup).catch((e: unknown) => {
      throw new RoundKeyUnavailable(`rollup ${rollup.rollupId}'s time-lock parameters: ${(e as Error).message}`);
    });
    const round = { rollupId: rollup.rollupId, height };
    const { key, rejected } = await aggregateSignedRoundKey(params, this.domain, round, fromCommittee).catch(
      (e: unknown) => {
        throw new RoundKeyUnavailable(`round key of height ${height}: ${(e as Error).message}`);
      },
    );
    if (rejected.length > 0) {
      throw new RoundKeyUnavailable(
        `round key of height ${height}: contribution of ${rejected[0]!.generator} rejected (${rejected[0]!.reason})`,
      );
    }
    // A key one generator made alone is that generator's to open: not served before enough contributed.
    const missing = incompleteness(key, committee.size, rollup.minContributors);
    if (missing !== undefined) throw new RoundKeyUnavailable(`round key of height ${height}: ${missing}`);
    return { key, contributions: fromCommittee };
  }

  /** The rollup's published (N, T, h, hProof), verified once; a failure is not cached. */
  private paramsOf(rollup: RollupInfo): Promise<TimelockParams> {
    const { N, T, h } = rollup.timelock;
    const k = `${N.toString(16)}:${T}:${h.toString(16)}`;
    let p = this.params.get(k);
    if (p === undefined) {
      if (this.log) warnIfTestModulus(N, this.log, { rollupId: rollup.rollupId.toString() });
      p = timelockParams(rollup.timelock);
      this.params.set(k, p);
      p.catch(() => this.params.delete(k));
    }
    return p;
  }
}

function unpublished(rollup: RollupInfo, height: bigint): RoundKeyUnavailable {
  return new RoundKeyUnavailable(`no round key is published for rollup ${rollup.rollupId} height ${height}`);
}
