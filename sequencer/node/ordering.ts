/**
 * Ordering on a node (docs/ordering.md): admission of clients' transactions, the heights' replicas (run by
 * the host, node/host/), the cluster transport, and the reads the API answers from the store. The protocol
 * itself — replication, view changes, recovery, sealing — is the pure replica's (replica/replica.ts); this
 * module only decides what reaches it and turns its answers into the API's.
 *
 * Admission, per transaction: not ordered already in this rollup (and not in flight), the round key of its
 * height known, its tx-validity proof verified; then it joins the height's group commit. Reads never create
 * a height, a timer or any traffic: they answer from the store.
 */
import { getAddress, type Wallet } from "ethers";
import type { Logger } from "pino";
import { z } from "zod";
import {
  encryptedSubmissionToJson,
  type EncryptedSubmission,
  type OrderReceiptJson,
  type OrderedTransactionJson,
} from "../api/wire";
import { rawTxHash } from "../block/leaf-data";
import { majorityOf, parseSealCertificate, type SealCertificate, type SealResultJson } from "../chain/certificate";
import { ClusterMessageKind, type VeilDomain } from "../chain/eip712";
import { IncrementalMerkleTree, toBytes32 } from "../chain/merkle";
import type { CheckResult } from "../common/health";
import { blockHeight, encTxHash, rollupId as rollupIdOf } from "../crypto/encryption";
import { veilError } from "../rpc/errors";
import { txValidityPublicSignals } from "../zk/prover";
import type { MicroBatcher } from "../zk/micro-batcher";
import type { ChainView, RollupInfo } from "./chain-view";
import { openEnvelope, sealEnvelope, type Envelope } from "./cluster/envelope";
import { entryBytesBound } from "./cluster/message-size";
import type { Peers } from "./cluster/peers";
import type { Entry } from "./entry";
import { EntryChecks } from "./host/entry-checks";
import { HeightHost, ReplicaRefusal, realClock, type Packet, type Receipt } from "./host/height-host";
import { ReplicaSigner } from "./host/signatures";
import { HeightWire } from "./host/wire";
import type { OrderingMetrics } from "./ordering-metrics";
import { LeaderProgress, PeerHeights, SEALED_MESSAGE_TYPES } from "./readiness";
import { RoundKeyUnavailable, type RoundKeys } from "./round-keys";
import type { InboxCut } from "./inbox-cut";
import type { NodeStore } from "./storage/store";

export interface OrderingOptions {
  readonly wallet: Wallet;
  readonly domain: VeilDomain;
  readonly chain: ChainView;
  readonly store: NodeStore;
  readonly peers: Peers;
  readonly roundKeys: RoundKeys;
  readonly verifier: Pick<MicroBatcher, "verify">;
  readonly metrics: OrderingMetrics;
  readonly log: Logger;
  /** Heights accepted beyond the lowest unsealed one. */
  readonly lookahead: number;
  /** Share of replicated encrypted entries a follower checks completely (leaf recomputed, proof verified). */
  readonly followerProofSampleRate: number;
  /** Share of the sender's own replicated entries whose signature a follower recovers, in [0, 1]. */
  readonly followerSignatureSampleRate: number;
  /** The bytes of entries a height's log may hold (logBytesBudget of `rpc.clusterMaxBodyBytes`). */
  readonly maxLogBytes: number;
  readonly heartbeatIntervalMs: number;
  readonly leaderTimeoutMs: number;
  /**
   * How long a client waits for its transaction to reach a majority before it is told it is unavailable
   * (it may still be ordered later: its leaf is in the leader's log).
   */
  readonly commitTimeoutMs: number;
  /** How many packets may wait for one peer before new ones are dropped (the replica resends what matters). */
  readonly maxQueuedPerPeer?: number;
  /** Readiness: how many heights this node's highest sealed one may be behind what members vouch for. */
  readonly maxLagHeights?: number;
  /** The forced-inclusion cut of this node's seals and the cuts it signs (inbox-cut.ts). */
  readonly inbox?: InboxCut;
  /**
   * The most sealed entries of a height: the Merkle tree's leaves less the room kept for the inbox's
   * forced entries (every member must use the same value). Default: all the leaves.
   */
  readonly maxEntries?: number;
}

/** Readiness: a leader whose requests of a height wait this many leader timeouts, none answered, stalls. */
export const STALL_LEADER_TIMEOUTS = 2;

/** Forwarding of external writes between members stops after this many hops. */
export const MAX_FORWARD_HOPS = 2;

/** The most entries a height may hold (the Merkle tree's leaves). */
const MAX_ENTRIES = new IncrementalMerkleTree().maxLeaves;

export function heightNumber(height: bigint): number {
  if (height > BigInt(Number.MAX_SAFE_INTEGER)) throw veilError.wrongHeight(Number.MAX_SAFE_INTEGER, "beyond 2^53");
  return Number(height);
}

/** The payload of `cluster_replica`: a member's messages of one height. */
const packetSchema = z.strictObject({
  rollupId: z.string().regex(/^[0-9]{1,20}$/),
  height: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  epoch: z.number().int().min(0).max(0xffff_ffff),
  messages: z.array(z.unknown()).min(1).max(64),
});

export class Ordering {
  readonly address: string;
  private readonly signer: ReplicaSigner;
  private readonly host: HeightHost;
  private readonly openHeights = new Map<bigint, Promise<number>>();
  /** Leaves admitted but not yet answered: a duplicate in flight is refused at once. */
  private readonly inFlight = new Set<string>();
  private readonly outbound = new Map<string, { queue: Promise<void>; size: number }>();
  /** What readiness looks at: requests this node waits on as leader, and the heights members sealed. */
  private readonly progress = new LeaderProgress(() => performance.now());
  private readonly peerHeights = new PeerHeights();

  constructor(private readonly o: OrderingOptions) {
    this.address = o.wallet.address;
    this.signer = new ReplicaSigner(o.wallet.signingKey, o.domain);
    const checks = new EntryChecks({
      roundKeys: o.roundKeys,
      verifier: o.verifier,
      rollup: (id) => o.chain.rollup(id),
      proofSampleRate: o.followerProofSampleRate,
      random: Math.random,
      onProof: (valid) => o.metrics.proofs.inc({ role: "follower", verdict: valid ? "valid" : "invalid" }),
    });
    this.host = new HeightHost({
      signer: this.signer,
      store: o.store,
      transport: { send: (to, packet) => this.send(to, packet) },
      membersAt: (epoch) => (o.chain.knows(epoch) ? o.chain.membersAt(epoch).map((m) => getAddress(m)) : undefined),
      currentEpoch: () => o.chain.epoch,
      sealEpochOf: (epoch) => o.chain.latestSameMembers(epoch),
      timing: { heartbeatIntervalMs: o.heartbeatIntervalMs, leaderTimeoutMs: o.leaderTimeoutMs },
      maxEntries: o.maxEntries ?? MAX_ENTRIES,
      maxLogBytes: o.maxLogBytes,
      signatureSampleRate: o.followerSignatureSampleRate,
      clock: realClock,
      random: Math.random,
      log: o.log,
      check: (rollupId, height, message) => checks.check(rollupId, height, message),
      onSealStored: (rollupId, height) => void this.advanceOpenHeight(rollupId, height),
      inbox: o.inbox,
      onFetchBlock: (rollupId, height, from) => this.fetchBlock(rollupId, height, from),
      onViewChange: (rollupId, height, view, normalView) => {
        o.metrics.viewChanges.inc();
        const fields = { rollupId: rollupId.toString(), height, view };
        if (view > normalView) o.log.info(fields, "view change: voted for a new view");
        else o.log.info(fields, "view change: normal in the view");
      },
    });
  }

  /**
   * Resumes the heights this node was working on before it stopped (their replicas recover first), then
   * catches up on the heights the cluster went through meanwhile: it asks its peers where each rollup it
   * serves stands, and has every height it missed ask a majority (a decided one answers with its
   * certificate, and the block is fetched). Start-up traffic only: reads never cause any.
   */
  async start(): Promise<void> {
    await this.host.resume(await this.o.store.unfinishedHeights());
    await this.o.peers.resolve();
    for (const rollupId of await this.o.store.rollupIds()) {
      const mine = await this.openHeight(rollupId);
      let theirs = mine;
      for (const peer of this.o.peers.all) {
        try {
          const answer = await peer.client.call("get_block_height", { rollupId: rollupId.toString() });
          const open = Number((answer as { openHeight?: unknown }).openHeight ?? 0);
          theirs = Math.max(theirs, open);
          // Readiness remembers the answer: the peer sealed every height below its open one.
          if (peer.address !== undefined && open > 0) this.peerHeights.report(rollupId, peer.address, open - 1);
        } catch {
          /* a peer down now: the others answer */
        }
      }
      for (let height = mine; height < Math.min(theirs, mine + 1_000); height++) {
        if ((await this.o.store.blockState(rollupId, height)).status !== "finalized") {
          await this.host.sync(rollupId, height);
        }
      }
    }
  }

  private blockFetcher: ((rollupId: bigint, height: number, from: string) => Promise<boolean>) | undefined;

  /** How a decided height's missing block is fetched (the block pipeline, which exists after this). */
  fetchBlocksWith(fetcher: (rollupId: bigint, height: number, from: string) => Promise<boolean>): void {
    this.blockFetcher = fetcher;
  }

  private fetchBlock(rollupId: bigint, height: number, from: string): void {
    // Stored, the block pipeline reports the height finalized, which tells the replica it is built. A failed
    // fetch is retried by the replica elsewhere after a timeout.
    this.blockFetcher?.(rollupId, height, from).catch((error: unknown) =>
      this.o.log.warn({ err: error, height, from }, "could not fetch a missed block"),
    );
  }

  // ---- heights ----------------------------------------------------------------------------------------

  /** The lowest unsealed height of a rollup (heights start at 0). */
  openHeight(rollupId: bigint): Promise<number> {
    let h = this.openHeights.get(rollupId);
    if (h === undefined) {
      h = this.o.store.highestSealedHeight(rollupId).then((s) => (s === undefined ? 0 : s + 1));
      this.openHeights.set(rollupId, h);
    }
    return h;
  }

  private async advanceOpenHeight(rollupId: bigint, sealedHeight: number): Promise<void> {
    const current = await this.openHeight(rollupId);
    if (sealedHeight + 1 > current) this.openHeights.set(rollupId, Promise.resolve(sealedHeight + 1));
  }

  /** Fails unless `height` is open for new transactions: not sealed, not beyond the look-ahead. */
  async assertWritable(rollupId: bigint, height: number): Promise<void> {
    const open = await this.openHeight(rollupId);
    if (height < open) throw veilError.heightSealed(height);
    if (height > open + this.o.lookahead) {
      throw veilError.wrongHeight(
        height,
        `the open height is ${open} and at most ${this.o.lookahead} ahead are accepted`,
      );
    }
  }

  /** The registry's leader of (height, view) among the members of `epoch` (the current one by default). */
  leaderOf(height: number, view: number, epoch = this.o.chain.epoch): string {
    return this.o.chain.leaderAt(epoch, height, view);
  }

  /** The view this node is in for a height: its live replica's, else the store's (a read loads nothing). */
  async viewOf(rollupId: bigint, height: number): Promise<number> {
    const live = await this.host.snapshot(rollupId, height);
    return live?.view ?? (await this.o.store.getViewState(rollupId, height)).view;
  }

  /** The view and last normal view of a height here: its live replica's, else the store's. */
  async viewStateOf(rollupId: bigint, height: number): Promise<{ view: number; normalView: number }> {
    const live = await this.host.snapshot(rollupId, height);
    if (live !== undefined) return { view: live.view, normalView: live.normalView };
    const { view, normalView } = await this.o.store.getViewState(rollupId, height);
    return { view, normalView };
  }

  /**
   * How many of a height's entries this node knows a majority holds, from its live replica (`committed`);
   * 0 when the height is not in memory. A read: loads nothing.
   */
  async committedCount(rollupId: bigint, height: number): Promise<number> {
    return (await this.host.snapshot(rollupId, height))?.committed ?? 0;
  }

  /** The epoch a height runs in: the one its entries name, else the current one. */
  async epochOfHeight(rollupId: bigint, height: number): Promise<number> {
    const live = await this.host.snapshot(rollupId, height);
    const first = live?.entries[0] ?? undefined;
    if (first !== undefined) return first.commitment.epoch;
    const stored = await this.o.store.getEntry(rollupId, height, 0);
    return stored?.orderCommitment.commitment.epoch ?? this.o.chain.epoch;
  }

  /**
   * A client could not reach the height's leader: this node watches the height (a view change may follow).
   * `downInView`: the leader of that view refused the connection: the view changes at once.
   */
  async suspectLeader(rollupId: bigint, height: number, downInView?: number): Promise<void> {
    await this.host.watch(rollupId, height, downInView);
  }

  /** A member's block of the height arrived with its checked certificate and is being stored: decided here. */
  blockArriving(rollupId: bigint, height: number, certificate: SealCertificate, from: string): void {
    void this.host
      .blockArriving(rollupId, height, certificate, getAddress(from))
      .catch((error: unknown) => this.o.log.warn({ err: error }, "block arriving"));
  }

  /** The height's block is built and stored here: its replica stops. */
  markFinalized(rollupId: bigint, height: number): void {
    void this.advanceOpenHeight(rollupId, height);
    void this.host.built(rollupId, height).catch((error: unknown) => this.o.log.warn({ err: error }, "built"));
  }

  // ---- admission --------------------------------------------------------------------------------------

  /** Orders an encrypted submission (the caller already checked rollup and height window). */
  async orderEncrypted(rollup: RollupInfo, s: EncryptedSubmission): Promise<OrderReceiptJson> {
    const height = heightNumber(s.tx.height);
    const leafBig = encTxHash({ ...s.tx, rollupId: rollupIdOf(s.tx.rollupId), height: blockHeight(s.tx.height) });
    return this.admit(rollup.rollupId, height, toBytes32(leafBig), async () => {
      let key;
      try {
        key = await this.o.roundKeys.get(rollup, s.tx.height);
      } catch (e) {
        if (e instanceof RoundKeyUnavailable) throw veilError.wrongHeight(height, e.message);
        throw e;
      }
      const signals = txValidityPublicSignals({
        encTxHash: leafBig,
        txCommitment: s.txCommitment,
        roundKey: key.publicKey,
      });
      const ok = await this.o.verifier.verify(s.proof, signals);
      this.o.metrics.proofs.inc({ role: "leader", verdict: ok ? "valid" : "invalid" });
      if (!ok) {
        throw veilError.invalidProof(
          `the proof does not verify for this ciphertext, its txCommitment and the round key of height ${height}`,
        );
      }
      return { kind: "encrypted", submission: encryptedSubmissionToJson(s) };
    });
  }

  async orderRaw(rollupId: bigint, height: number, rawTx: string): Promise<OrderReceiptJson> {
    return this.admit(rollupId, height, rawTxHash(rawTx), () => Promise.resolve({ kind: "raw" as const, rawTx }));
  }

  private async admit(
    rollupId: bigint,
    height: number,
    leaf: string,
    check: () => Promise<OrderedTransactionJson>,
  ): Promise<OrderReceiptJson> {
    const dedup = `${rollupId}:${leaf}`;
    if (this.inFlight.has(dedup)) throw veilError.duplicateCiphertext(leaf);
    this.inFlight.add(dedup);
    try {
      if ((await this.o.store.findCiphertext(rollupId, leaf)) !== undefined) throw veilError.duplicateCiphertext(leaf);
      const tx = await check();
      const startedAt = performance.now();
      this.o.metrics.queueDepth.inc();
      let receipt: Receipt;
      try {
        const proposal = this.host.propose(rollupId, height, { leaf, tx, bytes: entryBytesBound(tx) });
        this.progress.track(rollupId, height, proposal);
        receipt = await withTimeout(proposal, this.o.commitTimeoutMs, () =>
          veilError.unavailable(
            `transaction ${leaf} was not stored by a majority within ${this.o.commitTimeoutMs} ms (it may still be ordered)`,
          ),
        );
      } catch (error) {
        throw this.asRpcError(error, height);
      } finally {
        this.o.metrics.queueDepth.dec();
      }
      this.o.metrics.commitSeconds.observe((performance.now() - startedAt) / 1000);
      return this.receiptJson(rollupId, height, receipt);
    } finally {
      this.inFlight.delete(dedup);
    }
  }

  /** A receipt as the leader answers it: above view 0 with the certificate of its view. */
  private receiptJson(rollupId: bigint, height: number, r: Receipt): OrderReceiptJson {
    const wire = new HeightWire(rollupId, height, this.signer);
    const receipt = wire.entryToJson(r.receipt).orderCommitment;
    return r.viewCertificate === undefined
      ? receipt
      : { ...receipt, viewCertificate: wire.viewCertificateToJson(r.viewCertificate) };
  }

  private asRpcError(error: unknown, height: number): unknown {
    if (!(error instanceof ReplicaRefusal)) return error;
    const { code, message, leader } = error.error;
    switch (code) {
      case "not-leader":
        return veilError.notLeader(leader);
      case "sealed":
        return veilError.heightSealed(height);
      case "full":
        return veilError.wrongHeight(height, message);
      default:
        return veilError.unavailable(message);
    }
  }

  // ---- sealing ----------------------------------------------------------------------------------------

  /**
   * Seals `height` at its current log (this node must lead it) and returns the seal's certificate in this
   * node's view. Heights are sealed in order.
   */
  async seal(rollupId: bigint, height: number): Promise<SealCertificate> {
    // A built height keeps the certificate it was built under.
    if ((await this.o.store.blockState(rollupId, height)).status === "finalized") {
      const stored = await this.o.store.getCertificate(rollupId, height);
      if (stored !== undefined) return parseSealCertificate(stored);
    }
    await this.learnEarlierSeals(rollupId, height);
    const open = await this.openHeight(rollupId);
    if (height > open) throw veilError.outOfOrder(`heights are sealed in order; the open height is ${open}`);
    let certified;
    const started = performance.now();
    try {
      const request = this.host.seal(rollupId, height);
      this.progress.track(rollupId, height, request);
      certified = await withTimeout(request, this.o.commitTimeoutMs, () =>
        veilError.unavailable(
          `the seal of height ${height} was not certified by a majority within ${this.o.commitTimeoutMs} ms`,
        ),
      );
    } catch (error) {
      throw this.asRpcError(error, height);
    }
    this.o.metrics.certificateSeconds.observe((performance.now() - started) / 1000);
    await this.advanceOpenHeight(rollupId, height);
    return new HeightWire(rollupId, height, this.signer).sealCertificateToChain(certified);
  }

  /**
   * Before it seals `height`, a node that missed the sealing of earlier heights (it was down) asks the others
   * where they stand, and waits a leader timeout at most for their seals: heights are sealed in order.
   */
  private async learnEarlierSeals(rollupId: bigint, height: number): Promise<void> {
    const open = await this.openHeight(rollupId);
    if (height <= open) return;
    const missing: number[] = [];
    for (let h = open; h < height; h++) if ((await this.o.store.getSeal(rollupId, h)) === undefined) missing.push(h);
    await Promise.all(missing.map((h) => this.host.sync(rollupId, h)));
    // A decided height is as good as sealed here: its certificate fixes the log (its block is fetched).
    const settled = async (h: number): Promise<boolean> =>
      (await this.o.store.getSeal(rollupId, h)) !== undefined ||
      (await this.o.store.getCertificate(rollupId, h)) !== undefined;
    const until = performance.now() + 2 * this.o.leaderTimeoutMs;
    for (const h of missing) {
      while (!(await settled(h)) && performance.now() < until) await new Promise((r) => setTimeout(r, 25));
      if (await settled(h)) await this.advanceOpenHeight(rollupId, h);
    }
  }

  // ---- the cluster ------------------------------------------------------------------------------------

  /** `cluster_replica`: a member's signed messages of one height. Answers at once; the replica acts on them. */
  async onPacket(envelope: Envelope): Promise<{ accepted: number }> {
    const packet = openEnvelope(envelope, {
      domain: this.o.domain,
      clusterId: this.o.chain.clusterId,
      kind: ClusterMessageKind.Replica,
      isMember: (a) => this.o.chain.isMember(a) && getAddress(a) !== this.address,
      schema: packetSchema,
    });
    const rollupId = BigInt(packet.rollupId);
    if ((await this.o.chain.rollup(rollupId)) === undefined) throw veilError.unknownRollup(packet.rollupId);
    // Readiness: a member that sends a seal, its vote or a decision has sealed the height (even one too far
    // ahead to take here: that is how a lagging node learns it lags).
    if (packet.messages.some((m) => SEALED_MESSAGE_TYPES.has(String((m as { type?: unknown } | null)?.type)))) {
      this.peerHeights.report(rollupId, getAddress(envelope.message.sender), packet.height);
    }
    const open = await this.openHeight(rollupId);
    // A member speaks of heights the cluster may run: not far beyond the look-ahead.
    if (packet.height > open + this.o.lookahead + 1) {
      throw veilError.wrongHeight(packet.height, `beyond the look-ahead of the open height ${open}`);
    }
    for (const m of packet.messages) this.countMessage(m, "in");
    void this.host
      .receive(getAddress(envelope.message.sender), packet as Packet, BigInt)
      .catch((error: unknown) => this.o.log.debug({ err: error }, "replica packet not taken"));
    return { accepted: packet.messages.length };
  }

  private countMessage(message: unknown, direction: "in" | "out"): void {
    const type = (message as { type?: unknown } | null)?.type;
    this.o.metrics.replicaMessages.inc({ type: typeof type === "string" ? type.slice(0, 32) : "?", direction });
  }

  private send(to: string, packet: Packet): void {
    for (const m of packet.messages) this.countMessage(m, "out");
    const max = this.o.maxQueuedPerPeer ?? 256;
    let lane = this.outbound.get(to);
    if (lane === undefined) this.outbound.set(to, (lane = { queue: Promise.resolve(), size: 0 }));
    if (lane.size >= max) return; // a peer that does not keep up: what matters is sent again
    lane.size += 1;
    const current = lane;
    current.queue = current.queue
      .then(async () => {
        const peer = await this.o.peers.byAddress(to);
        if (peer === undefined) return;
        const envelope = await sealEnvelope(
          this.o.wallet,
          this.o.domain,
          this.o.chain.clusterId,
          0,
          ClusterMessageKind.Replica,
          packet,
        );
        await peer.cluster.call("cluster_replica", envelope);
      })
      .catch((error: unknown) => this.o.log.debug({ err: error, to }, "replica packet not delivered"))
      .finally(() => (current.size -= 1));
  }

  // ---- reads (from the store only) ------------------------------------------------------------------------

  async entry(rollupId: bigint, height: number, index: number): Promise<Entry> {
    const e = await this.o.store.getEntry(rollupId, height, index);
    if (e === undefined) throw veilError.notFound(`entry ${index} of height ${height}`);
    return e;
  }

  async block(
    rollupId: bigint,
    height: number,
  ): Promise<{
    status: "open" | "sealed" | "finalized";
    count: number;
    root: string;
    seal: SealResultJson | undefined;
  }> {
    const [state, seal, entries] = await Promise.all([
      this.o.store.blockState(rollupId, height),
      this.o.store.getSeal(rollupId, height),
      this.o.store.getEntries(rollupId, height),
    ]);
    const tree = new IncrementalMerkleTree();
    for (const e of entries) tree.append(e.encTxHash);
    return { status: state.status, count: entries.length, root: tree.root, seal: seal?.seal };
  }

  /** The POST proof of an entry: its path in the sealed tree. */
  async postProof(
    rollupId: bigint,
    height: number,
    index: number,
  ): Promise<{ leafHash: string; root: string; proof: string[] }> {
    const seal = await this.o.store.getSeal(rollupId, height);
    if (seal === undefined) throw veilError.notFound(`a POST proof of height ${height} (the height is not sealed yet)`);
    const entries = await this.o.store.getEntries(rollupId, height, { to: seal.txCount });
    if (index >= entries.length) throw veilError.notFound(`entry ${index} of height ${height}`);
    const tree = new IncrementalMerkleTree();
    for (const e of entries) tree.append(e.encTxHash);
    return { leafHash: tree.leafHash(index), root: tree.root, proof: tree.proof(index) };
  }

  // ---- readiness and gauges (memory and store reads: a probe or a scrape causes no traffic) --------------

  /**
   * Readiness: fails while a height this node still leads (and has not sealed) has requests that waited
   * STALL_LEADER_TIMEOUTS leader timeouts with nothing answered since.
   */
  async progressCheck(): Promise<CheckResult> {
    const bound = STALL_LEADER_TIMEOUTS * this.o.leaderTimeoutMs;
    for (const s of this.progress.stalled(bound)) {
      if (s.height < (await this.openHeight(s.rollupId))) continue;
      if ((await this.host.snapshot(s.rollupId, s.height))?.leading !== true) continue;
      return {
        ok: false,
        detail: `leads height ${s.height} of rollup ${s.rollupId}: requests waited ${Math.round(s.forMs)} ms with none committed (bound ${bound} ms)`,
      };
    }
    return { ok: true };
  }

  /**
   * Readiness: fails while this node's highest sealed height of a rollup is more than `maxLagHeights` behind
   * the highest one enough other members said they sealed (one more than may lie, so an honest one did).
   */
  async lagCheck(): Promise<CheckResult> {
    const max = this.o.maxLagHeights ?? 4;
    const all = this.o.chain.memberList;
    const others = all.filter((m) => m !== this.address);
    const vouchers = all.length - majorityOf(all.length) + 1;
    for (const rollupId of this.peerHeights.rollups()) {
      const theirs = this.peerHeights.vouched(rollupId, others, vouchers);
      if (theirs === undefined) continue;
      const mine = (await this.openHeight(rollupId)) - 1;
      if (theirs - mine > max) {
        return {
          ok: false,
          detail: `rollup ${rollupId}: sealed up to height ${mine} here, members sealed ${theirs} (more than ${max} behind)`,
        };
      }
    }
    return { ok: true };
  }

  /** The view of a height here and whether this node leads it there (the leader a write is routed to). */
  async viewAndLeading(rollupId: bigint, height: number): Promise<{ view: number; leading: boolean }> {
    const view = await this.viewOf(rollupId, height);
    try {
      return {
        view,
        leading: this.leaderOf(height, view, await this.epochOfHeight(rollupId, height)) === this.address,
      };
    } catch {
      return { view, leading: false }; // the height's epoch is not known here
    }
  }

  /** The rollups whose open height this node has looked up (the gauges' rollups). */
  rollups(): bigint[] {
    return [...this.openHeights.keys()];
  }

  /** How many heights have a replica in memory here. */
  get liveHeights(): number {
    return this.host.liveHeights;
  }

  async close(): Promise<void> {
    await this.host.close();
  }
}

/** `promise`, or the error `onTimeout` makes once `ms` passed (the promise itself goes on). */
function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
