import { expect } from "chai";
import fc from "fast-check";
import { loadBigMath, type BigMath } from "../../sequencer/crypto/timelock/bigmath";
import { RSA_2048_MODULUS } from "../../sequencer/crypto/timelock/modulus";
import {
  ASIC_SQUARINGS_PER_SECOND,
  delayForSquarings,
  hashToQuadraticResidue,
  squaringsForDelay,
  setupTimelock,
  timelockParams,
  type TimelockParams,
} from "../../sequencer/crypto/timelock/params";
import {
  assertWellFormedPuzzle,
  centred,
  combinePuzzles,
  decodeSolved,
  lockInteger,
  opensPuzzle,
  randomBits,
} from "../../sequencer/crypto/timelock/puzzle";
import { repeatedSquaring } from "../../sequencer/crypto/timelock/solver";
import { generateTestOnlyModulus, trapdoorTimelock } from "../../sequencer/crypto/timelock/test-modulus";
import { challengePrime, proveExponentiation, verifyExponentiation } from "../../sequencer/crypto/timelock/wesolowski";

/** Reference square-and-multiply in plain BigInt, to check GMP against. */
function slowModPow(base: bigint, exp: bigint, m: bigint): bigint {
  let result = 1n;
  let b = base % m;
  for (let e = exp; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % m;
    b = (b * b) % m;
  }
  return result;
}

describe("time-lock puzzles", function () {
  this.timeout(120_000);
  let math: BigMath;
  let test: { N: bigint; p: bigint; q: bigint };
  let small: TimelockParams; // TEST ONLY modulus, T = 64
  let rsa: TimelockParams; // RSA-2048, T = 256

  before(async () => {
    math = await loadBigMath();
    test = generateTestOnlyModulus(math, 1024);
    small = await setupTimelock({ N: test.N, T: 64 });
    rsa = await setupTimelock({ T: 256 });
  });

  describe("GMP arithmetic", () => {
    it("agrees with plain BigInt on modPow, modInverse and gcd", () => {
      fc.assert(
        fc.property(fc.bigInt({ min: 0n, max: 1n << 600n }), fc.bigInt({ min: 0n, max: 1n << 300n }), (b, e) => {
          expect(math.modPow(b, e, test.N)).to.equal(slowModPow(b, e, test.N));
          if (math.gcd(b, test.N) === 1n) expect((math.modInverse(b, test.N) * b) % test.N).to.equal(1n);
        }),
        { numRuns: 30 },
      );
      expect(math.gcd(test.p * 6n, test.N)).to.equal(test.p);
      expect(() => math.modInverse(test.p, test.N)).to.throw(/not invertible/);
    });

    it("recognises primes and composites", () => {
      expect(math.isProbablePrime(test.p)).to.equal(true);
      expect(math.isProbablePrime(test.N)).to.equal(false);
      expect(math.isProbablePrime(1n)).to.equal(false);
    });

    it("computes base^⌊2^t/d⌋ like the explicit exponent", () => {
      const d = 1_000_003n;
      expect(math.powFloorPow2Div(3n, 300, d, test.N)).to.equal(slowModPow(3n, (1n << 300n) / d, test.N));
    });
  });

  describe("parameters", () => {
    it("uses the RSA-2048 challenge modulus by default (617 digits, 2048 bits)", () => {
      expect(rsa.N).to.equal(RSA_2048_MODULUS);
      expect(RSA_2048_MODULUS.toString().length).to.equal(617);
      expect(rsa.modulusBits).to.equal(2048);
      // Leading and trailing digits as published by RSA Laboratories.
      expect(RSA_2048_MODULUS.toString().startsWith("2519590847565789349402718324004839857142928212620")).to.equal(
        true,
      );
      expect(RSA_2048_MODULUS.toString().endsWith("12010397122822120720357")).to.equal(true);
    });

    it("derives g and k by hashing into the squares, deterministically and independently", () => {
      expect(hashToQuadraticResidue(math, rsa.N, "puzzle generator g")).to.equal(rsa.g);
      expect(rsa.g).to.not.equal(rsa.k);
      expect(rsa.g).to.not.equal(hashToQuadraticResidue(math, test.N, "puzzle generator g"));
      // Over the test modulus we know p, so we can check g is a square mod p (Euler's criterion).
      expect(math.modPow(small.g, (test.p - 1n) / 2n, test.p)).to.equal(1n);
      expect(math.modPow(small.k, (test.q - 1n) / 2n, test.q)).to.equal(1n);
    });

    it("computes h = g^(2^T) and H = h^N, and adopts a published h only with a valid proof", async () => {
      expect(small.h).to.equal(math.modPow(small.g, 1n << 64n, small.N));
      expect(small.H).to.equal(math.modPow(small.h, small.N, small.N2));
      expect(verifyExponentiation(math, rsa.N, rsa.g, rsa.h, rsa.T, rsa.hProof)).to.equal(true);
      // The cache answers; a different published h for the same (N, T) is refused.
      expect(await setupTimelock({ T: 256 })).to.equal(rsa);
      expect(await timelockParams(rsa)).to.equal(rsa);
      await timelockParams({ N: rsa.N, T: 256, h: rsa.h + 1n, hProof: rsa.hProof }).then(
        () => expect.fail("accepted a wrong h"),
        (e: Error) => expect(e.message).to.match(/disagrees/),
      );
      const fresh = generateTestOnlyModulus(math, 512);
      const sq = await setupTimelock({ N: fresh.N, T: 10 });
      const other = generateTestOnlyModulus(math, 512);
      const g = hashToQuadraticResidue(math, other.N, "puzzle generator g");
      const h = math.modPow(g, 1n << 10n, other.N);
      const proof = proveExponentiation(math, other.N, g, h, 10);
      const adopted = await timelockParams({ N: other.N, T: 10, h, hProof: proof });
      expect(adopted.h).to.equal(h);
      expect(sq.h).to.equal(math.modPow(sq.g, 1024n, fresh.N));
      const third = generateTestOnlyModulus(math, 512);
      await timelockParams({ N: third.N, T: 10, h: 5n, hProof: proof }).then(
        () => expect.fail("accepted an unproven h"),
        (e: Error) => expect(e.message).to.match(/fails its proof/),
      );
    });

    it("adopts a published h at T = 2^40 from its proof alone, never squaring", async () => {
      // 2^40 squarings would take this machine two months: only a check that never squares can finish.
      const T = 2 ** 40;
      const { h, hProof } = trapdoorTimelock(math, test, T);
      const adopted = await timelockParams({ N: test.N, T, h, hProof });
      expect(adopted.h).to.equal(h);
      expect(adopted.T).to.equal(T);
      await timelockParams({ N: test.N, T: T + 1, h, hProof }).then(
        () => expect.fail("accepted the proof for another T"),
        (e: Error) => expect(e.message).to.match(/fails its proof/),
      );
    });

    it("refuses bad moduli and squaring counts", async () => {
      for (const bad of [{ N: 1n << 600n, T: 5 }, { N: 12345n, T: 5 }, { T: 0 }, { T: 1.5 }]) {
        await setupTimelock(bad).then(
          () => expect.fail(`accepted ${String(bad.T)}`),
          (e: Error) => expect(e).to.be.instanceOf(RangeError),
        );
      }
    });

    it("sizes T from a wall-clock delay and a squaring rate", () => {
      expect(squaringsForDelay(10, 200_000)).to.equal(2_000_000);
      expect(squaringsForDelay(12, ASIC_SQUARINGS_PER_SECOND)).to.equal(420_000_000);
      expect(squaringsForDelay(0.000001, 1)).to.equal(1);
      expect(delayForSquarings(420_000_000, 200_000)).to.equal(2100);
      fc.assert(
        fc.property(
          fc.double({ min: 0.001, max: 1e5, noNaN: true }),
          fc.double({ min: 1, max: 1e8, noNaN: true }),
          (s, rate) => {
            const T = squaringsForDelay(s, rate);
            expect(T / rate).to.be.at.least(s * (1 - 1e-12));
            expect((T - 1) / rate).to.be.below(s + 1 / rate);
          },
        ),
      );
      for (const [s, rate] of [
        [0, 1],
        [-1, 1],
        [1, 0],
        [Number.NaN, 1],
        [1e300, 1e300],
      ] as const) {
        expect(() => squaringsForDelay(s, rate)).to.throw(RangeError);
      }
    });
  });

  describe("puzzles", () => {
    const solveSmall = async (puzzle: { u: bigint; v: bigint }): Promise<bigint> =>
      decodeSolved(math, small, puzzle, await repeatedSquaring(math, small.N, puzzle.u, small.T));

    it("open to the hidden integer after T squarings, negative ones included", async () => {
      for (const s of [0n, 1n, 123456789n, -5n, (1n << 400n) + 3n]) {
        expect(await solveSmall(lockInteger(math, small, s, randomBits(1200)))).to.equal(s);
      }
    });

    it("are additively homomorphic: the product of puzzles hides the sum", async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.bigInt({ min: -(1n << 300n), max: 1n << 300n }), { minLength: 1, maxLength: 5 }),
          async (values) => {
            const puzzles = values.map((s) => lockInteger(math, small, s, randomBits(1152)));
            expect(await solveSmall(combinePuzzles(small, puzzles))).to.equal(values.reduce((a, b) => a + b, 0n));
          },
        ),
        { numRuns: 8 },
      );
    });

    it("decode the same whatever element of order 2 is multiplied into u or v", async () => {
      const puzzle = lockInteger(math, small, 42n, randomBits(1152));
      const { p, q } = test;
      // Elements of order 2: −1, and the non-trivial roots of 1 (CRT of 1 and −1), which exist though
      // only someone who knows the factors can compute them.
      const rootModN = (1n + p * (((q - 2n) * math.modInverse(p, q)) % q)) % small.N;
      const [p2, q2] = [p * p, q * q];
      const rootModN2 = (1n + p2 * (((q2 - 2n) * math.modInverse(p2, q2)) % q2)) % small.N2;
      expect((rootModN * rootModN) % small.N).to.equal(1n);
      expect((rootModN2 * rootModN2) % small.N2).to.equal(1n);
      for (const zeta of [small.N - 1n, rootModN]) {
        expect(await solveSmall({ u: (puzzle.u * zeta) % small.N, v: puzzle.v })).to.equal(42n);
      }
      for (const zeta of [small.N2 - 1n, rootModN2]) {
        expect(await solveSmall({ u: puzzle.u, v: (puzzle.v * zeta) % small.N2 })).to.equal(42n);
      }
    });

    it("are opened by their (s, r) and by nothing else", () => {
      const r = randomBits(1152);
      const puzzle = lockInteger(math, small, 7n, r);
      expect(opensPuzzle(math, small, puzzle, 7n, r)).to.equal(true);
      expect(opensPuzzle(math, small, puzzle, 8n, r)).to.equal(false);
      expect(opensPuzzle(math, small, puzzle, 7n, r + 1n)).to.equal(false);
      expect(opensPuzzle(math, small, puzzle, 7n, -1n)).to.equal(false);
    });

    it("reject malformed elements: out of range, zero, or sharing a factor with N", () => {
      const ok = lockInteger(math, small, 1n, 5n);
      const bad = [
        { u: 0n, v: ok.v },
        { u: small.N, v: ok.v },
        { u: test.p, v: ok.v },
        { u: ok.u, v: 0n },
        { u: ok.u, v: small.N2 },
        { u: ok.u, v: test.q * 17n },
      ];
      expect(() => assertWellFormedPuzzle(math, small, ok)).to.not.throw();
      for (const puzzle of bad) expect(() => assertWellFormedPuzzle(math, small, puzzle)).to.throw(RangeError);
    });

    it("refuse a v that is not 1 + kN after removing the mask", () => {
      const puzzle = lockInteger(math, small, 1n, 5n);
      expect(() => decodeSolved(math, small, puzzle, 3n)).to.throw(/does not decode/);
    });

    it("read integers in the centred range", () => {
      expect(centred(3n, 11n)).to.equal(3n);
      expect(centred(6n, 11n)).to.equal(-5n);
      expect(centred(-1n, 11n)).to.equal(-1n);
    });
  });

  describe("solver", () => {
    it("squares T times, reporting progress chunk by chunk", async () => {
      const calls: number[] = [];
      const y = await repeatedSquaring(math, small.N, 5n, 1000, { chunk: 300, onProgress: (done) => calls.push(done) });
      expect(y).to.equal(slowModPow(5n, 1n << 1000n, small.N));
      expect(calls).to.deep.equal([300, 600, 900, 1000]);
    });

    it("stops when aborted", async () => {
      const controller = new AbortController();
      let chunks = 0;
      const run = repeatedSquaring(math, rsa.N, 5n, 10_000_000, {
        chunk: 100,
        signal: controller.signal,
        onProgress: () => {
          if (++chunks === 3) controller.abort(new Error("cancelled by test"));
        },
      });
      await run.then(
        () => expect.fail("finished despite the abort"),
        (e: Error) => expect(e.message).to.equal("cancelled by test"),
      );
      expect(chunks).to.equal(3);
      const aborted = AbortSignal.abort(new Error("already"));
      await repeatedSquaring(math, rsa.N, 5n, 10, { signal: aborted }).then(
        () => expect.fail("ran with an aborted signal"),
        (e: Error) => expect(e.message).to.equal("already"),
      );
    });

    it("refuses bad counts", async () => {
      for (const [T, chunk] of [
        [-1, 1],
        [1.5, 1],
        [10, 0],
      ] as const) {
        await repeatedSquaring(math, small.N, 5n, T, { chunk }).then(
          () => expect.fail("accepted"),
          (e: Error) => expect(e).to.be.instanceOf(RangeError),
        );
      }
    });
  });

  describe("Wesolowski proofs", () => {
    const T = 500;
    let x: bigint;
    let y: bigint;
    let pi: bigint;
    before(() => {
      x = hashToQuadraticResidue(math, rsa.N, "test base");
      y = math.modPow(x, 1n << BigInt(T), rsa.N);
      pi = proveExponentiation(math, rsa.N, x, y, T);
    });

    it("verify a correct claim with a 256-bit prime challenge", () => {
      expect(verifyExponentiation(math, rsa.N, x, y, T, pi)).to.equal(true);
      const q = challengePrime(math, rsa.N, x, y, T);
      expect(q.toString(2).length).to.equal(256);
      expect(math.isProbablePrime(q)).to.equal(true);
    });

    it("are rejected when the result, proof, base or T is tampered with", () => {
      expect(verifyExponentiation(math, rsa.N, x, (y * 4n) % rsa.N, T, pi)).to.equal(false);
      expect(verifyExponentiation(math, rsa.N, x, y, T, (pi * 4n) % rsa.N)).to.equal(false);
      expect(verifyExponentiation(math, rsa.N, (x * 4n) % rsa.N, y, T, pi)).to.equal(false);
      expect(verifyExponentiation(math, rsa.N, x, y, T + 1, pi)).to.equal(false);
      expect(verifyExponentiation(math, rsa.N, x, y, T, 0n)).to.equal(false);
      expect(verifyExponentiation(math, rsa.N, x, y, T, rsa.N + 1n)).to.equal(false);
      expect(verifyExponentiation(math, rsa.N, x, y, 0, pi)).to.equal(false);
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 2047 }), (bit) => {
          expect(verifyExponentiation(math, rsa.N, x, y, T, pi ^ (1n << BigInt(bit)))).to.equal(false);
        }),
        { numRuns: 20 },
      );
    });

    it("cannot tell y from −y, which is why every consumer squares y", () => {
      const minusY = rsa.N - y;
      // −π' proves −y, where π' is built for the challenge of −y (odd, so the sign carries through):
      // a known ambiguity of Z_N*, harmless because every consumer squares y.
      const q = challengePrime(math, rsa.N, x, minusY, T);
      const forged = rsa.N - math.powFloorPow2Div(x, T, q, rsa.N);
      expect(verifyExponentiation(math, rsa.N, x, minusY, T, forged)).to.equal(true);
      expect((minusY * minusY) % rsa.N).to.equal((y * y) % rsa.N);
    });
  });
});
