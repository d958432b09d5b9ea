import { expect } from "chai";
import { Wallet } from "ethers";
import fc from "fast-check";
import { veilDomain } from "../../sequencer/chain/eip712";
import { SUBGROUP_ORDER, add, equals, mul, mulBase, negate, type Point } from "../../sequencer/crypto/babyjub";
import {
  aggregateRoundKey,
  aggregateSignedRoundKey,
  contributionFromJson,
  contributionHash,
  contributionToJson,
  createContribution,
  createSignedContribution,
  isRoundSecret,
  puzzleSolutionFromJson,
  puzzleSolutionToJson,
  revealShare,
  roundKeyFromJson,
  roundKeyToJson,
  secretFromReveals,
  shareRevealFromJson,
  shareRevealToJson,
  signContribution,
  solveRoundKey,
  verifyContribution,
  verifyContributionSignature,
  verifySignedContribution,
  verifyReveal,
  verifySolution,
  type Contribution,
  type Round,
  type ShareSecret,
  type Verdict,
} from "../../sequencer/crypto/roundkey";
import { loadBigMath, type BigMath } from "../../sequencer/crypto/timelock/bigmath";
import { setupTimelock, type TimelockParams } from "../../sequencer/crypto/timelock/params";
import { lockInteger, onePlusNPow, puzzleRandomnessBits, randomBits } from "../../sequencer/crypto/timelock/puzzle";
import { MASK_S_BITS, shareChallenge, verifyShare, type ShareProof } from "../../sequencer/crypto/timelock/share-proof";
import { generateTestOnlyModulus } from "../../sequencer/crypto/timelock/test-modulus";

// Fixed keys (test only), ordered by address.
const KEYS = [1, 2, 3]
  .map((i) => new Wallet(`0x${i.toString(16).padStart(64, "0")}`))
  .sort((a, b) => (BigInt(a.address) < BigInt(b.address) ? -1 : 1));
const GENERATORS = KEYS.map((k) => k.address);
const DOMAIN = veilDomain(31337n, "0x00000000000000000000000000000000000000aa");
const reasonOf = (verdict: Verdict): string => (verdict.ok ? "accepted" : verdict.reason);
const ROUND: Round = { rollupId: 7n, height: 1234n };

describe("round keys", function () {
  this.timeout(300_000);
  let math: BigMath;
  let params: TimelockParams; // TEST ONLY 1024-bit modulus, T = 128, for speed
  let made: { contribution: Contribution; secret: ShareSecret }[];

  before(async () => {
    math = await loadBigMath();
    params = await setupTimelock({ N: generateTestOnlyModulus(math, 1024).N, T: 128 });
    made = [];
    for (const key of KEYS) made.push(await createSignedContribution(params, DOMAIN, ROUND, key));
  });

  const contributions = (): Contribution[] => made.map((m) => m.contribution);

  it("round trip over RSA-2048: contributions, aggregation, reveals and the solver give one key", async () => {
    const rsa = await setupTimelock({ T: 300 });
    const mine = [];
    for (const generator of GENERATORS.slice(0, 2)) mine.push(await createContribution(rsa, ROUND, generator));
    const { key, rejected } = await aggregateRoundKey(
      rsa,
      ROUND,
      mine.map((m) => m.contribution),
    );
    expect(rejected).to.deep.equal([]);
    const reveals = mine.map((m) => revealShare(m.contribution, m.secret));
    for (const [i, m] of mine.entries())
      expect(await verifyReveal(rsa, m.contribution, reveals[i]!)).to.deep.equal({ ok: true });
    const fromReveals = secretFromReveals(key, reveals);
    const solution = await solveRoundKey(rsa, key);
    expect(solution.secretKey).to.equal(fromReveals);
    expect(fromReveals).to.equal((mine[0]!.secret.secretShare + mine[1]!.secret.secretShare) % SUBGROUP_ORDER);
    expect(await verifySolution(rsa, key, solution)).to.deep.equal({ ok: true });
  });

  it("aggregates PK = Σ pk_i and recovers sk = Σ sk_i mod ℓ with sk·B8 = PK", async () => {
    const { key } = await aggregateRoundKey(params, ROUND, contributions());
    const sum = made.reduce((acc, m) => acc + m.secret.secretShare, 0n);
    expect([...key.publicKey]).to.deep.equal([...mulBase(sum % SUBGROUP_ORDER)]);
    expect(key.generators).to.deep.equal(GENERATORS);
    expect(isRoundSecret(key, sum % SUBGROUP_ORDER)).to.equal(true);
    expect(isRoundSecret(key, (sum + 1n) % SUBGROUP_ORDER)).to.equal(false);
    expect(isRoundSecret(key, 0n)).to.equal(false);
  });

  it("with one generator withholding its share, the solver still recovers the key", async () => {
    const { key } = await aggregateRoundKey(params, ROUND, contributions());
    const partial = made.slice(0, 2).map((m) => revealShare(m.contribution, m.secret));
    expect(() => secretFromReveals(key, partial)).to.throw(`no reveal from ${GENERATORS[2]}`);
    let last = 0;
    const solution = await solveRoundKey(params, key, { chunk: 16, onProgress: ({ done }) => (last = done) });
    expect(last).to.equal(params.T);
    expect(isRoundSecret(key, solution.secretKey)).to.equal(true);
    expect(await verifySolution(params, key, solution)).to.deep.equal({ ok: true });
  });

  it("holds for any shares (property): Σ pk_i and the solved puzzle agree", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.bigInt({ min: 1n, max: SUBGROUP_ORDER - 1n }), { minLength: 1, maxLength: 3 }),
        async (shares) => {
          // Shares summing to 0 mod the order give the identity, refused below (its own test).
          fc.pre(shares.reduce((a, b) => a + b, 0n) % SUBGROUP_ORDER !== 0n);
          const round = { rollupId: 1n, height: BigInt(shares.length) };
          const cs = [];
          for (const [i, s] of shares.entries())
            cs.push((await createContribution(params, round, GENERATORS[i]!, s)).contribution);
          const { key } = await aggregateRoundKey(params, round, cs);
          const solution = await solveRoundKey(params, key);
          expect(solution.secretKey).to.equal(shares.reduce((a, b) => a + b, 0n) % SUBGROUP_ORDER);
        },
      ),
      { numRuns: 4 },
    );
  });

  it("refuses shares that cancel out: the aggregate would be the identity, a key anyone can decrypt with", async () => {
    const round = { rollupId: 1n, height: 2n };
    const s = 55n;
    const cs = [
      (await createContribution(params, round, GENERATORS[0]!, SUBGROUP_ORDER - s)).contribution,
      (await createContribution(params, round, GENERATORS[1]!, s)).contribution,
    ];
    let refusal: unknown;
    await aggregateRoundKey(params, round, cs).catch((error: unknown) => (refusal = error));
    expect(refusal).to.be.instanceOf(Error);
    expect((refusal as Error).message).to.equal(
      "aggregated round key is not in the prime-order subgroup (or is the identity)",
    );
  });

  describe("contributions", () => {
    it("verify, and survive a JSON round trip", async () => {
      for (const c of contributions()) {
        expect(await verifyContribution(params, c, ROUND)).to.deep.equal({ ok: true });
        const wire = JSON.parse(JSON.stringify(contributionToJson(c))) as unknown;
        const back = contributionFromJson(wire);
        expect(back).to.deep.equal(c);
        expect(await verifyContribution(params, back, ROUND)).to.deep.equal({ ok: true });
      }
    });

    it("are rejected when bound to another round or another generator", async () => {
      const c = contributions()[0]!;
      expect(await verifyContribution(params, c, { ...ROUND, height: ROUND.height + 1n })).to.deep.equal({
        ok: false,
        reason: "contribution is for another round",
      });
      for (const round of [
        { ...ROUND, height: ROUND.height + 1n },
        { ...ROUND, rollupId: 8n },
      ]) {
        const verdict = await verifyContribution(params, { ...c, round });
        expect(verdict.ok).to.equal(false);
      }
      const stolen = await verifyContribution(params, { ...c, generator: GENERATORS[1]! });
      expect(stolen.ok).to.equal(false);
      // Against parameters with another T (hence another h), the same proof fails as well.
      const otherT = await setupTimelock({ N: params.N, T: params.T + 1 });
      expect((await verifyContribution(otherT, c)).ok).to.equal(false);
    });

    it("are rejected when any proof field is tampered with", async () => {
      const c = contributions()[0]!;
      const fields: (keyof ShareProof)[] = ["c", "A", "B", "D", "zr", "zs", "zt"];
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...fields), fc.integer({ min: 0, max: 200 }), async (field, bit) => {
          const value = c.proof[field] as bigint;
          const proof = { ...c.proof, [field]: value ^ (1n << BigInt(bit)) };
          expect((await verifyContribution(params, { ...c, proof })).ok).to.equal(false);
        }),
        { numRuns: 20 },
      );
      const C = add(c.proof.C, mulBase(1n));
      expect(await verifyContribution(params, { ...c, proof: { ...c.proof, C } })).to.deep.equal({
        ok: false,
        reason: "puzzle u does not match the proof", // C is hashed: the challenge changes, the first equation fails
      });
      expect(reasonOf(await verifyContribution(params, { ...c, proof: { ...c.proof, C: [1n, 2n] } }))).to.match(
        /not on BabyJubJub/,
      );
    });

    it("are rejected when the public key or puzzle is swapped for another generator's", async () => {
      const [a, b] = contributions();
      expect((await verifyContribution(params, { ...a!, publicKey: b!.publicKey })).ok).to.equal(false);
      expect((await verifyContribution(params, { ...a!, puzzle: b!.puzzle })).ok).to.equal(false);
      expect((await verifyContribution(params, { ...a!, puzzle: { ...a!.puzzle, v: b!.puzzle.v } })).ok).to.equal(
        false,
      );
    });

    it("are rejected when responses exceed their bounds or are negative", async () => {
      const c = contributions()[0]!;
      const big = 1n << BigInt(MASK_S_BITS + 1);
      for (const proof of [
        { ...c.proof, zs: c.proof.zs + big },
        { ...c.proof, zs: -1n },
        { ...c.proof, zr: c.proof.zr << 200n },
        { ...c.proof, zt: -5n },
      ]) {
        expect(reasonOf(await verifyContribution(params, { ...c, proof }))).to.match(/out of bounds/);
      }
    });

    it("are rejected when the puzzle or key is malformed", async () => {
      const c = contributions()[0]!;
      const badPuzzles = [
        { u: 0n, v: c.puzzle.v },
        { u: params.N, v: c.puzzle.v },
        { u: c.puzzle.u, v: params.N2 + 1n },
        { u: c.puzzle.u, v: params.N * 3n },
      ];
      for (const puzzle of badPuzzles) {
        expect(reasonOf(await verifyContribution(params, { ...c, puzzle }))).to.match(/share puzzle/);
      }
      const orderTwo: Point = [0n, mulBase(1n)[1] - mulBase(1n)[1] - 1n];
      for (const publicKey of [[0n, 1n], [1n, 2n], orderTwo] as Point[]) {
        expect(reasonOf(await verifyContribution(params, { ...c, publicKey }))).to.match(/share public key/);
      }
      expect((await verifyContribution(params, { ...c, generator: "0x1234" })).ok).to.equal(false);
      expect((await verifyContribution(params, { ...c, round: { rollupId: -1n, height: 0n } })).ok).to.equal(false);
    });

    it("are rejected when the proof elements are out of range", async () => {
      const c = contributions()[0]!;
      for (const proof of [
        { ...c.proof, A: 0n },
        { ...c.proof, c: params.N },
        { ...c.proof, D: params.N + 5n },
        { ...c.proof, B: params.N2 },
      ]) {
        expect(reasonOf(await verifyContribution(params, { ...c, proof }))).to.match(/out of range/);
      }
    });

    it("stop the rational-share attack that the commitment-free proof lets through", () => {
      // The attacker hides 1/2 mod N in the puzzle and uses pk = (1/2 mod ℓ)·B8. Without the integer
      // commitment c, every odd challenge would accept (z_s = (x + e)/2 satisfies both the v- and the
      // pk-equation); the attack grinds for an odd challenge and then fails only at c.
      const half = (params.N + 1n) / 2n;
      const halfL = (SUBGROUP_ORDER + 1n) / 2n;
      const publicKey = mulBase(halfL);
      const r = randomBits(puzzleRandomnessBits(params));
      const puzzle = lockInteger(math, params, half, r);
      const context = { ...ROUND, generator: GENERATORS[0]! };
      for (let attempt = 0; attempt < 64; attempt++) {
        const x = randomBits(MASK_S_BITS) | 1n;
        const ar = randomBits(puzzleRandomnessBits(params) + 256);
        const [t, at] = [randomBits(1100), randomBits(1400)];
        const commitments = {
          c: math.modPow(params.k, t, params.N),
          A: math.modPow(params.g, ar, params.N),
          B: (math.modPow(params.H, ar, params.N2) * onePlusNPow(params, (x * half) % params.N)) % params.N2,
          C: mulBase((x * halfL) % SUBGROUP_ORDER),
          D: math.modPow(params.k, at, params.N),
        };
        const e = shareChallenge(params, context, { puzzle, publicKey }, commitments);
        if (e % 2n === 0n) continue;
        const proof = { ...commitments, zr: ar + e * r, zs: (x + e) / 2n, zt: at + e * t };
        expect(verifyShare(math, params, context, { puzzle, publicKey }, proof)).to.deep.equal({
          ok: false,
          reason: "commitment c does not match the proof",
        });
        // …while the key equation alone would have accepted it.
        expect(equals(mulBase(proof.zs % SUBGROUP_ORDER), add(commitments.C, mul(publicKey, e)))).to.equal(true);
        return;
      }
      expect.fail("no odd challenge in 64 attempts");
    });

    it("are excluded from aggregation when invalid, duplicated or for another round", async () => {
      const [a, b, c] = contributions();
      const forged = { ...c!, proof: { ...c!.proof, zs: c!.proof.zs + 1n } };
      const other = (await createContribution(params, { ...ROUND, height: 99n }, GENERATORS[2]!)).contribution;
      const { key, rejected } = await aggregateRoundKey(params, ROUND, [a!, b!, forged, a!, other]);
      expect(key.generators).to.deep.equal(GENERATORS.slice(0, 2));
      expect(rejected.map((r) => r.reason)).to.deep.equal([
        "puzzle v does not match the proof",
        "duplicate generator",
        "contribution is for another round",
      ]);
      expect([...key.publicKey]).to.deep.equal([...add(a!.publicKey, b!.publicKey)]);
      await aggregateRoundKey(params, ROUND, [forged]).then(
        () => expect.fail("aggregated nothing"),
        (e: Error) => expect(e.message).to.match(/no valid contribution/),
      );
    });

    it("refuse to produce a contribution for a share outside [1, ℓ)", async () => {
      for (const s of [0n, SUBGROUP_ORDER, -3n]) {
        await createContribution(params, ROUND, GENERATORS[0]!, s).then(
          () => expect.fail("accepted"),
          (e: Error) => expect(e).to.be.instanceOf(RangeError),
        );
      }
    });
  });

  describe("reveals", () => {
    it("verify and survive a JSON round trip", async () => {
      const reveal = revealShare(made[0]!.contribution, made[0]!.secret);
      const back = shareRevealFromJson(JSON.parse(JSON.stringify(shareRevealToJson(reveal))));
      expect(back).to.deep.equal(reveal);
      expect(await verifyReveal(params, made[0]!.contribution, back)).to.deep.equal({ ok: true });
    });

    it("are rejected when the share, randomness, round or generator does not match", async () => {
      const { contribution, secret } = made[0]!;
      const reveal = revealShare(contribution, secret);
      const cases: [object, RegExp][] = [
        [{ secretShare: secret.secretShare + 1n }, /does not match the public key/],
        [{ secretShare: 0n }, /not in \[1, ℓ\)/],
        [{ secretShare: secret.secretShare + SUBGROUP_ORDER }, /not in \[1, ℓ\)/],
        [{ randomness: secret.randomness + 1n }, /does not open the puzzle/],
        [{ randomness: -1n }, /out of range/],
        [{ round: { ...ROUND, height: 1n } }, /another round/],
        [{ generator: GENERATORS[1]! }, /another generator/],
      ];
      for (const [change, reason] of cases) {
        const verdict = await verifyReveal(params, contribution, { ...reveal, ...change });
        expect(verdict.ok).to.equal(false);
        if (!verdict.ok) expect(verdict.reason).to.match(reason);
      }
    });

    it("that add up to another key are refused", async () => {
      const { key } = await aggregateRoundKey(params, ROUND, contributions());
      const reveals = made.map((m) => revealShare(m.contribution, m.secret));
      reveals[2] = { ...reveals[2]!, secretShare: reveals[2]!.secretShare + 1n };
      expect(() => secretFromReveals(key, reveals)).to.throw(/do not add up/);
    });
  });

  describe("solutions", () => {
    it("survive a JSON round trip with the round key and are rejected when tampered with", async () => {
      const { key } = await aggregateRoundKey(params, ROUND, contributions());
      const keyBack = roundKeyFromJson(JSON.parse(JSON.stringify(roundKeyToJson(key))));
      expect(keyBack).to.deep.equal(key);
      const solution = await solveRoundKey(params, key);
      const back = puzzleSolutionFromJson(JSON.parse(JSON.stringify(puzzleSolutionToJson(solution))));
      expect(back).to.deep.equal(solution);
      expect(await verifySolution(params, keyBack, back)).to.deep.equal({ ok: true });
      const cases: [object, RegExp][] = [
        [{ w: (solution.w * 4n) % params.N }, /exponentiation/],
        [{ proof: (solution.proof * 4n) % params.N }, /exponentiation/],
        [{ secretKey: (solution.secretKey + 1n) % SUBGROUP_ORDER }, /does not match the puzzle/],
        [{ round: { ...ROUND, height: 5n } }, /another round/],
      ];
      for (const [change, reason] of cases) {
        const verdict = await verifySolution(params, key, { ...solution, ...change });
        expect(verdict.ok).to.equal(false);
        if (!verdict.ok) expect(verdict.reason).to.match(reason);
      }
    });

    it("a key that fails sk·B8 = PK is refused by the solver and by the verifier", async () => {
      const { key } = await aggregateRoundKey(params, ROUND, contributions());
      const wrongKey = { ...key, publicKey: add(key.publicKey, mulBase(1n)) };
      await solveRoundKey(params, wrongKey).then(
        () => expect.fail("solved a key that does not match"),
        (e: Error) => expect(e.message).to.match(/does not yield the round key/),
      );
      const solution = await solveRoundKey(params, key);
      expect(await verifySolution(params, wrongKey, solution)).to.deep.equal({
        ok: false,
        reason: "secret key fails sk·B8 = PK",
      });
      expect(isRoundSecret({ ...key, publicKey: negate(key.publicKey) }, solution.secretKey)).to.equal(false);
    });
  });

  describe("contribution signatures", () => {
    it("an honest contribution is signed by its generator and verifies after a JSON round trip", async () => {
      for (const c of contributions()) {
        expect(verifyContributionSignature(DOMAIN, c)).to.deep.equal({ ok: true });
        const back = contributionFromJson(JSON.parse(JSON.stringify(contributionToJson(c))));
        expect(await verifySignedContribution(params, DOMAIN, back, ROUND)).to.deep.equal({ ok: true });
      }
    });

    it("rejects a contribution with a missing signature", async () => {
      const c = contributions()[0]!;
      const { signature: _dropped, ...unsigned } = contributionToJson(c);
      expect(() => contributionFromJson(unsigned)).to.throw(/signature/);
      expect(() => contributionFromJson({ ...unsigned, signature: "0x" })).to.throw(/signature/);
      expect(reasonOf(await verifySignedContribution(params, DOMAIN, { ...c, signature: "" }))).to.match(/not signed/);
    });

    it("rejects a contribution signed by another key, even with a valid proof for the claimed generator", async () => {
      // The attack: a generator fabricates another member's contribution (it can prove any address).
      const [victim, attacker] = [KEYS[0]!, KEYS[1]!];
      const fabricated = (await createContribution(params, ROUND, victim.address)).contribution;
      expect(await verifyContribution(params, fabricated, ROUND)).to.deep.equal({ ok: true });
      const signature = (await signContribution(attacker, DOMAIN, { ...fabricated, generator: attacker.address }))
        .signature;
      const forged = { ...fabricated, signature };
      expect(reasonOf(await verifySignedContribution(params, DOMAIN, forged, ROUND))).to.equal(
        "contribution is not signed by its generator",
      );
      await signContribution(attacker, DOMAIN, fabricated).then(
        () => expect.fail("signed another generator's contribution"),
        (e: Error) => expect(e.message).to.match(/cannot sign the contribution of/),
      );
    });

    it("rejects a signature over another contribution, another round, or in another domain", async () => {
      const [a] = contributions();
      const again = (await createSignedContribution(params, DOMAIN, ROUND, KEYS[0]!)).contribution;
      const later = (await createSignedContribution(params, DOMAIN, { ...ROUND, height: ROUND.height + 1n }, KEYS[0]!))
        .contribution;
      const elsewhere = await signContribution(KEYS[0]!, veilDomain(1n, DOMAIN.verifyingContract), a!);
      for (const signature of [again.signature, later.signature, elsewhere.signature]) {
        expect(reasonOf(verifyContributionSignature(DOMAIN, { ...a!, signature }))).to.equal(
          "contribution is not signed by its generator",
        );
      }
      expect(reasonOf(verifyContributionSignature(DOMAIN, { ...a!, signature: `0x${"00".repeat(65)}` }))).to.equal(
        "contribution is not signed by its generator",
      );
    });

    it("binds every field of the body in the contribution hash", () => {
      const c = contributions()[0]!;
      const bump = (x: bigint): bigint => x + 1n;
      const variants = [
        { ...c, round: { ...c.round, rollupId: bump(c.round.rollupId) } },
        { ...c, round: { ...c.round, height: bump(c.round.height) } },
        { ...c, generator: GENERATORS[1]! },
        { ...c, publicKey: [c.publicKey[0], bump(c.publicKey[1])] as Point },
        { ...c, puzzle: { ...c.puzzle, u: bump(c.puzzle.u) } },
        { ...c, puzzle: { ...c.puzzle, v: bump(c.puzzle.v) } },
        ...(["c", "A", "B", "D", "zr", "zs", "zt"] as const).map((f) => ({
          ...c,
          proof: { ...c.proof, [f]: bump(c.proof[f]) },
        })),
        { ...c, proof: { ...c.proof, C: [bump(c.proof.C[0]), c.proof.C[1]] as Point } },
      ];
      const hashes = new Set([contributionHash(c), ...variants.map((v) => contributionHash(v))]);
      expect(hashes.size).to.equal(variants.length + 1);
      for (const v of variants) expect(verifyContributionSignature(DOMAIN, v).ok).to.equal(false);
    });

    it("has an unambiguous encoding: the same bytes split differently between two integers hash differently", () => {
      const c = contributions()[0]!;
      fc.assert(
        fc.property(
          fc.bigInt({ min: 1n, max: (1n << 64n) - 1n }),
          fc.bigInt({ min: 1n << 8n, max: (1n << 64n) - 1n }),
          fc.nat(),
          (x, y, pick) => {
            const yBytes = Math.ceil(y.toString(16).length / 2);
            const moved = BigInt(8 * (1 + (pick % (yBytes - 1)))); // 1 .. yBytes-1 bytes of y move to x
            const kept = BigInt(8 * yBytes) - moved;
            const a = { ...c, proof: { ...c.proof, zr: x, zs: y } };
            const b = { ...c, proof: { ...c.proof, zr: (x << moved) | (y >> kept), zs: y & ((1n << kept) - 1n) } };
            expect(contributionHash(a)).to.not.equal(contributionHash(b));
          },
        ),
        { numRuns: 100 },
      );
    });

    it("excludes unsigned and forged contributions from the signed aggregation", async () => {
      const [a, b, c] = contributions();
      const fabricated = (await createContribution(params, ROUND, c!.generator)).contribution;
      const forged = { ...fabricated, signature: b!.signature };
      const { key, rejected } = await aggregateSignedRoundKey(params, DOMAIN, ROUND, [a!, b!, forged]);
      expect(key.generators).to.deep.equal([a!.generator, b!.generator]);
      expect(rejected).to.deep.equal([
        { generator: c!.generator, reason: "contribution is not signed by its generator" },
      ]);
      await aggregateSignedRoundKey(params, DOMAIN, ROUND, [forged]).then(
        () => expect.fail("aggregated a forged contribution"),
        (e: Error) => expect(e.message).to.match(/no validly signed contribution/),
      );
      const all = await aggregateSignedRoundKey(params, DOMAIN, ROUND, contributions());
      expect(all.rejected).to.deep.equal([]);
      expect(all.key.generators).to.deep.equal(GENERATORS);
    });
  });

  describe("JSON schemas", () => {
    it("reject malformed input", () => {
      const good = contributionToJson(contributions()[0]!);
      const bad: unknown[] = [
        null,
        {},
        { ...good, extra: 1 },
        { ...good, generator: "0x12" },
        { ...good, publicKey: ["0x1"] },
        { ...good, puzzle: { u: "12", v: good.puzzle.v } },
        { ...good, puzzle: { u: `0x${"f".repeat(3000)}`, v: good.puzzle.v } },
        { ...good, proof: { ...good.proof, zs: -1 } },
        { ...good, round: { rollupId: "0x1" } },
      ];
      for (const input of bad) expect(() => contributionFromJson(input)).to.throw();
      expect(() =>
        shareRevealFromJson({ round: good.round, generator: good.generator, secretShare: "0x1" }),
      ).to.throw();
      expect(() =>
        roundKeyFromJson({ round: good.round, publicKey: good.publicKey, puzzle: good.puzzle, generators: [] }),
      ).to.throw();
      expect(() => puzzleSolutionFromJson({ round: good.round, w: "0xzz", proof: "0x1", secretKey: "0x1" })).to.throw();
    });
  });
});
