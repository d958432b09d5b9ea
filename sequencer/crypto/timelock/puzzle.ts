/**
 * Malavolta–Thyagarajan linearly homomorphic time-lock puzzles (CRYPTO 2019):
 *   u = g^r mod N,   v = h^(r·N) · (1+N)^s = H^r · (1+N)^s mod N².
 * Multiplying puzzles adds the hidden integers. Solving computes w = u^(2^T) = h^r mod N with T
 * sequential squarings; then v / w^N = (1+N)^s reveals s mod N. Decoding squares first
 * (v² / w^(2N) = (1+N)^(2s)) so that elements of order 2 anywhere in u, v or h change nothing.
 */
import { randomBytes } from "node:crypto";
import type { BigMath } from "./bigmath";
import { STATISTICAL_BITS, type TimelockParams } from "./params";

export interface Puzzle {
  readonly u: bigint;
  readonly v: bigint;
}

/** Uniform random integer in [0, 2^bits). */
export function randomBits(bits: number): bigint {
  const bytes = randomBytes(Math.ceil(bits / 8));
  return BigInt(`0x${bytes.toString("hex")}`) & ((1n << BigInt(bits)) - 1n);
}

/** Bits of a puzzle's randomness r: |N| + 128, so g^r is statistically close to uniform in ⟨g⟩. */
export const puzzleRandomnessBits = (params: TimelockParams): number => params.modulusBits + STATISTICAL_BITS;

/** (1+N)^s mod N² = 1 + s·N (binomial theorem; all higher terms vanish mod N²). */
export function onePlusNPow(params: TimelockParams, s: bigint): bigint {
  const reduced = ((s % params.N) + params.N) % params.N;
  return (1n + reduced * params.N) % params.N2;
}

/** Throws unless u ∈ Z_N* and v ∈ Z_N²* (canonical ranges; a shared factor with N is refused). */
export function assertWellFormedPuzzle(math: BigMath, params: TimelockParams, puzzle: Puzzle, what = "puzzle"): void {
  const { u, v } = puzzle;
  if (u <= 0n || u >= params.N) throw new RangeError(`${what}: u is not in [1, N)`);
  if (v <= 0n || v >= params.N2) throw new RangeError(`${what}: v is not in [1, N²)`);
  if (math.gcd(u, params.N) !== 1n) throw new RangeError(`${what}: u is not a unit mod N`);
  if (math.gcd(v, params.N) !== 1n) throw new RangeError(`${what}: v is not a unit mod N²`);
}

/** The puzzle hiding the integer s with randomness r. */
export function lockInteger(math: BigMath, params: TimelockParams, s: bigint, r: bigint): Puzzle {
  if (r < 0n) throw new RangeError("puzzle randomness must be non-negative");
  return {
    u: math.modPow(params.g, r, params.N),
    v: (math.modPow(params.H, r, params.N2) * onePlusNPow(params, s)) % params.N2,
  };
}

/** Π u_i mod N, Π v_i mod N²: the puzzle of Σ s_i. */
export function combinePuzzles(params: TimelockParams, puzzles: readonly Puzzle[]): Puzzle {
  if (puzzles.length === 0) throw new RangeError("no puzzles to combine");
  let u = 1n;
  let v = 1n;
  for (const p of puzzles) {
    u = (u * p.u) % params.N;
    v = (v * p.v) % params.N2;
  }
  return { u, v };
}

/** True when (s, r) opens the puzzle, compared in squares as the share proof does. */
export function opensPuzzle(math: BigMath, params: TimelockParams, puzzle: Puzzle, s: bigint, r: bigint): boolean {
  if (r < 0n) return false;
  const expected = lockInteger(math, params, s, r);
  const sq = (x: bigint, m: bigint): bigint => (x * x) % m;
  return sq(puzzle.u, params.N) === sq(expected.u, params.N) && sq(puzzle.v, params.N2) === sq(expected.v, params.N2);
}

/** x mod N read in (−N/2, N/2]. */
export function centred(x: bigint, N: bigint): bigint {
  const r = ((x % N) + N) % N;
  return r > N / 2n ? r - N : r;
}

/**
 * The integer a puzzle hides, given w = u^(2^T) mod N from the solver, read in the centred range
 * (so a negative total decodes as negative rather than as a huge positive number).
 */
export function decodeSolved(math: BigMath, params: TimelockParams, puzzle: Puzzle, w: bigint): bigint {
  const { N, N2 } = params;
  const wN = math.modPow(w, 2n * N, N2);
  const x = (((puzzle.v * puzzle.v) % N2) * math.modInverse(wN, N2)) % N2;
  if (x % N !== 1n) throw new Error("puzzle does not decode: v²/w^(2N) is not of the form 1 + kN");
  const twoS = (x - 1n) / N;
  return centred((twoS * ((N + 1n) / 2n)) % N, N);
}
