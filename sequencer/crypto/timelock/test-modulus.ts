/**
 * TEST ONLY. An RSA modulus whose factors we know, for tests that need a fast small modulus or an
 * element that shares a factor with N. A puzzle over it is worthless: knowing p and q, anyone
 * reduces 2^T mod φ(N) and opens it at once. Production uses RSA_2048_MODULUS.
 */
import type { BigMath } from "./bigmath";
import { puzzleBase } from "./params";
import { randomBits } from "./puzzle";
import { challengePrime } from "./wesolowski";

function randomPrime(math: BigMath, bits: number): bigint {
  for (;;) {
    const candidate = randomBits(bits) | (1n << BigInt(bits - 1)) | (1n << BigInt(bits - 2)) | 1n;
    if (math.isProbablePrime(candidate)) return candidate;
  }
}

export function generateTestOnlyModulus(math: BigMath, bits = 1024): { N: bigint; p: bigint; q: bigint } {
  if (bits < 512 || bits % 2 !== 0) throw new RangeError("test modulus needs an even bit length ≥ 512");
  for (;;) {
    const p = randomPrime(math, bits / 2);
    const q = randomPrime(math, bits / 2);
    if (p !== q) return { N: p * q, p, q };
  }
}

/**
 * TEST ONLY. (h, hProof) for any T in milliseconds, through the trapdoor: knowing p and q, every exponent
 * reduces mod λ(N). This is exactly the shortcut a modulus's maker has, and why production uses RSA-2048;
 * tests and benchmarks use it to check a verifier at production T without squaring T times.
 */
export function trapdoorTimelock(
  math: BigMath,
  modulus: { N: bigint; p: bigint; q: bigint },
  T: number,
): { h: bigint; hProof: bigint } {
  const { N, p, q } = modulus;
  const lambda = ((p - 1n) * (q - 1n)) / math.gcd(p - 1n, q - 1n);
  const g = puzzleBase(math, N);
  const h = math.modPow(g, math.modPow(2n, BigInt(T), lambda), N);
  const challenge = challengePrime(math, N, g, h, T);
  // ⌊2^T/c⌋ mod λ without the T-bit quotient: 2^T = c·⌊2^T/c⌋ + (2^T mod c), and c is a unit mod λ.
  const quotient =
    ((math.modPow(2n, BigInt(T), lambda) - (math.modPow(2n, BigInt(T), challenge) % lambda) + lambda) *
      math.modInverse(challenge, lambda)) %
    lambda;
  return { h, hProof: math.modPow(g, quotient, N) };
}
