import { createHash } from "node:crypto";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import * as binFile from "@iden3/binfileutils";
import { expect } from "chai";
import fc from "fast-check";
import { getCurveFromName } from "ffjavascript";
import * as snarkjs from "snarkjs";
import { ensurePtau, generateDevPtau, PTAU_ENV, PTAU_PREPARE_ENV } from "../../circuits/scripts/ptau";
import { openCombCurve, type CombCurve } from "../../circuits/scripts/ptau-comb-curve";
import { asBn128, type Bn128, type WasmGroup } from "../../circuits/scripts/ptau-curve";
import { preparePhase2WithSecrets, SECTION } from "../../circuits/scripts/ptau-fast";
import { multiplyGenerator } from "../../circuits/scripts/ptau-generator";
import { batchInvert, invMod, lagrangeScalars, mod, powMod } from "../../circuits/scripts/ptau-lagrange";
import {
  beaconFromEntropy,
  DEV_BEACON,
  DEV_ENTROPY,
  deriveSecrets,
  type PtauSecrets,
} from "../../circuits/scripts/ptau-secrets";

/** Small enough for snarkjs's own prepare to take seconds; 2^7 tauG1 domain exercises the truncated case. */
const POWER = 6;
const R = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;

/** snarkjs's `powersoftau verify` (its bundled typings declare another signature). */
const verifyPtau = snarkjs.powersOfTau.verify as unknown as (file: string, logger?: unknown) => Promise<boolean>;

/** Affine LEM bytes of k·G computed on the main thread with the plain-integer scalar path (not our worker code). */
function referenceMultiple(group: WasmGroup, k: bigint): Buffer {
  const out = new Uint8Array(group.F.n8 * 2);
  group.toRprLEM(out, 0, group.toAffine(group.timesScalar(group.oneAffine, k)));
  return Buffer.from(out);
}

async function readSections(file: string, ids: readonly number[]): Promise<Map<number, Buffer>> {
  const { fd, sections } = await binFile.readBinFile(file, "ptau", 1);
  try {
    const out = new Map<number, Buffer>();
    for (const id of ids) out.set(id, Buffer.from(await binFile.readSection(fd, sections, id)));
    return out;
  } finally {
    await fd.close();
  }
}

describe("development powers of tau: phase 2 prepared from the known secrets", function () {
  this.timeout(300_000);
  let dir: string;
  let fastFile: string;
  let snarkjsFile: string;
  let comb: CombCurve;
  let curve: Bn128;
  let secrets: PtauSecrets;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "veil-ptau-"));
    fastFile = path.join(dir, "fast.ptau");
    snarkjsFile = path.join(dir, "snarkjs.ptau");
    const previous = process.env[PTAU_PREPARE_ENV];
    try {
      delete process.env[PTAU_PREPARE_ENV];
      await generateDevPtau(POWER, dir, fastFile);
      process.env[PTAU_PREPARE_ENV] = "snarkjs";
      await generateDevPtau(POWER, dir, snarkjsFile);
    } finally {
      if (previous === undefined) delete process.env[PTAU_PREPARE_ENV];
      else process.env[PTAU_PREPARE_ENV] = previous;
    }
    comb = await openCombCurve();
    curve = asBn128(comb.curve);
    expect(curve.r).to.equal(R);
    secrets = deriveSecrets(curve, DEV_BEACON);
  });

  after(async () => {
    await comb.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("writes the file of snarkjs's new + beacon + prepare phase2, byte for byte (sections 12–15 checked first)", async () => {
    const lagrange = [
      SECTION.lagrangeTauG1,
      SECTION.lagrangeTauG2,
      SECTION.lagrangeAlphaTauG1,
      SECTION.lagrangeBetaTauG1,
    ];
    const ours = await readSections(fastFile, lagrange);
    const theirs = await readSections(snarkjsFile, lagrange);
    for (const id of lagrange) {
      expect(ours.get(id)?.length, `section ${id} size`).to.be.greaterThan(0);
      expect(ours.get(id)?.equals(theirs.get(id) ?? Buffer.alloc(0)), `section ${id}`).to.equal(true);
    }
    // And the whole file, header and section order included.
    expect(readFileSync(fastFile).equals(readFileSync(snarkjsFile))).to.equal(true);
  });

  it("holds in sections 2–6 the powers of the derived τ, α, β (checked with an independent multiplication)", async () => {
    const { tauG1, tauG2, alphaTauG1, betaTauG1, betaG2 } = SECTION;
    const s = await readSections(fastFile, [tauG1, tauG2, alphaTauG1, betaTauG1, betaG2]);
    const G1 = curve.G1;
    const G2 = curve.G2;
    const n = 2 ** POWER;
    const expectSection = (id: number, group: WasmGroup, scalars: bigint[]): void => {
      const expected = Buffer.concat(scalars.map((k) => referenceMultiple(group, k)));
      expect(s.get(id)?.equals(expected), `section ${id}`).to.equal(true);
    };
    const powers = (count: number): bigint[] =>
      Array.from({ length: count }, (_, i) => powMod(secrets.tau, BigInt(i), R));
    expectSection(tauG1, G1, powers(2 * n - 1));
    expectSection(tauG2, G2, powers(n));
    expectSection(
      alphaTauG1,
      G1,
      powers(n).map((t) => (t * secrets.alpha) % R),
    );
    expectSection(
      betaTauG1,
      G1,
      powers(n).map((t) => (t * secrets.beta) % R),
    );
    expectSection(betaG2, G2, [secrets.beta]);
  });

  it("is accepted by `snarkjs powersoftau verify` (beacon derivation, hashes, pairings, Lagrange sections)", async () => {
    expect(await verifyPtau(fastFile)).to.equal(true);
  });

  it("is rejected by `snarkjs powersoftau verify` once one Lagrange point is swapped for another", async () => {
    const tampered = path.join(dir, "tampered.ptau");
    const bytes = Buffer.from(readFileSync(fastFile));
    const { fd, sections } = await binFile.readBinFile(fastFile, "ptau", 1);
    const section = sections[SECTION.lagrangeAlphaTauG1]?.[0];
    await fd.close();
    if (!section) throw new Error("no section 14");
    // Domain 2^3 starts after 1 + 2 + 4 points; swap its first two points (both valid curve points).
    const first = section.p + 7 * 64;
    const a = Buffer.from(bytes.subarray(first, first + 64));
    bytes.copy(bytes, first, first + 64, first + 128);
    a.copy(bytes, first + 64);
    writeFileSync(tampered, bytes);
    expect(await verifyPtau(tampered)).to.equal(false);
  });

  it("is rejected by `snarkjs powersoftau verify` once the recorded beacon differs from the one used", async () => {
    const tampered = path.join(dir, "tampered-beacon.ptau");
    const bytes = Buffer.from(readFileSync(fastFile));
    const { fd, sections } = await binFile.readBinFile(fastFile, "ptau", 1);
    const section = sections[SECTION.contributions]?.[0];
    await fd.close();
    if (!section) throw new Error("no section 7");
    // The beacon hash is the last 32 bytes of the contribution record.
    const last = section.p + section.size - 1;
    bytes.writeUInt8(bytes.readUInt8(last) ^ 1, last);
    writeFileSync(tampered, bytes);
    let verdict: unknown;
    try {
      verdict = await verifyPtau(tampered);
    } catch (e) {
      verdict = e;
    }
    expect(verdict).to.not.equal(true);
  });

  it("reproduces its own file when re-prepared from it with the same secrets", async () => {
    const again = path.join(dir, "again.ptau");
    await preparePhase2WithSecrets(curve, fastFile, again, secrets, () => undefined);
    expect(readFileSync(again).equals(readFileSync(fastFile))).to.equal(true);
  });

  for (const wrong of ["tau", "alpha", "beta"] as const) {
    it(`refuses to prepare when ${wrong} does not match the accumulator`, async () => {
      const bad = { ...secrets, [wrong]: mod(secrets[wrong] + 1n, R) };
      const out = path.join(dir, `bad-${wrong}.ptau`);
      let error: unknown;
      try {
        await preparePhase2WithSecrets(curve, fastFile, out, bad, () => undefined);
      } catch (e) {
        error = e;
      }
      expect(String(error)).to.match(/secrets do not match/);
    });
  }

  it("derives the secrets deterministically from the public entropy, as the documented beacon", () => {
    expect(DEV_BEACON).to.deep.equal({
      hashHex: createHash("sha256").update(DEV_ENTROPY, "utf8").digest("hex"),
      iterationsExp: 10,
    });
    expect(deriveSecrets(curve, DEV_BEACON)).to.deep.equal(secrets);
    const other = deriveSecrets(curve, beaconFromEntropy(`${DEV_ENTROPY}!`));
    expect(other.tau).to.not.equal(secrets.tau);
    expect(new Set([secrets.tau, secrets.alpha, secrets.beta]).size).to.equal(3);
    for (const value of Object.values(secrets)) expect(value > 0n && value < R).to.equal(true);
  });

  it("rejects a malformed beacon", () => {
    expect(() => deriveSecrets(curve, { hashHex: "", iterationsExp: 10 })).to.throw(/hex/);
    expect(() => deriveSecrets(curve, { hashHex: "abc", iterationsExp: 10 })).to.throw(/hex/);
    expect(() => deriveSecrets(curve, { hashHex: "zz", iterationsExp: 10 })).to.throw(/hex/);
    expect(() => deriveSecrets(curve, { hashHex: "00", iterationsExp: 9 })).to.throw(/iterationsExp/);
    expect(() => deriveSecrets(curve, { hashHex: "00", iterationsExp: 31 })).to.throw(/iterationsExp/);
  });

  it("multiplies the generators on the worker pool exactly like the main-thread multiplication", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.bigInt({ min: 1n, max: R - 1n }), { minLength: 1, maxLength: 5 }),
        async (scalars) => {
          for (const [name, group] of [
            ["G1", curve.G1],
            ["G2", curve.G2],
          ] as const) {
            const ours = Buffer.from(await multiplyGenerator(curve, name, scalars));
            const expected = Buffer.concat(scalars.map((k) => referenceMultiple(group, k)));
            expect(ours.equals(expected)).to.equal(true);
          }
        },
      ),
      { numRuns: 10 },
    );
  });

  it("multiplies edge-case scalars (zero bytes, the largest scalar) like the main-thread multiplication", async () => {
    const edges = [1n, 255n, 256n, 1n << 200n, (1n << 248n) + 1n, R - 1n];
    for (const name of ["G1", "G2"] as const) {
      const ours = Buffer.from(await multiplyGenerator(curve, name, edges));
      const expected = Buffer.concat(edges.map((k) => referenceMultiple(curve[name], k)));
      expect(ours.equals(expected)).to.equal(true);
    }
    let error: unknown;
    try {
      await multiplyGenerator(curve, "G1", [R]);
    } catch (e) {
      error = e;
    }
    expect(String(error)).to.match(/out of range/);
  });

  it("leaves snarkjs's shared curve in place while a comb curve comes and goes", async () => {
    const g = globalThis as { curve_bn128?: unknown };
    const shared = await getCurveFromName("bn128");
    const other = await openCombCurve();
    expect(g.curve_bn128).to.equal(shared);
    expect(other.curve).to.not.equal(shared);
    await other.close();
    expect(g.curve_bn128).to.equal(shared);
  });

  it("uses a real ceremony file named by VEIL_PTAU and refuses a missing one", async () => {
    const previous = process.env[PTAU_ENV];
    try {
      const external = path.join(dir, "external.ptau");
      copyFileSync(fastFile, external);
      process.env[PTAU_ENV] = external;
      expect(await ensurePtau(POWER)).to.equal(external);
      process.env[PTAU_ENV] = path.join(dir, "missing.ptau");
      let error: unknown;
      try {
        await ensurePtau(POWER);
      } catch (e) {
        error = e;
      }
      expect(String(error)).to.match(/no such file/);
    } finally {
      if (previous === undefined) delete process.env[PTAU_ENV];
      else process.env[PTAU_ENV] = previous;
    }
  });
});

describe("Lagrange scalars of the powers of tau", () => {
  /** A primitive 2^k-th root of unity of the BN254 scalar field (5 generates the multiplicative group). */
  const rootOfUnity = (k: number): bigint => powMod(5n, (R - 1n) >> BigInt(k), R);

  /** (1/n)·Σ_j x_j·ω^(−ij): the inverse DFT that snarkjs applies to the group points. */
  function inverseDft(values: bigint[], omega: bigint): bigint[] {
    const n = values.length;
    const omegaInv = invMod(omega, R);
    const nInv = invMod(BigInt(n), R);
    return values.map((_, i) => {
      let sum = 0n;
      values.forEach((x, j) => {
        sum += x * powMod(omegaInv, BigInt(i * j), R);
      });
      return (mod(sum, R) * nInv) % R;
    });
  }

  it("equal the inverse DFT of the powers of τ, with and without the last power", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 2n, max: R - 1n }),
        fc.integer({ min: 0, max: 5 }),
        fc.boolean(),
        (tau, k, dropLast) => {
          const n = 2 ** k;
          // τ in the evaluation domain (τ^n = 1, e.g. τ = -1) has no Lagrange form: refused, tested below.
          fc.pre(powMod(tau, BigInt(n), R) !== 1n);
          const omega = rootOfUnity(k);
          const powers = Array.from({ length: n }, (_, j) =>
            dropLast && j === n - 1 ? 0n : powMod(tau, BigInt(j), R),
          );
          expect(lagrangeScalars(tau, n, omega, R, dropLast)).to.deep.equal(inverseDft(powers, omega));
        },
      ),
      { numRuns: 60 },
    );
  });

  it("sum to one over the whole domain (the Lagrange basis is a partition of unity)", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 2n, max: R - 1n }), fc.integer({ min: 0, max: 8 }), (tau, k) => {
        // τ outside the domain (τ^(2^k) ≠ 1): inside it the scalars are refused (next test); R − 1 is in
        // every domain of even size, and the generator does reach it.
        fc.pre(powMod(tau, 2n ** BigInt(k), R) !== 1n);
        const scalars = lagrangeScalars(tau, 2 ** k, rootOfUnity(k), R, false);
        expect(scalars.reduce((a, b) => (a + b) % R, 0n)).to.equal(1n);
      }),
      { numRuns: 30 },
    );
  });

  it("refuses τ inside the evaluation domain and an ω of the wrong order", () => {
    const omega = rootOfUnity(3);
    expect(() => lagrangeScalars(powMod(omega, 5n, R), 8, omega, R, false)).to.throw(/domain/);
    expect(() => lagrangeScalars(7n, 8, rootOfUnity(2), R, false)).to.throw(/primitive/);
    expect(() => lagrangeScalars(7n, 8, rootOfUnity(4), R, false)).to.throw(/primitive/);
  });

  it("batch inversion matches one inversion per element, and zero has no inverse", () => {
    fc.assert(
      fc.property(fc.array(fc.bigInt({ min: 1n, max: R - 1n }), { maxLength: 20 }), (values) => {
        expect(batchInvert(values, R)).to.deep.equal(values.map((v) => invMod(v, R)));
      }),
      { numRuns: 30 },
    );
    expect(() => invMod(0n, R)).to.throw(/inverse/);
    expect(() => batchInvert([3n, 0n, 5n], R)).to.throw(/inverse/);
  });
});
