/**
 * How a leader obtains the round secret of a sealed height (DESIGN.md step 6). Fast path: every key
 * generator reveals its share against the height's seal certificate, and the shares must add up to the round
 * key the node verified itself (Σ sk_i · B8 = PK). Otherwise the key generators recover it (they
 * collect the reveals among themselves or solve the puzzle) and serve it with its evidence through
 * `get_round_secret`, checked exactly as validators check it (`fetchRoundSecret`).
 */
import type { Logger } from "pino";
import { z } from "zod";
import type { SealCertificate } from "../chain/certificate";
import { requestReveal, type CertificateLookup } from "../keygen/reveal-request";
import {
  revealShare,
  secretFromReveals,
  shareRevealFromJson,
  type ContributionBody,
  type RoundKey,
  type ShareReveal,
  type ShareSecret,
} from "../crypto/roundkey";
import { RpcClient } from "../rpc/client";
import { fetchRoundSecret } from "../validator/sources";

export type SecretPath = "reveals" | "round-secret";

export interface ObtainedSecret {
  readonly secretKey: bigint;
  readonly path: SecretPath;
}

/** Something that gives the round secret of a sealed height, checked against `roundKey`. */
export interface RoundSecretSource {
  obtain(roundKey: RoundKey, certificate: SealCertificate): Promise<ObtainedSecret>;
}

export interface KeyGeneratorSecretsOptions {
  /** Key-generator URLs from the node's config; their committees' URLs are added from `get_committee`. */
  readonly urls: readonly string[];
  readonly revealTimeoutMs: number;
  /** How long to keep asking `get_round_secret` after the fast path failed. */
  readonly secretWaitMs: number;
  readonly pollMs?: number;
  /** This node's certificates of earlier heights, sent to a generator that needs them first. */
  readonly certificateOf: CertificateLookup;
  readonly log: Logger;
}

const committeeAnswer = z.array(z.object({ address: z.string(), url: z.string().nullable() }).loose()).max(1024);

/** The committee's key generators over JSON-RPC. */
export class KeyGeneratorSecrets implements RoundSecretSource {
  private readonly clients = new Map<string, RpcClient>();
  private readonly discovered = new Set<bigint>();

  constructor(private readonly o: KeyGeneratorSecretsOptions) {
    for (const url of o.urls) this.clientOf(url);
  }

  private clientOf(url: string): RpcClient {
    const key = url.replace(/\/+$/, "");
    let client = this.clients.get(key);
    if (client === undefined) {
      client = new RpcClient(key, { timeoutMs: this.o.revealTimeoutMs });
      this.clients.set(key, client);
    }
    return client;
  }

  /** Adds the URLs the configured generators know for their committee (once per rollup that answers). */
  private async discover(rollupId: bigint): Promise<RpcClient[]> {
    if (!this.discovered.has(rollupId)) {
      const answers = await Promise.allSettled(
        [...this.clients.values()].map((c) =>
          c.call("get_committee", { rollupId: rollupId.toString() }, committeeAnswer),
        ),
      );
      let any = false;
      for (const a of answers) {
        if (a.status !== "fulfilled") continue;
        any = true;
        for (const member of a.value)
          if (member.url !== null && /^https?:\/\//.test(member.url)) this.clientOf(member.url);
      }
      if (any) this.discovered.add(rollupId);
    }
    return [...this.clients.values()];
  }

  async obtain(roundKey: RoundKey, certificate: SealCertificate): Promise<ObtainedSecret> {
    const { rollupId, height } = roundKey.round;
    if (certificate.seal.rollupId !== rollupId || certificate.seal.height !== height) {
      throw new Error("the seal is for another round than the round key");
    }
    const clients = await this.discover(rollupId);
    if (clients.length === 0) throw new Error("no key generator is configured");
    const candidates = await this.collectReveals(clients, roundKey, certificate);
    const fromReveals = secretFromCandidates(roundKey, candidates);
    if (fromReveals !== undefined) return { secretKey: fromReveals, path: "reveals" };
    this.o.log.warn(
      { height: height.toString(), revealed: candidates.size, generators: roundKey.generators.length },
      "the reveals do not open the round key: asking for the recovered round secret",
    );
    // A generator that saw the seal recovers the secret (reveals among the committee, or its solver).
    const deadline = performance.now() + this.o.secretWaitMs;
    for (;;) {
      try {
        const secretKey = await fetchRoundSecret(clients, rollupId, height, roundKey.publicKey);
        return { secretKey, path: "round-secret" };
      } catch (error) {
        if (performance.now() >= deadline) throw error;
      }
      await new Promise((r) => setTimeout(r, this.o.pollMs ?? 250));
    }
  }

  /**
   * Asks every endpoint for its share. Any endpoint may claim to be any generator, so every distinct
   * share claimed for a generator of the key (for this round) is kept as a candidate.
   */
  private async collectReveals(
    clients: readonly RpcClient[],
    key: RoundKey,
    certificate: SealCertificate,
  ): Promise<Map<string, ShareReveal[]>> {
    const members = new Set(key.generators.map((g) => g.toLowerCase()));
    const out = new Map<string, ShareReveal[]>();
    await Promise.all(
      clients.map(async (client) => {
        try {
          const reveal = shareRevealFromJson(await requestReveal(client, certificate, this.o.certificateOf));
          const id = reveal.generator.toLowerCase();
          const sameRound = reveal.round.rollupId === key.round.rollupId && reveal.round.height === key.round.height;
          if (!sameRound || !members.has(id)) return;
          const list = out.get(id) ?? [];
          if (!list.some((r) => r.secretShare === reveal.secretShare)) out.set(id, [...list, reveal]);
        } catch (error) {
          this.o.log.debug({ url: client.url, err: (error as Error).message }, "no reveal");
        }
      }),
    );
    return out;
  }
}

/** Most share combinations tried (each costs one scalar multiplication). */
const MAX_COMBINATIONS = 64;

/**
 * The round secret from one candidate reveal per generator whose shares add up to the round key
 * (Σ sk_i · B8 = PK), or undefined: a generator without a candidate, or no combination (of at most
 * MAX_COMBINATIONS) opens the key. Honest generators' shares open it whatever others claim.
 */
export function secretFromCandidates(
  key: RoundKey,
  candidates: ReadonlyMap<string, readonly ShareReveal[]>,
): bigint | undefined {
  const lists = key.generators.map((g) => candidates.get(g.toLowerCase()) ?? []);
  const total = lists.reduce((n, l) => n * l.length, 1);
  if (total === 0) return undefined;
  for (let combination = 0; combination < Math.min(total, MAX_COMBINATIONS); combination++) {
    let rest = combination;
    const pick = lists.map((l) => {
      const r = l[rest % l.length]!;
      rest = Math.floor(rest / l.length);
      return r;
    });
    try {
      return secretFromReveals(key, pick);
    } catch {
      /* not this combination */
    }
  }
  return undefined;
}

/**
 * Share secrets held in memory, revealed as a key generator would (tests, benchmarks, a
 * single-operator devnet whose contributions come from a MemoryRoundKeySource). The result is
 * checked like any reveals: the shares must add up to the round key (Σ sk_i · B8 = PK).
 */
export class MemoryRoundSecrets implements RoundSecretSource {
  private readonly byRound = new Map<string, ShareReveal[]>();

  add(contribution: ContributionBody, secret: ShareSecret): this {
    const k = `${contribution.round.rollupId}:${contribution.round.height}`;
    this.byRound.set(k, [...(this.byRound.get(k) ?? []), revealShare(contribution, secret)]);
    return this;
  }

  obtain(roundKey: RoundKey, certificate: SealCertificate): Promise<ObtainedSecret> {
    return new Promise((resolve) => {
      const { rollupId, height } = roundKey.round;
      if (certificate.seal.rollupId !== rollupId || certificate.seal.height !== height) {
        throw new Error("the seal is for another round than the round key");
      }
      const secretKey = secretFromReveals(roundKey, this.byRound.get(`${rollupId}:${height}`) ?? []);
      resolve({ secretKey, path: "reveals" });
    });
  }
}
