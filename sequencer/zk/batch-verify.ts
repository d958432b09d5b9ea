/**
 * Groth16 verification on BN254, one proof or a batch, synchronous on one warm curve.
 *
 * One proof (A, B, C) with public inputs x is valid when
 *   e(A, B) = e(α, β) · e(L, γ) · e(C, δ),   L = IC₀ + Σᵢ xᵢ·ICᵢ.
 * A batch is checked with one multi-pairing of a random linear combination (fresh CSPRNG scalars
 * rⱼ of 128 bits, nonzero):
 *   Πⱼ e(rⱼ·Aⱼ, Bⱼ) · e(−Σ rⱼ·Lⱼ, γ) · e(−Σ rⱼ·Cⱼ, δ) · e(−(Σ rⱼ)·α, β) = 1,
 * i.e. one Miller loop per proof plus three, and one final exponentiation. When it fails, the batch
 * is bisected, reusing each proof's Miller loop value, until the bad proofs are isolated; a single
 * proof's check is exact because rⱼ is invertible mod r. See docs/verification.md for soundness.
 */
import { randomBytes } from "node:crypto";
import { z } from "zod";
import { BN254_R, parseCanonical, parseG1, parseG2, type Bn254Curve, type Buf } from "./bn254";

const decimal = z.string().regex(/^[0-9]+$/);
const g1Json = z.tuple([decimal, decimal]).rest(decimal);
const f2Json = z.tuple([decimal, decimal]);
const g2Json = z.tuple([f2Json, f2Json]).rest(f2Json);

/** A snarkjs Groth16 verification key (verification_key.json) for BN254. */
export const verificationKeySchema = z.object({
  protocol: z.literal("groth16"),
  curve: z.literal("bn128"),
  nPublic: z.number().int().min(0).max(1024),
  vk_alpha_1: g1Json,
  vk_beta_2: g2Json,
  vk_gamma_2: g2Json,
  vk_delta_2: g2Json,
  IC: z.array(g1Json).min(1),
});
export type VerificationKeyJson = z.infer<typeof verificationKeySchema>;

/** A verification key decoded once, with the fixed G2 points prepared for the Miller loop. */
export interface PreparedKey {
  readonly nPublic: number;
  readonly alpha: Buf;
  readonly ic: readonly Buf[];
  readonly preparedBeta: Buf;
  readonly preparedGamma: Buf;
  readonly preparedDelta: Buf;
  /** e(α, β), so that a lone proof with r = 1 needs no fourth Miller loop. */
  readonly alphaBeta: Buf;
}

/** Decodes and checks a verification key; throws on a malformed one (that is a configuration error). */
export function prepareKey(curve: Bn254Curve, json: unknown): PreparedKey {
  const vk = verificationKeySchema.parse(json);
  if (vk.IC.length !== vk.nPublic + 1)
    throw new Error(`verification key: IC has ${vk.IC.length} points, nPublic is ${vk.nPublic}`);
  const g1 = (v: unknown, what: string): Buf => {
    const p = parseG1(curve, v);
    if (!p) throw new Error(`verification key: ${what} is not a point of G1`);
    return p;
  };
  const g2 = (v: unknown, what: string): Buf => {
    const p = parseG2(curve, v);
    if (!p) throw new Error(`verification key: ${what} is not a point of G2`);
    return curve.prepareG2(curve.G2.toJacobian(p));
  };
  const alpha = g1(vk.vk_alpha_1, "alpha");
  const preparedBeta = g2(vk.vk_beta_2, "beta");
  return {
    nPublic: vk.nPublic,
    alpha,
    ic: vk.IC.map((p, i) => g1(p, `IC[${i}]`)),
    preparedBeta,
    preparedGamma: g2(vk.vk_gamma_2, "gamma"),
    preparedDelta: g2(vk.vk_delta_2, "delta"),
    alphaBeta: curve.finalExponentiation(curve.millerLoop(curve.prepareG1(curve.G1.toJacobian(alpha)), preparedBeta)),
  };
}

/** A proof whose points passed the group checks and whose public inputs are canonical field elements. */
export interface ParsedProof {
  readonly a: Buf;
  readonly b: Buf;
  readonly c: Buf;
  readonly inputs: readonly bigint[];
}

/** Parses untrusted input; undefined for anything malformed (never throws). */
export function parseProof(
  curve: Bn254Curve,
  key: PreparedKey,
  proof: unknown,
  publicSignals: unknown,
): ParsedProof | undefined {
  try {
    if (typeof proof !== "object" || proof === null) return undefined;
    const p = proof as Record<string, unknown>;
    if (p.protocol !== undefined && p.protocol !== "groth16") return undefined;
    if (p.curve !== undefined && p.curve !== "bn128") return undefined;
    if (!Array.isArray(publicSignals) || publicSignals.length !== key.nPublic) return undefined;
    const inputs: bigint[] = [];
    for (const s of publicSignals) {
      const v = parseCanonical(s, BN254_R);
      if (v === undefined) return undefined;
      inputs.push(v);
    }
    const a = parseG1(curve, p.pi_a);
    const c = a && parseG1(curve, p.pi_c);
    const b = c && parseG2(curve, p.pi_b);
    if (!a || !b || !c) return undefined;
    return { a, b, c, inputs };
  } catch {
    return undefined;
  }
}

/** Source of the batching scalars; a CSPRNG in production, injectable for tests. */
export type ScalarSource = () => bigint;

/** Uniform nonzero 128-bit scalars from the OS CSPRNG. */
export const randomScalar128: ScalarSource = () => {
  for (;;) {
    const r = BigInt(`0x${randomBytes(16).toString("hex")}`);
    if (r !== 0n) return r;
  }
};

/** Per-proof work done once per batch and reused by every sub-check of the bisection. */
interface Term {
  readonly r: bigint;
  readonly inputs: readonly bigint[];
  /** Miller loop value of (r·A, B). */
  readonly miller: Buf;
  /** r·C (Jacobian). */
  readonly rc: Buf;
}

function makeTerm(curve: Bn254Curve, proof: ParsedProof, r: bigint): Term {
  const ra = r === 1n ? proof.a : curve.G1.timesScalar(proof.a, r);
  const miller = curve.millerLoop(
    curve.prepareG1(curve.G1.toJacobian(ra)),
    curve.prepareG2(curve.G2.toJacobian(proof.b)),
  );
  const rc = curve.G1.toJacobian(r === 1n ? proof.c : curve.G1.timesScalar(proof.c, r));
  return { r, inputs: proof.inputs, miller, rc };
}

/** Whether the random linear combination of `terms` satisfies the pairing equation. */
function combinationHolds(curve: Bn254Curve, key: PreparedKey, terms: readonly Term[]): boolean {
  const { G1, F12 } = curve;
  let sumR = 0n;
  const inputSums = new Array<bigint>(key.nPublic).fill(0n);
  let sumC = G1.zero;
  let acc = F12.one;
  for (const t of terms) {
    sumR += t.r;
    t.inputs.forEach((x, i) => {
      inputSums[i]! += t.r * x;
    });
    sumC = G1.add(sumC, t.rc);
    acc = F12.mul(acc, t.miller);
  }
  sumR %= BN254_R;
  // Σ rⱼ·Lⱼ = (Σ rⱼ)·IC₀ + Σᵢ (Σⱼ rⱼ·xⱼᵢ)·ICᵢ: one scalar multiplication per IC point, not per proof.
  let sumL = G1.timesScalar(key.ic[0]!, sumR);
  inputSums.forEach((s, i) => {
    sumL = G1.add(sumL, G1.timesScalar(key.ic[i + 1]!, s % BN254_R));
  });
  const ml = (p: Buf, preparedQ: Buf): Buf => curve.millerLoop(curve.prepareG1(G1.toJacobian(G1.neg(p))), preparedQ);
  acc = F12.mul(acc, ml(sumL, key.preparedGamma));
  acc = F12.mul(acc, ml(sumC, key.preparedDelta));
  if (sumR === 1n) return F12.eq(curve.finalExponentiation(acc), key.alphaBeta);
  acc = F12.mul(acc, ml(G1.timesScalar(key.alpha, sumR), key.preparedBeta));
  return F12.eq(curve.finalExponentiation(acc), F12.one);
}

/**
 * Marks `valid[i]` for every term of `indices` that satisfies its own equation. `knownBad` says the
 * combination over `indices` is already known to fail (its sibling passed while the parent failed).
 */
function bisect(
  curve: Bn254Curve,
  key: PreparedKey,
  terms: readonly Term[],
  indices: readonly number[],
  valid: boolean[],
  knownBad: boolean,
): void {
  if (indices.length === 0) return;
  const subset = indices.map((i) => terms[i]!);
  if (!knownBad && combinationHolds(curve, key, subset)) {
    for (const i of indices) valid[i] = true;
    return;
  }
  if (indices.length === 1) return;
  const mid = indices.length >> 1;
  const left = indices.slice(0, mid);
  const right = indices.slice(mid);
  const leftOk = combinationHolds(
    curve,
    key,
    left.map((i) => terms[i]!),
  );
  if (leftOk) for (const i of left) valid[i] = true;
  else bisect(curve, key, terms, left, valid, true);
  // The parent's product is the product of its halves: with a passing left half the right one fails.
  bisect(curve, key, terms, right, valid, leftOk);
}

/**
 * Verifies parsed proofs (undefined entries are malformed and verify as false). A lone proof is
 * checked directly with r = 1; a batch with fresh random scalars from `scalars`.
 */
export function verifyParsed(
  curve: Bn254Curve,
  key: PreparedKey,
  proofs: readonly (ParsedProof | undefined)[],
  scalars: ScalarSource = randomScalar128,
): boolean[] {
  const valid = proofs.map(() => false);
  const present = proofs.flatMap((p, i) => (p ? [i] : []));
  if (present.length === 0) return valid;
  const lone = present.length === 1;
  const terms: Term[] = [];
  const slot = new Map<number, number>();
  for (const i of present) {
    slot.set(terms.length, i);
    const r = lone ? 1n : scalars();
    if (r <= 0n || r >= BN254_R) throw new Error("batching scalar out of range");
    terms.push(makeTerm(curve, proofs[i]!, r));
  }
  const termValid = terms.map(() => false);
  bisect(
    curve,
    key,
    terms,
    terms.map((_, k) => k),
    termValid,
    false,
  );
  termValid.forEach((ok, k) => {
    valid[slot.get(k)!] = ok;
  });
  return valid;
}
