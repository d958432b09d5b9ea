/**
 * The leader-kill scenario of the deterministic simulator (docs/fault-tests.md, "Consecutive leader kills"):
 * the pattern of the multi-process test `test/sequencer/cluster-leader-kill.test.ts`, on logical time. Closed-loop
 * clients write to one height; in each of 3-5 rounds the member that currently leads the height is killed at a
 * seeded moment (sometimes halfway through a step that writes and sends), the survivors fail over, the killed
 * member is restarted on its storage after a delay, the load runs on a little and stops; then every member must
 * hold the same log. At the end the executor seals the height and every member must hold the sealed log.
 *
 * It drives the real replica (replica/replica.ts) and checks the simulator's invariants (invariants.ts) after
 * every step, like `SimWorld` (world.ts); it is a separate, smaller world because SimWorld injects its crashes
 * at random and has no way to aim one at the current leader. As a host it differs from SimWorld in two ways: it
 * delivers copies of messages taken when they are sent (see `shareMessages`), and a member that takes an input
 * every millisecond is still ticked when its timer is due.
 */
import { Command, InvalidArgumentError } from "commander";
import { keccak256 } from "ethers";
import { HeightReplica, type ReplicaSnapshot } from "../replica/replica";
import { leaderOf } from "../replica/log";
import type { Address, Effect, Input, Membership, Message, Reply, SealCertificate } from "../replica/types";
import { Invariants, InvariantViolation } from "./invariants";
import { Prng } from "./prng";
import { SimKeys } from "./signatures";
import { SimStorage } from "./storage";

/** The one height the scenario writes to (height 0, as in the multi-process test). */
const HEIGHT = 0;

export interface LeaderKillOptions {
  readonly members: number;
  /** Consecutive kills of the current leader. */
  readonly rounds: number;
  readonly timing: { readonly heartbeatIntervalMs: number; readonly leaderTimeoutMs: number };
  readonly network: {
    readonly minDelayMs: number;
    readonly maxDelayMs: number;
    /** Drops and duplicates while the load runs; the network loses nothing while the logs must settle. */
    readonly dropRate: number;
    readonly duplicateRate: number;
  };
  readonly clients: number;
  /** A client's pause between a receipt and its next transaction. */
  readonly thinkMs: number;
  /**
   * "checked": after each round the load stops and every member must hold the same log, as in the
   * multi-process test. "rapid": the next leader is killed as soon as a later view orders again, while the
   * restarted member may still be recovering; the logs are compared at the end only.
   */
  readonly pace: "checked" | "rapid";
  /** Chance that a kill lands halfway through the victim's next step that writes and sends. */
  readonly midStepKillRate: number;
  /** Chance that the killed member restarts after a fixed delay, whether or not the survivors failed over. */
  readonly earlyRestartRate: number;
  /** Chance that, when the load stops, everything in flight to one member is lost (a reset connection). */
  readonly loseInFlightRate: number;
  /**
   * A loaded process: while the load runs, one member's messages, both ways, take longer by `slowness` (in
   * [0, 1)) of the most that `slowBound` allows. "one-way" is the documented liveness assumption
   * (docs/ordering.md): a heartbeat interval plus the worst one-way delay stay below the leader timeout.
   * "round-trip" is stricter: the worst round trip stays below it too. The slow member is drawn per round, or
   * is the member restarted in the round, from its restart on.
   */
  readonly slowness: number;
  readonly slowBound: "one-way" | "round-trip";
  readonly slowMember: "random" | "restarted";
  /** The bound within which the logs must settle, after each round and after the seal request. */
  readonly settleMs: number;
  /**
   * Deliver the very message objects the replica returned, as SimWorld does, instead of copies taken when they
   * are sent (what a real transport delivers). A StartView and a log report hold the sender's live list of
   * entries, so a shared one that is still in flight grows with the sender's later appends.
   */
  readonly shareMessages: boolean;
}

/** Draws a profile from the seed: 3 or 5 members, 3-5 rounds, three timing scales, calm to lossy networks. */
export function drawLeaderKillOptions(rng: Prng): LeaderKillOptions {
  const timing = rng.pick([
    { heartbeatIntervalMs: 100, leaderTimeoutMs: 400 }, // the simulator's default, in half the seeds
    { heartbeatIntervalMs: 100, leaderTimeoutMs: 400 },
    { heartbeatIntervalMs: 250, leaderTimeoutMs: 1_000 },
    { heartbeatIntervalMs: 250, leaderTimeoutMs: 4_000 }, // the multi-process test's
  ]);
  const lossy = (max: number): number => (rng.chance(0.3) ? 0 : rng.next() * max);
  const members = rng.chance(0.2) ? 5 : 3;
  const rounds = rng.int(3, 5);
  const maxDelayMs = rng.int(2, 80);
  return {
    members,
    rounds,
    timing,
    network: { minDelayMs: 1, maxDelayMs, dropRate: lossy(0.05), duplicateRate: lossy(0.05) },
    clients: 4,
    thinkMs: rng.int(50, 300),
    pace: rng.chance(0.5) ? "checked" : "rapid",
    midStepKillRate: rng.next(),
    earlyRestartRate: rng.next() * 0.6,
    loseInFlightRate: rng.next(),
    slowness: rng.chance(0.5) ? 0 : rng.next(),
    slowBound: "one-way",
    slowMember: "random",
    // 150 leader timeouts (recomputed when the timing is given): the capped backoff (32 x 1.5) three times over.
    settleMs: 150 * timing.leaderTimeoutMs,
    shareMessages: false,
  };
}

type Event =
  | { kind: "deliver"; to: Address; from: Address; link: number; message: Message<string> }
  | { kind: "wake"; member: Address }
  | { kind: "client"; client: number; generation: number }
  | { kind: "seal" };

interface Scheduled {
  readonly at: number;
  readonly seq: number;
  readonly event: Event;
}

/** A binary min-heap on (at, seq): events at one time keep the order they were scheduled in. */
class Queue {
  private readonly heap: Scheduled[] = [];
  private seq = 0;

  push(at: number, event: Event): void {
    const h = this.heap;
    h.push({ at, seq: this.seq++, event });
    for (let i = h.length - 1; i > 0;) {
      const parent = (i - 1) >> 1;
      if (!earlier(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  peek(): Scheduled | undefined {
    return this.heap[0];
  }

  pop(): Scheduled | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (top === undefined || last === undefined || h.length === 0) return top;
    h[0] = last;
    for (let i = 0; ;) {
      const l = 2 * i + 1;
      let m = i;
      if (l < h.length && earlier(h[l]!, h[m]!)) m = l;
      if (l + 1 < h.length && earlier(h[l + 1]!, h[m]!)) m = l + 1;
      if (m === i) break;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
    return top;
  }
}

const earlier = (a: Scheduled, b: Scheduled): boolean => a.at < b.at || (a.at === b.at && a.seq < b.seq);

interface Member {
  readonly address: Address;
  readonly storage: SimStorage<string>;
  replica: HeightReplica<string> | undefined;
  wakeAt: number;
  up: boolean;
  /** Bumped at every crash and lost connection: messages sent to an older link are never delivered. */
  link: number;
  /** Kill this member in its next step that writes and sends, after a random share of its effects. */
  killMidStep: boolean;
  /** Open requests: client transactions (by client) and seal requests. */
  requests: Map<number, { kind: "client"; client: number; leaf: string } | { kind: "seal" }>;
}

interface Client {
  /** Bumped whenever the client moves on, so that a stale wake-up of an abandoned attempt does nothing. */
  generation: number;
  leaf: string | undefined;
  attempts: number;
  guess: Address | undefined;
  /** The request it waits on, and until when. */
  waiting: { member: Address; id: number; until: number } | undefined;
}

export interface LeaderKillResult {
  readonly seed: number;
  readonly ok: boolean;
  readonly violation?: string;
  readonly steps: number;
  readonly logicalMs: number;
  readonly kills: number;
  readonly midStepKills: number;
  readonly receipts: number;
  readonly entries: number;
  readonly maxView: number;
  /** Recovery requests sent (restarted members, and members that learnt of a later view). */
  readonly recoveries: number;
  /** "behind" answers sent while the logs settled: a follower telling the leader what it lacks. */
  readonly behindWhileSettling: number;
  /** Per round (checked rounds), then for the seal: how long the logs took to settle after the load stopped. */
  readonly settledMs: readonly number[];
  readonly profile: LeaderKillOptions;
}

export class LeaderKillWorld {
  private readonly rng: Prng;
  private readonly netRng: Prng;
  readonly options: LeaderKillOptions;
  private readonly membership: Membership;
  private readonly keys: SimKeys;
  private readonly invariants: Invariants;
  private readonly members: Member[];
  private readonly clients: Client[] = [];
  private readonly queue = new Queue();
  private now = 0;
  private steps = 0;
  private nextId = 1;
  private txCounter = 0;
  private kills = 0;
  private midStepKills = 0;
  private recoveries = 0;
  private behindWhileSettling = 0;
  private load = false;
  private lossy = true;
  private slow: Address | undefined;
  /** Receipts and "full" answers of a leader, and the highest view one came from. */
  private answered = 0;
  private highestAnsweredView = 0;
  private certificate: SealCertificate | undefined;
  private sealGuess: Address | undefined;
  private readonly settled: number[] = [];

  constructor(
    readonly seed: number,
    options: Partial<LeaderKillOptions> = {},
  ) {
    this.rng = new Prng(seed);
    const drawn = { ...drawLeaderKillOptions(this.rng.fork()), ...options };
    this.options = { ...drawn, settleMs: options.settleMs ?? 150 * drawn.timing.leaderTimeoutMs };
    this.netRng = this.rng.fork();
    const addresses = Array.from(
      { length: this.options.members },
      (_, i) => `0x${(i + 1).toString(16).padStart(40, "0")}`,
    );
    this.membership = { epoch: 0, members: addresses };
    this.keys = new SimKeys(addresses, seed);
    this.invariants = new Invariants(this.membership);
    this.members = addresses.map((address) => ({
      address,
      storage: new SimStorage<string>(),
      replica: undefined,
      wakeAt: -1,
      up: true,
      link: 0,
      killMidStep: false,
      requests: new Map(),
    }));
  }

  /** Runs the scenario; a broken invariant or an exception is the result, never thrown. */
  run(): LeaderKillResult {
    try {
      for (const m of this.members) this.replicaOf(m);
      for (let c = 0; c < this.options.clients; c++) {
        this.clients.push({
          generation: 0,
          leaf: undefined,
          attempts: 0,
          guess: undefined,
          waiting: undefined,
        });
      }
      for (let round = 1; round <= this.options.rounds; round++) this.round(round);
      this.finish();
      return this.result(true);
    } catch (error) {
      if (error instanceof InvariantViolation) return this.result(false, error.message);
      return this.result(
        false,
        `exception: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      );
    }
  }

  private result(ok: boolean, violation?: string): LeaderKillResult {
    const longest = Math.max(0, ...this.members.map((m) => m.storage.get(HEIGHT).entries.length));
    return {
      seed: this.seed,
      ok,
      ...(violation === undefined ? {} : { violation: `${violation} (at ${this.now} ms, step ${this.steps})` }),
      steps: this.steps,
      logicalMs: this.now,
      kills: this.kills,
      midStepKills: this.midStepKills,
      receipts: this.invariants.receiptCount,
      entries: longest,
      maxView: this.invariants.maxView,
      recoveries: this.recoveries,
      behindWhileSettling: this.behindWhileSettling,
      settledMs: this.settled,
      profile: this.options,
    };
  }

  // ---- the scenario ------------------------------------------------------------------------------------

  private round(round: number): void {
    const o = this.options;
    this.startLoad();
    if (o.slowness > 0 && o.slowMember === "random") this.slow = this.rng.pick(this.members).address;
    // A leader that signed another entry at the log's next index in an earlier view takes no more writes (it
    // answers "full"; docs/ordering.md, "No honest member is slashable"): its answer counts like a receipt.
    const answeredBefore = this.answered;
    this.expect(() => this.answered > answeredBefore, o.settleMs, `round ${round}: no receipt`);
    this.runFor(this.rng.int(150, 1_350));
    const victim = this.currentLeader();
    const victimView = victim.replica?.snapshot().view ?? 0;
    const killedAt = this.now;
    this.kill(victim);
    // As in the multi-process test: a receipt from a later view than any before shows that another leader took over.
    const killedView = Math.max(victimView, this.highestAnsweredView);
    // The multi-process test restarts the killed member once a later view ordered a transaction; sometimes it
    // comes back earlier here, while the survivors may still be changing views.
    if (this.rng.chance(o.earlyRestartRate)) {
      this.runFor(Math.max(0, killedAt + this.rng.int(200, 3_000) - this.now));
    } else {
      this.expect(
        () => this.highestAnsweredView > killedView,
        o.settleMs,
        `round ${round}: no receipt from a view after ${killedView} once its leader was killed`,
      );
      this.runFor(this.rng.int(0, 1_500));
    }
    // A slow restarted member stays slow until the logs must settle (over the next rounds when they are rapid).
    if (o.slowness > 0 && o.slowMember === "restarted") this.slow = victim.address;
    this.restart(victim);
    this.runFor(this.rng.int(0, 1_500));
    if (o.pace === "rapid" && round < o.rounds) return;
    this.stopLoad();
    this.settle(`round ${round}: every member holding the same log`, () => this.sameLog());
  }

  private finish(): void {
    this.stopLoad();
    this.queue.push(this.now + 1, { kind: "seal" });
    this.settle("the seal: every member holding the certified sealed log", () => this.sealedEverywhere());
  }

  /** The load stops, the network stops losing messages and the logs must settle within the bound. */
  private settle(what: string, done: () => boolean): void {
    this.lossy = false;
    this.slow = undefined;
    const start = this.now;
    this.expect(
      done,
      this.options.settleMs,
      `liveness: not settled ${this.options.settleMs} ms after the load stopped (${what})`,
    );
    this.settled.push(this.now - start);
  }

  /** The member that leads the height now: normal and leading in the highest view, else the next view's leader. */
  private currentLeader(): Member {
    let best: { member: Member; view: number } | undefined;
    for (const m of this.members) {
      const s = m.up ? m.replica?.snapshot() : undefined;
      if (s?.leading && s.status === "normal" && (best === undefined || s.view > best.view))
        best = { member: m, view: s.view };
    }
    const next = this.member(leaderOf(this.membership, HEIGHT, this.highestView()));
    return best?.member ?? (next.up ? next : this.rng.pick(this.members.filter((m) => m.up)));
  }

  private highestView(): number {
    return Math.max(0, ...this.members.map((m) => (m.up ? (m.replica?.snapshot().view ?? 0) : 0)));
  }

  private sameLog(): boolean {
    const snapshots = this.members.map((m) => (m.up ? m.replica?.snapshot() : undefined));
    const first = snapshots[0];
    if (first === undefined) return false;
    return snapshots.every(
      (s) =>
        s !== undefined &&
        s.status === "normal" &&
        s.view === first.view &&
        s.entries.length === first.entries.length &&
        this.rootOf(s) === this.rootOf(first),
    );
  }

  private sealedEverywhere(): boolean {
    const c = this.certificate;
    if (c === undefined) return false;
    return this.members.every((m) => {
      const s = m.up ? m.replica?.snapshot() : undefined;
      return (
        s !== undefined &&
        s.seal !== undefined &&
        s.seal.seal.count === c.statement.count &&
        s.seal.seal.root === c.statement.root &&
        s.entries.length === c.statement.count
      );
    });
  }

  /** The root the last entry's commitment names (its preRoot is the root of the whole log). */
  private rootOf(s: ReplicaSnapshot<string>): string {
    return s.entries[s.entries.length - 1]?.commitment.preRoot ?? "";
  }

  // ---- the event loop ------------------------------------------------------------------------------------

  private runFor(ms: number): void {
    this.runUntil(() => false, ms);
  }

  /** Like runUntil, and a liveness violation when `done` does not hold within `boundMs`. */
  private expect(done: () => boolean, boundMs: number, what: string): void {
    if (!this.runUntil(done, boundMs)) throw new InvariantViolation(`${what}: ${this.describe()}`);
  }

  /** Handles events until `done` holds (checked every 10 logical ms) or `boundMs` passed; whether it holds. */
  private runUntil(done: () => boolean, boundMs: number): boolean {
    const deadline = this.now + boundMs;
    for (;;) {
      if (done()) return true;
      if (this.now >= deadline) return false;
      const until = Math.min(deadline, this.now + 10);
      for (let next = this.queue.peek(); next !== undefined && next.at <= until; next = this.queue.peek()) {
        this.queue.pop();
        this.now = next.at;
        this.handle(next.event);
      }
      this.now = until;
    }
  }

  private describe(): string {
    return this.members
      .map((m) => {
        const s = m.up ? m.replica?.snapshot() : undefined;
        if (s === undefined) return `${m.address.slice(-1)}:down`;
        return `${m.address.slice(-1)}:${s.status}/v${s.view}/n${s.normalView}/${s.entries.length}${s.seal ? "s" : ""}${s.certificate ? "c" : ""}`;
      })
      .join(" ");
  }

  private handle(event: Event): void {
    switch (event.kind) {
      case "deliver": {
        const m = this.member(event.to);
        if (!m.up || m.link !== event.link) return;
        this.step(m, { type: "receive", from: event.from, message: event.message });
        return;
      }
      case "wake": {
        const m = this.member(event.member);
        if (!m.up || m.wakeAt !== this.now) return;
        m.wakeAt = -1; // consumed: the tick's own schedule sets the next one
        this.step(m, { type: "tick" });
        return;
      }
      case "client": {
        const c = this.clients[event.client]!;
        if (c.generation === event.generation) this.clientAct(event.client);
        return;
      }
      case "seal":
        this.requestSeal();
        return;
    }
  }

  private member(address: Address): Member {
    return this.members.find((m) => m.address === address)!;
  }

  /** The member's replica, rebuilt from its storage after a restart (recovering if it had state). */
  private replicaOf(m: Member): HeightReplica<string> {
    if (m.replica === undefined) {
      const replica = new HeightReplica<string>(
        HEIGHT,
        {
          membership: this.membership,
          signatures: this.keys.portFor(m.address, HEIGHT),
          timing: this.options.timing,
          maxEntries: 4096,
          maxLogBytes: 1 << 24,
          signatureSampleRate: 0.05,
          random: () => this.rng.next(),
        },
        m.storage.get(HEIGHT),
        this.now,
        m.storage.has(HEIGHT),
      );
      m.replica = replica;
      this.apply(m, replica.start(this.now));
    }
    return m.replica;
  }

  private step(m: Member, input: Input<string>): void {
    const replica = this.replicaOf(m);
    const effects = replica.step(input, this.now);
    this.steps += 1;
    if (m.killMidStep && effects.some((e) => e.type === "persist") && effects.some((e) => e.type === "send")) {
      // kill -9 halfway through: the writes and messages before the cut happened, the rest never does.
      this.apply(m, effects.slice(0, this.rng.int(0, effects.length - 1)));
      this.midStepKills += 1;
      this.crash(m);
      return;
    }
    this.apply(m, effects);
    this.invariants.afterStep(m.address, HEIGHT, replica.snapshot(), m.storage.get(HEIGHT), this.now);
  }

  private apply(m: Member, effects: readonly Effect<string>[]): void {
    for (const effect of effects) {
      switch (effect.type) {
        case "persist":
          m.storage.apply(HEIGHT, effect.write);
          this.invariants.afterWrite(m.address, HEIGHT, m.storage.get(HEIGHT));
          break;
        case "send":
          this.invariants.onReleased(m.address, HEIGHT, effect.message, m.storage.get(HEIGHT));
          this.transmit(m, effect.to, effect.message);
          break;
        case "reply":
          this.invariants.onReleased(m.address, HEIGHT, effect.reply, m.storage.get(HEIGHT));
          this.onReply(m, effect.id, effect.reply);
          break;
        case "schedule":
          // The pending tick stays when it is due earlier: a member that takes an input every millisecond must
          // still be ticked (a tick earlier than asked for changes nothing).
          if (m.wakeAt < this.now || effect.at < m.wakeAt) {
            m.wakeAt = effect.at;
            this.queue.push(effect.at, { kind: "wake", member: m.address });
          }
          break;
        case "certified":
          this.invariants.onCertified(HEIGHT, effect.certificate);
          break;
      }
    }
  }

  private transmit(from: Member, to: Address, message: Message<string>): void {
    if (message.type === "recovery") this.recoveries += 1;
    if (message.type === "behind" && !this.lossy) this.behindWhileSettling += 1;
    const { network } = this.options;
    if (this.lossy && this.netRng.chance(network.dropRate)) return;
    const copies = this.lossy && this.netRng.chance(network.duplicateRate) ? 2 : 1;
    const extra = this.slow === from.address || this.slow === to ? this.slowExtraMs() : 0;
    const receiver = this.member(to);
    const sent = this.options.shareMessages ? message : asSent(message);
    for (let i = 0; i < copies; i++) {
      const at = this.now + this.netRng.int(network.minDelayMs, network.maxDelayMs) + extra;
      this.queue.push(at, { kind: "deliver", to, from: from.address, link: receiver.link, message: sent });
    }
  }

  /** The slow member's extra delay each way. */
  private slowExtraMs(): number {
    const { timing, network, slowness, slowBound } = this.options;
    const most =
      slowBound === "one-way"
        ? timing.leaderTimeoutMs - timing.heartbeatIntervalMs - network.maxDelayMs - 1
        : Math.floor((timing.leaderTimeoutMs - 1) / 2) - network.maxDelayMs - 1;
    return Math.max(0, Math.floor(slowness * most));
  }

  // ---- kills and restarts ----------------------------------------------------------------------------------

  private kill(victim: Member): void {
    this.kills += 1;
    if (this.rng.chance(this.options.midStepKillRate)) {
      victim.killMidStep = true;
      // A leader under load writes and sends within milliseconds; one that does not is killed outright.
      this.runUntil(() => !victim.up, 200);
      if (victim.up) this.crash(victim);
    } else {
      this.crash(victim);
    }
  }

  private crash(m: Member): void {
    if (!m.up) return;
    m.up = false;
    m.killMidStep = false;
    m.replica = undefined;
    m.wakeAt = -1;
    m.link += 1; // its connections die with it
    m.requests = new Map();
  }

  private restart(m: Member): void {
    if (m.up) return;
    m.up = true;
    this.replicaOf(m);
  }

  // ---- clients and the executor ------------------------------------------------------------------------------

  private startLoad(): void {
    this.load = true;
    this.lossy = true;
    this.clients.forEach((c, i) => {
      if (c.waiting === undefined) this.wakeClient(i, this.rng.int(0, 20));
    });
  }

  private stopLoad(): void {
    this.load = false;
    // A connection reset at the wrong moment: whatever was on its way to one member is lost.
    if (this.rng.chance(this.options.loseInFlightRate)) this.rng.pick(this.members).link += 1;
  }

  private wakeClient(i: number, afterMs: number): void {
    const c = this.clients[i]!;
    c.generation += 1;
    this.queue.push(this.now + afterMs, { kind: "client", client: i, generation: c.generation });
  }

  /** A client's next move: give up on an unanswered request, send the next transaction or retry the last one. */
  private clientAct(i: number): void {
    const c = this.clients[i]!;
    if (c.waiting !== undefined) {
      if (this.now < c.waiting.until) return;
      this.member(c.waiting.member).requests.delete(c.waiting.id); // a late answer still counts as a receipt
      c.waiting = undefined;
      c.leaf = undefined; // its fate is unknown: a new transaction
    }
    if (!this.load) return;
    if (c.leaf === undefined || c.attempts >= 20) {
      c.leaf = keccak256(new TextEncoder().encode(`leader-kills ${this.seed} ${this.txCounter++}`));
      c.attempts = 0;
    }
    c.attempts += 1;
    const target = this.member(c.guess ?? this.rng.pick(this.membership.members));
    if (!target.up) {
      c.guess = undefined; // the connection is refused
      this.wakeClient(i, 50);
      return;
    }
    const replica = this.replicaOf(target);
    // Admission deduplicates, as the node does: a transaction the log holds is not ordered twice.
    if (replica.snapshot().entries.some((e) => e.commitment.leaf === c.leaf)) {
      c.leaf = undefined;
      this.wakeClient(i, this.options.thinkMs);
      return;
    }
    const id = this.nextId++;
    target.requests.set(id, { kind: "client", client: i, leaf: c.leaf });
    c.waiting = { member: target.address, id, until: this.now + 2_000 };
    this.wakeClient(i, 2_000);
    this.step(target, { type: "propose", batch: [{ id, proposal: { leaf: c.leaf, tx: c.leaf, bytes: 100 } }] });
  }

  private requestSeal(): void {
    if (this.certificate !== undefined) return;
    const to = this.member(this.sealGuess ?? leaderOf(this.membership, HEIGHT, this.highestView()));
    if (to.up) {
      const id = this.nextId++;
      to.requests.set(id, { kind: "seal" });
      this.step(to, { type: "seal", id, inboxBlock: Math.floor(this.now / 500) });
    } else {
      this.sealGuess = undefined;
    }
    this.queue.push(this.now + 200, { kind: "seal" });
  }

  private onReply(m: Member, id: number, reply: Reply<string>): void {
    if (reply.ok && "receipt" in reply) {
      // Every receipt a member gives out is a promise, whether or not its client still waits for it.
      this.invariants.onReceipt(HEIGHT, reply.receipt, this.now);
      this.answered += 1;
      this.highestAnsweredView = Math.max(this.highestAnsweredView, reply.receipt.commitment.view);
    }
    if (reply.ok && "sealed" in reply) {
      this.certificate ??= reply.sealed;
      this.invariants.onCertified(HEIGHT, reply.sealed);
    }
    if (!reply.ok && reply.error.code === "full") {
      const s = m.replica?.snapshot();
      if (s?.leading && s.status === "normal") {
        this.answered += 1;
        this.highestAnsweredView = Math.max(this.highestAnsweredView, s.view);
      }
    }
    const request = m.requests.get(id);
    if (request === undefined) return;
    m.requests.delete(id);
    if (request.kind === "seal") {
      if (!reply.ok) this.sealGuess = reply.error.code === "not-leader" ? reply.error.leader : undefined;
      return;
    }
    const c = this.clients[request.client]!;
    if (c.waiting?.id !== id) return;
    c.waiting = undefined;
    if (reply.ok) {
      c.guess = m.address;
      c.leaf = undefined;
      this.wakeClient(request.client, this.options.thinkMs);
      return;
    }
    const { error } = reply;
    switch (error.code) {
      case "not-leader":
        // Members in different views may point at each other: the client backs off as it retries.
        c.guess = error.leader === m.address ? undefined : error.leader;
        this.wakeClient(request.client, Math.min(100, 2 ** c.attempts));
        return;
      case "full": // for this leader (it signed another entry at that index before) or for good
      case "sealed":
        c.leaf = undefined;
        c.guess = undefined;
        this.wakeClient(request.client, 50);
        return;
      default: // recovering, view-change, not-committed: try again a little later, anywhere
        c.guess = undefined;
        this.wakeClient(request.client, 50);
    }
  }
}

/** The message as it leaves the sender: its lists copied, so that the sender's later appends do not reach it. */
export function asSent<Tx>(message: Message<Tx>): Message<Tx> {
  switch (message.type) {
    case "replicate":
    case "start-view":
      return { ...message, entries: [...message.entries] };
    case "do-view-change":
    case "recovery-response":
      return { ...message, log: { ...message.log, entries: [...message.log.entries] } };
    default:
      return message;
  }
}

/** Runs `count` seeds from `from` (with `options` over each seed's draw); returns the failures. */
export function runLeaderKillSeeds(
  from: number,
  count: number,
  options: Partial<LeaderKillOptions> = {},
  onResult?: (r: LeaderKillResult, i: number) => void,
): LeaderKillResult[] {
  const failures: LeaderKillResult[] = [];
  for (let i = 0; i < count; i++) {
    const result = new LeaderKillWorld(from + i, options).run();
    onResult?.(result, i);
    if (!result.ok) failures.push(result);
  }
  return failures;
}

/**
 * `npx tsx sequencer/sim/leader-kills.ts`: runs seeds of the scenario (--seed S for one, printed in full;
 * --seeds N --from F for a campaign, progress on stderr; --round-trip for the CI test's bound on a slow
 * member). Exits 1 when any seed fails.
 */
function main(): void {
  const integer = (value: string): number => {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError("expected a non-negative integer");
    return n;
  };
  const program = new Command("leader-kills")
    .description("consecutive leader kills under load, in the deterministic simulator")
    .option("--seed <n>", "run this one seed and print its result", integer)
    .option("--seeds <n>", "how many seeds to run", integer, 200)
    .option("--from <n>", "the first seed", integer, 1)
    .option("--round-trip", "keep a slow member's round trip below the leader timeout (as the CI test does)")
    .parse();
  const options = program.opts<{ seed?: number; seeds: number; from: number; roundTrip?: boolean }>();
  const bound: Partial<LeaderKillOptions> = options.roundTrip === true ? { slowBound: "round-trip" } : {};
  if (options.seed !== undefined) {
    const result = new LeaderKillWorld(options.seed, bound).run();
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    process.exitCode = result.ok ? 0 : 1;
    return;
  }
  const started = performance.now();
  let steps = 0;
  let slowest = 0;
  let kills = 0;
  let midStepKills = 0;
  let behindSeeds = 0;
  let lastReport = started;
  const failures = runLeaderKillSeeds(options.from, options.seeds, bound, (r, i) => {
    steps += r.steps;
    kills += r.kills;
    midStepKills += r.midStepKills;
    if (r.behindWhileSettling > 0) behindSeeds += 1;
    slowest = Math.max(slowest, ...r.settledMs.map((ms) => ms / r.profile.timing.leaderTimeoutMs));
    if (!r.ok) process.stderr.write(`seed ${r.seed} FAILED: ${r.violation}\n`);
    const now = performance.now();
    if (now - lastReport > 5_000 || i + 1 === options.seeds) {
      lastReport = now;
      process.stderr.write(`leader-kills: ${i + 1}/${options.seeds} seeds, ${Math.round((now - started) / 1000)} s\n`);
    }
  });
  const seconds = Math.round((performance.now() - started) / 100) / 10;
  const summary = { seeds: options.seeds, from: options.from, failures: failures.map((f) => f.seed), steps, seconds };
  const faults = { kills, midStepKills, seedsWithBehindWhileSettling: behindSeeds };
  process.stdout.write(`${JSON.stringify({ ...summary, ...faults, slowestSettleInLeaderTimeouts: slowest })}\n`);
  process.exitCode = failures.length === 0 ? 0 : 1;
}

if (require.main === module) main();
