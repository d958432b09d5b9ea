import { expect } from "chai";
import fc from "fast-check";
import { LeaderSuspicion } from "../../sequencer/replica/suspects";

const [A, B] = ["0xA", "0xB"].map((a) => a.padEnd(42, "0")) as [string, string];

describe("leader suspicion", () => {
  it("suspects a member that failed to lead until it is heard about a later height", () => {
    const s = new LeaderSuspicion();
    expect(s.suspects(A)).to.equal(false);
    s.failed(A, 7);
    expect(s.suspects(A)).to.equal(true);
    // Messages about the failed height or earlier ones prove nothing: they may be late, or replayed.
    s.heardFrom(A, 7);
    s.heardFrom(A, 3);
    expect(s.suspects(A)).to.equal(true);
    expect(s.suspects(B), "only the member that failed").to.equal(false);
    s.heardFrom(A, 8);
    expect(s.suspects(A)).to.equal(false);
  });

  it("keeps the latest failure: a member back after one failure and failing again stays suspected until it is heard past the second", () => {
    const s = new LeaderSuspicion();
    s.failed(A, 7);
    s.failed(A, 12);
    s.failed(A, 9); // a late vote about an earlier height does not lower the bar
    s.heardFrom(A, 10);
    expect(s.suspects(A)).to.equal(true);
    s.heardFrom(A, 13);
    expect(s.suspected()).to.deep.equal([]);
  });

  it("is suspected exactly when no message about a height above its latest failure has arrived since", () => {
    const event = fc.oneof(
      fc.record({ kind: fc.constant("failed" as const), height: fc.nat(50) }),
      fc.record({ kind: fc.constant("heard" as const), height: fc.nat(50) }),
    );
    fc.assert(
      fc.property(fc.array(event, { maxLength: 40 }), (events) => {
        const s = new LeaderSuspicion();
        let failedAt: number | undefined;
        for (const e of events) {
          if (e.kind === "failed") {
            s.failed(A, e.height);
            failedAt = Math.max(failedAt ?? e.height, e.height);
          } else {
            s.heardFrom(A, e.height);
            if (failedAt !== undefined && e.height > failedAt) failedAt = undefined;
          }
          expect(s.suspects(A)).to.equal(failedAt !== undefined);
        }
      }),
    );
  });
});
