import { expect } from "chai";
import { runSeeds } from "../../sequencer/sim/cli";
import { Prng } from "../../sequencer/sim/prng";
import { SimWorld } from "../../sequencer/sim/world";

/** The CI budget of the deterministic simulator (docs/simulator.md): 2,000 seeds, well under 3 minutes on 2 cores. */
const CI_SEEDS = Number(process.env.SIMULATE_SEEDS ?? 2000);

describe("deterministic cluster simulator", function () {
  this.timeout(600_000);

  it("replays a seed exactly: the same seed gives the same run, step for step", () => {
    const a = new SimWorld(4242).run();
    const b = new SimWorld(4242).run();
    expect(a).to.deep.equal(b);
    expect(a.ok, a.violation).to.equal(true);
    expect(a.steps).to.be.greaterThan(100);
    expect(new SimWorld(4243).run().steps).to.not.equal(a.steps);
  });

  it("draws the same numbers from the same seed, and different ones from another", () => {
    const draw = (seed: number): number[] => {
      const rng = new Prng(seed);
      return Array.from({ length: 8 }, () => rng.u32());
    };
    expect(draw(7)).to.deep.equal(draw(7));
    expect(draw(7)).to.not.deep.equal(draw(8));
    const rng = new Prng(1);
    for (let i = 0; i < 1_000; i++) {
      const x = rng.next();
      expect(x).to.be.at.least(0).and.below(1);
    }
  });

  // Seeds that once broke an invariant (docs/simulator.md, "Bugs found"), replayed on every run.
  const REGRESSIONS: readonly { seed: number; bug: string }[] = [
    { seed: 1002074, bug: "one seal per height deadlocked a height whose members had each signed another seal" },
    { seed: 1002188, bug: "the same seal deadlock, under three crashes" },
  ];
  for (const { seed, bug } of REGRESSIONS) {
    it(`seed ${seed} keeps every invariant (${bug})`, () => {
      const result = new SimWorld(seed).run();
      expect(result.ok, result.violation).to.equal(true);
    });
  }

  it("never changes view in a cluster without faults: the leader stays heard through sealing, deciding and building", () => {
    // Links of up to 100 ms a message each way (a round trip and a heartbeat interval fit in the leader
    // timeout), rebuilds of up to three leader timeouts, and no faults.
    const calm = {
      heights: 6,
      network: { minDelayMs: 1, maxDelayMs: 100, dropRate: 0, duplicateRate: 0 },
      crashesPerSecond: 0,
      buildCrashRate: 0,
      partitionsPerSecond: 0,
      loseOneMember: false,
      replayedPackets: 0,
    };
    for (let seed = 1; seed <= 40; seed++) {
      const result = new SimWorld(seed, calm).run();
      expect(result.ok, `seed ${seed}: ${result.violation}`).to.equal(true);
      expect(result.viewChanges, `seed ${seed}: view changes`).to.equal(0);
      expect(result.blocksFetched, `seed ${seed}: every block arrived from its leader`).to.equal(0);
    }
  });

  it(`keeps every invariant across ${CI_SEEDS} seeds of crashes, partitions, drops and duplicates`, () => {
    let receipts = 0;
    let viewChanges = 0;
    let crashes = 0;
    let blocksFetched = 0;
    let builderCrashes = 0;
    const failures = runSeeds(1, CI_SEEDS, (r) => {
      receipts += r.receipts;
      viewChanges += r.viewChanges;
      crashes += r.crashes;
      blocksFetched += r.blocksFetched;
      builderCrashes += r.builderCrashes;
    });
    expect(
      failures.map((f) => `seed ${f.seed}: ${f.violation} (replay: npm run simulate -- --seed ${f.seed})`),
    ).to.deep.equal([]);
    // The faults really happened: a run without them would prove nothing.
    expect(receipts).to.be.greaterThan(CI_SEEDS * 10);
    expect(viewChanges).to.be.greaterThan(CI_SEEDS / 2);
    expect(crashes).to.be.greaterThan(CI_SEEDS / 2);
    // Members pulled the blocks they missed, and certificates' leaders died before building theirs.
    expect(blocksFetched).to.be.greaterThan(CI_SEEDS);
    expect(builderCrashes).to.be.greaterThan(CI_SEEDS / 10);
  });
});
