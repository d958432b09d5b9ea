/**
 * One committee member's logic, independent of HTTP: publish round keys ahead, exchange and verify
 * contributions, aggregate in registry order, reveal against a seal certificate, recover the round secret.
 *
 * Window. For each served rollup the member keeps `base`, the first height not known to be sealed
 * (it moves when a certified seal arrives), and publishes heights base .. base + lookahead. Contributions
 * are created for no height past that window, on a timer or when a peer or node asks, so puzzles
 * become public as late as the look-ahead allows (docs/round-keys.md: the delay T buys runs from
 * publication to seal).
 *
 * Aggregation. Every member reads the committee from the registry (ascending addresses) and
 * aggregates in that order, so members that saw the same contributions serve the same key. A round
 * key is final once every member's contribution is in hand (verified) or was rejected; after
 * `aggregationTimeoutMs` a member first adopts a final key of a peer if that peer's key re-aggregates
 * from verified contributions, else finalises with what it has. Once final, a key never changes.
 */
import { getAddress } from "ethers";
import type { Logger } from "pino";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import {
  aggregateSignedRoundKey,
  contributionFromJson,
  contributionToJson,
  createSignedContribution,
  revealShare,
  roundKeyFromJson,
  roundKeyToJson,
  verifySignedContribution,
  type Contribution,
  type ContributionJson,
  type Round,
  type RoundKey,
  type RoundKeyJson,
  type ShareReveal,
  type ShareSecret,
} from "../crypto/roundkey";
import { loadBigMath } from "../crypto/timelock/bigmath";
import { timelockParams, type TimelockParams } from "../crypto/timelock/params";
import { warnIfTestModulus } from "../crypto/timelock/policy";
import { toHex } from "../crypto/timelock/wire";
import {
  CertificateError,
  parseSealCertificate,
  sealCertificateToJson,
  verifySealCertificate,
  type SealCertificate,
  type SealCertificateJson,
} from "../chain/certificate";
import type { TypedDataSigner } from "../chain/eip712";
import type { RpcClient } from "../rpc/client";
import { RpcError, veilError } from "../rpc/errors";
import { describeIssues } from "../rpc/registry";
import { UnknownRollupError, type RegistryView } from "./chain";
import type { KeygenConfig } from "./config";
import type { KeygenMetrics } from "./metrics";
import {
  recoverRoundSecret,
  roundSecretFromJson,
  roundSecretToJson,
  verifyRoundSecret,
  type RoundSecret,
  type RoundSecretJson,
} from "./round-secret";
import type { KeygenStore } from "./store";

/** What `get_round_key` answers: the key and the contributions it aggregates, in committee order. */
export interface PublishedRoundKeyJson {
  readonly roundKey: RoundKeyJson;
  readonly contributions: ContributionJson[];
}
export const publishedRoundKeySchema = z.strictObject({
  roundKey: z.unknown(),
  contributions: z.array(z.unknown()).max(1024),
});

interface OwnRecord {
  readonly contribution: ContributionJson;
  readonly secret: { readonly secretShare: string; readonly randomness: string };
}

const roundLabel = (r: Round): string => `${r.rollupId}/${r.height}`;

export interface KeygenServiceDeps {
  readonly config: KeygenConfig;
  readonly store: KeygenStore;
  readonly registry: RegistryView;
  readonly log: Logger;
  /** This generator's checksummed address. */
  readonly address: string;
  /** This generator's Ethereum key: it signs every contribution (EIP-712 `Contribution`). */
  readonly signer: TypedDataSigner & { readonly address: string };
  readonly metrics: KeygenMetrics;
  /** JSON-RPC clients of the other members, by lower-case address. */
  readonly peers: ReadonlyMap<string, RpcClient>;
}

export class KeygenService {
  private readonly params = new Map<bigint, Promise<TimelockParams>>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly firstAttempt = new Map<string, number>();
  private readonly recoveries = new Map<string, Promise<void>>();
  private readonly abort = new AbortController();
  private readonly served: ReadonlySet<bigint>;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;

  constructor(private readonly deps: KeygenServiceDeps) {
    if (getAddress(deps.signer.address) !== getAddress(deps.address)) {
      throw new Error(`the signing key is ${deps.signer.address}, not the generator ${deps.address}`);
    }
    this.served = new Set(deps.config.rollups);
  }

  get address(): string {
    return this.deps.address;
  }

  /** Starts the publisher: every tick, every height of every window gets its round key. */
  start(): void {
    const loop = (): void => {
      this.ticking = this.tick()
        .catch((error: unknown) => this.deps.log.error({ err: error }, "publisher tick failed"))
        .finally(() => {
          if (!this.abort.signal.aborted) this.timer = setTimeout(loop, this.deps.config.schedule.tickMs);
        });
    };
    loop();
  }

  /** Stops the publisher and cancels any solver run; waits for work in flight. */
  async stop(): Promise<void> {
    this.abort.abort(new Error("key generator stopping"));
    clearTimeout(this.timer);
    await this.ticking;
    await Promise.allSettled([...this.recoveries.values(), ...this.locks.values()]);
  }

  /** One pass of the publisher over every served rollup's window. */
  async tick(): Promise<void> {
    for (const rollupId of this.served) {
      const { from, to } = await this.window(rollupId);
      for (let height = from; height <= to && !this.abort.signal.aborted; height++) {
        const round = { rollupId, height };
        if (await this.deps.store.getRoundKey(round)) continue;
        await this.ownContribution(round);
        await this.tryAggregate(round);
      }
    }
  }

  /**
   * Where the slow-path solver of a round keeps its progress, beside the database (not in it: LevelDB
   * owns its folder), so that a restarted generator resumes a long solve instead of starting over.
   */
  private async solverCheckpoint(label: string): Promise<string> {
    const dir = `${this.deps.config.storage.path}-solver`;
    await mkdir(dir, { recursive: true });
    return path.join(dir, `${label.replace(/[^0-9A-Za-z_-]/g, "_")}.json`);
  }

  // ---- parameters and window ------------------------------------------------------------------

  assertServed(rollupId: bigint): void {
    if (!this.served.has(rollupId)) throw veilError.unknownRollup(rollupId.toString());
  }

  /** The rollup's time-lock parameters as the registry publishes them, h checked against its proof once. */
  timelock(rollupId: bigint): Promise<TimelockParams> {
    let params = this.params.get(rollupId);
    if (!params) {
      params = (async () => {
        const published = await this.deps.registry.timelockOf(rollupId);
        warnIfTestModulus(published.N, this.deps.log, { rollupId: rollupId.toString() });
        return timelockParams(published);
      })();
      params.catch(() => this.params.delete(rollupId));
      this.params.set(rollupId, params);
    }
    return params;
  }

  async window(rollupId: bigint): Promise<{ from: bigint; to: bigint }> {
    const from = (await this.deps.store.getBase(rollupId)) ?? BigInt(this.deps.config.schedule.startHeight);
    return { from, to: from + BigInt(this.deps.config.schedule.lookahead) };
  }

  /** Committee in registry order; this member must be in it. */
  async committee(rollupId: bigint): Promise<string[]> {
    let committee: string[];
    try {
      committee = await this.deps.registry.committeeOf(rollupId);
    } catch (error) {
      if (error instanceof UnknownRollupError) throw veilError.unknownRollup(rollupId.toString());
      throw error;
    }
    if (!committee.includes(this.address)) {
      throw veilError.unauthorized(`${this.address} is not in the key-generator committee of rollup ${rollupId}`);
    }
    return committee;
  }

  private withLock<T>(name: string, work: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(name) ?? Promise.resolve();
    const next = previous.then(work, work);
    const settled = next.catch(() => undefined);
    this.locks.set(name, settled);
    void settled.then(() => {
      if (this.locks.get(name) === settled) this.locks.delete(name);
    });
    return next;
  }

  // ---- contributions -------------------------------------------------------------------------

  /**
   * This member's contribution for `round`: the stored one, or (inside the window only) a new one
   * whose secret is synced to disk before the contribution leaves this function.
   */
  async ownContribution(round: Round): Promise<{ contribution: Contribution; secret: ShareSecret } | undefined> {
    this.assertServed(round.rollupId);
    return this.withLock(`own:${roundLabel(round)}`, async () => {
      const stored = await this.deps.store.getOwn<OwnRecord>(round);
      if (stored) {
        return {
          contribution: contributionFromJson(stored.contribution),
          secret: { secretShare: BigInt(stored.secret.secretShare), randomness: BigInt(stored.secret.randomness) },
        };
      }
      const { from, to } = await this.window(round.rollupId);
      if (round.height < from || round.height > to) return undefined;
      await this.committee(round.rollupId);
      const params = await this.timelock(round.rollupId);
      const domain = await this.deps.registry.domain();
      const created = await createSignedContribution(params, domain, round, this.deps.signer);
      const record: OwnRecord = {
        contribution: contributionToJson(created.contribution),
        secret: { secretShare: toHex(created.secret.secretShare), randomness: toHex(created.secret.randomness) },
      };
      await this.deps.store.putOwn(round, record);
      this.deps.metrics.contributionsCreated.inc();
      this.deps.log.info({ round: roundLabel(round) }, "contribution created");
      return created;
    });
  }

  /** `get_contribution`: this member's contribution, created on demand inside the window. */
  async getContribution(round: Round): Promise<ContributionJson> {
    const own = await this.ownContribution(round);
    if (!own) {
      const { from, to } = await this.window(round.rollupId);
      throw veilError.wrongHeight(
        Number(round.height),
        round.height < from
          ? `no contribution was made for it (the window starts at ${from})`
          : `beyond the publication window (up to ${to})`,
      );
    }
    return contributionToJson(own.contribution);
  }

  /** A peer's contribution: from the store, else fetched and verified; undefined if unavailable. */
  private async peerContribution(
    params: TimelockParams,
    round: Round,
    generator: string,
  ): Promise<{ contribution?: Contribution; rejected?: string }> {
    const stored = await this.deps.store.getPeer<ContributionJson>(round, generator);
    if (stored) return { contribution: contributionFromJson(stored) };
    const client = this.deps.peers.get(generator.toLowerCase());
    if (!client) return {};
    let json: unknown;
    try {
      json = await client.call(
        "get_contribution",
        { rollupId: round.rollupId.toString(), height: round.height.toString() },
        undefined,
        { timeoutMs: this.deps.config.timeouts.peerRequestMs, signal: this.abort.signal },
      );
    } catch (error) {
      this.deps.log.debug({ generator, round: roundLabel(round), err: (error as Error).message }, "peer unavailable");
      return {};
    }
    let contribution: Contribution;
    try {
      contribution = contributionFromJson(json);
    } catch {
      return { rejected: "malformed contribution" };
    }
    if (getAddress(contribution.generator) !== generator) return { rejected: "contribution names another generator" };
    const verdict = await verifySignedContribution(params, await this.deps.registry.domain(), contribution, round);
    if (!verdict.ok) return { rejected: verdict.reason };
    await this.deps.store.putPeer(round, generator, contributionToJson(contribution));
    return { contribution };
  }

  // ---- round keys ----------------------------------------------------------------------------

  /**
   * Aggregates the round key if it can be final now (every member settled, or the timeout passed).
   * Returns the stored key, or undefined while it waits for members.
   */
  tryAggregate(round: Round): Promise<PublishedRoundKeyJson | undefined> {
    return this.withLock(`key:${roundLabel(round)}`, async () => {
      const stored = await this.deps.store.getRoundKey<PublishedRoundKeyJson>(round);
      if (stored) return stored;
      const own = await this.ownContribution(round);
      if (!own) return undefined;
      const params = await this.timelock(round.rollupId);
      const committee = await this.committee(round.rollupId);
      const label = roundLabel(round);
      const first = this.firstAttempt.get(label) ?? Date.now();
      this.firstAttempt.set(label, first);

      const gathered: Contribution[] = [];
      let settled = 0;
      for (const generator of committee) {
        if (generator === this.address) {
          gathered.push(own.contribution);
          settled += 1;
          continue;
        }
        const { contribution, rejected } = await this.peerContribution(params, round, generator);
        if (contribution) {
          gathered.push(contribution);
          settled += 1;
        } else if (rejected !== undefined) {
          settled += 1;
          this.deps.metrics.contributionsRejected.inc();
          this.deps.log.warn({ round: label, generator, reason: rejected }, "contribution rejected and excluded");
        }
      }
      const timedOut = Date.now() - first >= this.deps.config.schedule.aggregationTimeoutMs;
      if (settled < committee.length && !timedOut) return undefined;

      let published: PublishedRoundKeyJson | undefined;
      if (settled < committee.length) published = await this.adoptPeerKey(params, round, committee, gathered.length);
      if (!published) {
        const domain = await this.deps.registry.domain();
        const { key, rejected } = await aggregateSignedRoundKey(params, domain, round, gathered);
        for (const r of rejected) this.deps.log.warn({ round: label, ...r }, "contribution excluded at aggregation");
        const accepted = new Set(key.generators);
        published = {
          roundKey: roundKeyToJson(key),
          contributions: gathered.filter((c) => accepted.has(getAddress(c.generator))).map(contributionToJson),
        };
      }
      await this.deps.store.putRoundKey(round, published);
      this.firstAttempt.delete(label);
      this.deps.metrics.roundKeysPublished.inc();
      this.deps.log.info(
        {
          round: label,
          generators: published.roundKey.generators.length,
          committee: committee.length,
          publicKey: published.roundKey.publicKey,
        },
        "round key published",
      );
      return published;
    });
  }

  /**
   * After the timeout: a peer's final key that is at least as complete as ours and re-aggregates
   * from contributions of committee members that verify. Keeps the committee on one key when a
   * member missed a contribution the others saw.
   */
  private async adoptPeerKey(
    params: TimelockParams,
    round: Round,
    committee: readonly string[],
    have: number,
  ): Promise<PublishedRoundKeyJson | undefined> {
    for (const generator of committee) {
      const client = this.deps.peers.get(generator.toLowerCase());
      if (generator === this.address || !client) continue;
      try {
        const answer = await client.call(
          "get_round_key",
          { rollupId: round.rollupId.toString(), height: round.height.toString() },
          publishedRoundKeySchema,
          { timeoutMs: this.deps.config.timeouts.peerRequestMs, signal: this.abort.signal },
        );
        const contributions = answer.contributions.map((c) => contributionFromJson(c));
        if (contributions.length < have) continue;
        if (contributions.some((c) => !committee.includes(getAddress(c.generator)))) continue;
        const claimed = roundKeyFromJson(answer.roundKey);
        const domain = await this.deps.registry.domain();
        const { key, rejected } = await aggregateSignedRoundKey(params, domain, round, contributions);
        if (rejected.length > 0 || !sameKey(key, claimed)) continue;
        this.deps.log.info({ round: roundLabel(round), from: generator }, "adopted a peer's round key");
        return { roundKey: roundKeyToJson(key), contributions: contributions.map(contributionToJson) };
      } catch {
        // That peer has no final key (or is down): try the next.
      }
    }
    return undefined;
  }

  /** `get_round_key`: the final key of a height, aggregating now if it can be final. */
  async getRoundKey(round: Round): Promise<PublishedRoundKeyJson> {
    this.assertServed(round.rollupId);
    const stored = await this.deps.store.getRoundKey<PublishedRoundKeyJson>(round);
    if (stored) return stored;
    const { from, to } = await this.window(round.rollupId);
    if (round.height > to)
      throw veilError.wrongHeight(Number(round.height), `beyond the publication window (up to ${to})`);
    if (round.height < from) throw veilError.notFound(`round key of rollup ${round.rollupId} height ${round.height}`);
    // While an aggregation runs (it may be asking peers, who may be asking us), answer at once.
    if (this.locks.has(`key:${roundLabel(round)}`)) {
      throw veilError.unavailable(`the round key of height ${round.height} is being aggregated, retry shortly`);
    }
    const published = await this.tryAggregate(round);
    if (!published) throw veilError.unavailable(`the round key of height ${round.height} is still being aggregated`);
    return published;
  }

  private async roundKeyOf(round: Round): Promise<{ key: RoundKey; contributions: Contribution[] } | undefined> {
    const stored = await this.deps.store.getRoundKey<PublishedRoundKeyJson>(round);
    if (!stored) return undefined;
    return {
      key: roundKeyFromJson(stored.roundKey),
      contributions: stored.contributions.map((c) => contributionFromJson(c)),
    };
  }

  // ---- seal, reveal, round secret --------------------------------------------------------------

  /**
   * Checks a seal certificate: a majority of the members of the cluster serving the rollup, in the epoch
   * the seal names, signed the identical seal (so a majority stored that log and seal in that view). One
   * member's signature, in whatever view it claims to lead, is not enough: every member leads every height
   * at some view. `inWindow`: the seal's epoch must also be the current or the previous one (what the VSM
   * accepts too), since only neighbouring epochs' majorities are sure to share a member.
   */
  async checkCertificate(certificate: SealCertificate, inWindow = true): Promise<void> {
    const { rollupId } = certificate.seal;
    this.assertServed(rollupId);
    let clusterId: bigint;
    try {
      clusterId = await this.deps.registry.clusterOf(rollupId);
    } catch (error) {
      if (error instanceof UnknownRollupError) throw veilError.unknownRollup(rollupId.toString());
      throw error;
    }
    const { epoch } = certificate.seal;
    if (inWindow) {
      const current = await this.deps.registry.currentEpoch();
      if (epoch + 1 < current || epoch > current) {
        throw veilError.invalidSignature(
          `the seal certificate of height ${certificate.seal.height} is of epoch ${epoch}; the current epoch is ${current}`,
        );
      }
    }
    let members: string[];
    try {
      members = await this.deps.registry.membersAt(clusterId, epoch);
    } catch {
      throw veilError.invalidSignature(`the members of epoch ${epoch} are not on record`);
    }
    const domain = await this.deps.registry.domain();
    try {
      verifySealCertificate(domain, certificate, members);
    } catch (error) {
      if (!(error instanceof CertificateError)) throw error;
      throw veilError.invalidSignature(`the seal certificate of height ${certificate.seal.height}: ${error.message}`);
    }
  }

  /**
   * `reveal_share`: (sk_i, r_i) of the sealed height, only against its seal certificate, and heights in
   * order: a height above the window's base (the first height without a certified seal here) needs the
   * certificates of the heights between, in `previous`. Idempotent: the same reveal every time. The
   * certificates move the window and, with the solver on, start recovering the round secret.
   */
  async revealShare(
    certificate: SealCertificate,
    previous: readonly SealCertificate[] = [],
  ): Promise<{ reveal: ShareReveal; contribution: Contribution }> {
    const { seal } = certificate;
    const round = { rollupId: seal.rollupId, height: seal.height };
    if (previous.some((p) => p.seal.rollupId !== seal.rollupId || p.seal.height >= seal.height)) {
      throw new RpcError("INVALID_PARAMS", "invalid params: previous must hold lower heights of the same rollup");
    }
    // The lower heights' certificates only move the window; each counts against its own epoch's members.
    for (const c of previous) await this.checkCertificate(c, false);
    await this.checkCertificate(certificate);
    const own = await this.deps.store.getOwn<OwnRecord>(round);
    if (!own) {
      throw veilError.notFound(`a contribution of ${this.address} for rollup ${round.rollupId} height ${round.height}`);
    }
    await this.recordSeals(seal.rollupId, [...previous, certificate]);
    const contribution = contributionFromJson(own.contribution);
    const secret = { secretShare: BigInt(own.secret.secretShare), randomness: BigInt(own.secret.randomness) };
    this.deps.metrics.revealsServed.inc();
    this.deps.log.info(
      { round: roundLabel(round), view: seal.viewNumber },
      "share revealed against a seal certificate",
    );
    return { reveal: revealShare(contribution, secret), contribution };
  }

  /**
   * Records checked certificates in height order and moves the window over each one that continues it.
   * The last one (the height asked for) must then lie below the window; otherwise nothing past the base
   * is released and the caller is told which height must come first.
   */
  private async recordSeals(rollupId: bigint, certificates: readonly SealCertificate[]): Promise<void> {
    const target = certificates[certificates.length - 1]!;
    const sorted = [...certificates].sort((a, b) => (a.seal.height < b.seal.height ? -1 : 1));
    const recorded = await this.withLock(`seal:${rollupId}`, async () => {
      let base = (await this.deps.store.getBase(rollupId)) ?? BigInt(this.deps.config.schedule.startHeight);
      const fresh: SealCertificate[] = [];
      for (const c of sorted) {
        const round = { rollupId, height: c.seal.height };
        if (c.seal.height > base) break;
        if (!(await this.deps.store.getSeal(round))) {
          await this.deps.store.putSeal(round, sealCertificateToJson(c));
          fresh.push(c);
        }
        if (c.seal.height === base) base += 1n;
      }
      await this.deps.store.putBase(rollupId, base);
      if (target.seal.height >= base) {
        throw new RpcError(
          "OUT_OF_ORDER",
          `out of order: heights are released in order; the seal certificate of height ${base} comes first`,
          { next: base.toString() },
        );
      }
      return fresh;
    });
    if (this.deps.config.solver.enabled) {
      for (const c of recorded) this.startRecovery({ rollupId, height: c.seal.height }, c);
    }
  }

  /** Background recovery of the round secret after a seal (one run per round). */
  private startRecovery(round: Round, certificate: SealCertificate): void {
    const label = roundLabel(round);
    if (this.recoveries.has(label) || this.abort.signal.aborted) return;
    const run = (async () => {
      if (await this.deps.store.getRoundSecret(round)) return;
      const known = await this.roundKeyOf(round);
      if (!known) return;
      const own = await this.ownContribution(round);
      const params = await this.timelock(round.rollupId);
      this.deps.metrics.recoveriesStarted.inc();
      const secret = await recoverRoundSecret({
        params,
        key: known.key,
        contributions: known.contributions,
        clients: this.deps.peers,
        known: own ? [revealShare(own.contribution, own.secret)] : [],
        certificate,
        certificateOf: async (rollupId, height) => {
          const stored = await this.deps.store.getSeal<SealCertificateJson>({ rollupId, height });
          return stored === undefined ? undefined : parseSealCertificate(stored);
        },
        revealTimeoutMs: this.deps.config.solver.revealTimeoutMs,
        solve: true,
        signal: this.abort.signal,
        checkpointPath: await this.solverCheckpoint(label),
        log: this.deps.log.child({ round: label }),
      });
      await this.deps.store.putRoundSecret(round, roundSecretToJson(secret));
      this.deps.metrics.roundSecretsKnown.inc({ path: secret.evidence.kind });
      this.deps.log.info({ round: label, path: secret.evidence.kind }, "round secret recovered");
    })()
      .catch((error: unknown) => {
        if (!this.abort.signal.aborted) this.deps.log.error({ round: label, err: error }, "recovery failed");
      })
      .finally(() => this.recoveries.delete(label));
    this.recoveries.set(label, run);
  }

  /** Waits for a background recovery of `round`, if one runs (tests, shutdown). */
  async recovery(round: Round): Promise<void> {
    await this.recoveries.get(roundLabel(round));
  }

  /**
   * `get_round_secret`: the secret with its evidence once known, and only for a height this generator
   * holds a seal certificate of (a secret recovered or published otherwise is kept, not served).
   */
  async getRoundSecret(round: Round): Promise<{ roundKey: RoundKeyJson } & RoundSecretJson> {
    this.assertServed(round.rollupId);
    const [secret, published, certified] = await Promise.all([
      this.deps.store.getRoundSecret<RoundSecretJson>(round),
      this.deps.store.getRoundKey<PublishedRoundKeyJson>(round),
      this.deps.store.getSeal<SealCertificateJson>(round),
    ]);
    if (!secret || !published || !certified) {
      throw veilError.notFound(`the round secret of rollup ${round.rollupId} height ${round.height} (not known yet)`);
    }
    return { roundKey: published.roundKey, ...secret };
  }

  /**
   * `publish_round_secret`: accepts a secret recovered elsewhere (the `keygen solve` CLI) once its
   * evidence verifies against this member's round key; idempotent.
   */
  async acceptRoundSecret(
    round: Round,
    json: unknown,
  ): Promise<{ accepted: true; path: RoundSecret["evidence"]["kind"] }> {
    this.assertServed(round.rollupId);
    const known = await this.roundKeyOf(round);
    if (!known) throw veilError.notFound(`round key of rollup ${round.rollupId} height ${round.height}`);
    let secret: RoundSecret;
    try {
      secret = roundSecretFromJson(json);
    } catch (error) {
      const issues = error instanceof z.ZodError ? describeIssues(error, (p) => `roundSecret.${p.join(".")}`) : "";
      throw new RpcError("INVALID_PARAMS", `invalid params: ${issues || "roundSecret is malformed"}`);
    }
    const params = await this.timelock(round.rollupId);
    const verdict = await verifyRoundSecret(params, known.key, known.contributions, secret);
    if (!verdict.ok) throw veilError.invalidProof(verdict.reason);
    if (!(await this.deps.store.getRoundSecret(round))) {
      await this.deps.store.putRoundSecret(round, roundSecretToJson(secret));
      this.deps.metrics.roundSecretsKnown.inc({ path: secret.evidence.kind });
    }
    return { accepted: true, path: secret.evidence.kind };
  }

  /** Parameters a solver needs to check h and the contributions (`get_timelock_params`). */
  async timelockJson(rollupId: bigint): Promise<{ N: string; T: number; h: string; hProof: string }> {
    this.assertServed(rollupId);
    await loadBigMath();
    const p = await this.timelock(rollupId);
    return { N: toHex(p.N), T: p.T, h: toHex(p.h), hProof: toHex(p.hProof) };
  }

  /** Members and their URLs as this generator knows them (`get_committee`). */
  async committeeJson(rollupId: bigint): Promise<{ address: string; url: string | null }[]> {
    this.assertServed(rollupId);
    const committee = await this.committee(rollupId);
    const urls = new Map(this.deps.config.committee.map((m) => [m.address, m.url]));
    return committee.map((address) => ({ address, url: urls.get(address) ?? null }));
  }
}

function sameKey(a: RoundKey, b: RoundKey): boolean {
  return (
    a.publicKey[0] === b.publicKey[0] &&
    a.publicKey[1] === b.publicKey[1] &&
    a.puzzle.u === b.puzzle.u &&
    a.puzzle.v === b.puzzle.v &&
    a.generators.join() === b.generators.join()
  );
}
