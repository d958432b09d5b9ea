import { expect } from "chai";
import { keccak256, toUtf8Bytes } from "ethers";
import { EntryRejected, ReplicaLog, checkEntry, leaderOf } from "../../sequencer/replica/log";
import { HeightReplica } from "../../sequencer/replica/replica";
import {
  EMPTY_DURABLE,
  type Durable,
  type Effect,
  type Membership,
  type Message,
  type ReplicaConfig,
  type Seal,
  type SealCertificate,
} from "../../sequencer/replica/types";
import { SimKeys } from "../../sequencer/sim/signatures";
import { applyWrite } from "../../sequencer/sim/storage";

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

/** Different numbers in [0, 1) on each call, the same sequence every run. */
function draws(): () => number {
  let x = 0;
  return () => (x = (x + 0.618034) % 1);
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

  it("a replayed heartbeat holds off nothing: only one that echoes the follower's current challenge resets its timer", () => {
    const a = replica(A);
    const b = new HeightReplica<string>(HEIGHT, config(B, draws()), EMPTY_DURABLE, 0, false);
    const deliver = (effects: readonly Effect<string>[], to: HeightReplica<string>, from: string, now: number) => {
      const out: Effect<string>[] = [];
      for (const e of effects)
        if (e.type === "send" && e.to === to.self)
          out.push(...to.step({ type: "receive", from, message: e.message }, now));
      return out;
    };
    const heartbeatTo = (effects: readonly Effect<string>[], to: string): Message<string> => {
      const sent = effects.find((e) => e.type === "send" && e.to === to && e.message.type === "heartbeat");
      if (sent?.type !== "send") throw new Error("no heartbeat");
      return sent.message;
    };
    a.step({ type: "watch" }, 0);
    // A's first heartbeat carries no echo (it knows no challenge of B yet); B's answer gives it one.
    const first = a.step({ type: "tick" }, 0);
    expect((heartbeatTo(first, B) as { echo?: number }).echo).to.equal(undefined);
    deliver(deliver(first, b, A, 0), a, B, 0);
    // A's next heartbeat echoes it, and counts: B's timer restarts at 150 ms.
    const second = a.step({ type: "tick" }, 150);
    const recorded = heartbeatTo(second, B);
    expect(recorded).to.have.property("echo").that.is.a("number");
    deliver(deliver(second, b, A, 150), a, B, 150);
    // A dies. An attacker replays both recorded heartbeats (valid signed packets) to B every 100 ms.
    let changed = -1;
    for (let t = 200; t <= 3_000 && changed < 0; t += 100) {
      b.step({ type: "receive", from: A, message: recorded }, t);
      b.step({ type: "receive", from: A, message: heartbeatTo(first, B) }, t);
      b.step({ type: "tick" }, t);
      if (b.snapshot().status === "view-change") changed = t;
    }
    // The timer restarted at 150 ms, not at any replay: B changes view within 150 + 1,000 x 1.5 ms.
    expect(changed)
      .to.be.greaterThan(150)
      .and.at.most(150 + 1_500);
  });

  it("a leader's replicate counts as a sign of life only when it echoes the follower's current challenge", () => {
    const b = new HeightReplica<string>(HEIGHT, config(B, draws()), EMPTY_DURABLE, 0, false);
    b.step({ type: "receive", from: A, message: { type: "heartbeat", view: 0, count: 0 } }, 1); // watched
    const answer = b.step({ type: "receive", from: A, message: { type: "heartbeat", view: 0, count: 0 } }, 2);
    const ack = answer.find((e) => e.type === "send" && e.message.type === "ack");
    if (ack?.type !== "send" || ack.message.type !== "ack") throw new Error("no ack");
    const { challenge } = ack.message;
    // A stale echo (a replay) does not move the deadline (1 ms + 1,000 x 1.5 at most); the right one does.
    b.step({ type: "receive", from: A, message: { type: "heartbeat", view: 0, count: 0, echo: challenge + 1 } }, 900);
    const fresh = b.step(
      {
        type: "receive",
        from: A,
        message: { type: "replicate", view: 0, firstIndex: 0, entries: [], echo: challenge },
      },
      1_400,
    );
    const next = fresh.find((e) => e.type === "send" && e.message.type === "ack");
    if (next?.type !== "send" || next.message.type !== "ack") throw new Error("no ack");
    expect(next.message.challenge, "a used challenge is replaced").to.not.equal(challenge);
    b.step({ type: "tick" }, 2_000);
    expect(b.snapshot().status, "the echo at 1,400 ms restarted the timer").to.equal("normal");
    // The same replicate again is a replay now: it restarts nothing.
    b.step(
      {
        type: "receive",
        from: A,
        message: { type: "replicate", view: 0, firstIndex: 0, entries: [], echo: challenge },
      },
      2_500,
    );
    b.step({ type: "tick" }, 1_400 + 1_501);
    expect(b.snapshot().status).to.equal("view-change");
  });

  it("a client's failed forward to a suspected leader moves the height to the next view at once", () => {
    const suspectA = new HeightReplica<string>(
      HEIGHT,
      { ...config(B), suspects: (m) => m === A },
      EMPTY_DURABLE,
      0,
      false,
    );
    const effects = suspectA.step({ type: "watch" }, 1);
    expect(types(effects)).to.deep.equal(["persist:view", "send", "send"]);
    expect(suspectA.snapshot()).to.include({ status: "view-change", view: 1, normalView: 0 });
    // Without the suspicion, the same failed forward only starts the leader timer.
    const trusting = replica(B);
    expect(types(trusting.step({ type: "watch" }, 1))).to.deep.equal([]);
    expect(trusting.snapshot()).to.include({ status: "normal", view: 0 });
  });

  it("skips every suspected leader up to the next one it does not suspect, and never a leader that proved itself alive", () => {
    // HEIGHT 3: view 0 is A's, view 1 B's, view 2 C's. C suspects A and B.
    const c = new HeightReplica<string>(HEIGHT, { ...config(C), suspects: (m) => m !== C }, EMPTY_DURABLE, 0, false);
    c.step({ type: "watch" }, 1);
    expect(c.snapshot()).to.include({ status: "view-change", view: 2 });
    // B suspects A, but A echoed B's challenge in this view: it is alive, and B waits for it as usual.
    const b = new HeightReplica<string>(
      HEIGHT,
      { ...config(B, draws()), suspects: (m) => m === A },
      EMPTY_DURABLE,
      0,
      false,
    );
    const first = b.step({ type: "receive", from: A, message: { type: "heartbeat", view: 0, count: 0 } }, 1);
    const ack = first.find((e) => e.type === "send" && e.message.type === "ack");
    if (ack?.type !== "send" || ack.message.type !== "ack") throw new Error("no ack");
    b.step(
      { type: "receive", from: A, message: { type: "heartbeat", view: 0, count: 0, echo: ack.message.challenge } },
      2,
    );
    expect(types(b.step({ type: "watch" }, 3))).to.deep.equal([]);
    expect(b.snapshot()).to.include({ status: "normal", view: 0 });
  });

  it("a leader that refused the connection is left at once, even one that proved itself alive earlier in the view", () => {
    // HEIGHT 3: view 0 is A's. A echoed B's challenge, then its process died: B's forward found nothing listening.
    const b = new HeightReplica<string>(HEIGHT, config(B, draws()), EMPTY_DURABLE, 0, false);
    const first = b.step({ type: "receive", from: A, message: { type: "heartbeat", view: 0, count: 0 } }, 1);
    const ack = first.find((e) => e.type === "send" && e.message.type === "ack");
    if (ack?.type !== "send" || ack.message.type !== "ack") throw new Error("no ack");
    b.step(
      { type: "receive", from: A, message: { type: "heartbeat", view: 0, count: 0, echo: ack.message.challenge } },
      2,
    );
    expect(types(b.step({ type: "watch", leaderDown: { view: 0 } }, 3))).to.deep.equal([
      "persist:view",
      "send",
      "send",
    ]);
    expect(b.snapshot()).to.include({ status: "view-change", view: 1, normalView: 0 });
  });

  it("ignores a refused connection reported for another view than its own, and one to itself as the leader", () => {
    // A late report about view 0 must not depose the leader of view 1, which this member already follows.
    const c = new HeightReplica<string>(
      HEIGHT,
      config(C, draws()),
      { ...EMPTY_DURABLE, view: 1, normalView: 1 },
      0,
      false,
    );
    expect(types(c.step({ type: "watch", leaderDown: { view: 0 } }, 1))).to.deep.equal([]);
    expect(c.snapshot()).to.include({ status: "normal", view: 1 });
    const a = replica(A);
    expect(types(a.step({ type: "watch", leaderDown: { view: 0 } }, 1))).to.deep.equal([]);
    expect(a.snapshot()).to.include({ status: "normal", view: 0 });
  });

  it("a leader restarted after sealing counts its own signature again, so it certifies with one follower while the third is down for good", () => {
    const log = new ReplicaLog<string>(HEIGHT, 16);
    const entries = log.appendAsLeader([{ leaf: leaf("t"), tx: "t", bytes: 1 }], 0, 0, keys.portFor(A, HEIGHT));
    const seal: Seal = { count: 1, root: log.root, inboxBlock: 0, view: 0, epoch: 0 };
    const signed = { seal, leader: A, signature: keys.portFor(A, HEIGHT).signSeal(seal) };
    const held: Durable<string> = { ...EMPTY_DURABLE, entries, seal: signed, sealSigned: seal };
    const a = replica(A, held, true);
    const b = replica(B, held);
    const sends = (effects: readonly Effect<string>[], to: string): Message<string>[] =>
      effects.flatMap((e) => (e.type === "send" && e.to === to ? [e.message] : []));
    // A recovers with B's answer (C is gone), and is normal in view 0 again, holding its seal.
    const ask = sends(a.start(0), B)[0]!;
    a.step(
      { type: "receive", from: B, message: sends(b.step({ type: "receive", from: A, message: ask }, 1), A)[0]! },
      2,
    );
    expect(a.snapshot()).to.include({ status: "normal", view: 0 });
    // The executor asks again; B signs the seal it holds. A's own signature makes the majority.
    const resent = a.step({ type: "seal", id: 9, inboxBlock: 0 }, 3);
    const tick = a.step({ type: "tick" }, 200);
    const toB = [...sends(resent, B), ...sends(tick, B)].find((m) => m.type === "seal");
    expect(toB, "A sends B its seal").to.not.equal(undefined);
    const vote = sends(b.step({ type: "receive", from: A, message: toB! }, 201), A).find((m) => m.type === "seal-vote");
    const decided = a.step({ type: "receive", from: B, message: vote! }, 202);
    expect(types(decided)).to.include("persist:decided");
    expect(a.snapshot().status).to.equal("decided");
  });

  it("a member that recovers while another changes views joins that change when its recovery ends", () => {
    // C gave up on A (view 0) and votes for view 1, which B leads; B restarts meanwhile; A is gone.
    const c = replica(C);
    c.step({ type: "watch" }, 1);
    c.step({ type: "tick" }, 5_000);
    expect(c.snapshot()).to.include({ status: "view-change", view: 1 });
    const b = replica(B, { ...EMPTY_DURABLE }, true);
    const ask = b.start(5_001).find((e) => e.type === "send" && e.to === C);
    if (ask?.type !== "send") throw new Error("no recovery request");
    // C answers with its report and its vote: a report only claims a view, the vote proves C left view 0.
    const answer = c.step({ type: "receive", from: B, message: ask.message }, 5_002);
    const toB = answer.flatMap((e) => (e.type === "send" && e.to === B ? [e.message] : []));
    expect(toB.map((m) => m.type)).to.deep.equal(["recovery-response", "start-view-change"]);
    // The vote may arrive first, while B still recovers: it is kept, and joined once the recovery ends.
    b.step({ type: "receive", from: C, message: toB[1]! }, 5_003);
    expect(b.snapshot().status).to.equal("recovering");
    const joined = b.step({ type: "receive", from: C, message: toB[0]! }, 5_004);
    expect(b.snapshot()).to.include({ status: "view-change", view: 1 });
    expect(types(joined)).to.include("persist:view");
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

  it("a leader that seals a height nobody wrote to resends the seal until a majority signed it", () => {
    // Campaign seed 1000053 (before the fix): the one seal message was lost, and an unwatched height never
    // heartbeats, so the height stayed sealed by its leader alone for good.
    const a = replica(A);
    const sealing = a.step({ type: "seal", id: 1, inboxBlock: 0 }, 1);
    expect(types(sealing)).to.deep.equal(["persist:seal-signed", "persist:seal", "send", "send"]);
    const resent = a.step({ type: "tick" }, 200).flatMap((e) => (e.type === "send" ? [e.message.type] : []));
    expect(resent).to.include("seal");
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

describe("replica: decided heights", () => {
  const EMPTY_ROOT = new ReplicaLog<string>(HEIGHT, 16).root;
  const SEAL: Seal = { count: 0, root: EMPTY_ROOT, inboxBlock: 0, view: 0, epoch: 0 };
  const sign = (member: string, seal: Seal): string => keys.portFor(member, HEIGHT).signSeal(seal);
  const certificate = (signatures: [string, string][], statement: Seal = SEAL): SealCertificate => ({
    statement,
    signatures: new Map(signatures),
  });
  const GOOD = certificate([
    [A, sign(A, SEAL)],
    [C, sign(C, SEAL)],
  ]);
  const decided = (c: SealCertificate): Message<string> => ({ type: "decided", certificate: c });
  const sent = (effects: readonly Effect<string>[]): Message<string>[] =>
    effects.flatMap((e) => (e.type === "send" ? [e.message] : []));
  const fetches = (effects: readonly Effect<string>[]): string[] =>
    effects.flatMap((e) => (e.type === "fetch-block" ? [e.from] : []));

  /** B heard A once, then A fell silent: B runs a view change nobody else joins (they are all past it). */
  function lonely(): { b: HeightReplica<string>; durable: () => Durable<string>; step: typeof stepper } {
    let state: Durable<string> = EMPTY_DURABLE;
    const b = replica(B);
    const stepper = (input: Parameters<HeightReplica<string>["step"]>[0], now: number): Effect<string>[] => {
      const effects = b.step(input, now);
      for (const e of effects) if (e.type === "persist") state = applyWrite(state, e.write);
      return effects;
    };
    stepper({ type: "receive", from: A, message: { type: "heartbeat", view: 0, count: 0 } }, 1);
    expect(types(stepper({ type: "tick" }, 5_000))).to.deep.equal(["persist:view", "send", "send"]);
    return { b, durable: () => state, step: stepper };
  }

  it("refuses a certificate of one member, a forged signature, another seal's signatures, a non-member's or another epoch's, and changes nothing", () => {
    const D = "0xD".padEnd(42, "0");
    const outsider = new SimKeys([...MEMBERS, D], 1).portFor(D, HEIGHT);
    const otherSeal: Seal = { ...SEAL, view: 1 };
    const otherEpoch: Seal = { ...SEAL, epoch: 1 };
    const attacks: Record<string, SealCertificate> = {
      "one member": certificate([[A, sign(A, SEAL)]]),
      "a forged signature": certificate([
        [A, sign(A, SEAL)],
        [C, "00".repeat(16)],
      ]),
      "another seal's signatures": certificate([
        [A, sign(A, otherSeal)],
        [C, sign(C, otherSeal)],
      ]),
      "a non-member's": certificate([
        [A, sign(A, SEAL)],
        [D, outsider.signSeal(SEAL)],
      ]),
      "another epoch's": certificate(
        [
          [A, sign(A, otherEpoch)],
          [C, sign(C, otherEpoch)],
        ],
        otherEpoch,
      ),
    };
    for (const [attack, forged] of Object.entries(attacks)) {
      const { b, durable, step } = lonely();
      const before = { snapshot: b.snapshot(), durable: durable() };
      expect(types(step({ type: "receive", from: C, message: decided(forged) }, 5_001)), attack).to.deep.equal([]);
      expect(b.snapshot(), attack).to.deep.equal(before.snapshot);
      expect(durable(), attack).to.equal(before.durable);
      // The lone view change goes on as if nothing had arrived.
      expect(types(step({ type: "tick" }, 60_000)), attack).to.include("persist:view");
    }
  });

  it("a decided answer ends a lone view change: stored first, the block asked of its sender, no view change again", () => {
    const a = replica(A, { ...EMPTY_DURABLE, decision: { status: "built", certificate: GOOD } }, true);
    expect(a.start(0)).to.deep.equal([]); // built: no recovery, no timer
    const { b, step } = lonely();
    const vote = keys.portFor(B, HEIGHT).signVote({ view: 1, epoch: 0 });
    const answer = sent(a.step({ type: "receive", from: B, message: { type: "start-view-change", view: 1, vote } }, 2));
    expect(answer).to.deep.equal([decided(GOOD)]);
    const learnt = step({ type: "receive", from: A, message: answer[0]! }, 5_001);
    expect(types(learnt)).to.deep.equal(["persist:decided", "certified", "fetch-block"]);
    expect(fetches(learnt)).to.deep.equal([A]);
    expect(b.snapshot()).to.include({ status: "decided", certificate: GOOD, leading: false });
    // From now on its timer only asks for the block again (at another member); it never changes views.
    for (const now of [10_000, 30_000, 60_000, 120_000]) {
      const later = step({ type: "tick" }, now);
      expect(types(later)).to.deep.equal(["fetch-block"]);
    }
    // A member still in the view change gets the decision back instead of a vote.
    const cVote = keys.portFor(C, HEIGHT).signVote({ view: 2, epoch: 0 });
    const toC = step(
      { type: "receive", from: C, message: { type: "start-view-change", view: 2, vote: cVote } },
      120_001,
    );
    expect(sent(toC)).to.deep.equal([decided(GOOD)]);
    expect(b.snapshot().view).to.equal(1);
  });

  it("fetch-block goes out once per decision, not once per decided message, then again only after a timeout", () => {
    const { step } = lonely();
    expect(fetches(step({ type: "receive", from: A, message: decided(GOOD) }, 5_001))).to.deep.equal([A]);
    expect(fetches(step({ type: "receive", from: A, message: decided(GOOD) }, 5_002))).to.deep.equal([]);
    expect(fetches(step({ type: "receive", from: C, message: decided(GOOD) }, 5_003))).to.deep.equal([]);
    expect(fetches(step({ type: "tick" }, 5_004))).to.deep.equal([]); // before the timeout
    expect(fetches(step({ type: "tick" }, 20_000))).to.deep.equal([C]); // the next member that said so
  });

  it("decided and built survive a restart: no recovery, no view change, no timer once built", () => {
    const { durable, step } = lonely();
    step({ type: "receive", from: A, message: decided(GOOD) }, 5_001);
    expect(durable().decision).to.deep.equal({ status: "decided", certificate: GOOD });

    const restarted = new HeightReplica<string>(HEIGHT, config(B), durable(), 6_000, true);
    expect(restarted.snapshot()).to.include({ status: "decided", view: 1 });
    expect(types(restarted.start(6_000))).to.deep.equal([]); // no recovery messages
    expect(types(restarted.step({ type: "tick" }, 60_000))).to.deep.equal(["fetch-block"]);

    let state = durable();
    const built = restarted.step({ type: "built", certificate: GOOD }, 60_001);
    expect(built).to.deep.equal([{ type: "persist", write: { type: "built", certificate: GOOD } }]);
    for (const e of built) if (e.type === "persist") state = applyWrite(state, e.write);

    const again = new HeightReplica<string>(HEIGHT, config(B), state, 70_000, true);
    expect(again.snapshot()).to.include({ status: "built" });
    expect(again.start(70_000)).to.deep.equal([]);
    expect(again.step({ type: "tick" }, 200_000)).to.deep.equal([]);
    const seal = again.step({ type: "seal", id: 9, inboxBlock: 0 }, 200_001);
    expect(seal).to.deep.equal([{ type: "reply", id: 9, reply: { ok: true, sealed: GOOD } }]);
  });

  it("the leader that assembles the certificate is decided: it answers the seal, heartbeats until its block is built, answers a view change with it", () => {
    const a = replica(A);
    a.step({ type: "receive", from: B, message: { type: "heartbeat", view: 0, count: 0 } }, 0); // ignored: B does not lead
    const sealing = a.step({ type: "seal", id: 1, inboxBlock: 0 }, 1);
    const sealMessage = sent(sealing).find((m) => m.type === "seal")!;
    const b = replica(B);
    const vote = sent(b.step({ type: "receive", from: A, message: sealMessage }, 2)).find(
      (m) => m.type === "seal-vote",
    )!;
    const certified = a.step({ type: "receive", from: B, message: vote }, 3);
    expect(types(certified)).to.deep.equal(["persist:decided", "certified", "reply"]);
    const reply = certified.find((e) => e.type === "reply");
    if (reply?.type !== "reply" || !reply.reply.ok || !("sealed" in reply.reply)) throw new Error("no certificate");
    const cert = reply.reply.sealed;
    expect(a.snapshot()).to.include({ status: "decided", leading: false });
    // It builds the block: until then it keeps its followers' timers quiet, so that none of them learns the
    // decision early and, should it die before its block, they can still re-certify in a later view.
    const beats = a.step({ type: "tick" }, 200).filter((e) => e.type === "send" && e.message.type === "heartbeat");
    expect(beats.map((e) => (e.type === "send" ? e.to : ""))).to.have.members([B, C]);
    const cVote = keys.portFor(C, HEIGHT).signVote({ view: 1, epoch: 0 });
    const answer = a.step(
      { type: "receive", from: C, message: { type: "start-view-change", view: 1, vote: cVote } },
      300,
    );
    expect(sent(answer)).to.deep.equal([decided(cert)]);
    // A second seal request is answered with the same certificate.
    expect(a.step({ type: "seal", id: 2, inboxBlock: 0 }, 301)).to.deep.include({
      type: "reply",
      id: 2,
      reply: { ok: true, sealed: cert },
    });
    // Built: no heartbeats any more, and no timer at all.
    a.step({ type: "built", certificate: cert }, 302);
    expect(sent(a.step({ type: "tick" }, 1_000)).filter((m) => m.type === "heartbeat")).to.deep.equal([]);
  });

  it("a leader decided before any follower's challenge reached it keeps both followers quiet while it builds", () => {
    // The sealing of an empty height, as the nodes run it: A decides on B's seal vote before any follower's
    // ack (and so its challenge) reached it. Only heartbeats that echo a follower's current challenge hold
    // its timer off, so a decided A must go on learning challenges from the acks.
    const a = new HeightReplica<string>(HEIGHT, config(A, draws()), EMPTY_DURABLE, 0, false);
    const b = new HeightReplica<string>(HEIGHT, config(B, draws()), EMPTY_DURABLE, 0, false);
    const c = new HeightReplica<string>(HEIGHT, config(C, draws()), EMPTY_DURABLE, 0, false);
    const byAddress = new Map([
      [A, a],
      [B, b],
      [C, c],
    ]);
    // Every message is delivered 30 ms after it was sent; B's seal vote is the only thing A hears at first.
    let inFlight: { at: number; from: string; to: string; message: Message<string> }[] = [];
    const post = (from: string, effects: readonly Effect<string>[], now: number): void => {
      for (const e of effects)
        if (e.type === "send") inFlight.push({ at: now + 30, from, to: e.to, message: e.message });
    };
    post(A, a.step({ type: "seal", id: 1, inboxBlock: 0 }, 0), 0);
    for (let now = 10; now <= 6_000; now += 10) {
      const due = inFlight.filter((m) => m.at <= now);
      inFlight = inFlight.filter((m) => m.at > now);
      for (const m of due) {
        // C's seal vote is lost, so that A decides on B's vote alone, before any ack could reach it.
        if (m.from === C && m.message.type === "seal-vote") continue;
        post(m.to, byAddress.get(m.to)!.step({ type: "receive", from: m.from, message: m.message }, now), now);
      }
      for (const [address, r] of byAddress) post(address, r.step({ type: "tick" }, now), now);
    }
    expect(a.snapshot().status).to.equal("decided");
    for (const follower of [b, c]) expect(follower.snapshot()).to.include({ status: "normal", view: 0 });
  });

  it("a block arriving with its certificate decides a follower at once: no view change while it is rebuilt, then another member is asked", () => {
    const b = replica(B);
    b.step({ type: "receive", from: A, message: { type: "heartbeat", view: 0, count: 0 } }, 1); // watched
    // A certificate that is not a majority's changes nothing: the leader timer still runs.
    const forged = certificate([[A, sign(A, SEAL)]]);
    expect(types(b.step({ type: "block-arriving", certificate: forged, from: A }, 2))).to.deep.equal([]);
    expect(b.snapshot().status).to.equal("normal");
    const arriving = b.step({ type: "block-arriving", certificate: GOOD, from: A }, 3);
    expect(types(arriving), "decided, and no fetch: the block is on its way").to.deep.equal([
      "persist:decided",
      "certified",
    ]);
    // Long past the leader timeout: no view change; the block counted as the request to A, so C is asked.
    const later = b.step({ type: "tick" }, 5_000);
    expect(sent(later).filter((m) => m.type === "start-view-change")).to.deep.equal([]);
    expect(fetches(later)).to.deep.equal([C]);
    expect(b.snapshot().status).to.equal("decided");
  });

  it("a restarted member that lacks the height learns it from a decided answer to its recovery", () => {
    const c = replica(C, EMPTY_DURABLE, true);
    expect(sent(c.start(0)).map((m) => m.type)).to.deep.equal(["recovery", "recovery"]);
    const learnt = c.step({ type: "receive", from: A, message: decided(GOOD) }, 1);
    expect(types(learnt)).to.deep.equal(["persist:decided", "certified", "fetch-block"]);
    // Late recovery answers change nothing now.
    const late = c.step(
      {
        type: "receive",
        from: B,
        message: {
          type: "recovery-response",
          nonce: 0,
          log: { view: 0, normalView: 0, normalViewCertificate: undefined, entries: [], seal: undefined },
        },
      },
      2,
    );
    expect(types(late)).to.deep.equal([]);
    expect(c.snapshot().status).to.equal("decided");
  });
});
