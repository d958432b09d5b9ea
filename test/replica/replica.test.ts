import { expect } from "chai";
import { keccak256, toUtf8Bytes } from "ethers";
import { EntryRejected, ReplicaLog, checkEntry, leaderOf } from "../../sequencer/replica/log";
import { HeightReplica } from "../../sequencer/replica/replica";
import {
  EMPTY_DURABLE,
  type Durable,
  type Effect,
  type Membership,
  type ReplicaConfig,
} from "../../sequencer/replica/types";
import { SimKeys } from "../../sequencer/sim/signatures";

const MEMBERS = ["0xA", "0xB", "0xC"].map((a) => a.padEnd(42, "0"));
const [A, B, C] = MEMBERS as [string, string, string];
const membership: Membership = { epoch: 0, members: MEMBERS };
const keys = new SimKeys(MEMBERS, 1);
const HEIGHT = 3; // leaderOf(view 0) = members[3 % 3] = A
const leaf = (label: string): string => keccak256(toUtf8Bytes(label));

function config(self: string, random = () => 0.5): ReplicaConfig {
  return {
    membership,
    signatures: keys.portFor(self, HEIGHT),
    timing: { heartbeatIntervalMs: 100, leaderTimeoutMs: 1_000 },
    maxEntries: 16,
    maxLogBytes: 10_000,
    signatureSampleRate: 1,
    random,
  };
}

const replica = (self: string, durable: Durable<string> = EMPTY_DURABLE, restarted = false): HeightReplica<string> =>
  new HeightReplica<string>(HEIGHT, config(self), durable, 0, restarted);

const types = (effects: readonly Effect<string>[]): string[] =>
  effects.filter((e) => e.type !== "schedule").map((e) => (e.type === "persist" ? `persist:${e.write.type}` : e.type));

describe("replica log", () => {
  const signed = (): ReplicaLog<string> => {
    const log = new ReplicaLog<string>(HEIGHT, 16);
    log.appendAsLeader(
      ["a", "b", "c"].map((x) => ({ leaf: leaf(x), tx: x, bytes: 10 })),
      0,
      0,
      keys.portFor(A, HEIGHT),
    );
    return log;
  };

  it("takes another member's entries only in order, unchanged, each extending its tree", () => {
    const source = signed();
    const copy = new ReplicaLog<string>(HEIGHT, 16);
    const check = (e: (typeof source.entries)[number], i: number): void =>
      checkEntry(e, i, HEIGHT, membership, keys.portFor(B, HEIGHT));
    expect(() => copy.appendChecked(1, source.entries.slice(1), check)).to.throw(EntryRejected, /gap/);
    expect(copy.appendChecked(0, source.entries.slice(0, 2), check)).to.equal(2);
    // Re-sent entries are fine; a different entry at a held index is not.
    expect(copy.appendChecked(1, source.entries.slice(1), check)).to.equal(3);
    const other = new ReplicaLog<string>(HEIGHT, 16);
    other.appendAsLeader([{ leaf: leaf("x"), tx: "x", bytes: 10 }], 0, 0, keys.portFor(A, HEIGHT));
    expect(() => copy.appendChecked(0, other.entries, check)).to.throw(EntryRejected, /another entry/);
    expect(copy.root).to.equal(source.root);
  });

  it("refuses a forged signature, a wrong leader and a broken preRoot, and changes nothing then", () => {
    const source = signed();
    const copy = new ReplicaLog<string>(HEIGHT, 16);
    const check = (e: (typeof source.entries)[number], i: number): void =>
      checkEntry(e, i, HEIGHT, membership, keys.portFor(B, HEIGHT));
    const e0 = source.entries[0]!;
    expect(() => copy.appendChecked(0, [{ ...e0, signature: "00" }], check)).to.throw(/not signed/);
    expect(() => copy.appendChecked(0, [{ ...e0, leader: B }], check)).to.throw(/did not lead view 0/);
    const badRoot = { ...e0, commitment: { ...e0.commitment, preRoot: leaf("root") } };
    const resigned = { ...badRoot, signature: keys.portFor(A, HEIGHT).signCommitment(badRoot.commitment) };
    expect(() => copy.appendChecked(0, [resigned], check)).to.throw(/preRoot differs/);
    expect(copy.size).to.equal(0);
  });

  it("remembers the indices of its own signed entries that an install drops, and never signs there again", () => {
    const log = signed();
    const shorter = signed().entries.slice(0, 1);
    const { keep, signedDropped } = log.install(shorter, A);
    expect(keep).to.equal(1);
    expect(signedDropped).to.deep.equal([1, 2]);
    expect(log.blockedFrom()).to.equal(1);
    expect(leaderOf(membership, HEIGHT, 1)).to.equal(B);
  });
});

describe("replica state machine", () => {
  it("a leader persists, replicates and answers only once a majority holds the entry", () => {
    const a = replica(A);
    const proposed = a.step(
      { type: "propose", batch: [{ id: 1, proposal: { leaf: leaf("t"), tx: "t", bytes: 10 } }] },
      1,
    );
    expect(types(proposed)).to.deep.equal(["persist:append", "send", "send"]);
    const replicate = proposed.find((e) => e.type === "send")!;
    if (replicate.type !== "send") throw new Error("unreachable");
    const b = replica(B);
    const followed = b.step({ type: "receive", from: A, message: replicate.message }, 2);
    // The follower writes before it acknowledges.
    expect(types(followed)).to.deep.equal(["persist:append", "send"]);
    const ack = followed.find((e) => e.type === "send")!;
    if (ack.type !== "send") throw new Error("unreachable");
    const answered = a.step({ type: "receive", from: B, message: ack.message }, 3);
    expect(types(answered)).to.deep.equal(["reply"]);
  });

  it("refuses writes it does not lead, and messages of a member that does not lead their view", () => {
    const b = replica(B);
    const refused = b.step(
      { type: "propose", batch: [{ id: 7, proposal: { leaf: leaf("t"), tx: "t", bytes: 1 } }] },
      1,
    );
    expect(refused).to.deep.include({
      type: "reply",
      id: 7,
      reply: { ok: false, error: { code: "not-leader", message: "this member does not lead view 0", leader: A } },
    });
    // C forges a replicate of view 0 (A leads it): ignored, nothing stored or answered.
    const forged = b.step(
      { type: "receive", from: C, message: { type: "replicate", view: 0, firstIndex: 0, entries: [] } },
      2,
    );
    expect(types(forged)).to.deep.equal([]);
  });

  it("a follower whose leader falls silent moves to the next view durably before it votes", () => {
    const b = replica(B);
    b.step({ type: "receive", from: A, message: { type: "heartbeat", view: 0, count: 0 } }, 1);
    const changed = b.step({ type: "tick" }, 5_000);
    expect(types(changed)).to.deep.equal(["persist:view", "send", "send"]);
    expect(b.snapshot()).to.include({ status: "view-change", view: 1, normalView: 0 });
  });

  it("a restarted member recovers before it acts: it refuses writes and asks a majority first", () => {
    const a = replica(A, { ...EMPTY_DURABLE, view: 0 }, true);
    expect(types(a.start(0))).to.deep.equal(["send", "send"]);
    const refused = a.step(
      { type: "propose", batch: [{ id: 1, proposal: { leaf: leaf("t"), tx: "t", bytes: 1 } }] },
      1,
    );
    expect(refused[0]).to.deep.include({ type: "reply", id: 1 });
    expect(a.snapshot().status).to.equal("recovering");
  });

  it("a claimed normal view without its certificate does not rank a log first", () => {
    const b = replica(B); // B leads view 1
    const vote = keys.portFor(C, HEIGHT).signVote({ view: 1, epoch: 0 });
    const bogus = {
      type: "do-view-change" as const,
      view: 1,
      vote,
      log: { view: 1, normalView: 0, normalViewCertificate: undefined, entries: [], seal: undefined },
    };
    // Well formed: accepted (a normal view 0 needs no certificate); the same with normalView 5 > view is not.
    expect(types(b.step({ type: "receive", from: C, message: bogus }, 1))).to.include("persist:view");
    // B also leads view 7: a log claiming to be normal in view 6, with C's genuine vote but no certificate.
    const c = replica(B);
    const vote7 = keys.portFor(C, HEIGHT).signVote({ view: 7, epoch: 0 });
    const lying = { ...bogus, view: 7, vote: vote7, log: { ...bogus.log, view: 7, normalView: 6 } };
    expect(types(c.step({ type: "receive", from: C, message: lying }, 1))).to.deep.equal([]);
    // The same message claiming view 0 as its normal view is taken (and moves B to view 7).
    const honest = { ...lying, log: { ...lying.log, normalView: 0 } };
    expect(types(c.step({ type: "receive", from: C, message: honest }, 2))).to.include("persist:view");
  });
});
