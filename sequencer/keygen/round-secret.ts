/**
 * The round secret once a height is sealed, with the evidence that lets anyone check it in
 * milliseconds: either every generator's verified reveal (fast path) or a solved puzzle with its
 * Wesolowski proof (slow path). `recoverRoundSecret` gathers reveals from the committee and falls
 * back to the solver when one is missing.
 */
import type { Logger } from "pino";
import { z } from "zod";
import {
  isRoundSecret,
  puzzleSolutionSchema,
  puzzleSolutionToJson,
  secretFromReveals,
  shareRevealFromJson,
  shareRevealSchema,
  shareRevealToJson,
  solveRoundKey,
  verifyReveal,
  verifySolution,
  type Contribution,
  type PuzzleSolution,
  type RoundKey,
  type ShareReveal,
  type Verdict,
} from "../crypto/roundkey";
import type { TimelockParams } from "../crypto/timelock/params";
import { toHex } from "../crypto/timelock/wire";
import type { SealCertificate } from "../chain/certificate";
import { requestReveal, type CertificateLookup } from "./reveal-request";
import type { RpcClient } from "../rpc/client";

const noCertificates: CertificateLookup = () => Promise.resolve(undefined);

export type Evidence =
  | { readonly kind: "reveals"; readonly reveals: readonly ShareReveal[] }
  | { readonly kind: "solution"; readonly solution: PuzzleSolution };

export interface RoundSecret {
  readonly secretKey: bigint;
  readonly evidence: Evidence;
}

export const roundSecretSchema = z.strictObject({
  secretKey: z.string().regex(/^0x[0-9a-fA-F]{1,64}$/, "expected a 0x-hex scalar"),
  evidence: z.discriminatedUnion("kind", [
    z.strictObject({ kind: z.literal("reveals"), reveals: z.array(shareRevealSchema).min(1).max(1024) }),
    z.strictObject({ kind: z.literal("solution"), solution: puzzleSolutionSchema }),
  ]),
});
export type RoundSecretJson = z.input<typeof roundSecretSchema>;

export const roundSecretToJson = (s: RoundSecret): RoundSecretJson => ({
  secretKey: toHex(s.secretKey),
  evidence:
    s.evidence.kind === "reveals"
      ? { kind: "reveals", reveals: s.evidence.reveals.map(shareRevealToJson) }
      : { kind: "solution", solution: puzzleSolutionToJson(s.evidence.solution) },
});

export function roundSecretFromJson(json: unknown): RoundSecret {
  const parsed = roundSecretSchema.parse(json);
  const evidence: Evidence =
    parsed.evidence.kind === "reveals"
      ? { kind: "reveals", reveals: parsed.evidence.reveals }
      : { kind: "solution", solution: parsed.evidence.solution };
  return { secretKey: BigInt(parsed.secretKey), evidence };
}

/**
 * Checks a round secret against the round key and the contributions it aggregates: each reveal
 * opens its generator's contribution and together they give the key, or the solution's proof
 * verifies and decodes to the key.
 */
export async function verifyRoundSecret(
  params: TimelockParams,
  key: RoundKey,
  contributions: readonly Contribution[],
  secret: RoundSecret,
): Promise<Verdict> {
  if (!isRoundSecret(key, secret.secretKey)) return { ok: false, reason: "secret key fails sk·B8 = PK" };
  if (secret.evidence.kind === "solution") {
    if (secret.evidence.solution.secretKey !== secret.secretKey)
      return { ok: false, reason: "the solution yields another secret key" };
    return verifySolution(params, key, secret.evidence.solution);
  }
  const byGenerator = new Map(contributions.map((c) => [c.generator.toLowerCase(), c]));
  for (const reveal of secret.evidence.reveals) {
    const contribution = byGenerator.get(reveal.generator.toLowerCase());
    if (!contribution) return { ok: false, reason: `reveal from ${reveal.generator}, who is not in the round key` };
    const verdict = await verifyReveal(params, contribution, reveal);
    if (!verdict.ok) return { ok: false, reason: `reveal from ${reveal.generator}: ${verdict.reason}` };
  }
  try {
    if (secretFromReveals(key, secret.evidence.reveals) !== secret.secretKey)
      return { ok: false, reason: "the reveals add up to another secret key" };
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
  return { ok: true };
}

export interface RecoveryInput {
  readonly params: TimelockParams;
  readonly key: RoundKey;
  /** The contributions the key aggregates (in key order). */
  readonly contributions: readonly Contribution[];
  /** Where to ask each generator for its reveal; a generator without a client counts as missing. */
  readonly clients: ReadonlyMap<string, RpcClient>;
  /** Reveals already at hand (e.g. this generator's own), by lower-case address. */
  readonly known?: readonly ShareReveal[];
  /** The height's seal certificate, which every generator asks for before it reveals. */
  readonly certificate: SealCertificate;
  /** Certificates of earlier heights the caller holds, for generators that release heights in order. */
  readonly certificateOf?: CertificateLookup;
  readonly revealTimeoutMs: number;
  /** Solve the puzzle when a reveal is missing; otherwise fail. */
  readonly solve: boolean;
  readonly signal?: AbortSignal;
  /** Where the solver keeps its progress, to resume after a restart (none: start over). */
  readonly checkpointPath?: string;
  readonly log: Logger;
}

/** Fast path if every generator reveals a share that verifies, otherwise the solver. */
export async function recoverRoundSecret(input: RecoveryInput): Promise<RoundSecret> {
  const { params, key, log } = input;
  const reveals = new Map<string, ShareReveal>((input.known ?? []).map((r) => [r.generator.toLowerCase(), r]));
  const byGenerator = new Map(input.contributions.map((c) => [c.generator.toLowerCase(), c]));
  await Promise.all(
    key.generators.map(async (generator) => {
      const id = generator.toLowerCase();
      const client = input.clients.get(id);
      const contribution = byGenerator.get(id);
      if (reveals.has(id) || client === undefined || contribution === undefined) return;
      try {
        const answer = await requestReveal(client, input.certificate, input.certificateOf ?? noCertificates, {
          timeoutMs: input.revealTimeoutMs,
          ...(input.signal ? { signal: input.signal } : {}),
        });
        const reveal = shareRevealFromJson(answer);
        const verdict = await verifyReveal(params, contribution, reveal);
        if (verdict.ok) reveals.set(id, reveal);
        else log.warn({ generator, reason: verdict.reason }, "reveal rejected");
      } catch (error) {
        log.warn({ generator, err: (error as Error).message }, "no reveal from generator");
      }
    }),
  );
  const missing = key.generators.filter((g) => !reveals.has(g.toLowerCase()));
  if (missing.length === 0) {
    const ordered = key.generators.map((g) => reveals.get(g.toLowerCase())!);
    return { secretKey: secretFromReveals(key, ordered), evidence: { kind: "reveals", reveals: ordered } };
  }
  if (!input.solve) throw new Error(`reveals missing from ${missing.join(", ")} and the solver is off`);
  log.info({ missing, T: params.T }, "reveals missing: solving the round puzzle");
  const started = performance.now();
  let lastLog = 0;
  const solution = await solveRoundKey(params, key, {
    ...(input.signal ? { signal: input.signal } : {}),
    ...(input.checkpointPath === undefined ? {} : { checkpointPath: input.checkpointPath }),
    onProgress: ({ phase, done, total }) => {
      const now = performance.now();
      if (now - lastLog < 2_000 && done < total) return;
      lastLog = now;
      log.info({ phase, done, total, percent: Math.floor((100 * done) / total) }, "solving");
    },
  });
  log.info({ ms: Math.round(performance.now() - started) }, "round puzzle solved");
  return { secretKey: solution.secretKey, evidence: { kind: "solution", solution } };
}
