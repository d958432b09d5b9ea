import { expect } from "chai";
import { LeaderProgress, PeerHeights } from "../../sequencer/node/readiness";

/** A promise with its settle functions, for requests answered when the test says. */
function pending(): { promise: Promise<unknown>; resolve: () => void; reject: () => void } {
  let resolve!: () => void;
  let reject!: () => void;
  const promise = new Promise<unknown>((res, rej) => {
    resolve = () => res(undefined);
    reject = () => rej(new Error("refused"));
  });
  return { promise, resolve, reject };
}
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe("readiness: a leader's progress", () => {
  let now = 0;
  const progress = (): LeaderProgress => new LeaderProgress(() => now);
  beforeEach(() => (now = 1_000));

  it("reports a height whose request waited longer than the bound, and not before", () => {
    const p = progress();
    p.track(7n, 3, pending().promise);
    now += 2_000;
    expect(p.stalled(2_000)).to.deep.equal([]);
    now += 1;
    expect(p.stalled(2_000)).to.deep.equal([{ rollupId: 7n, height: 3, forMs: 2_001 }]);
  });

  it("an answer is progress: what still waits is timed from the answer", async () => {
    const p = progress();
    const first = pending();
    p.track(7n, 3, first.promise);
    now += 1_500;
    p.track(7n, 3, pending().promise);
    now += 1_000;
    first.resolve();
    await tick();
    expect(p.stalled(2_000)).to.deep.equal([]);
    now += 2_001;
    expect(p.stalled(2_000)).to.have.length(1);
  });

  it("forgets a height once nothing of it waits, answered or refused", async () => {
    const p = progress();
    const a = pending();
    const b = pending();
    p.track(7n, 3, a.promise);
    p.track(7n, 4, b.promise);
    now += 5_000;
    a.resolve();
    b.reject();
    await tick();
    expect(p.stalled(2_000)).to.deep.equal([]);
    expect(p.outstanding).to.equal(0);
  });

  it("a refusal is not progress while other requests of the height still wait", async () => {
    const p = progress();
    const refused = pending();
    p.track(7n, 3, refused.promise);
    p.track(7n, 3, pending().promise);
    now += 1_000;
    refused.reject();
    await tick();
    now += 1_001;
    expect(p.stalled(2_000)).to.deep.equal([{ rollupId: 7n, height: 3, forMs: 2_001 }]);
  });
});

describe("readiness: heights the other members sealed", () => {
  const members = ["0xA", "0xB", "0xC", "0xD"];

  it("vouches for the highest height reported by enough members, never one member's word alone", () => {
    const h = new PeerHeights();
    h.report(7n, "0xA", 1_000_000); // one member lying about a far height
    expect(h.vouched(7n, members, 2)).to.equal(undefined);
    h.report(7n, "0xB", 12);
    expect(h.vouched(7n, members, 2)).to.equal(12);
    h.report(7n, "0xC", 15);
    expect(h.vouched(7n, members, 2)).to.equal(15);
    expect(h.vouched(7n, members, 1)).to.equal(1_000_000);
  });

  it("keeps each member's highest report, counts only the members given, and keeps rollups apart", () => {
    const h = new PeerHeights();
    h.report(7n, "0xA", 9);
    h.report(7n, "0xA", 4);
    h.report(7n, "0xE", 50); // not a member of the epoch asked about
    h.report(8n, "0xB", 70);
    expect(h.vouched(7n, members, 1)).to.equal(9);
    expect(h.vouched(8n, members, 1)).to.equal(70);
    expect(h.vouched(9n, members, 1)).to.equal(undefined);
    expect(h.vouched(7n, members, 0)).to.equal(undefined);
    expect(h.rollups()).to.deep.equal([7n, 8n]);
  });
});
