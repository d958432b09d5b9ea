/** The vote store: the first vote of a task wins forever, across restarts and torn writes. */
import { expect } from "chai";
import fc from "fast-check";
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { VoteStore, type Vote } from "../../sequencer/validator/votes";

const vote = (i: number, approve = true): Vote => ({
  taskId: `0x${i.toString(16).padStart(64, "0")}`,
  commitmentHash: `0x${"cd".repeat(32)}`,
  approve,
  signature: `0x${"ab".repeat(65)}`,
  reason: `task ${i}`,
});

describe("validator vote store", () => {
  let dir: string;
  let n = 0;
  const fresh = (): string => path.join(dir, `votes-${(n += 1)}.jsonl`);

  before(() => (dir = mkdtempSync(path.join(os.tmpdir(), "veil-votes-"))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("keeps the first vote of a task, in memory and after reopening, whatever the case of the task id", () => {
    const file = fresh();
    const store = new VoteStore(file);
    expect(store.record(vote(1, true))).to.deep.equal(vote(1, true));
    expect(store.record({ ...vote(1, false), taskId: vote(1).taskId.toUpperCase().replace("0X", "0x") })).to.include({
      approve: true,
    });
    const reopened = new VoteStore(file);
    expect(reopened.size).to.equal(1);
    expect(reopened.get(vote(1).taskId)).to.deep.equal(vote(1, true));
    expect(reopened.record(vote(1, false))).to.include({ approve: true });
    expect(readFileSync(file, "utf8").trim().split("\n")).to.have.length(1);
  });

  it("keeps one vote per commitment of a task: a task replaced by a later view's gets its own, after reopening too", () => {
    const file = fresh();
    const store = new VoteStore(file);
    const first = vote(7, false);
    const replaced = { ...vote(7, true), commitmentHash: `0x${"ef".repeat(32)}` };
    store.record(first);
    expect(store.record(replaced)).to.deep.equal(replaced);
    expect(store.record({ ...replaced, approve: false })).to.include({ approve: true });
    const reopened = new VoteStore(file);
    expect(reopened.get(first.taskId, first.commitmentHash)).to.deep.equal(first);
    expect(reopened.get(first.taskId, replaced.commitmentHash)).to.deep.equal(replaced);
    expect(reopened.get(first.taskId)).to.deep.equal(replaced); // the latest
  });

  it("drops a torn last line (a vote never synced, so never served) and appends cleanly after it", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.nat(), (count, cutSeed) => {
        const file = fresh();
        const store = new VoteStore(file);
        for (let i = 0; i < count; i++) store.record(vote(i));
        const full = readFileSync(file, "utf8");
        const lineEnds = [...full.matchAll(/\n/g)].map((m) => m.index + 1);
        const cut = cutSeed % (full.length + 1);
        writeFileSync(file, full.slice(0, cut));
        const kept = lineEnds.filter((end) => end <= cut).length;
        const reopened = new VoteStore(file);
        expect(reopened.size).to.equal(kept);
        expect(readFileSync(file, "utf8")).to.equal(full.slice(0, lineEnds[kept - 1] ?? 0));
        reopened.record(vote(100));
        expect(new VoteStore(file).size).to.equal(kept + 1);
      }),
      { numRuns: 40 },
    );
  });

  it("refuses to open a store with a corrupt complete line (not a torn write), naming the line", () => {
    const file = fresh();
    new VoteStore(file).record(vote(1));
    appendFileSync(file, "not json\n");
    expect(() => new VoteStore(file)).to.throw(/line 2 is not a vote record/);
    writeFileSync(file, `${JSON.stringify({ ...vote(2), approve: "yes" })}\n`);
    expect(() => new VoteStore(file)).to.throw(/line 1 is not a vote record/);
  });

  it("lives in memory only without a file", () => {
    const store = new VoteStore();
    store.record(vote(7));
    expect(store.get(vote(7).taskId)).to.deep.equal(vote(7));
    expect(new VoteStore().size).to.equal(0);
  });
});
