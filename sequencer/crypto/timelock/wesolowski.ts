/**
 * Wesolowski's proof of exponentiation (EUROCRYPT 2019): a claim y = x^(2^T) mod N is checked with
 * two short exponentiations instead of T squarings. The challenge is a 256-bit prime q derived by
 * hashing (N, x, y, T); the proof is π = x^⌊2^T/q⌋ and the check is π^q · x^(2^T mod q) = y.
 *
 * In Z_N* the element −1 is public, so (−y, −π) verifies whenever (y, π) does: the proof fixes y
 * only up to sign (more precisely up to an element of order 2). Every consumer here squares y
 * before using it, which removes exactly that ambiguity (docs/round-keys.md).
 */
import type { BigMath } from "./bigmath";
import { Transcript } from "./transcript";

const CHALLENGE_PRIME_BITS = 256;

function assertUnit(math: BigMath, N: bigint, x: bigint, what: string): void {
  if (x <= 0n || x >= N) throw new RangeError(`${what} is not in [1, N)`);
  if (math.gcd(x, N) !== 1n) throw new RangeError(`${what} is not a unit mod N`);
}

function assertSquarings(T: number): void {
  if (!Number.isSafeInteger(T) || T < 1) throw new RangeError("T must be a positive safe integer");
}

/** The Fiat–Shamir prime q: the first prime among counter-indexed 256-bit hashes of the claim. */
export function challengePrime(math: BigMath, N: bigint, x: bigint, y: bigint, T: number): bigint {
  const transcript = new Transcript("veil/timelock/wesolowski/v1")
    .int("N", N)
    .int("x", x)
    .int("y", y)
    .int("T", BigInt(T));
  for (let counter = 0; ; counter++) {
    const raw = BigInt(`0x${transcript.digest(counter).toString("hex")}`);
    const candidate = raw | (1n << BigInt(CHALLENGE_PRIME_BITS - 1)) | 1n;
    if (math.isProbablePrime(candidate)) return candidate;
  }
}

/** π for the claim y = x^(2^T) mod N (the caller already knows y, e.g. from the solver). Costs about T squarings. */
export function proveExponentiation(math: BigMath, N: bigint, x: bigint, y: bigint, T: number): bigint {
  assertSquarings(T);
  assertUnit(math, N, x, "base");
  assertUnit(math, N, y, "result");
  const q = challengePrime(math, N, x, y, T);
  return math.powFloorPow2Div(x, T, q, N);
}

/** True when π proves y = x^(2^T) mod N (up to the sign ambiguity described above). Never throws on bad input. */
export function verifyExponentiation(math: BigMath, N: bigint, x: bigint, y: bigint, T: number, pi: bigint): boolean {
  try {
    assertSquarings(T);
    assertUnit(math, N, x, "base");
    assertUnit(math, N, y, "result");
    assertUnit(math, N, pi, "proof");
  } catch {
    return false;
  }
  const q = challengePrime(math, N, x, y, T);
  const r = math.modPow(2n, BigInt(T), q);
  return (math.modPow(pi, q, N) * math.modPow(x, r, N)) % N === y;
}
