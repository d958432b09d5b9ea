/**
 * One height's replica as a pure state machine (docs/ordering.md, "The replica"): `step(input, now)`
 * takes a request, a member's message or a tick and returns the effects to carry out, in order: durable
 * writes (each synced before anything after it), messages, replies, the next tick. It never awaits, reads
 * no clock and draws no randomness of its own, so the node and the simulator drive the same code and a
 * seed replays any run.
 *
 * The protocol is Viewstamped Replication per height: the leader of a view appends, replicates and
 * answers once a majority holds an entry durably; followers check what they store; a silent leader is
 * replaced by a view change whose new leader adopts the best log of a majority (latest normal view,
 * then longest, a seal counting as one more); a majority's signed votes prove each view; a restarted
 * member recovers (asks a majority where the height stands) before it acts; the leader seals the log
 * and a majority certifies the seal.
 *
 * A certificate ends the protocol for the height on every member that holds one (status `decided`, durable):
 * it answers the height's view-change, recovery and normal-view traffic with the certificate instead of
 * taking part, and pulls the block through its host (`fetch-block`) until it is stored (`built`).
 */
import { leaderTimeoutMs, rankLogs } from "./view-change";
import { BlockFetch } from "./block-fetch";
import { Freshness } from "./freshness";
import { PeerChecks } from "./checks";
import { EntryRejected, ReplicaLog, checkEntry, leaderOf, majorityOf } from "./log";
import type {
  Address,
  Decision,
  Durable,
  Effect,
  Entry,
  Input,
  LogReport,
  Message,
  Proposal,
  ReplicaConfig,
  ReplicaError,
  Seal,
  SealCertificate,
  SignedSeal,
  ViewCertificate,
  ViewVote,
  Write,
} from "./types";

/** Open (the view protocol runs) or decided (a majority's certificate is durable here; `built`: the block too). */
export type ReplicaStatus = "recovering" | "normal" | "view-change" | Decision["status"];
type OpenStatus = Exclude<ReplicaStatus, Decision["status"]>;
/** Where the height stands here. A decided phase always carries its certificate. */
type Phase = { readonly status: OpenStatus } | Decision;

/** What the invariants and the host may look at. */
export interface ReplicaSnapshot<Tx> {
  readonly status: ReplicaStatus;
  readonly view: number;
  readonly normalView: number;
  readonly entries: readonly Entry<Tx>[];
  readonly seal: SignedSeal | undefined;
  readonly certificate: SealCertificate | undefined;
  readonly leading: boolean;
  /** How many entries of its log this member knows a majority holds durably (`knownCommitted`). */
  readonly committed: number;
}

/** Whether two seals end the height alike (views and epochs aside): same log, same inbox cut. */
const sameSeal = (a: Seal, b: Seal): boolean =>
  a.count === b.count && a.root === b.root && a.inboxBlock === b.inboxBlock;

export class HeightReplica<Tx = unknown> {
  private readonly log: ReplicaLog<Tx>;
  private readonly checks: PeerChecks<Tx>;
  private view: number;
  private normalView: number;
  private phase: Phase;
  private seal: SignedSeal | undefined;
  private sealSigned: Seal | undefined;
  private viewCertificate: ViewCertificate | undefined;

  // Leader state of the current view.
  private readonly acked = new Map<Address, number>();
  private readonly waiting = new Map<number, number>(); // index -> request id
  private readonly sealRequests: number[] = [];
  private sealVotes = new Map<Address, string>();
  private nextHeartbeat = 0;

  // View change.
  private readonly votes = new Map<number, Map<Address, string>>();
  private readonly logs = new Map<number, Map<Address, LogReport<Tx>>>();
  private dvcSentFor = -1;
  /** Whether the height has seen traffic: only then does a silent leader lead to a view change. */
  private watched: boolean;

  // Follower and recovery.
  private deadline: number;
  private readonly freshness: Freshness;
  /** The leader of the current view echoed a challenge: it is alive, whatever the host suspects. */
  private leaderAliveInView = false;
  private pendingSeal: SignedSeal | undefined;
  private recoveryNonce = 0;
  private readonly recoveryReports = new Map<Address, LogReport<Tx>>();

  // Decided, block missing: whom to ask for it, and when.
  private readonly blockFetch: BlockFetch;

  private effects: Effect<Tx>[] = [];
  private now = 0;

  /**
   * A replica over its durable state. `restarted`: the state was written before a crash or stop, so the
   * replica recovers first (it does not lead, replicate or vote until a majority told it where the height
   * stands). A fresh height starts normal in view 0.
   */
  constructor(
    readonly height: number,
    private readonly config: ReplicaConfig,
    durable: Durable<Tx>,
    now: number,
    restarted: boolean,
  ) {
    this.log = new ReplicaLog<Tx>(height, config.maxEntries, durable.entries, durable.signedDropped);
    this.checks = new PeerChecks<Tx>(height, config);
    this.view = durable.view;
    this.normalView = durable.normalView;
    this.seal = durable.seal;
    this.sealSigned = durable.sealSigned;
    this.viewCertificate = durable.viewCertificate;
    this.now = now;
    this.freshness = new Freshness(config.random);
    this.blockFetch = new BlockFetch(config.signatures.self, config.membership);
    this.deadline = now + this.timeout();
    // A decided height stays decided across a restart: nothing to recover, no leader to wait for.
    this.phase = durable.decision ?? {
      status: restarted ? "recovering" : durable.view > durable.normalView ? "view-change" : "normal",
    };
    if (this.decision !== undefined) this.deadline = now + this.fetchTimeout();
    this.watched = durable.entries.length > 0 || durable.view > 0 || durable.seal !== undefined;
  }

  get self(): Address {
    return this.config.signatures.self;
  }

  snapshot(): ReplicaSnapshot<Tx> {
    return {
      status: this.status,
      view: this.view,
      normalView: this.normalView,
      entries: this.log.entries,
      seal: this.seal,
      certificate: this.decision?.certificate,
      leading: this.decision === undefined && this.leads(),
      committed: this.knownCommitted(),
    };
  }

  /** Effects to start with: a restarted replica asks the others where the height stands. */
  start(now: number): Effect<Tx>[] {
    this.begin(now);
    if (this.status === "recovering") this.startRecovery();
    return this.finish();
  }

  step(input: Input<Tx>, now: number): Effect<Tx>[] {
    this.begin(now);
    switch (input.type) {
      case "propose":
        this.propose(input.batch);
        break;
      case "seal":
        this.requestSeal(input.id, input.inboxBlock);
        break;
      case "receive":
        if (this.config.membership.members.includes(input.from) && input.from !== this.self) {
          this.receive(input.from, input.message);
        }
        break;
      case "tick":
        this.tick();
        break;
      case "watch":
        if ((this.status === "normal" || this.status === "view-change") && !this.watched) this.heardFromLeader();
        if (input.leaderDown === undefined) this.skipSuspectedLeader();
        else this.leaveDownLeader(input.leaderDown.view);
        break;
      case "sync":
        if (this.status === "normal" || this.status === "view-change") this.startRecovery();
        break;
      case "built":
        this.onBuilt(input.certificate);
        break;
      case "block-arriving":
        this.onBlockArriving(input.certificate, input.from);
        break;
    }
    return this.finish();
  }

  private get status(): ReplicaStatus {
    return this.phase.status;
  }

  private get decision(): Decision | undefined {
    return this.phase.status === "decided" || this.phase.status === "built" ? this.phase : undefined;
  }

  // ---- helpers ---------------------------------------------------------------------------------------

  private begin(now: number): void {
    this.now = now;
    this.effects = [];
  }

  private finish(): Effect<Tx>[] {
    // An unwatched height's ticks do nothing (see tick): it wakes again when something makes it watched.
    if (this.status !== "built" && (this.watched || this.status !== "normal")) {
      const wake =
        this.status === "normal" && this.leads()
          ? this.nextHeartbeat
          : this.buildsWhileDecided()
            ? Math.min(this.nextHeartbeat, this.deadline)
            : this.deadline;
      this.effects.push({ type: "schedule", at: Math.max(wake, this.now + 1) });
    }
    const out = this.effects;
    this.effects = [];
    return out;
  }

  private persist(write: Write<Tx>): void {
    this.effects.push({ type: "persist", write });
  }

  private send(to: Address, message: Message<Tx>): void {
    this.effects.push({ type: "send", to, message });
  }

  private broadcast(message: Message<Tx>): void {
    for (const m of this.config.membership.members) if (m !== this.self) this.send(m, message);
  }

  private fail(id: number, code: ReplicaError["code"], message: string): void {
    const error: ReplicaError =
      code === "not-leader" ? { code, message, leader: this.leaderOfView(this.view) } : { code, message };
    this.effects.push({ type: "reply", id, reply: { ok: false, error } });
  }

  private leaderOfView(view: number): Address {
    return leaderOf(this.config.membership, this.height, view);
  }

  private leads(): boolean {
    return this.leaderOfView(this.view) === this.self;
  }

  private get majority(): number {
    return majorityOf(this.config.membership);
  }

  private timeout(): number {
    const { leaderTimeoutMs: base } = this.config.timing;
    return leaderTimeoutMs(base, this.view - this.normalView, this.config.random());
  }

  private heardFromLeader(): void {
    this.watched = true;
    this.deadline = this.now + this.timeout();
  }

  /**
   * A replicate or heartbeat from the leader of this member's normal view: a sign of life only when it echoes
   * the current challenge (which then changes). A height not watched yet starts its timer either way.
   */
  private heardEcho(echo: number | undefined): void {
    if (this.freshness.fresh(echo)) {
      this.leaderAliveInView = true;
      this.heardFromLeader();
    } else if (!this.watched) {
      this.heardFromLeader();
    }
  }

  /**
   * A client could not reach the leader of this member's normal view, which this member suspects of being
   * down (it failed to lead before and has not been heard of since): vote for the next view whose leader is
   * not suspected now, instead of waiting out the leader timeout. Nothing if the leader proved itself alive
   * in this view.
   */
  private skipSuspectedLeader(): void {
    const suspects = this.config.suspects;
    if (suspects === undefined || this.status !== "normal" || this.leads() || this.leaderAliveInView) return;
    if (!suspects(this.leaderOfView(this.view))) return;
    this.startViewChange(this.nextUnsuspectedView());
  }

  /**
   * The host found nothing listening at the address of the leader of `view`, this member's normal view: vote
   * for the next view whose leader is not suspected at once. A refused connection is the host's own
   * observation (no peer can forge it for this member), and any member may start a view change anyway; the
   * view check keeps a late report from deposing the leader of a later view.
   */
  private leaveDownLeader(view: number): void {
    if (this.status !== "normal" || view !== this.view || this.leads()) return;
    this.startViewChange(this.nextUnsuspectedView());
  }

  /** The first view after this one whose leader this member does not suspect (at most n - 2 skipped). */
  private nextUnsuspectedView(): number {
    const suspects = this.config.suspects ?? (() => false);
    const n = this.config.membership.members.length;
    let next = this.view + 1;
    while (next < this.view + n - 1 && suspects(this.leaderOfView(next))) next++;
    return next;
  }

  /** Tells the leader what this member holds, with the challenge its next message must echo. */
  private answer(to: Address, type: "ack" | "behind", view: number): void {
    this.send(to, { type, view, count: this.log.size, challenge: this.freshness.challenge });
  }

  /** Sends a leader's replicate or heartbeat to each follower, echoing that follower's latest challenge. */
  private toFollowers(message: (echo: number | undefined) => Message<Tx>): void {
    for (const m of this.config.membership.members)
      if (m !== this.self) this.send(m, message(this.freshness.echoFor(m)));
  }

  private voteStatement(view: number): ViewVote {
    return { view, epoch: this.config.membership.epoch };
  }

  private report(): LogReport<Tx> {
    const proof = this.viewCertificate;
    return {
      view: this.view,
      normalView: this.normalView,
      normalViewCertificate: this.normalView > 0 && proof?.statement.view === this.normalView ? proof : undefined,
      entries: [...this.log.entries], // a copy: the log grows after the report leaves
      seal: this.seal,
    };
  }

  // ---- leader: appends and commits --------------------------------------------------------------------

  private propose(batch: readonly { id: number; proposal: Proposal<Tx> }[]): void {
    const refuse = (code: ReplicaError["code"], message: string): void => {
      for (const { id } of batch) this.fail(id, code, message);
    };
    if (this.decision !== undefined) return refuse("sealed", `height ${this.height} is decided`);
    if (this.status === "recovering") return refuse("recovering", "this member is recovering after a restart");
    if (this.seal !== undefined || this.sealSigned?.view === this.view)
      return refuse("sealed", `height ${this.height} is sealed`);
    if (!this.leads()) return refuse("not-leader", `this member does not lead view ${this.view}`);
    if (this.status !== "normal")
      return refuse("view-change", `height ${this.height} is changing to view ${this.view}`);
    const accepted: { id: number; proposal: Proposal<Tx> }[] = [];
    let size = this.log.size;
    let bytes = this.log.bytes;
    const blocked = this.log.blockedFrom() ?? Number.POSITIVE_INFINITY;
    for (const item of batch) {
      if (size >= this.config.maxEntries) {
        this.fail(item.id, "full", `the block is full (it holds ${size} entries)`);
      } else if (size >= blocked) {
        this.fail(
          item.id,
          "full",
          `the block is full for this leader: it signed another entry at index ${blocked} in an earlier view`,
        );
      } else if (bytes + item.proposal.bytes > this.config.maxLogBytes) {
        this.fail(item.id, "full", `the block is full (its log may hold ${this.config.maxLogBytes} bytes)`);
      } else {
        accepted.push(item);
        size += 1;
        bytes += item.proposal.bytes;
      }
    }
    if (accepted.length === 0) return;
    const firstIndex = this.log.size;
    const entries = this.log.appendAsLeader(
      accepted.map((a) => a.proposal),
      this.view,
      this.config.membership.epoch,
      this.config.signatures,
    );
    this.persist({ type: "append", firstIndex, entries });
    this.watched = true;
    accepted.forEach((a, i) => this.waiting.set(firstIndex + i, a.id));
    this.toFollowers((echo) => ({ type: "replicate", view: this.view, firstIndex, entries, echo }));
    this.nextHeartbeat = this.now + this.config.timing.heartbeatIntervalMs;
    this.commit();
  }

  /**
   * How many entries of its log this member knows a majority holds durably. While it leads a normal view: what
   * a majority acknowledged (what its receipts wait for). A follower in a normal view holds each entry of its
   * log together with that view's leader, which stored it before sending it: two members, a majority when
   * the cluster has at most three. Otherwise 0: a larger cluster's follower cannot tell; a view change or a
   * recovery may hold entries it appended alone as an earlier leader; a decided member's log may be of an
   * earlier view than its certificate (its block is the certified content, and the node reads that).
   */
  private knownCommitted(): number {
    if (this.status !== "normal") return 0;
    if (this.leads()) return this.committedCount();
    return this.majority <= 2 ? this.log.size : 0;
  }

  /** The count a majority (this member included) holds durably in this view. */
  private committedCount(): number {
    const counts = [this.log.size];
    for (const [member, count] of this.acked) if (member !== this.self) counts.push(count);
    counts.sort((a, b) => b - a);
    return counts[this.majority - 1] ?? 0;
  }

  private commit(committed = this.committedCount()): void {
    for (const [index, id] of [...this.waiting]) {
      if (index >= committed) continue;
      this.waiting.delete(index);
      const entry = this.log.entry(index)!;
      const proof = this.viewCertificate;
      const viewCertificate = this.view > 0 && proof?.statement.view === this.view ? proof : undefined;
      this.effects.push({ type: "reply", id, reply: { ok: true, receipt: entry, viewCertificate } });
    }
  }

  /** Requests still waiting when the view changes are answered: their entries may or may not survive. */
  private abandonWaiting(reason: string): void {
    for (const id of this.waiting.values()) this.fail(id, "not-committed", reason);
    this.waiting.clear();
    for (const id of this.sealRequests.splice(0)) this.fail(id, "not-committed", reason);
  }

  // ---- sealing ----------------------------------------------------------------------------------------

  private requestSeal(id: number, inboxBlock: number): void {
    const decision = this.decision;
    if (decision !== undefined) {
      // Any member that holds the certificate answers with it; the leader of its view builds the block.
      this.effects.push({ type: "reply", id, reply: { ok: true, sealed: decision.certificate } });
      return;
    }
    if (this.status === "recovering") return this.fail(id, "recovering", "this member is recovering after a restart");
    if (!this.leads()) return this.fail(id, "not-leader", `this member does not lead view ${this.view}`);
    if (this.status !== "normal") return this.fail(id, "view-change", `changing to view ${this.view}`);
    // The seal covers every entry, replicated or still in flight: the members that sign it hold them all, so
    // its certificate also proves every sealed entry durable on a majority.
    const seal: Seal = {
      count: this.log.size,
      root: this.log.root,
      // A seal this member holds from an earlier view (its own, or adopted with its log in a view change) may
      // have been certified: the same log is sealed again with the same cut. Otherwise the host's block.
      inboxBlock: this.seal?.seal.inboxBlock ?? inboxBlock,
      view: this.view,
      epoch: this.config.sealEpoch?.() ?? this.config.membership.epoch,
    };
    if (this.signedOtherSealIn(seal)) {
      // It signed another seal in this view before a crash (its log changed since, which an honest leader's
      // never does after sealing): a second one would be slashable. It hands the height to the next view.
      this.fail(id, "view-change", "this member signed another seal in this view: it hands the height on");
      this.startViewChange(this.view + 1);
      return;
    }
    this.sealRequests.push(id);
    // The seal must reach a majority even on a height nobody wrote to: heartbeats resend it.
    this.watched = true;
    if (this.seal?.seal.view === this.view) {
      // Sealing in progress, or sealed before a restart (the votes were kept in memory only).
      this.countOwnSealVote();
      this.countSealVotes();
      return;
    }
    const signed: SignedSeal = { seal, leader: this.self, signature: this.config.signatures.signSeal(seal) };
    this.seal = signed;
    this.sealSigned = seal;
    this.sealVotes = new Map([[this.self, signed.signature]]);
    this.persist({ type: "seal-signed", seal });
    this.persist({ type: "seal", seal: signed });
    this.broadcast({ type: "seal", view: this.view, seal: signed });
    this.countSealVotes();
  }

  private countSealVotes(): void {
    if (this.seal === undefined || this.sealVotes.size < this.majority) return;
    this.decide({ statement: this.seal.seal, signatures: new Map(this.sealVotes) }, undefined);
  }

  /** A follower stores the leader's seal once it holds exactly the sealed log, and signs it. */
  private acceptSeal(from: Address, signed: SignedSeal): void {
    const { seal } = signed;
    if (seal.view !== this.view || this.status !== "normal" || from !== this.leaderOfView(seal.view)) return;
    if (!this.checks.acceptsSealEpoch(seal.epoch)) return;
    if (!this.config.signatures.isSealSignedBy(seal, signed.signature, from)) return;
    if (this.log.size < seal.count) {
      this.pendingSeal = signed;
      this.answer(from, "behind", this.view);
      return;
    }
    if (this.log.size !== seal.count || this.log.root !== seal.root) return; // not this log: never signed
    // A new cut must be recent by this member's view of the L1; the cut of a seal it holds from an earlier view
    // is taken as it is (that seal may be certified, and a later view must keep it).
    if (seal.inboxBlock !== this.seal?.seal.inboxBlock && !this.checks.acceptsInboxBlock(seal.inboxBlock)) return;
    this.pendingSeal = undefined;
    if (this.seal?.seal.view !== seal.view) {
      this.seal = signed;
      this.persist({ type: "seal", seal: signed });
    }
    // One seal per view: a faulty leader's second seal of its view is stored but never signed.
    if (this.signedOtherSealIn(seal)) return;
    if (this.sealSigned?.view !== seal.view) {
      this.sealSigned = seal;
      this.persist({ type: "seal-signed", seal });
    }
    this.send(from, { type: "seal-vote", view: seal.view, seal, signature: this.config.signatures.signSeal(seal) });
  }

  /**
   * Whether this member signed a seal of the same view that ends the log otherwise. Signing two seals in one
   * view is slashable (`slashSealEquivocation`); seals of different views are not, because a view change
   * adopts any seal a majority may have certified (docs/ordering.md, "Sealing across views").
   */
  private signedOtherSealIn(seal: Seal): boolean {
    return this.sealSigned !== undefined && this.sealSigned.view === seal.view && !sameSeal(this.sealSigned, seal);
  }

  // ---- messages ---------------------------------------------------------------------------------------

  private receive(from: Address, message: Message<Tx>): void {
    const decision = this.decision;
    if (decision !== undefined) return this.whileDecided(from, message, decision);
    if (message.type === "decided") return this.onDecided(from, message.certificate);
    if (message.type === "recovery") return this.answerRecovery(from, message.nonce);
    if (message.type === "recovery-response") return this.onRecoveryResponse(from, message.nonce, message.log);
    if (this.status === "recovering") {
      // Kept for when the recovery ends: a signed vote for a later view is joined then, as in a normal view.
      if (message.type === "start-view-change") this.keepVote(from, message.view, message.vote);
      return;
    }
    switch (message.type) {
      case "replicate":
        return this.onReplicate(from, message.view, message.firstIndex, message.entries, message.echo);
      case "heartbeat":
        return this.onHeartbeat(from, message.view, message.count, message.echo);
      case "ack":
        return this.onAck(from, message.view, message.count, message.challenge);
      case "behind":
        return this.onBehind(from, message.view, message.count, message.challenge);
      case "seal":
        if (this.fromLaterNormalView(from, message.view)) return;
        return this.acceptSeal(from, message.seal);
      case "seal-vote":
        return this.onSealVote(from, message.view, message.seal, message.signature);
      case "start-view-change":
        return this.onStartViewChange(from, message.view, message.vote);
      case "do-view-change":
        return this.onDoViewChange(from, message.view, message.vote, message.log);
      case "start-view":
        return this.onStartView(from, message.view, message.certificate, message.entries, message.seal);
      case "newer-view":
        if (message.view > this.view) this.startRecovery();
        return;
    }
  }

  /**
   * For a normal-view message (replicate, heartbeat, seal): answers one from an older view with this
   * member's view (its sender was deposed), and learns the height's state when the message is from a
   * later view it missed. True when the message is not for this member's current normal view.
   */
  private fromLaterNormalView(from: Address, view: number): boolean {
    if (from !== this.leaderOfView(view)) return true;
    if (view < this.view) {
      this.send(from, { type: "newer-view", view: this.view });
      return true;
    }
    if (view > this.view || this.status !== "normal") {
      // A view this member missed (or one installed while it was still changing views): learn its log.
      this.startRecovery();
      return true;
    }
    return false;
  }

  private onReplicate(
    from: Address,
    view: number,
    firstIndex: number,
    entries: readonly Entry<Tx>[],
    echo: number | undefined,
  ): void {
    if (this.fromLaterNormalView(from, view)) return;
    this.heardEcho(echo);
    if (this.seal !== undefined && this.seal.seal.view === view) {
      this.answer(from, "ack", view);
      return;
    }
    if (firstIndex > this.log.size) {
      this.answer(from, "behind", view);
      return;
    }
    const before = this.log.size;
    try {
      this.log.appendChecked(firstIndex, entries, (entry, index) => {
        const vouched = entry.leader === from && this.config.random() >= this.config.signatureSampleRate;
        checkEntry(entry, index, this.height, this.config.membership, this.config.signatures, !vouched);
      });
    } catch (error) {
      if (error instanceof EntryRejected) return; // a faulty leader's entry: no ack, the view may change
      throw error;
    }
    if (this.log.size > before) {
      this.persist({ type: "append", firstIndex: before, entries: this.log.entries.slice(before) });
    }
    this.answer(from, "ack", view);
    if (this.pendingSeal !== undefined && this.pendingSeal.seal.count <= this.log.size) {
      this.acceptSeal(from, this.pendingSeal);
    }
  }

  private onHeartbeat(from: Address, view: number, count: number, echo: number | undefined): void {
    if (this.fromLaterNormalView(from, view)) return;
    this.heardEcho(echo);
    // Answered like an append: the leader learns what this member holds (after its restart, say) and
    // sends what is missing.
    this.answer(from, count > this.log.size ? "behind" : "ack", view);
  }

  private onAck(from: Address, view: number, count: number, challenge: number): void {
    if (view !== this.view || !this.leads() || this.status !== "normal") return;
    this.freshness.answered(from, challenge);
    this.acked.set(from, Math.max(this.acked.get(from) ?? 0, Math.min(count, this.log.size)));
    this.commit();
  }

  private onBehind(from: Address, view: number, count: number, challenge: number): void {
    if (view !== this.view || !this.leads() || this.status !== "normal") return;
    this.freshness.answered(from, challenge);
    if (count < this.log.size) {
      const entries = this.log.entries.slice(count);
      this.send(from, { type: "replicate", view, firstIndex: count, entries, echo: challenge });
    }
    if (this.seal !== undefined && this.seal.seal.view === view)
      this.send(from, { type: "seal", view, seal: this.seal });
  }

  private onSealVote(from: Address, view: number, seal: Seal, signature: string): void {
    if (view !== this.view || !this.leads() || this.seal === undefined) return;
    if (!sameSeal(seal, this.seal.seal) || seal.view !== view) return;
    if (!this.config.signatures.isSealSignedBy(this.seal.seal, signature, from)) return;
    this.sealVotes.set(from, signature);
    this.countOwnSealVote();
    this.countSealVotes();
  }

  /**
   * The leader's own signature on its seal of this view counts as its vote. A leader restarted after sealing
   * holds the seal durably but not the votes: without this, two members (it and one follower) could never
   * certify again while the third is down for good (simulator, a lost member).
   */
  private countOwnSealVote(): void {
    if (
      this.seal !== undefined &&
      this.seal.seal.view === this.view &&
      this.leads() &&
      !this.sealVotes.has(this.self)
    ) {
      this.sealVotes.set(this.self, this.seal.signature);
    }
  }

  // ---- failure detection ------------------------------------------------------------------------------

  /**
   * This member assembled the certificate as the leader of its view and builds the block: until the block is
   * built it keeps heartbeating that view, so that its followers' timers stay quiet. A follower that timed out
   * would learn the decision from it, and could then only wait for this member's block: if it died before
   * building, nobody would re-certify the height (docs/ordering.md, "Decided heights"). Kept quiet, followers
   * that outlive it change views as open members, and the next leader seals the same log again and builds.
   */
  private buildsWhileDecided(): boolean {
    return (
      this.phase.status === "decided" &&
      this.phase.certificate.statement.view === this.view &&
      this.leaderOfView(this.view) === this.self
    );
  }

  private tick(): void {
    if (this.status === "built") return;
    if (this.phase.status === "decided") {
      if (this.buildsWhileDecided() && this.now >= this.nextHeartbeat) {
        const count = this.log.size;
        this.toFollowers((echo) => ({ type: "heartbeat", view: this.view, count, echo }));
        this.nextHeartbeat = this.now + this.config.timing.heartbeatIntervalMs;
      }
      if (this.now >= this.deadline)
        this.fetchBlock(this.blockFetch.next(this.leaderOfView(this.phase.certificate.statement.view)));
      return;
    }
    if (this.status === "recovering") {
      if (this.now >= this.deadline) this.startRecovery(); // ask again: not enough answered
      return;
    }
    if (!this.watched) return;
    if (this.leads() && this.status === "normal") {
      if (this.now >= this.nextHeartbeat) {
        const count = this.log.size;
        this.toFollowers((echo) => ({ type: "heartbeat", view: this.view, count, echo }));
        // The seal again to whoever has not signed it: a lost seal message must not leave a member behind.
        const seal = this.seal;
        if (seal !== undefined && seal.seal.view === this.view) {
          this.countOwnSealVote();
          for (const m of this.config.membership.members) {
            if (!this.sealVotes.has(m)) this.send(m, { type: "seal", view: this.view, seal });
          }
        }
        this.nextHeartbeat = this.now + this.config.timing.heartbeatIntervalMs;
      }
      return;
    }
    if (this.now >= this.deadline) this.startViewChange(this.view + 1);
  }

  // ---- view change ------------------------------------------------------------------------------------

  private votesFor(view: number): Map<Address, string> {
    let votes = this.votes.get(view);
    if (votes === undefined) this.votes.set(view, (votes = new Map<Address, string>()));
    return votes;
  }

  /** Moves to `view` (durably, before saying so) and asks everyone to join; votes for it. */
  private startViewChange(view: number): void {
    if (view <= this.view) return;
    if (this.leads() && this.status === "normal") this.abandonWaiting(`view ${view} replaces view ${this.view}`);
    this.view = view;
    this.leaderAliveInView = false;
    this.phase = { status: "view-change" };
    this.acked.clear();
    this.pendingSeal = undefined;
    this.persist({ type: "view", view, normalView: this.normalView });
    this.heardFromLeader();
    const vote = this.config.signatures.signVote(this.voteStatement(view));
    this.votesFor(view).set(this.self, vote);
    this.broadcast({ type: "start-view-change", view, vote });
    this.maybeDoViewChange();
  }

  private onStartViewChange(from: Address, view: number, vote: string): void {
    if (view < this.view || (view === this.normalView && this.status === "normal")) return;
    if (!this.config.signatures.isVoteSignedBy(this.voteStatement(view), vote, from)) return;
    this.votesFor(view).set(from, vote);
    this.watched = true;
    if (view > this.view) this.startViewChange(view);
    else this.maybeDoViewChange();
  }

  /** With a majority's votes for the current view, sends this member's log to the view's leader, once. */
  private maybeDoViewChange(): void {
    const view = this.view;
    if (this.status !== "view-change" || this.dvcSentFor >= view) return;
    if (this.votesFor(view).size < this.majority) return;
    this.dvcSentFor = view;
    const leader = this.leaderOfView(view);
    const vote = this.votesFor(view).get(this.self)!;
    if (leader === this.self) this.collectLog(this.self, view, this.report());
    else this.send(leader, { type: "do-view-change", view, vote, log: this.report() });
  }

  private onDoViewChange(from: Address, view: number, vote: string, log: LogReport<Tx>): void {
    if (this.leaderOfView(view) !== this.self || view < this.view) return;
    if (view === this.normalView && this.status === "normal") {
      this.sendStartView(from); // a late DoViewChange: the member missed the StartView
      return;
    }
    if (log.normalView >= view || !this.config.signatures.isVoteSignedBy(this.voteStatement(view), vote, from)) return;
    if (!this.checks.checkReport(log)) return;
    this.votesFor(view).set(from, vote);
    this.watched = true;
    if (view > this.view) this.startViewChange(view);
    this.collectLog(from, view, log);
    this.maybeDoViewChange(); // the sender's vote may complete this member's majority for the view
  }

  private collectLog(from: Address, view: number, log: LogReport<Tx>): void {
    if (view !== this.view || this.status !== "view-change") return;
    let logs = this.logs.get(view);
    if (logs === undefined) this.logs.set(view, (logs = new Map<Address, LogReport<Tx>>()));
    logs.set(from, log);
    if (logs.size < this.majority || !logs.has(this.self)) return;
    // A majority's logs: adopt the best, prove the view with their senders' votes, install, tell everyone.
    const adopted = rankLogs([...logs.values()])[0]!;
    const votes = this.votesFor(view);
    const certificate: ViewCertificate = {
      statement: this.voteStatement(view),
      signatures: new Map([...logs.keys()].map((m) => [m, votes.get(m)!])),
    };
    this.install(view, view, adopted.entries, adopted.seal, certificate);
    this.nextHeartbeat = this.now;
    for (const m of this.config.membership.members) if (m !== this.self) this.sendStartView(m);
  }

  private sendStartView(to: Address): void {
    const certificate = this.viewCertificate;
    if (certificate === undefined || certificate.statement.view !== this.view) return;
    // A copy: the log grows after the message is handed to the host, which may send it later.
    const entries = [...this.log.entries];
    this.send(to, { type: "start-view", view: this.view, certificate, entries, seal: this.seal });
  }

  private onStartView(
    from: Address,
    view: number,
    certificate: ViewCertificate,
    entries: readonly Entry<Tx>[],
    seal: SignedSeal | undefined,
  ): void {
    if (from !== this.leaderOfView(view) || view < this.view) return;
    if (view === this.normalView && this.status === "normal" && this.log.size >= entries.length) {
      this.answer(from, "ack", view);
      return;
    }
    if (!this.checks.checkViewCertificate(view, certificate)) return;
    if (!this.checks.checkLog(entries, seal)) return;
    this.install(view, view, entries, seal, certificate);
    this.answer(from, "ack", view);
  }

  /**
   * Makes `entries` (checked) the height's log in `view`, last normal in `normalView`, durably. Requests
   * waiting on the old view are answered; whatever this member signed and loses is remembered.
   */
  private install(
    view: number,
    normalView: number,
    entries: readonly Entry<Tx>[],
    seal: SignedSeal | undefined,
    viewCertificate: ViewCertificate | undefined,
  ): void {
    this.abandonWaiting(`view ${view} installed`);
    const { keep, signedDropped } = this.log.install(entries, this.self);
    this.view = view;
    this.leaderAliveInView = false;
    this.normalView = normalView;
    this.phase = { status: "normal" };
    this.seal = seal;
    if (viewCertificate !== undefined) this.viewCertificate = viewCertificate;
    this.acked.clear();
    this.pendingSeal = undefined;
    this.sealVotes = new Map();
    this.persist({
      type: "install",
      view,
      normalView,
      keep,
      entries: entries.slice(keep),
      seal,
      viewCertificate,
      signedDropped,
    });
    this.heardFromLeader();
  }

  // ---- decided heights ---------------------------------------------------------------------------------
  //
  // A certificate fixes the height's content: every later view adopts it ("Sealing across views"), so there
  // is nothing left to elect a leader for. A decided member therefore starts no view change and no recovery
  // of its own; what it lacks, if anything, is the block, which it pulls. It answers the traffic of members
  // still in the protocol with the certificate, so a lone view change ends at its first answer instead of
  // doubling its timeout forever. Who builds: the leader of the certificate's view (it signs the block
  // commitment in that view), which holds the sealed log and, once it assembled the certificate, the
  // decision, both durably: a crash between the certificate and the block leaves it decided after its
  // restart, and it builds when the executor asks again. If it crashed before its decision was durable,
  // nobody holds the certificate, so the others are still open: they change views, re-seal the same log in
  // a later view and its leader builds. (A certificate's leader lost for good after others learnt its
  // certificate would leave the block unbuilt; the crash-recovery model, which the simulator runs, has
  // every member come back.)

  /** The height is decided here: durably first, then the waiting requests end and the block is asked for. */
  private decide(certificate: SealCertificate, from: Address | undefined): void {
    this.phase = { status: "decided", certificate };
    this.persist({ type: "decided", certificate });
    this.effects.push({ type: "certified", certificate });
    this.settleRequests(certificate);
    this.blockFetch.reset();
    // The certificate's own leader builds the block itself when asked; others ask the member that told them.
    this.deadline = this.now + this.fetchTimeout();
    if (from !== undefined) this.fetchBlock(from);
  }

  /**
   * Requests waiting on this member's leadership end with the decision. When its log is the certified one,
   * every entry is durable on a majority (each signer of the seal holds them all): those get their receipts.
   */
  private settleRequests(certificate: SealCertificate): void {
    for (const id of this.sealRequests.splice(0)) {
      this.effects.push({ type: "reply", id, reply: { ok: true, sealed: certificate } });
    }
    const s = certificate.statement;
    if (this.log.size === s.count && this.log.root === s.root) this.commit(s.count);
    this.abandonWaiting(`height ${this.height} is decided without this entry`);
  }

  /** Another member says the height is decided: believed only with a majority's signatures on one seal. */
  private onDecided(from: Address, certificate: SealCertificate): void {
    if (!this.checks.checkSealCertificate(certificate)) return;
    this.decide(certificate, from);
  }

  /** A decided member takes no part in the protocol: it answers with the decision and gathers block holders. */
  private whileDecided(from: Address, message: Message<Tx>, decision: Decision): void {
    switch (message.type) {
      case "ack":
      case "behind":
        // The followers' challenges: the heartbeats of a leader that builds must echo them to hold off their
        // timers (it may have decided before any follower's first answer reached it).
        if (this.buildsWhileDecided() && message.view === this.view) this.freshness.answered(from, message.challenge);
        return;
      case "decided":
        // A hint of where the block may be, unchecked: a wrong one costs one fetch that goes unanswered.
        this.blockFetch.hint(from);
        if (decision.status === "decided" && this.blockFetch.requests === 0) this.fetchBlock(from);
        return;
      case "start-view-change":
      case "do-view-change":
      case "start-view":
      case "recovery":
      case "replicate":
      case "heartbeat":
      case "seal":
        // Whatever the view: a decided member is in none of them any more.
        this.send(from, { type: "decided", certificate: decision.certificate });
        return;
      default:
        return; // answers to what it no longer does (votes, reports)
    }
  }

  /** Asks the host for the block at `from`; without it by the deadline, the next tick asks another member. */
  private fetchBlock(from: Address): void {
    const decision = this.decision;
    if (decision?.status !== "decided") return;
    this.effects.push({ type: "fetch-block", from, certificate: decision.certificate });
    this.blockFetch.requested();
    this.deadline = this.now + this.fetchTimeout();
  }

  private fetchTimeout(): number {
    return this.blockFetch.timeout(this.config.timing.leaderTimeoutMs, this.config.random());
  }

  /**
   * The host is storing the block `from` sent with its certificate (a leader's block rebuilt here takes a
   * while): the height is decided, and that block counts as the first request out, so that the leader
   * timer no longer runs and the next request, if it is not stored in time, goes to another member.
   */
  private onBlockArriving(certificate: SealCertificate, from: Address): void {
    if (this.decision === undefined) {
      if (!this.checks.checkSealCertificate(certificate)) return;
      this.decide(certificate, undefined);
      this.blockFetch.requested();
      this.deadline = this.now + this.fetchTimeout();
    }
    this.blockFetch.hint(from);
  }

  /** The host stored the block, built here or fetched and checked against `certificate`. */
  private onBuilt(certificate: SealCertificate): void {
    if (this.status === "built" || !this.checks.checkSealCertificate(certificate)) return;
    this.persist({ type: "built", certificate });
    if (this.decision === undefined) this.settleRequests(certificate);
    this.phase = { status: "built", certificate };
  }

  // ---- recovery and state transfer ----------------------------------------------------------------------

  /** Asks every member for its log of the height; acts again once a majority answered (VR recovery). */
  private startRecovery(): void {
    if (this.status !== "recovering") {
      if (this.leads() && this.status === "normal") this.abandonWaiting("this member learnt of a later view");
      this.phase = { status: "recovering" };
      // One nonce per recovery, kept across its retries: answers to an earlier ask still count, so a round
      // trip longer than the retry interval cannot keep a member recovering for ever (leader-kill seed 35).
      this.recoveryNonce = Math.floor(this.config.random() * 2 ** 48);
      this.recoveryReports.clear();
    }
    this.deadline = this.now + this.config.timing.leaderTimeoutMs;
    this.broadcast({ type: "recovery", nonce: this.recoveryNonce });
  }

  private answerRecovery(from: Address, nonce: number): void {
    this.send(from, { type: "recovery-response", nonce, log: this.report() });
    // A member changing views gives its vote too: the recovering member may join the change when it is done
    // (a report only claims a view; the vote proves this member left the lower ones).
    const vote = this.status === "view-change" ? this.votes.get(this.view)?.get(this.self) : undefined;
    if (vote !== undefined) this.send(from, { type: "start-view-change", view: this.view, vote });
  }

  /** Records a checked vote for a later view without acting on it (while recovering). */
  private keepVote(from: Address, view: number, vote: string): void {
    if (view <= this.view || !this.config.signatures.isVoteSignedBy(this.voteStatement(view), vote, from)) return;
    this.votesFor(view).set(from, vote);
  }

  private onRecoveryResponse(from: Address, nonce: number, report: LogReport<Tx>): void {
    if (this.status !== "recovering" || nonce !== this.recoveryNonce) return;
    if (!this.checks.checkReport(report)) return;
    this.recoveryReports.set(from, report);
    if (this.recoveryReports.size + 1 < this.majority) return;
    // A majority's logs and this member's own, ranked as a new leader ranks them.
    const own = this.report();
    const best = rankLogs([own, ...this.recoveryReports.values()])[0]!;
    if (best !== own && (best.normalView > this.normalView || best.entries.length > this.log.size || best.seal)) {
      this.install(
        Math.max(best.normalView, this.view),
        best.normalView,
        best.entries,
        best.seal,
        best.normalViewCertificate,
      );
      if (this.view > this.normalView) this.phase = { status: "view-change" };
    } else {
      this.phase = { status: this.view > this.normalView ? "view-change" : "normal" };
    }
    this.heardFromLeader();
    // Only proven normal views count: a view change another member merely claims is not joined here (a
    // faulty member could claim any view); if a majority really runs one, its StartView will arrive.
    // A checked vote for a later view that arrived while recovering is joined now, as a normal member would
    // have joined it on arrival.
    const later = Math.max(
      -1,
      ...[...this.votes.keys()].filter((v) => v > this.view && (this.votes.get(v)?.size ?? 0) > 0),
    );
    if (later > this.view) {
      this.startViewChange(later);
    } else if (this.phase.status === "view-change") {
      // Re-announce the vote of the view this member was changing to before it stopped.
      const vote = this.config.signatures.signVote(this.voteStatement(this.view));
      this.votesFor(this.view).set(this.self, vote);
      this.dvcSentFor = Math.min(this.dvcSentFor, this.view - 1);
      this.broadcast({ type: "start-view-change", view: this.view, vote });
      this.maybeDoViewChange();
    } else if (this.leads()) {
      this.nextHeartbeat = this.now;
      for (const m of this.config.membership.members) if (m !== this.self) this.sendStartView(m);
    }
  }
}
