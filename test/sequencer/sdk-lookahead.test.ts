import { expect } from "chai";
import fc from "fast-check";
import { LookAhead } from "../../sequencer/sdk/look-ahead";

describe("SDK: target height look-ahead", () => {
  it("covers the expected proving time plus overhead, with the safety factor, in whole blocks", () => {
    const la = new LookAhead({ blockTimeMs: 1_000, initialProvingMs: 3_000, overheadMs: 500, safetyFactor: 1.5 });
    expect(la.blocks()).to.equal(6); // (3000 + 500) × 1.5 / 1000 = 5.25 → 6
    expect(la.target(100n)).to.equal(106n);
  });

  it("learns from measured proving times", () => {
    const la = new LookAhead({ blockTimeMs: 1_000, initialProvingMs: 10_000 });
    const before = la.blocks();
    for (let i = 0; i < 20; i++) la.observe(1_000);
    expect(la.expectedProvingMs).to.be.closeTo(1_000, 10);
    expect(la.blocks()).to.be.lessThan(before);
    la.observe(Number.NaN);
    la.observe(-5);
    expect(la.expectedProvingMs).to.be.closeTo(1_000, 10);
  });

  it("looks further ahead after a missed target, up to maxBlocks, and measurements bring it back", () => {
    const la = new LookAhead({ blockTimeMs: 1_000, initialProvingMs: 2_000, maxBlocks: 10 });
    const before = la.blocks(); // (2000 + 500) × 1.5 / 1000 → 4
    la.missed();
    expect(la.expectedProvingMs).to.equal(3_000);
    expect(la.blocks()).to.be.greaterThan(before);
    for (let i = 0; i < 10; i++) la.missed();
    expect(la.blocks()).to.equal(10);
    expect(la.expectedProvingMs).to.be.at.most((10 * 1_000) / 1.5 - 500);
    for (let i = 0; i < 30; i++) la.observe(2_000);
    expect(la.blocks()).to.equal(before);
  });

  it("never shrinks the estimate on a miss, even when it already exceeds what maxBlocks can use", () => {
    const la = new LookAhead({ blockTimeMs: 1_000, initialProvingMs: 60_000, maxBlocks: 4 });
    la.missed();
    expect(la.expectedProvingMs).to.equal(60_000);
  });

  it("stays within its bounds and never targets a height below the open one (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100_000 }),
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.bigInt({ min: 0n, max: 2n ** 63n }),
        (blockTimeMs, provingMs, open) => {
          const la = new LookAhead({ blockTimeMs, initialProvingMs: provingMs, minBlocks: 1, maxBlocks: 16 });
          const blocks = la.blocks();
          return blocks >= 1 && blocks <= 16 && la.target(open) === open + BigInt(blocks);
        },
      ),
    );
  });

  it("rejects nonsensical settings", () => {
    expect(() => new LookAhead({ blockTimeMs: 0 })).to.throw(RangeError);
    expect(() => new LookAhead({ blockTimeMs: 1_000, minBlocks: 5, maxBlocks: 2 })).to.throw(RangeError);
  });
});
