/**
 * A whole cluster in one process, driven by one seed (docs/simulator.md): N members each running the
 * real replica (replica/replica.ts) for every height, a network that delays, drops, duplicates, reorders
 * and partitions, storage that loses the writes of an interrupted step, crashes and restarts, clients,
 * an executor that has each height sealed and its block built, members that pull the blocks they missed,
 * all on logical time. Invariants are checked after every step; the first violation stops
 * the run with a description that, with the seed, replays it exactly.
 */
import { keccak256Bytes } from "../chain/keccak";
import { HeightReplica } from "../replica/replica";
import { ReplicaLog, leaderOf, majorityOf } from "../replica/log";
import { LeaderSuspicion } from "../replica/suspects";
import type {
  Address,
  Effect,
  Entry,
  Input,
  Membership,
  Message,
  Proposal,
  Reply,
  SealCertificate,
} from "../replica/types";
import { Invariants, InvariantViolation } from "./invariants";
import { Prng } from "./prng";
import { SimKeys } from "./signatures";
import { SimStorage } from "./storage";

/** A transaction in the simulator: its leaf names it. */
export type SimTx = string;

/** A built block as far as ordering goes: the sealed log and the certificate it was built under. */
export interface SimBlock {
  readonly entries: readonly Entry<SimTx>[];
  readonly certificate: SealCertificate;
}

/** How often each member's validator reads the chain and asks its own node for the blocks published there. */
const POLL_MS = 500;

export interface SimOptions {
  readonly members: number;
  readonly heights: number;
  /** Logical milliseconds of faults and load, before the network heals and everyone restarts. */
  readonly faultyMs: number;
  /** After healing, every height must be sealed and every member agree within this bound. */
  readonly settleMs: number;
  readonly timing: { readonly heartbeatIntervalMs: number; readonly leaderTimeoutMs: number };
  readonly network: {
    readonly minDelayMs: number;
    readonly maxDelayMs: number;
    readonly dropRate: number;
    readonly duplicateRate: number;
  };
  /** Chance per logical second that a member crashes (and restarts 0.2-3 s later). */
  readonly crashesPerSecond: number;
  /** Chance that a crash interrupts a step halfway through its effects. */
  readonly crashMidStepRate: number;
  /** Chance that the member asked to build a block crashes first, between its certificate and the block. */
  readonly buildCrashRate: number;
  /** Chance per logical second that one member is cut off for 0.5-4 s. */
  readonly partitionsPerSecond: number;
  /** Proposals per logical second, over all clients. */
  readonly proposalsPerSecond: number;
  /** One member crashes during the faults and never comes back (a minority stays, so heights must go on). */
  readonly loseOneMember: boolean;
  /**
   * Packets an attacker on the network records (heartbeats and replicates, picked at random while the faults
   * run) and replays to their receiver every heartbeat interval until the run ends.
   */
  readonly replayedPackets: number;
}

export const DEFAULT_SIM_OPTIONS: SimOptions = {
  members: 3,
  heights: 2,
  faultyMs: 4_000,
  settleMs: 60_000,
  timing: { heartbeatIntervalMs: 100, leaderTimeoutMs: 400 },
  network: { minDelayMs: 1, maxDelayMs: 30, dropRate: 0.03, duplicateRate: 0.03 },
  crashesPerSecond: 0.6,
  crashMidStepRate: 0.5,
  buildCrashRate: 0.2,
  partitionsPerSecond: 0.4,
  proposalsPerSecond: 30,
  loseOneMember: false,
  replayedPackets: 0,
};

/** A fault profile drawn from the seed: rates from none to several times the defaults. */
function swarm(rng: Prng): Partial<SimOptions> {
  const scale = (base: number): number => (rng.chance(0.2) ? 0 : base * rng.next() * 3);
  return {
    network: {
      minDelayMs: 1,
      maxDelayMs: rng.int(2, 80),
      dropRate: scale(DEFAULT_SIM_OPTIONS.network.dropRate),
      duplicateRate: scale(DEFAULT_SIM_OPTIONS.network.duplicateRate),
    },
    crashesPerSecond: scale(DEFAULT_SIM_OPTIONS.crashesPerSecond),
    crashMidStepRate: rng.next(),
    partitionsPerSecond: scale(DEFAULT_SIM_OPTIONS.partitionsPerSecond),
    proposalsPerSecond: rng.int(5, 60),
    members: rng.chance(0.3) ? 5 : 3,
    // Drawn last, so that the profiles drawn before them stay those of earlier versions.
    buildCrashRate: scale(DEFAULT_SIM_OPTIONS.buildCrashRate),
    loseOneMember: rng.chance(0.3),
    replayedPackets: rng.chance(0.3) ? rng.int(1, 3) : 0,
  };
}

type Event =
  | { kind: "deliver"; to: Address; from: Address; height: number; message: Message<SimTx> }
  /** A host's request for a height's block (a replica's fetch-block), and the block sent back. */
  | { kind: "fetch"; to: Address; from: Address; height: number }
  | { kind: "block"; to: Address; from: Address; height: number; block: SimBlock }
  /**
   * A leader's block sent to the others once built (the node's `cluster_block_built`); the receiver decides
   * at once and stores it after its own rebuild (`rebuilt`), which takes a while.
   */
  | { kind: "block-built"; to: Address; from: Address; height: number; block: SimBlock }
  | { kind: "rebuilt"; member: Address; height: number; block: SimBlock }
  /** The executor has the leader of a certificate's view build the block. */
  | { kind: "build"; member: Address; height: number; certificate: SealCertificate }
  | { kind: "poll" }
  | { kind: "wake"; member: Address; height: number }
  | { kind: "propose" }
  | { kind: "client-retry"; height: number; leaf: string; to: Address; attempt: number }
  /** An attacker's replay of a recorded packet, again every heartbeat interval. */
  | { kind: "replay"; packet: { kind: "deliver"; to: Address; from: Address; height: number; message: Message<SimTx> } }
  | { kind: "seal"; height: number; attempt: number }
  | { kind: "crash"; member: Address }
  | { kind: "restart"; member: Address }
  | { kind: "partition"; member: Address }
  | { kind: "heal"; member: Address }
  | { kind: "fault" };

interface Scheduled {
  readonly at: number;
  readonly seq: number;
  readonly event: Event;
}

/** A binary min-heap on (at, seq): equal times keep their scheduling order, so runs are deterministic. */
class EventQueue {
  private readonly heap: Scheduled[] = [];
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  push(at: number, event: Event): void {
    const item = { at, seq: this.seq++, event };
    const h = this.heap;
    h.push(item);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  pop(): Scheduled | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l]!, h[m]!)) m = l;
        if (r < h.length && before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

const before = (a: Scheduled, b: Scheduled): boolean => a.at < b.at || (a.at === b.at && a.seq < b.seq);

interface Member {
  readonly address: Address;
  readonly storage: SimStorage<SimTx>;
  replicas: Map<number, HeightReplica<SimTx>>;
  /** The time each replica asked to be ticked at (a wake event for another time is stale). */
  wakeAt: Map<number, number>;
  up: boolean;
  cutOff: boolean;
  /** Request ids of this member's replicas: client requests and seal requests. */
  requests: Map<number, { kind: "client"; height: number; leaf: string } | { kind: "seal"; height: number }>;
  /** The host's block store, durable: a block is written whole, before its replica is told. */
  readonly blocks: Map<number, SimBlock>;
  /** The host's suspicion of dead leaders (replica/suspects.ts); in memory, lost in a crash. */
  suspicion: LeaderSuspicion;
  /** Heights whose leader's block the host is rebuilding; in memory, lost in a crash. */
  rebuilding: Set<number>;
  /** Crashed for good: never restarts, and is not expected to converge. */
  lost: boolean;
}

export interface SimResult {
  readonly seed: number;
  readonly ok: boolean;
  readonly violation?: string;
  readonly steps: number;
  readonly logicalMs: number;
  readonly receipts: number;
  readonly sealed: number;
  readonly viewChanges: number;
  readonly crashes: number;
  /** Blocks a member pulled from another after a fetch-block. */
  readonly blocksFetched: number;
  /** Crashes of a certificate's leader between its certificate and any block of the height. */
  readonly builderCrashes: number;
  /** The fault profile the seed drew (swarm testing), to read a failure against. */
  readonly profile: SimOptions;
}

export class SimWorld {
  readonly rng: Prng;
  private readonly netRng: Prng;
  private readonly options: SimOptions;
  private readonly queue = new EventQueue();
  private readonly members: Member[];
  private readonly membership: Membership;
  readonly keys: SimKeys;
  readonly invariants: Invariants;
  private now = 0;
  private steps = 0;
  private nextRequestId = 1;
  private crashes = 0;
  private blocksFetched = 0;
  private builderCrashes = 0;
  private healed = false;
  private recordedPackets = 0;
  /** The executor's certificates, per height (the latest it was given). */
  private readonly certified = new Map<number, SealCertificate>();
  /** The chain: the first block built of each height, which validators read. */
  private readonly published = new Map<number, SimBlock>();
  /** Client view of who leads each height. */
  private readonly leaderGuess = new Map<number, Address>();

  constructor(
    readonly seed: number,
    options: Partial<SimOptions> = {},
  ) {
    this.rng = new Prng(seed);
    // Swarm testing: each seed draws its own fault profile (from calm to very hostile), so that a campaign
    // covers combinations a single profile would make rare. Explicit options override the draw.
    this.options = { ...DEFAULT_SIM_OPTIONS, ...swarm(this.rng.fork()), ...options };
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
      storage: new SimStorage<SimTx>(),
      replicas: new Map(),
      wakeAt: new Map(),
      up: true,
      cutOff: false,
      requests: new Map(),
      blocks: new Map(),
      suspicion: new LeaderSuspicion(),
      rebuilding: new Set(),
      lost: false,
    }));
  }

  /** Runs the seed to the end; never throws for a protocol failure (it is the result). */
  run(): SimResult {
    try {
      this.schedule();
      this.loop(this.options.faultyMs);
      this.heal();
      this.settle();
      return this.result(true);
    } catch (error) {
      if (error instanceof InvariantViolation) return this.result(false, error.message);
      // An exception inside the replica is a bug like any broken invariant: report it with the seed.
      return this.result(
        false,
        `exception: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      );
    }
  }

  private result(ok: boolean, violation?: string): SimResult {
    return {
      seed: this.seed,
      ok,
      ...(violation === undefined ? {} : { violation: `${violation} (at ${this.now} ms, step ${this.steps})` }),
      steps: this.steps,
      logicalMs: this.now,
      receipts: this.invariants.receiptCount,
      sealed: this.certified.size,
      viewChanges: this.invariants.maxView,
      crashes: this.crashes,
      blocksFetched: this.blocksFetched,
      builderCrashes: this.builderCrashes,
      profile: this.options,
    };
  }

  // ---- the event loop ----------------------------------------------------------------------------------

  private schedule(): void {
    this.queue.push(this.rng.int(0, 20), { kind: "propose" });
    this.queue.push(100, { kind: "fault" });
    this.queue.push(POLL_MS, { kind: "poll" });
    for (let h = 0; h < this.options.heights; h++) {
      // Seal each height at some point during the faulty phase.
      this.queue.push(this.rng.int(this.options.faultyMs / 4, this.options.faultyMs), {
        kind: "seal",
        height: h,
        attempt: 0,
      });
    }
  }

  private loop(until: number): void {
    for (;;) {
      const next = this.queue.pop();
      if (next === undefined || next.at > until) {
        if (next !== undefined) this.queue.push(next.at, next.event);
        this.now = until;
        return;
      }
      this.now = next.at;
      this.handle(next.event);
    }
  }

  private handle(event: Event): void {
    switch (event.kind) {
      case "deliver": {
        const member = this.member(event.to);
        if (!member.up || member.cutOff) return;
        member.suspicion.heardFrom(event.from, event.height);
        this.stepReplica(member, event.height, { type: "receive", from: event.from, message: event.message });
        return;
      }
      case "fetch": {
        const holder = this.member(event.to);
        const block = holder.blocks.get(event.height);
        if (!holder.up || holder.cutOff || block === undefined) return; // unanswered: the replica asks again
        this.transmit(holder.address, event.from, {
          kind: "block",
          to: event.from,
          from: holder.address,
          height: event.height,
          block,
        });
        return;
      }
      case "block": {
        const member = this.member(event.to);
        if (!member.up || member.cutOff || member.blocks.has(event.height)) return;
        this.blocksFetched += 1;
        this.storeBlock(member, event.height, event.block);
        return;
      }
      case "block-built": {
        const member = this.member(event.to);
        if (!member.up || member.cutOff || member.blocks.has(event.height)) return;
        this.stepReplica(member, event.height, {
          type: "block-arriving",
          certificate: event.block.certificate,
          from: event.from,
        });
        if (member.rebuilding.has(event.height)) return;
        member.rebuilding.add(event.height);
        const rebuildMs = this.rng.int(0, 3 * this.options.timing.leaderTimeoutMs);
        const { height, block } = event;
        this.queue.push(this.now + rebuildMs, { kind: "rebuilt", member: member.address, height, block });
        return;
      }
      case "rebuilt": {
        const member = this.member(event.member);
        // A member that crashed meanwhile lost the rebuild: its decided replica fetches the block instead.
        if (!member.rebuilding.delete(event.height) || member.blocks.has(event.height)) return;
        this.storeBlock(member, event.height, event.block);
        return;
      }
      case "build":
        this.build(this.member(event.member), event.height, event.certificate);
        return;
      case "poll":
        this.poll();
        return;
      case "wake": {
        const member = this.member(event.member);
        if (!member.up || member.wakeAt.get(event.height) !== this.now) return;
        this.stepReplica(member, event.height, { type: "tick" });
        return;
      }
      case "propose":
        this.propose();
        return;
      case "client-retry":
        this.sendProposal(event.height, event.leaf, event.to, event.attempt);
        return;
      case "replay":
        this.queue.push(this.now, event.packet);
        this.queue.push(this.now + this.options.timing.heartbeatIntervalMs, event);
        return;
      case "seal":
        this.requestSeal(event.height, event.attempt);
        return;
      case "crash":
        this.crash(this.member(event.member));
        return;
      case "restart":
        this.restart(this.member(event.member));
        return;
      case "partition":
        this.member(event.member).cutOff = true;
        return;
      case "heal":
        this.member(event.member).cutOff = false;
        return;
      case "fault":
        this.injectFaults();
        return;
    }
  }

  private member(address: Address): Member {
    return this.members.find((m) => m.address === address)!;
  }

  /** The member's replica of `height`, built from its storage on first use (recovering if it had state). */
  private replica(member: Member, height: number): HeightReplica<SimTx> {
    let replica = member.replicas.get(height);
    if (replica === undefined) {
      const restarted = member.storage.has(height);
      replica = new HeightReplica<SimTx>(
        height,
        {
          membership: this.membership,
          signatures: this.keys.portFor(member.address, height),
          timing: this.options.timing,
          maxEntries: 4096,
          maxLogBytes: 1 << 24,
          signatureSampleRate: 0.05,
          random: () => this.rng.next(),
          suspects: (m) => member.suspicion.suspects(m),
        },
        member.storage.get(height),
        this.now,
        restarted,
      );
      member.replicas.set(height, replica);
      this.apply(member, height, replica.start(this.now));
      // The block was stored but a crash cut the step that told the replica: the host tells it again.
      const block = member.blocks.get(height);
      if (block !== undefined && replica.snapshot().status !== "built") {
        this.stepReplica(member, height, { type: "built", certificate: block.certificate });
      }
    }
    return replica;
  }

  private stepReplica(member: Member, height: number, input: Input<SimTx>): void {
    const replica = this.replica(member, height);
    const effects = replica.step(input, this.now);
    this.steps += 1;
    // A crash in the middle of the step: only the effects before it happen.
    // Interesting steps (a write and a message) are where a crash tells an early answer from a durable one.
    const interesting = effects.some((e) => e.type === "persist") && effects.some((e) => e.type === "send");
    const rate = this.options.crashesPerSecond * this.options.crashMidStepRate * (interesting ? 0.01 : 0.001);
    if (!this.healed && this.rng.chance(rate)) {
      const cut = this.rng.int(0, effects.length);
      this.apply(member, height, effects.slice(0, cut));
      this.crash(member);
      return;
    }
    this.apply(member, height, effects);
    this.invariants.afterStep(member.address, height, replica.snapshot(), member.storage.get(height), this.now);
  }

  private apply(member: Member, height: number, effects: readonly Effect<SimTx>[]): void {
    for (const effect of effects) {
      switch (effect.type) {
        case "persist":
          member.storage.apply(height, effect.write);
          if (effect.write.type === "view" && effect.write.view > effect.write.normalView) {
            member.suspicion.failed(leaderOf(this.membership, height, effect.write.view - 1), height);
          }
          this.invariants.afterWrite(member.address, height, member.storage.get(height));
          break;
        case "send":
          this.invariants.onReleased(member.address, height, effect.message, member.storage.get(height));
          this.transmit(member.address, effect.to, {
            kind: "deliver",
            to: effect.to,
            from: member.address,
            height,
            message: effect.message,
          });
          break;
        case "reply":
          this.invariants.onReleased(member.address, height, effect.reply, member.storage.get(height));
          this.onReply(member, height, effect.id, effect.reply);
          break;
        case "schedule":
          member.wakeAt.set(height, effect.at);
          this.queue.push(effect.at, { kind: "wake", member: member.address, height });
          break;
        case "certified":
          this.invariants.onCertified(height, effect.certificate);
          break;
        case "fetch-block":
          // A host that is rebuilding the leader's block waits for that rebuild instead (block-pipeline.ts).
          if (member.rebuilding.has(height)) break;
          this.transmit(member.address, effect.from, { kind: "fetch", to: effect.from, from: member.address, height });
          break;
      }
    }
  }

  /** Sends over the network: delayed, reordered, dropped, duplicated or cut like any message. */
  private transmit(from: Address, to: Address, event: Event): void {
    const sender = this.member(from);
    if (sender.cutOff || this.member(to).cutOff) return;
    const net = this.healed ? { ...this.options.network, dropRate: 0, duplicateRate: 0 } : this.options.network;
    if (
      event.kind === "deliver" &&
      (event.message.type === "heartbeat" || event.message.type === "replicate") &&
      !this.healed &&
      this.recordedPackets < this.options.replayedPackets &&
      this.netRng.chance(0.01)
    ) {
      // The attacker keeps a copy and replays it from the next heartbeat interval on, whatever happens after.
      this.recordedPackets += 1;
      this.queue.push(this.now + this.options.timing.heartbeatIntervalMs, { kind: "replay", packet: event });
    }
    if (this.netRng.chance(net.dropRate)) return;
    const copies = this.netRng.chance(net.duplicateRate) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      const delay = this.netRng.int(net.minDelayMs, net.maxDelayMs);
      this.queue.push(this.now + delay, event);
    }
  }

  // ---- blocks ---------------------------------------------------------------------------------------------

  /**
   * The leader of the certificate's view builds the block from its sealed log (it signs the block commitment
   * in that view). The executor asks it once it has the certificate; a member that cannot is skipped, and
   * the executor keeps asking until some block is built.
   */
  private build(member: Member, height: number, certificate: SealCertificate): void {
    if (!member.up || member.blocks.has(height)) return;
    if (leaderOf(this.membership, height, certificate.statement.view) !== member.address) return;
    const s = this.replica(member, height).snapshot();
    const { count, root } = certificate.statement;
    if (s.seal?.seal.count !== count || s.seal.seal.root !== root || s.entries.length !== count) return;
    // The leader dies after its certificate, before its block: someone must still build the height.
    if (!this.healed && this.rng.chance(this.options.buildCrashRate)) return this.crash(member);
    const block: SimBlock = { entries: [...s.entries], certificate };
    this.storeBlock(member, height, block);
    for (const other of this.membership.members) {
      if (other !== member.address)
        this.transmit(member.address, other, { kind: "block-built", to: other, from: member.address, height, block });
    }
  }

  /**
   * Checks a block (built here or fetched) against its certificate as a host would, stores it, then tells
   * the replica. Every member is honest here, so a block that fails is a bug, not a fault to survive.
   */
  private storeBlock(member: Member, height: number, block: SimBlock): void {
    const { statement, signatures } = block.certificate;
    const port = this.keys.portFor(member.address, height);
    const signers = [...signatures].filter(
      ([m, signature]) => this.membership.members.includes(m) && port.isSealSignedBy(statement, signature, m),
    );
    if (statement.epoch !== this.membership.epoch || signers.length < majorityOf(this.membership)) {
      throw new InvariantViolation(
        `${member.address} height ${height}: a block under a certificate without a majority`,
      );
    }
    const log = new ReplicaLog<SimTx>(height, 4096, block.entries);
    if (log.size !== statement.count || log.root !== statement.root) {
      throw new InvariantViolation(
        `${member.address} height ${height}: a block of ${log.size} entries does not match its certificate (${statement.count})`,
      );
    }
    this.invariants.onCertified(height, block.certificate);
    this.invariants.onBlock(height, block.entries);
    member.blocks.set(height, block);
    if (!this.published.has(height)) this.published.set(height, block);
    this.stepReplica(member, height, { type: "built", certificate: block.certificate });
  }

  /**
   * Each member's validator reads the blocks published on the chain and asks its own node for them: a node
   * that lacks one watches the height, so that it learns the decision even if no traffic of that height
   * ever reached it (cut off or down throughout).
   */
  private poll(): void {
    this.queue.push(this.now + POLL_MS, { kind: "poll" });
    for (const member of this.members) {
      if (!member.up) continue;
      for (const height of this.published.keys()) {
        const status = this.replica(member, height).snapshot().status;
        if (status !== "decided" && status !== "built") this.stepReplica(member, height, { type: "watch" });
      }
    }
  }

  // ---- clients and the executor ------------------------------------------------------------------------

  private openHeights(): number[] {
    return Array.from({ length: this.options.heights }, (_, h) => h).filter((h) => !this.certified.has(h));
  }

  private propose(): void {
    const interval = 1000 / this.options.proposalsPerSecond;
    if (!this.healed || this.openHeights().length > 0) {
      this.queue.push(this.now + this.rng.int(1, Math.max(1, Math.round(2 * interval))), { kind: "propose" });
    }
    const open = this.openHeights();
    if (open.length === 0) return;
    const height = this.rng.pick(open);
    const bytes = new Uint8Array(32);
    for (let i = 0; i < 32; i += 4) new DataView(bytes.buffer).setUint32(i, this.rng.u32());
    const leaf = keccak256Bytes(bytes); // the native keccak when it loads: the same hash as ethers', faster
    const to = this.leaderGuess.get(height) ?? leaderOf(this.membership, height, 0);
    this.sendProposal(height, leaf, to, 0);
  }

  private sendProposal(height: number, leaf: string, to: Address, attempt: number): void {
    if (attempt > 20 || this.certified.has(height)) return;
    const member = this.member(to);
    if (!member.up || member.cutOff) {
      this.retryProposal(height, leaf, attempt, this.rng.pick(this.membership.members));
      return;
    }
    const replica = this.replica(member, height);
    // Admission (the host's job): one transaction is ordered once per height.
    if (replica.snapshot().entries.some((e) => e.commitment.leaf === leaf)) return;
    const id = this.nextRequestId++;
    member.requests.set(id, { kind: "client", height, leaf });
    const proposal: Proposal<SimTx> = { leaf, tx: leaf, bytes: 100 };
    this.stepReplica(member, height, { type: "propose", batch: [{ id, proposal }] });
  }

  private retryProposal(height: number, leaf: string, attempt: number, to: Address): void {
    this.queue.push(this.now + this.rng.int(20, 200), { kind: "client-retry", height, leaf, to, attempt: attempt + 1 });
  }

  /** The executor: asks for the seal (the certificate), then has it built, until a block of the height exists. */
  private requestSeal(height: number, attempt: number): void {
    if (this.published.has(height)) return;
    const certificate = this.certified.get(height);
    const builder = certificate && this.member(leaderOf(this.membership, height, certificate.statement.view));
    const to =
      builder?.up === true && !builder.cutOff
        ? builder.address
        : (this.leaderGuess.get(height) ?? leaderOf(this.membership, height, 0));
    const member = this.member(to);
    if (member.up && !member.cutOff) {
      const id = this.nextRequestId++;
      member.requests.set(id, { kind: "seal", height });
      // The inbox cut moves with time, so views that re-seal after a change would name another one unless
      // they adopt the earlier seal: the invariants check that certified seals never differ in it either.
      this.stepReplica(member, height, { type: "seal", id, inboxBlock: Math.floor(this.now / 500) });
    } else {
      this.leaderGuess.set(height, this.rng.pick(this.membership.members));
    }
    this.queue.push(this.now + 200, { kind: "seal", height, attempt: attempt + 1 });
  }

  private onReply(member: Member, height: number, id: number, reply: Reply<SimTx>): void {
    const request = member.requests.get(id);
    if (request === undefined) return;
    member.requests.delete(id);
    if (reply.ok) {
      if ("receipt" in reply) {
        this.leaderGuess.set(height, member.address);
        this.invariants.onReceipt(height, reply.receipt, this.now);
      } else {
        // Any decided member answers with its certificate; the leader of the certificate's view builds.
        const builder = leaderOf(this.membership, height, reply.sealed.statement.view);
        this.leaderGuess.set(height, builder);
        this.certified.set(height, reply.sealed);
        this.invariants.onCertified(height, reply.sealed);
        if (builder === member.address) {
          // Building takes a while (decryption, the block's trees): a crash may come first.
          const at = this.now + this.rng.int(1, 100);
          this.queue.push(at, { kind: "build", member: member.address, height, certificate: reply.sealed });
        }
      }
      return;
    }
    const { error } = reply;
    const next = error.leader ?? this.rng.pick(this.membership.members);
    // The node forwards a client's call to the leader; when the leader cannot be reached, the member watches the
    // height (and skips a leader it suspects). The simulated client was sent to a follower: the same here. A
    // leader whose process is down refuses the connection: the member leaves its view at once. A cut-off one
    // only times out, which proves nothing.
    if (request.kind === "client" && error.code === "not-leader" && error.leader !== undefined) {
      const leader = this.member(error.leader);
      const view = member.replicas.get(height)?.snapshot().view;
      if (!leader.up && !member.cutOff && view !== undefined) {
        this.stepReplica(member, height, { type: "watch", leaderDown: { view } });
      } else if (!leader.up || leader.cutOff || member.cutOff) {
        this.stepReplica(member, height, { type: "watch" });
      }
    }
    if (error.code === "not-leader" || error.code === "recovering" || error.code === "view-change") {
      this.leaderGuess.set(height, error.code === "not-leader" ? next : this.rng.pick(this.membership.members));
    }
    if (request.kind === "client" && error.code !== "sealed" && error.code !== "full") {
      this.retryProposal(height, request.leaf, 0, this.leaderGuess.get(height) ?? next);
    }
  }

  // ---- faults --------------------------------------------------------------------------------------------

  private injectFaults(): void {
    if (this.healed) return;
    this.queue.push(this.now + 100, { kind: "fault" });
    const perTick = 0.1; // this runs every 100 ms
    if (this.rng.chance(this.options.crashesPerSecond * perTick * (1 - this.options.crashMidStepRate))) {
      const up = this.members.filter((m) => m.up);
      if (up.length > 0) this.crash(this.rng.pick(up));
    }
    if (this.options.loseOneMember && !this.members.some((m) => m.lost) && this.rng.chance(0.05)) {
      // About once a second: one member dies for good (down already, or now). Not a member that holds a
      // certificate of a height some other member lacks the block of: a builder lost for good before the others
      // have its block is a gap of its own (docs/simulator.md, "Not yet simulated").
      const victim = this.rng.pick(this.members);
      if (this.mayBeLost(victim)) {
        victim.lost = true;
        this.crash(victim);
      }
    }
    if (this.rng.chance(this.options.partitionsPerSecond * perTick)) {
      const victim = this.rng.pick(this.members);
      if (!victim.cutOff) {
        victim.cutOff = true;
        this.queue.push(this.now + this.rng.int(500, 4_000), { kind: "heal", member: victim.address });
      }
    }
  }

  private mayBeLost(member: Member): boolean {
    for (let h = 0; h < this.options.heights; h++) {
      const holdsCertificate = member.blocks.has(h) || member.storage.get(h).decision !== undefined;
      if (holdsCertificate && this.members.some((m) => m !== member && !m.blocks.has(h))) return false;
    }
    return true;
  }

  private crash(member: Member): void {
    if (!member.up) return;
    for (const [height, replica] of member.replicas) {
      const { status, certificate } = replica.snapshot();
      const leads = certificate && leaderOf(this.membership, height, certificate.statement.view) === member.address;
      if (status === "decided" && leads && !this.published.has(height)) this.builderCrashes += 1;
    }
    member.up = false;
    member.replicas = new Map();
    member.wakeAt = new Map();
    member.requests = new Map();
    member.suspicion = new LeaderSuspicion();
    member.rebuilding = new Set();
    this.crashes += 1;
    if (!this.healed && !member.lost) {
      this.queue.push(this.now + this.rng.int(200, 3_000), { kind: "restart", member: member.address });
    }
  }

  private restart(member: Member): void {
    if (member.up || member.lost) return;
    member.up = true;
    // Replicas come back from storage, recovering, as soon as something touches their height; heights with
    // state are touched now, so that their recovery (and view changes) go on without outside traffic.
    for (let h = 0; h < this.options.heights; h++) {
      if (member.storage.has(h) || member.blocks.has(h)) this.replica(member, h);
    }
  }

  /** Ends the faults: the network heals and loses nothing more, every member is up. */
  private heal(): void {
    this.healed = true;
    for (const m of this.members) {
      m.cutOff = false;
      if (!m.up) this.restart(m);
    }
    for (let h = 0; h < this.options.heights; h++) {
      if (!this.published.has(h)) this.queue.push(this.now + 1, { kind: "seal", height: h, attempt: 0 });
    }
  }

  /** After healing: every height is built and every member stores its block (the sealed log), within the bound. */
  private settle(): void {
    const deadline = this.now + this.options.settleMs;
    while (this.now < deadline) {
      this.loop(Math.min(deadline, this.now + 250));
      if (this.converged()) return;
    }
    const heights = Array.from({ length: this.options.heights }, (_, h) => h);
    const detail = heights
      .map((h) =>
        this.members
          .map((m) => {
            const s = m.replicas.get(h)?.snapshot();
            return s === undefined
              ? `${m.address.slice(-1)}:-`
              : `${m.address.slice(-1)}:${s.status}/v${s.view}/n${s.normalView}/${s.entries.length}${s.seal ? "s" : ""}${s.certificate ? "c" : ""}${m.blocks.has(h) ? "b" : ""}`;
          })
          .join(" "),
      )
      .join(" | ");
    throw new InvariantViolation(`liveness: not converged ${this.options.settleMs} ms after healing: ${detail}`);
  }

  /** Every height built, and every member built with the exact sealed log (blocks are checked as stored). */
  private converged(): boolean {
    for (let h = 0; h < this.options.heights; h++) {
      const published = this.published.get(h);
      if (published === undefined) return false;
      const { count, root } = published.certificate.statement;
      for (const m of this.members) {
        if (m.lost) continue;
        const block = m.blocks.get(h);
        if (block === undefined || block.certificate.statement.count !== count) return false;
        if (block.certificate.statement.root !== root || this.replica(m, h).snapshot().status !== "built") return false;
      }
    }
    return true;
  }
}
