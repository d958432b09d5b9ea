/**
 * The thin host around the pure replicas of a node (docs/ordering.md, "The node host"): it owns what the
 * replica may not touch — the LevelDB store, timers, the network and the callers waiting for answers —
 * and carries out each step's effects in order. Per height:
 *
 * - **Steps** run synchronously; their effects go on the height's effect chain, so the effects of one step
 *   are carried out after every effect of the steps before it, whatever they await.
 * - **Durable writes** of a step are committed in one synced batch before anything after them (a message,
 *   an answer) leaves the node. If the store fails, the height's replica is dropped with everything queued
 *   behind the failed write, and rebuilt from the store (recovering) on its next use: nothing it did not
 *   write is ever said.
 * - **Group commit:** proposals that arrive while the height's effects are being carried out wait, and go
 *   to the replica as one batch (one synced write, one replication) when the chain is idle.
 * - **Timers:** one per height, set to the latest wake-up the replica asked for.
 */
import type { Logger } from "pino";
import type { OrderedTransactionJson } from "../../api/wire";
import { leaderOf } from "../../replica/log";
import { HeightReplica } from "../../replica/replica";
import { LeaderSuspicion } from "../../replica/suspects";
import {
  type Address,
  type Effect,
  type Input,
  type Membership,
  type Proposal,
  type Reply,
  type ReplicaError,
  type SealCertificate,
  type Timing,
  type Write,
} from "../../replica/types";
import { parseSealCertificate, type SealCertificate as ChainSealCertificate } from "../../chain/certificate";
import type { NodeStore } from "../storage/store";
import { loadDurable, persistWrites } from "./durable";
import type { ReplicaSigner } from "./signatures";
import { HeightWire, type MessageJson, type NodeEntry, type NodeMessage } from "./wire";

type Tx = OrderedTransactionJson;

/** The host's clock and timers, injected (real time in a node, logical time in a test). */
export interface HostClock {
  now(): number;
  /** Calls `fn` at `at` (clock time); returns a cancel function. */
  at(at: number, fn: () => void): () => void;
}

export const realClock: HostClock = {
  now: () => performance.now(),
  at: (at, fn) => {
    const timer = setTimeout(fn, Math.max(0, at - performance.now()));
    timer.unref();
    return () => clearTimeout(timer);
  },
};

/** Messages of one height for one member, in the order the replica sent them. */
export interface Packet {
  readonly rollupId: string;
  readonly height: number;
  readonly epoch: number;
  readonly messages: readonly MessageJson[];
}

/** Delivery to another member (fire and forget: the replica retries what matters). */
export interface Transport {
  send(to: Address, packet: Packet): void;
}

export interface HostOptions {
  readonly signer: ReplicaSigner;
  readonly store: NodeStore;
  readonly transport: Transport;
  /** The members of an epoch in schedule order, or undefined when this node does not know the epoch. */
  membersAt(epoch: number): readonly Address[] | undefined;
  /** The epoch a height that holds nothing yet runs in (the current one). */
  currentEpoch(): number;
  /** The epoch a seal of a height of `epoch` names (the latest with the same members); `epoch` by default. */
  sealEpochOf?(epoch: number): number;
  readonly timing: Timing;
  readonly maxEntries: number;
  readonly maxLogBytes: number;
  readonly signatureSampleRate: number;
  readonly clock: HostClock;
  readonly random: () => number;
  readonly log: Logger;
  /**
   * Checks the content of a member's message before the replica sees it (entry-checks.ts); a throw drops
   * the message. Messages of one height are checked and stepped in the order they arrived.
   */
  readonly check?: (rollupId: bigint, height: number, message: NodeMessage) => Promise<void>;
  /**
   * This node's view of a height changed durably: a vote for `view` (`normalView` below it), or `view`
   * installed (`normalView` equal to it).
   */
  readonly onViewChange?: (rollupId: bigint, height: number, view: number, normalView: number) => void;
  /** A height's seal is stored here (sealed by this node, or by its leader): later heights open. */
  readonly onSealStored?: (rollupId: bigint, height: number) => void;
  /**
   * The height is decided but its block is not here: ask member `from` for it (block pipeline). The host
   * steps `built` once a block checked against the certificate is stored; the replica asks again elsewhere
   * after a timeout otherwise.
   */
  readonly onFetchBlock?: (rollupId: bigint, height: number, from: Address, certificate: SealCertificate) => void;
  /** A seal of a height was certified here (the round key may be asked for, the block built). */
  readonly onCertified?: (rollupId: bigint, height: number, certificate: SealCertificate) => void;
  /**
   * The forced-inclusion cut this node names in a new seal, and whether it signs another member's
   * (inbox-cut.ts). Default: cut 0, every cut signed (a host with no L1, as in unit tests).
   */
  readonly inbox?: { cut(): number; accepts(inboxBlock: number): boolean };
}

/** Why a request was refused, as the replica said it. */
export class ReplicaRefusal extends Error {
  override readonly name = "ReplicaRefusal";
  constructor(readonly error: ReplicaError) {
    super(error.message);
  }
}

/** A request's answer: an ordered entry (with the proof of its view above 0), or a seal certificate. */
export type Receipt = Extract<Reply<Tx>, { receipt: unknown }>;

interface Waiter {
  readonly resolve: (reply: Reply<Tx>) => void;
  readonly reject: (error: unknown) => void;
}

/** One height as the host runs it. */
class LiveHeight {
  /** Every effect of every step so far, carried out in order. */
  chain: Promise<void> = Promise.resolve();
  /** Members' messages, checked and stepped in the order they arrived. */
  inbound: Promise<void> = Promise.resolve();
  busy = 0;
  cancelTimer: (() => void) | undefined;
  timerAt = Number.POSITIVE_INFINITY;
  readonly queued: { id: number; proposal: Proposal<Tx> }[] = [];
  /** Requests of this height not answered yet: a failed height refuses them all. */
  readonly waiting = new Set<number>();
  failed = false;

  constructor(
    readonly key: string,
    readonly wire: HeightWire,
    readonly replica: HeightReplica<Tx>,
    readonly epoch: number,
    readonly membership: Membership,
  ) {}
}

export class HeightHost {
  private readonly live = new Map<string, Promise<LiveHeight>>();
  private readonly suspicions = new Map<bigint, LeaderSuspicion>();
  private readonly waiters = new Map<number, Waiter>();
  private nextId = 1;
  private closed = false;

  constructor(private readonly o: HostOptions) {}

  get address(): Address {
    return this.o.signer.address;
  }

  /** Orders one transaction at `height` (this node must lead it): resolves once a majority stored it. */
  async propose(rollupId: bigint, height: number, proposal: Proposal<Tx>): Promise<Receipt> {
    const h = await this.height(rollupId, height);
    const reply = await this.await(h, (id) => {
      h.queued.push({ id, proposal });
      this.flush(h);
    });
    return reply as Receipt;
  }

  /** Seals the height at its current log (this node must lead it): resolves with the certificate. */
  async seal(rollupId: bigint, height: number): Promise<SealCertificate> {
    const h = await this.height(rollupId, height);
    const reply = await this.await(h, (id) => this.step(h, { type: "seal", id, inboxBlock: this.o.inbox?.cut() ?? 0 }));
    if (!("sealed" in reply)) throw new Error("a seal request was answered with a receipt");
    return reply.sealed;
  }

  /** Takes the messages a member sent about one height (the caller authenticated `from`). */
  async receive(from: Address, packet: Packet, parseRollup: (id: string) => bigint): Promise<void> {
    const rollupId = parseRollup(packet.rollupId);
    const h = await this.height(rollupId, packet.height, packet.epoch);
    const run = h.inbound.then(async () => {
      for (const json of packet.messages) {
        // A malformed or unchecked message is its sender's fault: it is dropped, the rest still counts.
        try {
          const message = h.wire.parse(json);
          await this.o.check?.(rollupId, packet.height, message);
          this.suspicionOf(rollupId).heardFrom(from, packet.height);
          this.step(h, { type: "receive", from, message });
        } catch (error) {
          this.o.log.debug({ err: error, from, height: packet.height }, "dropped a replica message");
        }
      }
    });
    h.inbound = run;
    await run;
  }

  /** Brings back the replicas of heights this node was working on before it stopped: each recovers. */
  async resume(heights: readonly { rollupId: bigint; height: number }[]): Promise<void> {
    await Promise.all(heights.map(({ rollupId, height }) => this.height(rollupId, height)));
  }

  /** Asks the other members where a height stands (this node is about to seal a later one). */
  async sync(rollupId: bigint, height: number): Promise<void> {
    this.step(await this.height(rollupId, height), { type: "sync" });
  }

  /**
   * A client could not reach the height's leader: this member watches it, so silence leads to a view change.
   * `downInView`: the leader of that view refused the connection, so the replica changes view at once.
   */
  async watch(rollupId: bigint, height: number, downInView?: number): Promise<void> {
    this.step(
      await this.height(rollupId, height),
      downInView === undefined ? { type: "watch" } : { type: "watch", leaderDown: { view: downInView } },
    );
  }

  /** Tells the replica its height's block is built and stored under the stored certificate: it stops all work. */
  async built(rollupId: bigint, height: number): Promise<void> {
    const h = await this.height(rollupId, height);
    const stored = await this.o.store.getCertificate(rollupId, height);
    if (stored === undefined) throw new Error(`height ${height} has a block but no seal certificate here`);
    this.step(h, { type: "built", certificate: h.wire.sealCertificateFromChain(parseSealCertificate(stored)) });
  }

  /**
   * A member's block of the height arrived with its seal certificate (checked by the block pipeline), and is
   * being rebuilt and stored here: the replica is decided and stops waiting for a leader. Only a height live
   * here: one that is not has no leader timer to stop.
   */
  async blockArriving(
    rollupId: bigint,
    height: number,
    certificate: ChainSealCertificate,
    from: Address,
  ): Promise<void> {
    const live = this.live.get(`${rollupId}:${height}`);
    if (live === undefined) return;
    const h = await live;
    this.step(h, { type: "block-arriving", certificate: h.wire.sealCertificateFromChain(certificate), from });
  }

  /** What the replica of a height holds now, if it is live here (reads never load one). */
  snapshot(rollupId: bigint, height: number): Promise<ReturnType<HeightReplica<Tx>["snapshot"]> | undefined> {
    const live = this.live.get(`${rollupId}:${height}`);
    return live === undefined ? Promise.resolve(undefined) : live.then((h) => h.replica.snapshot());
  }

  /** How many heights have a replica in memory (loaded or loading): reads never add one. */
  get liveHeights(): number {
    return this.live.size;
  }

  /** Stops every timer and refuses what waits; effects in flight finish. */
  async close(): Promise<void> {
    this.closed = true;
    const heights = await Promise.allSettled([...this.live.values()]);
    for (const h of heights) if (h.status === "fulfilled") h.value.cancelTimer?.();
    await Promise.allSettled(heights.flatMap((h) => (h.status === "fulfilled" ? [h.value.chain] : [])));
    for (const waiter of this.waiters.values()) waiter.reject(new Error("the node is stopping"));
    this.waiters.clear();
  }

  // ---- heights ------------------------------------------------------------------------------------------

  private height(rollupId: bigint, height: number, epoch?: number): Promise<LiveHeight> {
    const key = `${rollupId}:${height}`;
    let live = this.live.get(key);
    if (live === undefined) {
      live = this.load(key, rollupId, height, epoch);
      this.live.set(key, live);
      live.catch(() => this.live.delete(key));
    }
    return live;
  }

  /** The members this node suspects of being down, per rollup (heights are a rollup's: replica/suspects.ts). */
  suspicionOf(rollupId: bigint): LeaderSuspicion {
    let s = this.suspicions.get(rollupId);
    if (s === undefined) this.suspicions.set(rollupId, (s = new LeaderSuspicion()));
    return s;
  }

  /** Builds a height's replica from the store: one that holds anything was running before, so it recovers. */
  private async load(key: string, rollupId: bigint, height: number, claimed: number | undefined): Promise<LiveHeight> {
    const wire = new HeightWire(rollupId, height, this.o.signer);
    const durable = await loadDurable(this.o.store, wire);
    // Anything on disk means the height ran here before this process: it recovers before it acts.
    const restarted =
      durable.entries.length > 0 ||
      durable.view > 0 ||
      durable.seal !== undefined ||
      durable.sealSigned !== undefined ||
      durable.decision !== undefined ||
      durable.signedDropped.length > 0;
    // A height that holds anything runs in the epoch its entries or seal name; an empty one in the epoch
    // its first message names (if this node knows that epoch), else the current one.
    const named =
      durable.entries[0]?.commitment.epoch ?? durable.seal?.seal.epoch ?? durable.viewCertificate?.statement.epoch;
    const epoch =
      named ?? (claimed !== undefined && this.o.membersAt(claimed) !== undefined ? claimed : this.o.currentEpoch());
    const members = this.o.membersAt(epoch);
    if (members === undefined) throw new Error(`the members of epoch ${epoch} are not known here`);
    const membership: Membership = { epoch, members };
    const replica = new HeightReplica<Tx>(
      height,
      {
        membership,
        signatures: this.o.signer.forHeight(rollupId, height),
        timing: this.o.timing,
        maxEntries: this.o.maxEntries,
        maxLogBytes: this.o.maxLogBytes,
        signatureSampleRate: this.o.signatureSampleRate,
        random: this.o.random,
        sealEpoch: () => this.o.sealEpochOf?.(epoch) ?? epoch,
        acceptsSealEpoch: (other) => other > epoch && sameMembers(this.o.membersAt(other), members),
        suspects: (member) => this.suspicionOf(rollupId).suspects(member),
        acceptsInboxBlock: (inboxBlock) => this.o.inbox?.accepts(inboxBlock) ?? true,
      },
      durable,
      this.o.clock.now(),
      restarted,
    );
    const h = new LiveHeight(key, wire, replica, epoch, membership);
    this.carryOut(h, replica.start(this.o.clock.now()));
    return h;
  }

  // ---- steps and effects ----------------------------------------------------------------------------------

  private step(h: LiveHeight, input: Input<Tx>): void {
    if (h.failed || this.closed) {
      if (input.type === "propose")
        for (const { id } of input.batch) this.refuse(id, "the node cannot write this height now");
      if (input.type === "seal") this.refuse(input.id, "the node cannot write this height now");
      return;
    }
    this.carryOut(h, h.replica.step(input, this.o.clock.now()));
  }

  /** Group commit: the queued proposals go as one batch once the height's earlier effects are done. */
  private flush(h: LiveHeight): void {
    if (h.busy > 0 || h.queued.length === 0) return;
    this.step(h, { type: "propose", batch: h.queued.splice(0) });
  }

  private carryOut(h: LiveHeight, effects: readonly Effect<Tx>[]): void {
    h.busy += 1;
    h.chain = h.chain
      .then(() => this.execute(h, effects))
      .catch((error: unknown) => this.fail(h, error))
      .finally(() => {
        h.busy -= 1;
        this.flush(h);
      });
  }

  private async execute(h: LiveHeight, effects: readonly Effect<Tx>[]): Promise<void> {
    if (h.failed) return;
    let writes: Write<Tx>[] = [];
    const outbox = new Map<Address, MessageJson[]>();
    const commit = async (): Promise<void> => {
      if (writes.length === 0) return;
      const batch = writes;
      writes = [];
      await persistWrites(this.o.store, h.wire, batch);
      for (const w of batch) {
        if (w.type !== "view") continue;
        // A vote to leave view - 1: its leader failed to lead this height, as far as this member can tell.
        if (w.view > w.normalView)
          this.suspicionOf(h.wire.rollupId).failed(leaderOf(h.membership, h.wire.height, w.view - 1), h.wire.height);
        this.o.onViewChange?.(h.wire.rollupId, h.wire.height, w.view, w.normalView);
      }
      if (
        batch.some((w) => w.type === "seal" || w.type === "decided" || (w.type === "install" && w.seal !== undefined))
      ) {
        this.o.onSealStored?.(h.wire.rollupId, h.wire.height);
      }
    };
    for (const effect of effects) {
      if (effect.type === "persist") {
        writes.push(effect.write);
        continue;
      }
      // Whatever follows a write is said only once the write is on disk.
      await commit();
      switch (effect.type) {
        case "send": {
          let list = outbox.get(effect.to);
          if (list === undefined) outbox.set(effect.to, (list = []));
          list.push(h.wire.toJson(effect.message));
          break;
        }
        case "reply":
          this.answer(effect.id, effect.reply);
          break;
        case "schedule":
          this.wakeAt(h, effect.at);
          break;
        case "certified":
          this.o.onCertified?.(h.wire.rollupId, h.wire.height, effect.certificate);
          break;
        case "fetch-block":
          this.o.onFetchBlock?.(h.wire.rollupId, h.wire.height, effect.from, effect.certificate);
          break;
      }
    }
    await commit();
    for (const [to, messages] of outbox) {
      this.o.transport.send(to, {
        rollupId: h.wire.rollupId.toString(),
        height: h.wire.height,
        epoch: h.epoch,
        messages,
      });
    }
  }

  /** The store failed under a step: the replica said more than the disk holds, so it goes, and reloads. */
  private fail(h: LiveHeight, error: unknown): void {
    if (h.failed) return;
    h.failed = true;
    h.cancelTimer?.();
    this.live.delete(h.key);
    this.o.log.error(
      { err: error, height: h.wire.height },
      "a durable write failed; the height reloads from the store",
    );
    h.queued.length = 0;
    for (const id of [...h.waiting]) this.refuse(id, "a durable write failed");
  }

  private wakeAt(h: LiveHeight, at: number): void {
    if (this.closed || at === h.timerAt) return;
    h.cancelTimer?.();
    h.timerAt = at;
    h.cancelTimer = this.o.clock.at(at, () => {
      h.timerAt = Number.POSITIVE_INFINITY;
      h.cancelTimer = undefined;
      this.step(h, { type: "tick" });
    });
  }

  // ---- answers --------------------------------------------------------------------------------------------

  private await(h: LiveHeight, start: (id: number) => void): Promise<Reply<Tx>> {
    const id = this.nextId++;
    h.waiting.add(id);
    return new Promise<Reply<Tx>>((resolve, reject) => {
      this.waiters.set(id, { resolve, reject });
      start(id);
    })
      .finally(() => h.waiting.delete(id))
      .then((reply) => {
        if (!reply.ok) throw new ReplicaRefusal(reply.error);
        return reply;
      });
  }

  private answer(id: number, reply: Reply<Tx>): void {
    const waiter = this.waiters.get(id);
    if (waiter === undefined) return;
    this.waiters.delete(id);
    waiter.resolve(reply);
  }

  private refuse(id: number, message: string): void {
    this.answer(id, { ok: false, error: { code: "not-committed", message } });
  }
}

export type { NodeEntry };

function sameMembers(a: readonly Address[] | undefined, b: readonly Address[]): boolean {
  return a !== undefined && a.length === b.length && a.every((m, i) => m === b[i]);
}
