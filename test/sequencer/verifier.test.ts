import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";
import fc from "fast-check";
import { prepareKey, parseProof, verifyParsed, type PreparedKey } from "../../sequencer/zk/batch-verify";
import { BN254_Q, BN254_R, bn254, isInG2, type Bn254Curve, type Buf } from "../../sequencer/zk/bn254";
import {
  prove,
  verificationKey,
  verify as snarkjsVerify,
  type Groth16Proof,
  type PublicSignals,
} from "../../sequencer/zk/groth16";
import { MicroBatcher } from "../../sequencer/zk/micro-batcher";
import { Groth16VerifierPool, type VerifyItem } from "../../sequencer/zk/verifier";

const CIRCUIT = "poseidon_commitment";
const PROOFS = 5;

interface Honest {
  readonly proof: Groth16Proof;
  readonly publicSignals: PublicSignals;
}

const TAMPERS = [
  "none",
  "signal+1",
  "signal+r",
  "swapped-signals",
  "foreign-a",
  "foreign-c",
  "a-off-curve",
  "b-outside-g2",
] as const;
type Tamper = (typeof TAMPERS)[number];

function randomFq(): bigint {
  return BigInt(`0x${randomBytes(32).toString("hex")}`) % BN254_Q;
}

/** A point of the twist curve E'(F_q²) that is (with overwhelming probability) outside G2. */
function twistPointOutsideG2(curve: Bn254Curve): Buf {
  for (;;) {
    const x = curve.F2.fromObject([randomFq(), randomFq()]);
    const rhs = curve.F2.add(curve.F2.mul(curve.F2.mul(x, x), x), curve.G2.b);
    if (!curve.F2.isSquare(rhs)) continue;
    const p = new Uint8Array(4 * curve.F1.n8);
    p.set(x, 0);
    p.set(curve.F2.sqrt(rhs), 2 * curve.F1.n8);
    return p;
  }
}

function g2Json(curve: Bn254Curve, p: Buf): string[][] {
  const [x, y] = curve.G2.toObject(curve.G2.toAffine(p)) as [bigint, bigint][];
  return [x!.map(String), y!.map(String), ["1", "0"]];
}

describe("node-side Groth16 verifier (batched, on worker threads)", function () {
  let curve: Bn254Curve;
  let key: PreparedKey;
  let honest: Honest[];
  let outsideG2: string[][];

  before(async () => {
    curve = await bn254();
    key = prepareKey(curve, verificationKey(CIRCUIT));
    honest = [];
    for (let i = 0; i < PROOFS; i++) honest.push(await prove(CIRCUIT, { message: [BigInt(i), 7n, 8n, 9n] }));
    outsideG2 = g2Json(curve, twistPointOutsideG2(curve));
  });

  const h = (i: number): Honest => honest[i % honest.length]!;

  /** The honest proof `base` with one defect (or none), as it would arrive from the network. */
  function make(base: number, tamper: Tamper): VerifyItem {
    const { proof, publicSignals } = h(base);
    const other = h(base + 1);
    const s0 = BigInt(publicSignals[0]!);
    switch (tamper) {
      case "none":
        return { proof, publicSignals };
      case "signal+1":
        return { proof, publicSignals: [((s0 + 1n) % BN254_R).toString()] };
      case "signal+r":
        return { proof, publicSignals: [(s0 + BN254_R).toString()] };
      case "swapped-signals":
        return { proof, publicSignals: other.publicSignals };
      case "foreign-a":
        return { proof: { ...proof, pi_a: other.proof.pi_a }, publicSignals };
      case "foreign-c":
        return { proof: { ...proof, pi_c: other.proof.pi_c }, publicSignals };
      case "a-off-curve":
        return {
          proof: { ...proof, pi_a: [proof.pi_a[0]!, (BigInt(proof.pi_a[1]!) ^ 1n).toString(), "1"] },
          publicSignals,
        };
      case "b-outside-g2":
        return { proof: { ...proof, pi_b: outsideG2 }, publicSignals };
    }
  }

  const itemArb = fc.record({ base: fc.nat({ max: PROOFS - 1 }), tamper: fc.constantFrom(...TAMPERS) });

  describe("BN254 group checks", () => {
    it("accepts multiples of the G2 generator and agrees with [r]P = O on random twist points", () => {
      fc.assert(
        fc.property(fc.bigInt({ min: 1n, max: BN254_R - 1n }), (k) => {
          expect(isInG2(curve, curve.G2.timesScalar(curve.G2.g, k))).to.equal(true);
          const p = twistPointOutsideG2(curve);
          expect(curve.G2.isValid(p)).to.equal(true);
          expect(isInG2(curve, p)).to.equal(curve.G2.isZero(curve.G2.timesScalar(p, BN254_R)));
          expect(isInG2(curve, p)).to.equal(false);
        }),
        { numRuns: 8 },
      );
    });

    it("keeps G2 points that are in the subgroup after adding a point outside it out", () => {
      const inside = curve.G2.timesScalar(curve.G2.g, 12345n);
      expect(isInG2(curve, curve.G2.add(inside, twistPointOutsideG2(curve)))).to.equal(false);
    });
  });

  describe("parsing untrusted proofs", () => {
    const parses = (item: VerifyItem): boolean => parseProof(curve, key, item.proof, item.publicSignals) !== undefined;

    it("parses an honest proof", () => {
      expect(parses(make(0, "none"))).to.equal(true);
    });

    it("rejects public signals that are out of range, non-canonical or of the wrong count", () => {
      const { proof, publicSignals } = h(0);
      const s = publicSignals[0]!;
      for (const bad of [
        [(BigInt(s) + BN254_R).toString()],
        [BN254_R.toString()],
        [`0${s}`],
        [`+${s}`],
        [` ${s}`],
        ["0x1"],
        ["-1"],
        [1],
        [],
        [s, s],
        "1",
        null,
      ]) {
        expect(parses({ proof, publicSignals: bad }), JSON.stringify(bad)).to.equal(false);
      }
    });

    it("rejects coordinates at or above the base field modulus, even when they reduce to the right point", () => {
      const { proof, publicSignals } = h(0);
      const shifted = (v: string): string => (BigInt(v) + BN254_Q).toString();
      expect(
        parses({ proof: { ...proof, pi_a: [shifted(proof.pi_a[0]!), proof.pi_a[1]!, "1"] }, publicSignals }),
      ).to.equal(false);
      expect(
        parses({ proof: { ...proof, pi_c: [proof.pi_c[0]!, shifted(proof.pi_c[1]!), "1"] }, publicSignals }),
      ).to.equal(false);
      const b = proof.pi_b;
      expect(
        parses({ proof: { ...proof, pi_b: [[shifted(b[0]![0]!), b[0]![1]!], b[1]!, b[2]!] }, publicSignals }),
      ).to.equal(false);
    });

    it("rejects points off the curve, the identity, non-affine encodings and points outside G2", () => {
      const { proof, publicSignals } = h(0);
      const cases: unknown[] = [
        { ...proof, pi_a: [proof.pi_a[0]!, "5", "1"] },
        { ...proof, pi_c: ["0", "0", "1"] },
        { ...proof, pi_a: ["0", "1", "0"] },
        { ...proof, pi_a: [...proof.pi_a.slice(0, 2), "2"] },
        { ...proof, pi_b: [proof.pi_b[0]!, proof.pi_b[1]!, ["0", "0"]] },
        { ...proof, pi_b: [proof.pi_b[0]!, proof.pi_b[0]!, ["1", "0"]] },
        { ...proof, pi_b: outsideG2 },
        { ...proof, protocol: "plonk" },
        { ...proof, curve: "bls12381" },
        { ...proof, pi_b: "x" },
        { pi_a: proof.pi_a },
        42,
        null,
      ];
      for (const bad of cases) expect(parses({ proof: bad, publicSignals }), JSON.stringify(bad)).to.equal(false);
    });
  });

  describe("batch verification in one thread", () => {
    const verifyItems = (items: readonly VerifyItem[]): boolean[] =>
      verifyParsed(
        curve,
        key,
        items.map((it) => parseProof(curve, key, it.proof, it.publicSignals)),
      );

    it("accepts honest proofs one at a time and in a batch", () => {
      expect(verifyItems([make(0, "none")])).to.deep.equal([true]);
      expect(verifyItems(honest.map((_, i) => make(i, "none")))).to.deep.equal(honest.map(() => true));
    });

    it("reports exactly the bad proofs of a batch, whatever the defects", () => {
      fc.assert(
        fc.property(fc.array(itemArb, { minLength: 2, maxLength: 9 }), (spec) => {
          const verdicts = verifyItems(spec.map((s) => make(s.base, s.tamper)));
          expect(verdicts).to.deep.equal(spec.map((s) => s.tamper === "none"));
        }),
        { numRuns: 12 },
      );
    });

    it("catches errors that cancel under equal weights, which fixed weights would let through", () => {
      // The honest proof presented with signal s+1 and with s−1: the two errors are e(IC₁, γ)^±1,
      // which cancel in an unweighted (or equally weighted) product.
      const { proof, publicSignals } = h(0);
      const s = BigInt(publicSignals[0]!);
      const pair = [((s + 1n) % BN254_R).toString(), ((s - 1n + BN254_R) % BN254_R).toString()].map((sig) =>
        parseProof(curve, key, proof, [sig]),
      );
      expect(verifyParsed(curve, key, pair)).to.deep.equal([false, false]);
      let calls = 0;
      const sameScalar = (): bigint => {
        calls++;
        return 7n;
      };
      expect(verifyParsed(curve, key, pair, sameScalar)).to.deep.equal([true, true]);
      expect(calls).to.equal(2);
    });

    it("refuses a batching scalar that is zero or not below r", () => {
      const parsed = [make(0, "none"), make(1, "none")].map((it) => parseProof(curve, key, it.proof, it.publicSignals));
      expect(() => verifyParsed(curve, key, parsed, () => 0n)).to.throw(/batching scalar/);
      expect(() => verifyParsed(curve, key, parsed, () => BN254_R)).to.throw(/batching scalar/);
    });

    it("agrees with snarkjs's groth16.verify on random mixes of honest and bad proofs", async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(itemArb, { minLength: 1, maxLength: 5 }), async (spec) => {
          const items = spec.map((s) => make(s.base, s.tamper));
          const reference = [];
          for (const it of items)
            reference.push(await snarkjsVerify(CIRCUIT, it.proof as Groth16Proof, it.publicSignals as PublicSignals));
          expect(verifyItems(items)).to.deep.equal(reference);
        }),
        { numRuns: 6 },
      );
    });

    it("refuses a verification key with a wrong number of IC points or a point outside G2", () => {
      const vk = verificationKey(CIRCUIT) as { IC: unknown[]; vk_delta_2: unknown };
      expect(() => prepareKey(curve, { ...vk, IC: vk.IC.slice(0, 1) })).to.throw(/IC has 1 points/);
      expect(() => prepareKey(curve, { ...vk, vk_delta_2: outsideG2 })).to.throw(/delta is not a point of G2/);
      expect(() => prepareKey(curve, { ...vk, protocol: "plonk" })).to.throw();
    });
  });

  describe("worker pool", () => {
    let pool: Groth16VerifierPool;

    before(async () => {
      pool = Groth16VerifierPool.forCircuit(CIRCUIT, { threads: 2, maxTaskSize: 4 });
      await pool.ready();
    });

    after(async () => {
      await pool.close();
    });

    it("verifies one honest proof and rejects a tampered one", async () => {
      const { proof, publicSignals } = make(1, "none");
      expect(await pool.verify(proof, publicSignals)).to.equal(true);
      const bad = make(1, "signal+1");
      expect(await pool.verify(bad.proof, bad.publicSignals)).to.equal(false);
    });

    it("reports exactly the bad proofs of a batch split across both threads, like snarkjs does", async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(itemArb, { minLength: 1, maxLength: 12 }), async (spec) => {
          const items = spec.map((s) => make(s.base, s.tamper));
          const verdicts = await pool.verifyBatch(items);
          expect(verdicts).to.deep.equal(spec.map((s) => s.tamper === "none"));
          expect(await pool.verifyEachWithSnarkjs(items)).to.deep.equal(verdicts);
        }),
        { numRuns: 4 },
      );
    });

    it("answers false for garbage instead of throwing, and still verifies afterwards", async () => {
      const garbage: VerifyItem[] = [
        { proof: undefined, publicSignals: undefined },
        { proof: "proof", publicSignals: 5 },
        { proof: { pi_a: [[[]]] }, publicSignals: [{}] },
        null as unknown as VerifyItem,
        { proof: { pi_a: ["1", "2"], pi_b: [], pi_c: [] }, publicSignals: ["1"] },
        { proof: () => 1, publicSignals: [] },
      ];
      expect(await pool.verifyBatch(garbage)).to.deep.equal(garbage.map(() => false));
      expect(await pool.verifyBatch([make(2, "none"), make(3, "none")])).to.deep.equal([true, true]);
    });

    it("returns nothing for an empty batch", async () => {
      expect(await pool.verifyBatch([])).to.deep.equal([]);
    });

    it("refuses a malformed verification key at construction", () => {
      expect(() => new Groth16VerifierPool({ protocol: "groth16" })).to.throw();
    });
  });

  describe("micro-batching front", () => {
    let pool: Groth16VerifierPool;

    before(async () => {
      pool = Groth16VerifierPool.forCircuit(CIRCUIT, { threads: 2 });
      await pool.ready();
    });

    after(async () => {
      await pool.close();
    });

    /** The real pool, recording the size of every batch it is given. */
    function recording(): { sizes: number[]; verifyBatch: (items: readonly VerifyItem[]) => Promise<boolean[]> } {
      const sizes: number[] = [];
      return {
        sizes,
        verifyBatch: (items) => {
          sizes.push(items.length);
          return pool.verifyBatch(items);
        },
      };
    }

    it("groups concurrent requests into one batch and gives each caller its own verdict", async () => {
      const rec = recording();
      const batcher = new MicroBatcher(rec, { maxItems: 100, maxDelayMs: 20 });
      const specs: Tamper[] = ["none", "signal+1", "none", "foreign-c", "none", "none"];
      const verdicts = await Promise.all(
        specs.map((t, i) => {
          const it = make(i, t);
          return batcher.verify(it.proof, it.publicSignals);
        }),
      );
      expect(verdicts).to.deep.equal(specs.map((t) => t === "none"));
      expect(rec.sizes).to.deep.equal([specs.length]);
      await batcher.close();
    });

    it("flushes as soon as maxItems requests wait, without waiting for the timer", async () => {
      const rec = recording();
      const batcher = new MicroBatcher(rec, { maxItems: 3, maxDelayMs: 60_000 });
      const started = Date.now();
      const verdicts = await Promise.all([0, 1, 2].map((i) => batcher.verify(h(i).proof, h(i).publicSignals)));
      expect(verdicts).to.deep.equal([true, true, true]);
      expect(rec.sizes).to.deep.equal([3]);
      expect(Date.now() - started).to.be.below(30_000);
      await batcher.close();
    });

    it("flushes a partial batch after maxDelayMs", async () => {
      const rec = recording();
      const batcher = new MicroBatcher(rec, { maxItems: 1000, maxDelayMs: 5 });
      const one = batcher.verify(h(0).proof, h(0).publicSignals);
      expect(batcher.pending).to.equal(1);
      expect(await one).to.equal(true);
      expect(rec.sizes).to.deep.equal([1]);
      await batcher.close();
    });

    it("flushes waiting requests on close and refuses new ones afterwards", async () => {
      const rec = recording();
      const batcher = new MicroBatcher(rec, { maxItems: 1000, maxDelayMs: 60_000 });
      const waiting = [batcher.verify(h(0).proof, h(0).publicSignals), batcher.verify(h(1).proof, ["1"])];
      await batcher.close();
      expect(await Promise.all(waiting)).to.deep.equal([true, false]);
      let refused = false;
      await batcher.verify(h(0).proof, h(0).publicSignals).catch(() => (refused = true));
      expect(refused).to.equal(true);
    });

    it("sends nothing more while maxInFlight batches are verified, then everything that gathered at once", async () => {
      const rec = recording();
      // The pool answers only when the test releases it, so what is in flight is under control.
      const gates: (() => void)[] = [];
      const gated = {
        verifyBatch: async (items: readonly VerifyItem[]): Promise<boolean[]> => {
          await new Promise<void>((release) => gates.push(release));
          return rec.verifyBatch(items);
        },
      };
      const batcher = new MicroBatcher(gated, { maxItems: 64, maxDelayMs: 0, maxInFlight: 1 });
      const first = batcher.verify(h(0).proof, h(0).publicSignals);
      await new Promise((r) => setTimeout(r, 20));
      expect(batcher.batchesInFlight).to.equal(1);
      const later = [1, 2, 3, 4].map((i) => batcher.verify(h(i).proof, i === 3 ? ["1"] : h(i).publicSignals));
      await new Promise((r) => setTimeout(r, 20));
      expect(batcher.pending, "requests wait while the slot is busy").to.equal(4);
      expect(gates.length).to.equal(1);
      gates[0]!();
      expect(await first).to.equal(true);
      await new Promise((r) => setTimeout(r, 20));
      expect(gates.length, "the gathered requests left as one batch").to.equal(2);
      gates[1]!();
      expect(await Promise.all(later)).to.deep.equal([true, true, false, true]);
      expect(rec.sizes).to.deep.equal([1, 4]);
      await batcher.close();
    });

    it("with maxInFlight 2 a second batch starts while the first is verified", async () => {
      const gates: (() => void)[] = [];
      const gated = {
        verifyBatch: async (items: readonly VerifyItem[]): Promise<boolean[]> => {
          await new Promise<void>((release) => gates.push(release));
          return pool.verifyBatch(items);
        },
      };
      const batcher = new MicroBatcher(gated, { maxItems: 64, maxDelayMs: 0, maxInFlight: 2 });
      const a = batcher.verify(h(0).proof, h(0).publicSignals);
      await new Promise((r) => setTimeout(r, 20));
      const b = batcher.verify(h(1).proof, h(1).publicSignals);
      await new Promise((r) => setTimeout(r, 20));
      expect(batcher.batchesInFlight).to.equal(2);
      expect(batcher.pending).to.equal(0);
      gates.forEach((release) => release());
      expect(await Promise.all([a, b])).to.deep.equal([true, true]);
      await batcher.close();
    });

    it("passes a pool failure to every caller of the batch", async () => {
      const failing = { verifyBatch: () => Promise.reject(new Error("pool down")) };
      const batcher = new MicroBatcher(failing, { maxItems: 2, maxDelayMs: 1 });
      const results = await Promise.allSettled([batcher.verify(1, 2), batcher.verify(3, 4)]);
      expect(results.map((r) => r.status)).to.deep.equal(["rejected", "rejected"]);
    });
  });

  describe("lifecycle", () => {
    it("rejects calls after close()", async () => {
      const pool = Groth16VerifierPool.forCircuit(CIRCUIT, { threads: 1 });
      await pool.close();
      let refused = false;
      await pool.verify(h(0).proof, h(0).publicSignals).catch(() => (refused = true));
      expect(refused).to.equal(true);
    });

    it("lets the process exit once close() has terminated the workers", function () {
      this.timeout(120_000);
      const script = [
        `const { Groth16VerifierPool } = require(${JSON.stringify(path.resolve(__dirname, "../../sequencer/zk/verifier.ts"))});`,
        `const pool = Groth16VerifierPool.forCircuit(${JSON.stringify(CIRCUIT)}, { threads: 2 });`,
        `pool.ready().then(() => pool.close()).then(() => console.log("closed"));`,
      ].join("\n");
      const run = spawnSync(process.execPath, ["--require", require.resolve("tsx/cjs"), "-e", script], {
        encoding: "utf8",
        timeout: 60_000,
      });
      expect(run.error, "the process did not exit after close()").to.equal(undefined);
      expect(run.stdout).to.contain("closed");
      expect(run.status).to.equal(0);
    });
  });
});
