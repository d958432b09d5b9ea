import { expect } from "chai";
import fc from "fast-check";
import { RSA_2048_MODULUS } from "../../sequencer/crypto/timelock/modulus";
import { ASIC_SQUARINGS_PER_SECOND, delayForSquarings } from "../../sequencer/crypto/timelock/params";
import {
  DEFAULT_DELAY_INPUTS,
  publicationToSealSeconds,
  timeLockSquaringsFor,
  warnIfTestModulus,
} from "../../sequencer/crypto/timelock/policy";

/** A warning sink that records what it is told. */
function recorder(): { warnings: { fields: object; message: string }[]; warn(fields: object, message: string): void } {
  const warnings: { fields: object; message: string }[] = [];
  return { warnings, warn: (fields, message) => warnings.push({ fields, message }) };
}

describe("time-lock policy: sizing T and flagging test moduli", () => {
  it("sizes the default T from look-ahead 4, 2 s blocks, a 3 s leader timeout and one view change", () => {
    expect(publicationToSealSeconds(DEFAULT_DELAY_INPUTS)).to.equal(13);
    expect(timeLockSquaringsFor()).to.equal(455_000_000);
    expect(delayForSquarings(timeLockSquaringsFor(), ASIC_SQUARINGS_PER_SECOND)).to.equal(13);
  });

  it("gives the attacker at least the publication-to-seal time, for any inputs", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 64 }),
        fc.integer({ min: 100, max: 60_000 }),
        fc.integer({ min: 100, max: 60_000 }),
        fc.integer({ min: 0, max: 4 }),
        (lookaheadHeights, blockTimeMs, leaderTimeoutMs, viewChanges) => {
          const inputs = { lookaheadHeights, blockTimeMs, leaderTimeoutMs, viewChanges };
          const T = timeLockSquaringsFor(inputs);
          const needed = ((lookaheadHeights + 1) * blockTimeMs + viewChanges * leaderTimeoutMs) / 1000;
          expect(T / ASIC_SQUARINGS_PER_SECOND).to.be.at.least(needed - 1e-9);
          // More look-ahead, slower blocks or more view changes never shorten the delay.
          expect(timeLockSquaringsFor({ ...inputs, lookaheadHeights: lookaheadHeights + 1 })).to.be.greaterThan(T);
          expect(timeLockSquaringsFor({ ...inputs, viewChanges: viewChanges + 1 })).to.be.greaterThan(T);
        },
      ),
      { numRuns: 100 },
    );
  });

  it("refuses inputs that do not describe a delay", () => {
    for (const bad of [
      { lookaheadHeights: -1 },
      { lookaheadHeights: 1.5 },
      { blockTimeMs: 0 },
      { leaderTimeoutMs: Number.NaN },
      { viewChanges: -1 },
      { attackerSquaringsPerSecond: 0 },
    ]) {
      expect(() => timeLockSquaringsFor(bad), JSON.stringify(bad)).to.throw(RangeError);
    }
  });

  it("warns once per process and modulus of a test modulus, and never of RSA-2048", () => {
    const sink = recorder();
    expect(warnIfTestModulus(RSA_2048_MODULUS, sink)).to.equal(false);
    expect(sink.warnings).to.have.length(0);
    const test = (1n << 1023n) + 0x1234567n;
    expect(warnIfTestModulus(test, sink, { rollupId: "7" })).to.equal(true);
    expect(warnIfTestModulus(test, sink, { rollupId: "7" })).to.equal(true);
    expect(sink.warnings).to.have.length(1);
    expect(sink.warnings[0]!.message).to.match(/INSECURE time-lock modulus/);
    expect(sink.warnings[0]!.fields).to.include({ rollupId: "7", modulusBits: 1024 });
    warnIfTestModulus(test + 2n, sink);
    expect(sink.warnings).to.have.length(2);
  });
});
