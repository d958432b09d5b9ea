/**
 * Proof that a time-lock puzzle (u, v) and a BabyJubJub public key pk hide the same integer s with
 * 0 ≤ s < ℓ (up to the slack of the response bound), non-interactive by Fiat–Shamir over the whole
 * statement, the round and the generator's address.
 *
 * Witness s, r (the puzzle's randomness) and t (fresh). Besides the puzzle the prover publishes an
 * integer commitment c = g^s·k^t mod N. The sigma protocol proves, with one shared response for s,
 *   u = g^r,  v = H^r·(1+N)^s,  c = g^s·k^t  (all compared in squares),  pk = (s mod ℓ)·B8.
 * The commitment is what makes the statement sound: (1+N) has the public order N, so on its own the
 * v-equation only pins s mod N, and a prover could hide the rational 1/2 (i.e. (N+1)/2) in the
 * puzzle while pk holds 1/2 mod ℓ and pass for every odd challenge. In c, s sits in the exponent of
 * a group of unknown order, where the strong RSA assumption forces the extracted s to be an integer;
 * the bound on z_s makes it a small one. docs/round-keys.md has the full argument.
 */
import { getAddress } from "ethers";
import { SUBGROUP_ORDER, add, assertPublicKey, equals, isOnCurve, mul, mulBase, type Point } from "../babyjub";
import type { BigMath } from "./bigmath";
import { STATISTICAL_BITS, type TimelockParams } from "./params";
import { assertWellFormedPuzzle, onePlusNPow, puzzleRandomnessBits, randomBits, type Puzzle } from "./puzzle";
import { Transcript } from "./transcript";

export const CHALLENGE_BITS = 128;
/** Bits of a secret share: s < ℓ < 2^251. */
export const SECRET_BITS = SUBGROUP_ORDER.toString(2).length;
/** Mask for s: secret + challenge + statistical bits, so z_s hides s·e statistically. */
export const MASK_S_BITS = SECRET_BITS + CHALLENGE_BITS + STATISTICAL_BITS;
/** Every honest z_s = a_s + e·s is below 2^(MASK_S_BITS+1); the verifier refuses anything larger. */
export const Z_S_BOUND = 1n << BigInt(MASK_S_BITS + 1);

const maskRandomnessBits = (params: TimelockParams): number =>
  puzzleRandomnessBits(params) + CHALLENGE_BITS + STATISTICAL_BITS;
const zRandomnessBound = (params: TimelockParams): bigint => 1n << BigInt(maskRandomnessBits(params) + 1);

/** What the proof is bound to besides the statement: the round and the generator. */
export interface ProofContext {
  readonly rollupId: bigint;
  readonly height: bigint;
  /** The key generator's Ethereum address. */
  readonly generator: string;
}

export interface ShareProof {
  /** Integer commitment g^s·k^t mod N. */
  readonly c: bigint;
  /** First messages: g^a_r mod N, H^a_r·(1+N)^a_s mod N², (a_s mod ℓ)·B8, g^a_s·k^a_t mod N. */
  readonly A: bigint;
  readonly B: bigint;
  readonly C: Point;
  readonly D: bigint;
  /** Responses over the integers: a + e·witness. */
  readonly zr: bigint;
  readonly zs: bigint;
  readonly zt: bigint;
}

export interface ShareStatement {
  readonly puzzle: Puzzle;
  readonly publicKey: Point;
}

export type Verdict = { readonly ok: true } | { readonly ok: false; readonly reason: string };

export function shareChallenge(
  params: TimelockParams,
  context: ProofContext,
  statement: ShareStatement,
  proof: Pick<ShareProof, "c" | "A" | "B" | "C" | "D">,
): bigint {
  if (context.rollupId < 0n || context.height < 0n) throw new RangeError("round numbers must be non-negative");
  return new Transcript("veil/roundkey/share-proof/v1")
    .int("N", params.N)
    .int("g", params.g)
    .int("k", params.k)
    .int("h", params.h)
    .int("T", BigInt(params.T))
    .int("rollupId", context.rollupId)
    .int("height", context.height)
    .bytes("generator", Buffer.from(getAddress(context.generator).slice(2), "hex"))
    .int("u", statement.puzzle.u)
    .int("v", statement.puzzle.v)
    .ints("pk", statement.publicKey)
    .int("c", proof.c)
    .int("A", proof.A)
    .int("B", proof.B)
    .ints("C", proof.C)
    .int("D", proof.D)
    .integer(CHALLENGE_BITS);
}

const mod = (x: bigint, m: bigint): bigint => ((x % m) + m) % m;

/** Proves that `statement` hides s (0 ≤ s < ℓ) with puzzle randomness r. */
export function proveShare(
  math: BigMath,
  params: TimelockParams,
  context: ProofContext,
  statement: ShareStatement,
  witness: { readonly s: bigint; readonly r: bigint },
): ShareProof {
  const { N, N2, g, k, H } = params;
  const { s, r } = witness;
  if (s < 0n || s >= SUBGROUP_ORDER) throw new RangeError("secret share must be in [0, ℓ)");
  if (r < 0n || r >= 1n << BigInt(puzzleRandomnessBits(params))) throw new RangeError("puzzle randomness out of range");
  const t = randomBits(puzzleRandomnessBits(params));
  const c = (math.modPow(g, s, N) * math.modPow(k, t, N)) % N;
  const ar = randomBits(maskRandomnessBits(params));
  const at = randomBits(maskRandomnessBits(params));
  const as = randomBits(MASK_S_BITS);
  const commitments = {
    c,
    A: math.modPow(g, ar, N),
    B: (math.modPow(H, ar, N2) * onePlusNPow(params, as)) % N2,
    C: mulBase(as % SUBGROUP_ORDER),
    D: (math.modPow(g, as, N) * math.modPow(k, at, N)) % N,
  };
  const e = shareChallenge(params, context, statement, commitments);
  return { ...commitments, zr: ar + e * r, zs: as + e * s, zt: at + e * t };
}

/** Checks a share proof; never throws, returns why it failed. */
export function verifyShare(
  math: BigMath,
  params: TimelockParams,
  context: ProofContext,
  statement: ShareStatement,
  proof: ShareProof,
): Verdict {
  const { N, N2, g, k, H } = params;
  const fail = (reason: string): Verdict => ({ ok: false, reason });
  try {
    assertPublicKey(statement.publicKey, "share public key");
    assertWellFormedPuzzle(math, params, statement.puzzle, "share puzzle");
  } catch (error) {
    return fail((error as Error).message);
  }
  const inZN = (x: bigint): boolean => x > 0n && x < N;
  if (!inZN(proof.c) || !inZN(proof.A) || !inZN(proof.D)) return fail("proof element out of range [1, N)");
  if (proof.B <= 0n || proof.B >= N2) return fail("proof element B out of range [1, N²)");
  if (!isOnCurve(proof.C)) return fail("proof point C is not on BabyJubJub");
  if (proof.zs < 0n || proof.zs >= Z_S_BOUND) return fail("response z_s out of bounds");
  const zBound = zRandomnessBound(params);
  if (proof.zr < 0n || proof.zr >= zBound || proof.zt < 0n || proof.zt >= zBound) {
    return fail("response z_r or z_t out of bounds");
  }
  let e: bigint;
  try {
    e = shareChallenge(params, context, statement, proof);
  } catch (error) {
    return fail((error as Error).message);
  }
  const { u, v } = statement.puzzle;
  // Each group equation is compared in squares: that quotients out −1 and every other element of
  // order 2, which an attacker could otherwise multiply into u, v or c unnoticed half the time.
  const sameSquare = (x: bigint, y: bigint, m: bigint): boolean => (x * x) % m === (y * y) % m;
  if (!sameSquare(math.modPow(g, proof.zr, N), (proof.A * math.modPow(u, e, N)) % N, N)) {
    return fail("puzzle u does not match the proof");
  }
  const lhsV = (math.modPow(H, proof.zr, N2) * onePlusNPow(params, proof.zs)) % N2;
  if (!sameSquare(lhsV, (proof.B * math.modPow(v, e, N2)) % N2, N2)) return fail("puzzle v does not match the proof");
  const lhsC = (math.modPow(g, proof.zs, N) * math.modPow(k, proof.zt, N)) % N;
  if (!sameSquare(lhsC, (proof.D * math.modPow(proof.c, e, N)) % N, N))
    return fail("commitment c does not match the proof");
  if (!equals(mulBase(mod(proof.zs, SUBGROUP_ORDER)), add(proof.C, mul(statement.publicKey, e)))) {
    return fail("public key does not match the proof");
  }
  return { ok: true };
}
