/**
 * Public parameters of the time-lock puzzles: the RSA modulus N, two hashed generators of the
 * quadratic residues, the number of sequential squarings T, and h = g^(2^T), which costs T
 * squarings to compute and is therefore computed once per (N, T), published with a Wesolowski
 * proof, and cached.
 */
import { loadBigMath, type BigMath } from "./bigmath";
import { RSA_2048_MODULUS } from "./modulus";
import { squareAndProve, type ProverOptions } from "./prover";
import { Transcript } from "./transcript";
import { verifyExponentiation } from "./wesolowski";

/** Extra bits that make a reduced hash or a random exponent statistically close to uniform. */
export const STATISTICAL_BITS = 128;

export interface TimelockParams {
  /** RSA modulus of unknown factorisation. */
  readonly N: bigint;
  readonly N2: bigint;
  /** Bit length of N. */
  readonly modulusBits: number;
  /** Puzzle base: a hashed square, so it lies in QR_N and nobody knows a root of it. */
  readonly g: bigint;
  /** Second hashed square, the blinding base of the integer commitment in the share proof. */
  readonly k: bigint;
  /** Sequential squarings that solving a puzzle takes. */
  readonly T: number;
  /** g^(2^T) mod N. */
  readonly h: bigint;
  /** h^N mod N², the base that masks a puzzle's (1+N)^s. */
  readonly H: bigint;
  /** Wesolowski proof that h = g^(2^T): lets anyone adopt h in milliseconds. */
  readonly hProof: bigint;
}

const bitLength = (x: bigint): number => x.toString(2).length;

/**
 * Hash-to-QR_N: a (|N| + 128)-bit hash of the label reduced mod N (statistically uniform), then
 * squared. Squaring puts it in the quadratic residues, a group with no public element of order 2,
 * and since it comes from a hash nobody knows its discrete log to another base or any root of it.
 */
export function hashToQuadraticResidue(math: BigMath, N: bigint, label: string): bigint {
  for (let attempt = 0; ; attempt++) {
    const x =
      new Transcript("veil/timelock/hash-to-qr/v1")
        .bytes("label", Buffer.from(label))
        .int("N", N)
        .int("attempt", BigInt(attempt))
        .integer(bitLength(N) + STATISTICAL_BITS) % N;
    if (x > 1n && x < N - 1n && math.gcd(x, N) === 1n) return (x * x) % N;
  }
}

function assertModulus(N: bigint): void {
  if (N < 1n << 511n) throw new RangeError("modulus too small (need at least 512 bits)");
  if (N % 2n === 0n) throw new RangeError("modulus must be odd");
}

function assertSquarings(T: number): void {
  if (!Number.isSafeInteger(T) || T < 1) throw new RangeError("T must be a positive safe integer");
}

function build(math: BigMath, N: bigint, T: number, h: bigint, hProof: bigint, g: bigint, k: bigint): TimelockParams {
  const N2 = N * N;
  return { N, N2, modulusBits: bitLength(N), g, k, T, h, H: math.modPow(h, N, N2), hProof };
}

const cache = new Map<string, TimelockParams>();
const cacheKey = (N: bigint, T: number): string => `${N.toString(16)}:${T}`;

/** The published parameters of a rollup: its registry entry carries all four. */
export interface PublishedTimelock {
  readonly N: bigint;
  readonly T: number;
  readonly h: bigint;
  readonly hProof: bigint;
}

/**
 * Parameters from a published (N, T, h, hProof): h is checked against its Wesolowski proof in
 * milliseconds and never recomputed. Cached per process and (N, T).
 */
export async function timelockParams(published: PublishedTimelock): Promise<TimelockParams> {
  const { N, T, h, hProof } = published;
  assertModulus(N);
  assertSquarings(T);
  const cached = cache.get(cacheKey(N, T));
  if (cached) {
    if (h !== cached.h) throw new Error("published h disagrees with the cached parameters");
    return cached;
  }
  const math = await loadBigMath();
  const g = puzzleBase(math, N);
  if (!verifyExponentiation(math, N, g, h, T, hProof)) throw new Error("published h fails its proof h = g^(2^T)");
  // The proof fixes h only up to sign. That is harmless: −h turns H into −H, and decoding squares V,
  // so puzzles made with either sign open to the same integer.
  const params = build(math, N, T, h, hProof, g, hashToQuadraticResidue(math, N, "commitment base k"));
  cache.set(cacheKey(N, T), params);
  return params;
}

/** The puzzle base g for N, the x of h = x^(2^T). */
export const puzzleBase = (math: BigMath, N: bigint): bigint => hashToQuadraticResidue(math, N, "puzzle generator g");

/**
 * Computes h = g^(2^T) and its proof for (N, T): T squarings and as many again for the proof, on a
 * worker thread (beyond development-sized T), with progress and a resumable checkpoint. Done once per rollup by whoever registers it
 * (`veil timelock setup`), and by tests and the devnet for their small T; no serving process calls it.
 */
export async function setupTimelock(
  options: { N?: bigint; T: number } & Pick<ProverOptions, "onProgress" | "signal" | "checkpointPath">,
): Promise<TimelockParams> {
  const N = options.N ?? RSA_2048_MODULUS;
  const { T } = options;
  assertModulus(N);
  assertSquarings(T);
  const cached = cache.get(cacheKey(N, T));
  if (cached) return cached;
  const math = await loadBigMath();
  const g = puzzleBase(math, N);
  const { y: h, proof: hProof } = await squareAndProve(N, g, T, options);
  return timelockParams({ N, T, h, hProof });
}

export { ASIC_SQUARINGS_PER_SECOND, squaringsForDelay } from "./policy";

/** Seconds a solver squaring at `ratePerSecond` needs for T squarings. */
export function delayForSquarings(T: number, ratePerSecond: number): number {
  assertSquarings(T);
  if (!Number.isFinite(ratePerSecond) || ratePerSecond <= 0) throw new RangeError("rate must be positive");
  return T / ratePerSecond;
}
