/**
 * TEST ONLY. An RSA modulus whose factors we know, for tests that need a fast small modulus or an
 * element that shares a factor with N. A puzzle over it is worthless: knowing p and q, anyone
 * reduces 2^T mod φ(N) and opens it at once. Production uses RSA_2048_MODULUS.
 */
import type { BigMath } from "./bigmath";
import { randomBits } from "./puzzle";

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
