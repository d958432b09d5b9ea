/**
 * The forced-inclusion cut in seals (docs/forced-inclusion.md): a new seal names the host's recent L1 block,
 * and a follower signs it only if that block is recent by its own view; a seal held from an earlier view keeps
 * its cut, since it may be certified. InboxCut is the node's rule for both.
 */
import { expect } from "chai";
import fc from "fast-check";
import { InboxCut } from "../../sequencer/node/inbox-cut";
import { ReplicaLog } from "../../sequencer/replica/log";
import { HeightReplica } from "../../sequencer/replica/replica";
import {
  EMPTY_DURABLE,
  type Durable,
  type Effect,
  type Membership,
  type Message,
  type Seal,
} from "../../sequencer/replica/types";
import { SimKeys } from "../../sequencer/sim/signatures";

const MEMBERS = ["0xA", "0xB", "0xC"].map((a) => a.padEnd(42, "0"));
const [A, B, C] = MEMBERS as [string, string, string];
const membership: Membership = { epoch: 0, members: MEMBERS };
const keys = new SimKeys(MEMBERS, 7);
const HEIGHT = 3; // view 0 is led by A, view 1 by B

function replica(
  self: string,
  acceptsInboxBlock: (block: number) => boolean,
  durable: Durable<string> = EMPTY_DURABLE,
): HeightReplica<string> {
  const config = {
    membership,
    signatures: keys.portFor(self, HEIGHT),
    timing: { heartbeatIntervalMs: 100, leaderTimeoutMs: 1_000 },
    maxEntries: 16,
    maxLogBytes: 10_000,
    signatureSampleRate: 1,
    random: () => 0.5,
    acceptsInboxBlock,
  };
  return new HeightReplica<string>(HEIGHT, config, durable, 0, false);
}

const to = (effects: readonly Effect<string>[], member: string): Message<string>[] =>
  effects.flatMap((e) => (e.type === "send" && e.to === member ? [e.message] : []));
const sealFrom = (effects: readonly Effect<string>[], member: string) => {
  const m = to(effects, member).find((x) => x.type === "seal");
  if (m?.type !== "seal") throw new Error("no seal message");
  return m;
};
const votesIn = (effects: readonly Effect<string>[]): Message<string>[] =>
  effects.flatMap((e) => (e.type === "send" && e.message.type === "seal-vote" ? [e.message] : []));
const atLeast = (block: number) => (b: number) => b >= block;

describe("replica: the inbox cut of a seal", () => {
  it("the cheapest attack: a leader names a stale cut to drop the entries posted since; no follower signs it", () => {
    const a = replica(A, () => true);
    const sealing = a.step({ type: "seal", id: 1, inboxBlock: 3 }, 1);
    const message = sealFrom(sealing, B);
    expect(message.seal.seal.inboxBlock).to.equal(3);
    for (const follower of [B, C]) {
      const f = replica(follower, atLeast(40));
      expect(votesIn(f.step({ type: "receive", from: A, message }, 2))).to.deep.equal([]);
    }
    expect(a.snapshot().certificate).to.equal(undefined);
  });

  it("a recent cut is signed, and a majority certifies the seal with it", () => {
    const a = replica(A, () => true);
    const message = sealFrom(a.step({ type: "seal", id: 1, inboxBlock: 50 }, 1), B);
    const b = replica(B, atLeast(40));
    const [vote] = votesIn(b.step({ type: "receive", from: A, message }, 2));
    expect(vote).to.not.equal(undefined);
    a.step({ type: "receive", from: B, message: vote! }, 3);
    expect(a.snapshot().certificate?.statement).to.include({ inboxBlock: 50, count: 0, view: 0 });
  });

  it("a leader cannot swap the cut of its seal within a view: the second seal is never signed", () => {
    const a = replica(A, () => true);
    const first = sealFrom(a.step({ type: "seal", id: 1, inboxBlock: 50 }, 1), B);
    const b = replica(B, () => true);
    expect(votesIn(b.step({ type: "receive", from: A, message: first }, 2))).to.have.length(1);
    // The same log sealed again by a faulty leader of the same view, another cut, properly signed.
    const other: Seal = { ...first.seal.seal, inboxBlock: 51 };
    const swapped = {
      ...first,
      seal: { seal: other, leader: A, signature: keys.portFor(A, HEIGHT).signSeal(other) },
    };
    expect(votesIn(b.step({ type: "receive", from: A, message: swapped }, 3))).to.deep.equal([]);
  });

  it("a seal held from an earlier view keeps its cut: the next leader re-seals with it, and it is signed though no longer recent", () => {
    // View 0's leader A sealed an empty log with cut 5; B and C stored that seal, then moved to view 1 (led
    // by B). Whether view 0's seal was certified nobody in view 1 knows, so view 1 must end the height alike.
    const log = new ReplicaLog<string>(HEIGHT, 16);
    const old: Seal = { count: 0, root: log.root, inboxBlock: 5, view: 0, epoch: 0 };
    const held: Durable<string> = {
      ...EMPTY_DURABLE,
      view: 1,
      normalView: 1,
      seal: { seal: old, leader: A, signature: keys.portFor(A, HEIGHT).signSeal(old) },
    };
    const b = replica(B, atLeast(90), held);
    const message = sealFrom(b.step({ type: "seal", id: 1, inboxBlock: 99 }, 1), C);
    expect(message.seal.seal).to.include({ inboxBlock: 5, view: 1 });
    const c = replica(C, atLeast(90), held);
    expect(votesIn(c.step({ type: "receive", from: B, message }, 2))).to.have.length(1);
    // A member that never held that seal judges the cut as new, and refuses it as stale.
    const fresh = replica(C, atLeast(90), { ...EMPTY_DURABLE, view: 1, normalView: 1 });
    expect(votesIn(fresh.step({ type: "receive", from: B, message }, 2))).to.deep.equal([]);
  });
});

describe("InboxCut: the node's cut and the cuts it signs", () => {
  it("cuts `confirmations` below its L1 head, at 0 before it knows one, and signs nothing then", () => {
    let head = -1;
    const cut = new InboxCut(() => head, { confirmations: 2, maxLagBlocks: 4 });
    expect(cut.cut()).to.equal(0);
    expect(cut.accepts(0)).to.equal(false);
    head = 1;
    expect(cut.cut()).to.equal(0);
    head = 100;
    expect(cut.cut()).to.equal(98);
  });

  it("signs a cut within maxLagBlocks of its own either way: older drops entries, newer stalls the build (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.integer({ min: 1, max: 64 }),
        fc.integer({ min: 0, max: 64 }),
        fc.integer({ min: -200, max: 200 }),
        (head, confirmations, maxLagBlocks, offset) => {
          const cut = new InboxCut(() => head, { confirmations, maxLagBlocks });
          const own = Math.max(0, head - confirmations);
          return cut.accepts(own + offset) === Math.abs(offset) <= maxLagBlocks;
        },
      ),
    );
  });

  it("refuses settings that would cut at the head or below 0 lag", () => {
    expect(() => new InboxCut(() => 0, { confirmations: 0, maxLagBlocks: 1 })).to.throw(RangeError);
    expect(() => new InboxCut(() => 0, { confirmations: 1, maxLagBlocks: -1 })).to.throw(RangeError);
  });
});
