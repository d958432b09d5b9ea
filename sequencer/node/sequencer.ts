/**
 * Ordering and replication (docs/ordering.md). Every (rollupId, height) is its own log with its own
 * view; its leader is `leaderOf(cluster, height, view)`. The leader admits a transaction, appends it
 * to the height's Merkle tree in a group commit (all pending at once), signs each OrderCommitment,
 * writes the batch in one synced write, replicates it in one signed ClusterMessage and answers the
 * callers only after a majority (itself included) stored it durably. Followers check everything they
 * are sent against their own copy before they store and acknowledge it.
 */
import type { Wallet } from "ethers";
import { getAddress } from "ethers";
import type { Logger } from "pino";
import { z } from "zod";
import {
  encryptedSubmissionToJson,
  type EncryptedSubmission,
  type OrderReceiptJson,
  type OrderedTransactionJson,
} from "../api/wire";
import { ClusterMessageKind, parseMessage, type OrderCommitment, type Seal, type VeilDomain } from "../chain/eip712";
import {
  CertificateError,
  assembleCertificate,
  assembleViewCertificate,
  parseSealCertificate,
  parseViewCertificate,
  sealCertificateToJson,
  sealResultSchema,
  sealResultToJson,
  verifyViewCertificate,
  viewCertificateToJson,
  type SealCertificate,
  type SealResultJson,
  type ViewCertificate,
} from "../chain/certificate";
import { IncrementalMerkleTree, toBytes32 } from "../chain/merkle";
import { blockHeight, encTxHash, rollupId as rollupIdOf, type EncryptedTransaction } from "../crypto/encryption";
import { rawTxHash } from "../block/leaf-data";
import { RpcCallError } from "../rpc/client";
import { RpcError, veilError } from "../rpc/errors";
import { txValidityPublicSignals } from "../zk/prover";
import type { MicroBatcher } from "../zk/micro-batcher";
import type { ChainView, RollupInfo } from "./chain-view";
import { openEnvelope, sealEnvelope, type ClusterKind, type Envelope, type EnvelopeJson } from "./cluster/envelope";
import {
  ENVELOPE_SHAPE,
  ackPayload,
  doViewChangePayload,
  heartbeatPayload,
  logReportPayload,
  logRequestPayload,
  replicatePayload,
  sealPayload,
  startViewChangePayload,
  startViewPayload,
  type CheckedLog,
  type LogReport,
} from "./cluster/messages";
import { entrySchema, type Entry } from "./entry";
import { entryBytes, entryBytesBound } from "./cluster/message-size";
import type { Peer, Peers } from "./cluster/peers";
import { OrderCommitmentHasher, SealHasher, ViewChangeHasher } from "./order-signing";
import type { OrderingMetrics } from "./ordering-metrics";
import { RoundKeyUnavailable, type RoundKeys } from "./round-keys";
import { sealRecordOf, type NodeStore } from "./storage/store";
import { leaderTimeoutMs, rankLogs } from "../replica/view-change";

export interface SequencerOptions {
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
  /**
   * Share of replicated encrypted entries a follower checks completely, in [0, 1]: leaf recomputed from
   * the ciphertext, proof re-verified. The others keep the leaf their leader signed.
   */
  readonly followerProofSampleRate: number;
  /**
   * Share of replicated entries, signed by the leader that sent them, whose OrderCommitment signature
   * a follower recovers on the append path, in [0, 1] (the envelope's signature covers them all).
   */
  readonly followerSignatureSampleRate: number;
  /**
   * The bytes of entries (as JSON) a height's log may hold, so that a view change or state transfer
   * can carry the whole log in one cluster message (logBytesBudget of `rpc.clusterMaxBodyBytes`).
   */
  readonly maxLogBytes: number;
}

/** Failover timing: how often a leader heartbeats an open height, and how long followers wait. */
export interface FailoverOptions {
  readonly heartbeatIntervalMs: number;
  /** Silence after which a follower starts a view change (randomised up to +50%). */
  readonly leaderTimeoutMs: number;
}

interface Pending {
  readonly leaf: string;
  readonly tx: OrderedTransactionJson;
  readonly startedAt: number;
  readonly resolve: (r: OrderReceiptJson) => void;
  readonly reject: (e: unknown) => void;
}

/** One height's replicated log as this node holds it. */
interface HeightLog {
  readonly rollupId: bigint;
  readonly height: number;
  tree: IncrementalMerkleTree;
  /** The entries' bytes as they travel in a cluster message (see cluster/message-size.ts). */
  logBytes: number;
  status: "open" | "sealing" | "sealed" | "finalized";
  /** The view this node is in for the height (persisted before it acts in it). */
  view: number;
  /**
   * The membership epoch whose members run the height (its leader schedule and majorities). Pinned by the
   * first act in it: the leader's first entry, a leader's message a follower accepts, a view change; until
   * then it follows the current epoch. Entries carry it; view changes persist it.
   */
  epoch: number;
  epochPinned: boolean;
  /** The last view in which this node operated normally; below `view` while a view change runs. */
  normalView: number;
  /** Whether this node watches the height's leader (it heard from a leader or a view change). */
  watched: boolean;
  /**
   * A member built this height's block (state transfer said so): its sealed log is decided, so the height
   * needs no leader, no heartbeats and no view changes here, although this node does not hold the block.
   */
  builtElsewhere: boolean;
  /** When (performance.now()) the leader counts as silent. */
  deadline: number;
  /**
   * The ViewChange votes per view (signer to signature, each checked), from StartViewChange and
   * DoViewChange, and the checked logs of DoViewChange per view (new leader only).
   */
  readonly votes: Map<number, Map<string, string>>;
  readonly dvcs: Map<number, Map<string, CheckedLog>>;
  /** The highest view this node sent its DoViewChange for / finished as the new leader. */
  dvcSentFor: number;
  finishing: number;
  heartbeating: boolean;
  /**
   * When (performance.now()) every follower last acknowledged a batch of this height: it heard from
   * the leader then, so a heartbeat within the next interval would say nothing new.
   */
  allAckedAt: number;
  seal: SealResultJson | undefined;
  /** The certificate of the latest view above 0 this node installed with one (a majority's ViewChange votes). */
  viewCertificate: ViewCertificate | undefined;
  /** The height's seal certificate in the latest view this node gathered or learnt one for. */
  certificate: SealCertificate | undefined;
  /** Indices at which this node signed an entry its log no longer holds (ascending): it signs none there again. */
  signedDropped: number[];
  queue: Pending[];
  draining: Promise<void> | undefined;
  /** Serialises follower-side writes to this log. */
  lock: Promise<unknown>;
}

/** Forwarding of external writes between members stops after this many hops. */
export const MAX_FORWARD_HOPS = 2;

/** A wire-parsed transaction with the branded id types of the crypto library. */
const typedTx = (tx: EncryptedSubmission["tx"]): EncryptedTransaction => ({
  ...tx,
  rollupId: rollupIdOf(tx.rollupId),
  height: blockHeight(tx.height),
});

const logKey = (rollupId: bigint, height: number): string => `${rollupId}:${height}`;
/** How often one height's seal may be looked up at the peers on demand (`learnSeal`). */
const SEAL_LOOKUP_INTERVAL_MS = 1_000;

export function heightNumber(height: bigint): number {
  if (height > BigInt(Number.MAX_SAFE_INTEGER)) throw veilError.wrongHeight(Number.MAX_SAFE_INTEGER, "beyond 2^53");
  return Number(height);
}

/** Runs a zod parse of a member's message; a malformed one is the sender's error (INVALID_PARAMS), not ours. */
function asInvalidParams<T>(what: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof z.ZodError) {
      throw new RpcError("INVALID_PARAMS", `${what} is malformed: ${error.issues[0]?.message ?? "invalid"}`);
    }
    throw error;
  }
}

export class Sequencer {
  private readonly logs = new Map<string, Promise<HeightLog>>();
  private readonly openHeights = new Map<bigint, Promise<number>>();
  /** Leaves admitted but not yet in the store: duplicates in flight are refused at once. */
  private readonly inFlight = new Set<string>();
  /** Logs in memory, for the failover timer. */
  private readonly loaded = new Map<string, HeightLog>();
  /** On-demand seal lookups (`learnSeal`): the one in flight per height, and when each height was last asked. */
  private readonly sealLookups = new Map<string, Promise<void>>();
  private readonly sealLookedUpAt = new Map<string, number>();
  private failover: FailoverOptions = { heartbeatIntervalMs: 500, leaderTimeoutMs: 3_000 };
  readonly address: string;
  private readonly orderHasher: OrderCommitmentHasher;
  private readonly sealHasher: SealHasher;
  private readonly viewHasher: ViewChangeHasher;

  constructor(private readonly o: SequencerOptions) {
    this.address = o.wallet.address;
    this.orderHasher = new OrderCommitmentHasher(o.domain);
    this.sealHasher = new SealHasher(o.domain);
    this.viewHasher = new ViewChangeHasher(o.domain);
  }

  // ---- heights -------------------------------------------------------------------------------------

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

  /** The epoch a height runs in: its pinned one, or the current one while nothing pinned it. */
  private epochOf(log: HeightLog): number {
    return log.epochPinned ? log.epoch : this.o.chain.epoch;
  }

  /** The leader of `view` of this height, in the height's epoch. */
  private leaderIn(log: HeightLog, view = log.view): string {
    return this.o.chain.leaderAt(this.epochOf(log), log.height, view);
  }

  /** Votes needed for a majority of the height's members. */
  private majorityIn(log: HeightLog): number {
    return this.o.chain.majorityAt(this.epochOf(log));
  }

  /**
   * Pins the height's epoch to the one a member's message names, or checks it against the pinned one. An
   * epoch this node does not know (too old, or not final) is refused: its members cannot be checked.
   */
  private pinEpoch(log: HeightLog, epoch: number): void {
    if (log.epochPinned) {
      if (epoch !== log.epoch) {
        throw veilError.unauthorized(`height ${log.height} runs in epoch ${log.epoch}, not ${epoch}`);
      }
      return;
    }
    if (!this.o.chain.knows(epoch)) throw veilError.unauthorized(`the members of epoch ${epoch} are not known here`);
    log.epoch = epoch;
    log.epochPinned = true;
  }

  async viewOf(rollupId: bigint, height: number): Promise<number> {
    return (await this.logOf(rollupId, height)).view;
  }

  /** The height's view and the last view it operated normally in (equal when no view change runs). */
  async viewStateOf(rollupId: bigint, height: number): Promise<{ view: number; normalView: number }> {
    const log = await this.logOf(rollupId, height);
    return { view: log.view, normalView: log.normalView };
  }

  async isLeader(rollupId: bigint, height: number): Promise<boolean> {
    return this.leaderIn(await this.logOf(rollupId, height)) === this.address;
  }

  /** The epoch a height runs in (its pinned one, or the current one while nothing pinned it). */
  async epochOfHeight(rollupId: bigint, height: number): Promise<number> {
    return this.epochOf(await this.logOf(rollupId, height));
  }

  /** The height's log, loaded from the store once and then kept in memory. */
  logOf(rollupId: bigint, height: number): Promise<HeightLog> {
    const k = logKey(rollupId, height);
    let log = this.logs.get(k);
    if (log === undefined) {
      log = this.loadLog(rollupId, height);
      this.logs.set(k, log);
      log.then(
        (l) => this.loaded.set(k, l),
        () => this.logs.delete(k),
      );
    }
    return log;
  }

  private async loadLog(rollupId: bigint, height: number): Promise<HeightLog> {
    const [state, entries, sealRecord, viewState, certificate, signedDropped, viewCertificate] = await Promise.all([
      this.o.store.blockState(rollupId, height),
      this.o.store.getEntries(rollupId, height),
      this.o.store.getSeal(rollupId, height),
      this.o.store.getViewState(rollupId, height),
      this.o.store.getCertificate(rollupId, height),
      this.o.store.signedDroppedIndices(rollupId, height),
      this.o.store.getViewCertificate(rollupId, height),
    ]);
    const tree = new IncrementalMerkleTree();
    for (const e of entries) tree.append(e.encTxHash);
    // The pinned epoch: recorded by a view change, else named by the entries or the seal.
    const firstEntry = entries[0];
    const epoch = viewState.epoch ?? firstEntry?.orderCommitment.commitment.epoch ?? sealRecord?.seal.seal.epoch;
    return {
      rollupId,
      height,
      epoch: epoch ?? this.o.chain.epoch,
      epochPinned: epoch !== undefined,
      tree,
      logBytes: entries.reduce((sum, e) => sum + entryBytes(e), 0),
      status: state.status,
      view: viewState.view,
      normalView: viewState.normalView,
      // A height left in a view change keeps being watched: the change must finish or move on.
      watched: viewState.view > viewState.normalView,
      builtElsewhere: false,
      deadline: performance.now() + this.leaderTimeout(viewState),
      votes: new Map(),
      dvcs: new Map(),
      dvcSentFor: -1,
      finishing: -1,
      heartbeating: false,
      allAckedAt: Number.NEGATIVE_INFINITY,
      seal: sealRecord?.seal,
      certificate: certificate === undefined ? undefined : parseSealCertificate(certificate),
      viewCertificate: viewCertificate === undefined ? undefined : parseViewCertificate(viewCertificate),
      signedDropped,
      queue: [],
      draining: undefined,
      lock: Promise.resolve(),
    };
  }

  /** Drops the in-memory copy so the next use reloads it from the store (after a failed write). */
  private forget(log: HeightLog): void {
    this.logs.delete(logKey(log.rollupId, log.height));
    this.loaded.delete(logKey(log.rollupId, log.height));
  }

  /** Runs `fn` after every earlier locked step of this log (follower writes, leader appends, installs). */
  private locked<T>(log: HeightLog, fn: () => Promise<T>): Promise<T> {
    const run = log.lock.then(fn);
    log.lock = run.catch(() => undefined);
    return run;
  }

  // ---- leader: admission ---------------------------------------------------------------------------

  /** Orders an encrypted submission (the caller already checked rollup and height window). */
  async orderEncrypted(rollup: RollupInfo, s: EncryptedSubmission): Promise<OrderReceiptJson> {
    const height = heightNumber(s.tx.height);
    const leafBig = encTxHash(typedTx(s.tx));
    const leaf = toBytes32(leafBig);
    return this.admit(rollup.rollupId, height, leaf, async () => {
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
      const log = await this.logOf(rollupId, height);
      if (log.status !== "open") throw veilError.heightSealed(height);
      if (this.leaderIn(log) !== this.address) throw veilError.notLeader(this.leaderIn(log));
      if (log.normalView !== log.view) throw veilError.unavailable(`height ${height} is changing to view ${log.view}`);
      const startedAt = performance.now();
      const receipt = await new Promise<OrderReceiptJson>((resolve, reject) => {
        log.queue.push({ leaf, tx, startedAt, resolve, reject });
        this.o.metrics.queueDepth.inc();
        this.kick(log);
      });
      this.o.metrics.commitSeconds.observe((performance.now() - startedAt) / 1000);
      return receipt;
    } finally {
      this.inFlight.delete(dedup);
    }
  }

  private kick(log: HeightLog): void {
    if (log.draining !== undefined) return;
    log.draining = this.drain(log).finally(() => {
      log.draining = undefined;
      if (log.queue.length > 0) this.kick(log);
    });
  }

  /** Group commit: everything pending becomes one batch, one synced write, one replication round. */
  private async drain(log: HeightLog): Promise<void> {
    while (log.queue.length > 0) {
      const batch = log.queue.splice(0);
      this.o.metrics.queueDepth.dec(batch.length);
      if (log.status !== "open") {
        for (const p of batch) p.reject(veilError.heightSealed(log.height));
        continue;
      }
      const room = log.tree.maxLeaves - log.tree.size;
      for (const p of batch.splice(Math.max(0, room))) p.reject(veilError.wrongHeight(log.height, "the block is full"));
      this.refuseSignedElsewhere(log, batch);
      this.refuseOverBudget(log, batch);
      if (batch.length === 0) continue;
      try {
        // Under the log's lock, so that a view change installed meanwhile is seen before anything is signed.
        const { firstIndex, entries, view } = await this.locked(log, async () => {
          if (log.status !== "open") throw veilError.heightSealed(log.height);
          if (this.leaderIn(log) !== this.address || log.normalView !== log.view) {
            throw veilError.unavailable(`this node no longer leads height ${log.height} (view ${log.view})`);
          }
          // The first entry pins the height's epoch: every commitment of the height names it.
          if (!log.epochPinned) this.pinEpoch(log, this.o.chain.epoch);
          const at = log.tree.size;
          const signed = this.signBatch(log, batch);
          try {
            await this.o.store.appendEntries(log.rollupId, log.height, at, signed);
          } catch (error) {
            this.forget(log);
            throw error;
          }
          log.logBytes += signed.reduce((sum, e) => sum + entryBytes(e), 0);
          return { firstIndex: at, entries: signed, view: log.view };
        });
        const acks = await this.replicate(log, firstIndex, entries, view);
        if (acks + 1 < this.majorityIn(log)) {
          const size = this.o.chain.membersAt(log.epoch).length;
          throw veilError.unavailable(
            `only ${acks + 1} of ${size} members stored the transaction (a majority is ${this.majorityIn(log)})`,
          );
        }
        batch.forEach((p, i) => p.resolve(this.withViewProof(log, entries[i]!.orderCommitment)));
      } catch (error) {
        this.o.log.warn({ err: error, height: log.height }, "batch not committed");
        for (const p of batch) p.reject(error);
      }
    }
  }

  /**
   * Removes from `batch` (and refuses) every transaction whose entry would make the log outgrow
   * `maxLogBytes`: a larger log could not be carried by a view change. Later, smaller ones may still fit.
   * Only this drain loop appends while the node leads a normal view, so the room counted here is still
   * there when it signs; an install in between comes with another view, and the check under the lock
   * then refuses the whole batch.
   */
  private refuseOverBudget(log: HeightLog, batch: Pending[]): void {
    let used = log.logBytes;
    const fits = batch.filter((p) => {
      const bound = entryBytesBound(p.tx);
      if (used + bound > this.o.maxLogBytes) {
        p.reject(
          veilError.wrongHeight(
            log.height,
            `the block is full (its log may hold ${this.o.maxLogBytes} bytes, ${used} are taken)`,
          ),
        );
        return false;
      }
      used += bound;
      return true;
    });
    batch.splice(0, batch.length, ...fits);
  }

  /**
   * Removes from `batch` (and refuses) what would reach an index at which this node already signed another
   * entry, in an earlier view, that a view change dropped: an honest member signs one leaf per index, ever,
   * so its order commitments can never be shown to conflict. The height still seals below that index.
   */
  private refuseSignedElsewhere(log: HeightLog, batch: Pending[]): void {
    const blocked = log.signedDropped.find((i) => i >= log.tree.size);
    if (blocked === undefined) return;
    for (const p of batch.splice(Math.max(0, blocked - log.tree.size))) {
      p.reject(
        veilError.wrongHeight(
          log.height,
          `the block is full for this leader: it signed another entry at index ${blocked} in an earlier view`,
        ),
      );
    }
  }

  /**
   * A receipt as the leader answers it: above view 0 with the certificate of its view, which a client needs
   * to believe that this leader leads (the registry's schedule alone names a leader for every view).
   */
  private withViewProof(log: HeightLog, receipt: OrderReceiptJson): OrderReceiptJson {
    const proof = log.viewCertificate;
    if (receipt.viewNumber === 0 || proof === undefined || proof.view.viewNumber !== receipt.viewNumber) return receipt;
    return { ...receipt, viewCertificate: viewCertificateToJson(proof) };
  }

  private signBatch(log: HeightLog, batch: readonly Pending[]): Entry[] {
    const appended = batch.map((p) => log.tree.append(p.leaf));
    const commitments: OrderCommitment[] = appended.map((a, i) => ({
      rollupId: log.rollupId,
      blockHeight: BigInt(log.height),
      txIndex: a.index,
      encTxHash: batch[i]!.leaf,
      preRoot: a.preRoot,
      viewNumber: log.view,
      epoch: log.epoch,
    }));
    const key = this.o.wallet.signingKey;
    const signatures = commitments.map((c) => this.orderHasher.sign(key, c));
    return commitments.map((c, i) => ({
      encTxHash: c.encTxHash,
      encryptedTx: batch[i]!.tx,
      orderCommitment: {
        commitment: { ...c, rollupId: c.rollupId.toString(), blockHeight: c.blockHeight.toString() },
        signature: signatures[i]!,
        leader: this.address,
        viewNumber: log.view,
        preProof: [...appended[i]!.preProof],
      },
    }));
  }

  // ---- leader: replication -------------------------------------------------------------------------

  /** Sends entries to every follower; resolves with the number of distinct members that acked. */
  private async replicate(
    log: HeightLog,
    firstIndex: number,
    entries: readonly Entry[],
    view: number,
  ): Promise<number> {
    const envelope = await this.replicateEnvelope(log, firstIndex, entries, view);
    const followers = this.o.peers.all;
    const epoch = log.epoch;
    const needed = this.majorityIn(log) - 1;
    if (needed <= 0) return 0;
    return new Promise<number>((resolve) => {
      const ackers = new Set<string>();
      let settled = 0;
      const everyone = (): void => {
        if (ackers.size === followers.length) log.allAckedAt = performance.now();
      };
      const done = (): void => {
        if (ackers.size >= needed || settled === followers.length) resolve(ackers.size);
      };
      for (const peer of followers) {
        this.sendReplicate(peer, log, envelope, firstIndex + entries.length)
          .then((acker) => {
            // Only the height's epoch's members count toward its majority.
            if (acker !== undefined && this.o.chain.isMemberAt(epoch, acker)) ackers.add(acker);
            everyone();
          })
          .catch((error: unknown) => this.o.log.debug({ err: error, peer: peer.url }, "replication failed"))
          .finally(() => {
            settled += 1;
            done();
          });
      }
      if (followers.length === 0) resolve(0);
    });
  }

  private replicateEnvelope(
    log: HeightLog,
    firstIndex: number,
    entries: readonly Entry[],
    view = log.view,
  ): Promise<EnvelopeJson> {
    return sealEnvelope(this.o.wallet, this.o.domain, this.o.chain.clusterId, view, ClusterMessageKind.Replicate, {
      rollupId: log.rollupId.toString(),
      height: log.height,
      view,
      epoch: log.epoch,
      firstIndex,
      entries,
    });
  }

  /** One follower: send, and if it lags behind, send it what it misses from the store, then retry. */
  private async sendReplicate(
    peer: Peer,
    log: HeightLog,
    envelope: EnvelopeJson,
    endIndex: number,
  ): Promise<string | undefined> {
    try {
      return this.checkAck(await peer.cluster.call("cluster_replicate", envelope), log, endIndex);
    } catch (error) {
      if (this.isBehindView(error)) {
        // The follower has not installed this view yet: send it the view's log, then the batch again.
        await this.sendStartView(peer, log);
        return this.checkAck(await peer.cluster.call("cluster_replicate", envelope), log, endIndex);
      }
      const behind = this.lagOf(error);
      if (behind === undefined) throw error;
      this.o.metrics.catchUps.inc();
      const missing = await this.o.store.getEntries(log.rollupId, log.height, {
        from: behind,
        to: endIndex,
      });
      const catchUp = await this.replicateEnvelope(log, behind, missing);
      return this.checkAck(await peer.cluster.call("cluster_replicate", catchUp), log, endIndex);
    }
  }

  /** Whether a peer refused a message because it has not installed the message's (newer) view yet. */
  private isBehindView(error: unknown): boolean {
    if (!(error instanceof RpcCallError) || error.errorName !== "STALE_VIEW") return false;
    const d = error.data as { got?: unknown; current?: unknown } | undefined;
    return typeof d?.got === "number" && typeof d.current === "number" && d.current < d.got;
  }

  /** Whether a peer refused a message because it is already in a later view (this node was deposed). */
  private isAheadView(error: unknown): boolean {
    if (!(error instanceof RpcCallError) || error.errorName !== "STALE_VIEW") return false;
    const d = error.data as { got?: unknown; current?: unknown } | undefined;
    return typeof d?.got === "number" && typeof d.current === "number" && d.current > d.got;
  }

  /** The follower's count when it refused an append because it lacks earlier entries. */
  private lagOf(error: unknown): number | undefined {
    if (!(error instanceof RpcCallError) || error.errorName !== "OUT_OF_ORDER") return undefined;
    const count = (error.data as { count?: unknown } | undefined)?.count;
    return typeof count === "number" && Number.isInteger(count) && count >= 0 ? count : undefined;
  }

  /** A signed Ack envelope of another member about this log, or undefined for anything else. */
  private openAck(answer: unknown, log: HeightLog): { sender: string; ack: z.output<typeof ackPayload> } | undefined {
    const parsed = z.object(ENVELOPE_SHAPE).safeParse(answer);
    if (!parsed.success) return undefined;
    try {
      const ack = openEnvelope(parsed.data as Envelope, {
        domain: this.o.domain,
        clusterId: this.o.chain.clusterId,
        kind: ClusterMessageKind.Ack,
        isMember: (a) => this.o.chain.isMember(a) && getAddress(a) !== this.address,
        schema: ackPayload,
      });
      if (ack.rollupId !== log.rollupId.toString() || ack.height !== log.height) return undefined;
      return { sender: getAddress(parsed.data.message.sender), ack };
    } catch {
      return undefined;
    }
  }

  /** An ack counts when it is a signed Ack envelope of a member (not us) that holds the whole prefix. */
  private checkAck(answer: unknown, log: HeightLog, endIndex: number): string | undefined {
    const opened = this.openAck(answer, log);
    return opened !== undefined && opened.ack.count >= endIndex ? opened.sender : undefined;
  }

  // ---- follower ------------------------------------------------------------------------------------

  /** Handles `cluster_replicate`: checks the envelope and every entry, stores them, signs an ack. */
  async onReplicate(envelope: Envelope): Promise<EnvelopeJson> {
    const payload = openEnvelope(envelope, {
      domain: this.o.domain,
      clusterId: this.o.chain.clusterId,
      kind: ClusterMessageKind.Replicate,
      isMember: (a) => this.o.chain.isMember(a),
      schema: replicatePayload,
    });
    const rollupId = BigInt(payload.rollupId);
    const { height, view, firstIndex, epoch } = payload;
    if (view !== envelope.message.viewNumber) throw veilError.unauthorized("payload view differs from the envelope's");
    if (!this.o.chain.knows(epoch)) throw veilError.unauthorized(`the members of epoch ${epoch} are not known here`);
    if (this.leaderOf(height, view, epoch) !== envelope.message.sender) {
      throw veilError.notLeader(this.leaderOf(height, view, epoch));
    }
    const rollup = await this.o.chain.rollup(rollupId);
    if (rollup === undefined) throw veilError.unknownRollup(payload.rollupId);
    const log = await this.logOf(rollupId, height);
    const count = await this.locked(log, () => {
      // Fencing: an older view is refused; a newer one must be installed (StartView) before its entries.
      if (view < log.view) throw veilError.staleView(view, log.view);
      if (view > log.normalView) throw veilError.staleView(view, log.normalView);
      this.pinEpoch(log, epoch);
      this.heardFromLeader(log);
      return this.appendReplicated(rollup, log, firstIndex, payload.entries, envelope.message.sender);
    });
    return sealEnvelope(this.o.wallet, this.o.domain, this.o.chain.clusterId, view, ClusterMessageKind.Ack, {
      rollupId: payload.rollupId,
      height,
      count,
    });
  }

  private async appendReplicated(
    rollup: RollupInfo,
    log: HeightLog,
    firstIndex: number,
    raw: readonly unknown[],
    envelopeSigner: string,
  ): Promise<number> {
    if (log.status !== "open") throw veilError.heightSealed(log.height);
    const have = log.tree.size;
    if (firstIndex > have) {
      throw new RpcError("OUT_OF_ORDER", `out of order: this node holds ${have} entries of height ${log.height}`, {
        count: have,
      });
    }
    const entries = raw.map((e, i) => {
      const parsed = entrySchema.safeParse(e);
      if (!parsed.success)
        throw new RpcError("INVALID_PARAMS", `entry ${firstIndex + i}: ${parsed.error.issues[0]?.message}`);
      return { json: e as Entry, parsed: parsed.data };
    });
    // Entries we already hold must be the same ones (a re-sent batch); a different one is a conflict.
    const overlap = Math.min(have - firstIndex, entries.length);
    for (let i = 0; i < overlap; i++) {
      if (log.tree.leafHash(firstIndex + i) !== (await this.leafHashOf(entries[i]!.parsed.encTxHash))) {
        throw veilError.indexTaken(log.height, firstIndex + i);
      }
    }
    const fresh = entries.slice(Math.max(0, overlap));
    if (fresh.length === 0) return have;
    const proofChecks: Promise<void>[] = [];
    try {
      for (const [i, { parsed }] of fresh.entries()) {
        const index = have + i;
        proofChecks.push(this.checkEntry(rollup, log, index, parsed, { vouchedBy: envelopeSigner }));
      }
      await Promise.all(proofChecks);
      await this.o.store.appendEntries(
        log.rollupId,
        log.height,
        have,
        fresh.map((f) => f.json),
      );
    } catch (error) {
      this.forget(log); // the in-memory tree may hold appends that were not stored
      throw error;
    }
    log.logBytes += fresh.reduce((sum, f) => sum + entryBytes(f.json), 0);
    return log.tree.size;
  }

  private leafHashOf(data: string): Promise<string> {
    const t = new IncrementalMerkleTree(1);
    return Promise.resolve(t.append(data).leafHash);
  }

  /**
   * Checks one replicated entry at `index` and appends it to the in-memory tree. On the append path
   * (`vouchedBy`: the envelope's signer) the entry's own signature and its proof are checked for a
   * sample; for log adoption (view change, state transfer) every signature is checked and no proof,
   * because a proof must never decide which log is adopted (see docs/ordering-performance.md).
   */
  private async checkEntry(
    rollup: RollupInfo,
    log: Pick<HeightLog, "rollupId" | "height" | "tree" | "epoch">,
    index: number,
    entry: z.output<typeof entrySchema>,
    path: "adoption" | { readonly vouchedBy: string },
  ): Promise<void> {
    const { commitment, signature, leader, viewNumber } = entry.orderCommitment;
    const where = `entry ${index} of height ${log.height}`;
    if (
      commitment.rollupId !== log.rollupId ||
      commitment.blockHeight !== BigInt(log.height) ||
      commitment.txIndex !== index
    ) {
      throw veilError.outOfOrder(`${where}: its commitment is for another position`);
    }
    const tx = entry.encryptedTx;
    // An encrypted leaf is a Poseidon hash, the costliest step of this check (the followers' hashes were
    // about a fifth of the in-process cluster's CPU profile). On the append path it is recomputed, and the proof verified against it, for a
    // sample of entries; the others keep the leaf their leader computed and signed (vouched for by the
    // envelope: docs/ordering.md, "Followers"). Adoption recomputes every leaf.
    const fullCheck =
      tx.kind === "encrypted" && (path === "adoption" || Math.random() < this.o.followerProofSampleRate);
    let encHash: bigint | undefined;
    let leaf: string;
    if (tx.kind === "raw") leaf = rawTxHash(tx.rawTx);
    else if (fullCheck) leaf = toBytes32((encHash = encTxHash(typedTx(tx.submission.tx))));
    else leaf = entry.encTxHash;
    if (leaf !== commitment.encTxHash || leaf !== entry.encTxHash) {
      throw veilError.invalidSignature(`${where}: the transaction does not hash to the committed leaf`);
    }
    if (
      tx.kind === "encrypted" &&
      (tx.submission.tx.rollupId !== log.rollupId || tx.submission.tx.height !== BigInt(log.height))
    ) {
      throw veilError.outOfOrder(`${where}: the transaction is for another block`);
    }
    if (commitment.epoch !== log.epoch) {
      throw veilError.invalidSignature(
        `${where}: signed for epoch ${commitment.epoch}, the height runs in ${log.epoch}`,
      );
    }
    if (this.leaderOf(log.height, viewNumber, log.epoch) !== leader) {
      throw veilError.invalidSignature(`${where}: ${leader} did not lead view ${viewNumber}`);
    }
    // An entry of the leader that signed the envelope carrying it is covered by that signature (the
    // envelope's payloadHash commits to every field of the commitment, all re-derived above and below),
    // so its own signature is recovered only for a sample; entries of other leaders, always.
    const checkSignature =
      path === "adoption" || leader !== path.vouchedBy || Math.random() < this.o.followerSignatureSampleRate;
    if (checkSignature && !this.orderHasher.isSignedBy(commitment, signature, leader)) {
      throw veilError.invalidSignature(`${where}: the order commitment is not signed by ${leader}`);
    }
    const appended = log.tree.append(leaf);
    if (appended.preRoot !== commitment.preRoot) {
      throw veilError.invalidSignature(`${where}: its preRoot differs from this node's tree`);
    }
    if (path !== "adoption" && tx.kind === "encrypted" && encHash !== undefined) {
      const key = await this.o.roundKeys.get(rollup, BigInt(log.height));
      const ok = await this.o.verifier.verify(
        tx.submission.proof,
        txValidityPublicSignals({
          encTxHash: encHash,
          txCommitment: tx.submission.txCommitment,
          roundKey: key.publicKey,
        }),
      );
      this.o.metrics.proofs.inc({ role: "follower", verdict: ok ? "valid" : "invalid" });
      if (!ok) throw veilError.invalidProof(`${where}: the proof does not verify`);
    }
  }

  // ---- sealing -------------------------------------------------------------------------------------

  /**
   * Seals `height` at its current count (leader only) and certifies the seal: no more appends, the Seal is
   * signed, stored and replicated, and each member that stored it signs it too; resolves with the
   * certificate once a majority (this node included) signed the seal in this node's view. A height sealed
   * in an earlier view (this node took it over) is certified again in this node's view, with the same
   * count and root: the certificate proves the view that the block commitment is signed in.
   */
  async seal(rollupId: bigint, height: number): Promise<SealCertificate> {
    const log = await this.logOf(rollupId, height);
    const current = log.certificate?.seal;
    if (current !== undefined && current.viewNumber === log.view && current.epoch === this.sealEpoch(log)) {
      return log.certificate!;
    }
    this.assertLeadsNormally(log);
    if (log.seal === undefined) await this.sealLog(log);
    return this.certify(log);
  }

  /**
   * The epoch a seal of this height names: the latest epoch, up to the current one, with the height's
   * members unchanged. The VSM and the key generators accept a certificate of the current or the previous
   * epoch only, and this keeps a height begun a while ago within that window, certified by the same members.
   */
  private sealEpoch(log: HeightLog): number {
    return this.o.chain.latestSameMembers(this.epochOf(log));
  }

  /** The leader's part of sealing: stops the height and stores its own signed seal. */
  private async sealLog(log: HeightLog): Promise<void> {
    const { rollupId, height } = log;
    await this.learnEarlierSeals(rollupId, height);
    const open = await this.openHeight(rollupId);
    if (height !== open) throw veilError.outOfOrder(`heights are sealed in order; the open height is ${open}`);
    if (log.status === "sealing") throw veilError.unavailable(`height ${height} is being sealed`);
    if (log.status !== "open") throw veilError.heightSealed(height);
    log.status = "sealing"; // admission and group commit refuse new entries from here on
    try {
      while (log.draining !== undefined) await log.draining;
      // Under the log's lock: a view change installed meanwhile (which deposes this node) is seen first.
      await this.locked(log, async () => {
        if (log.status !== "sealing") throw veilError.unavailable(`height ${height} changed while being sealed`);
        this.assertLeadsNormally(log);
        if (!log.epochPinned) this.pinEpoch(log, this.o.chain.epoch); // an empty height
        const seal: Seal = {
          rollupId,
          height: BigInt(height),
          txCount: log.tree.size,
          encRoot: log.tree.root,
          viewNumber: log.view,
          epoch: this.sealEpoch(log),
        };
        // Released only after store.seal, which records the signed content in the same synced batch.
        const signature = this.sealHasher.sign(this.o.wallet.signingKey, seal);
        const sealed = sealResultToJson({ seal, signature, leader: this.address });
        await this.o.store.seal(rollupId, height, sealRecordOf(sealed));
        log.status = "sealed";
        log.seal = sealed;
      });
      await this.advanceOpenHeight(rollupId, height);
    } catch (error) {
      if (log.status === "sealing") log.status = "open";
      throw error;
    }
  }

  /**
   * Signs `seal` after recording its content durably (store.recordSignedSeal): a member signs one seal
   * content per height, in whatever views, so it can never be shown to have signed two that conflict.
   */
  private async signSeal(rollupId: bigint, height: number, seal: Seal): Promise<string> {
    await this.o.store.recordSignedSeal(rollupId, height, { txCount: seal.txCount, encRoot: seal.encRoot });
    return this.sealHasher.sign(this.o.wallet.signingKey, seal);
  }

  /**
   * Gathers the certificate of the log's seal in this node's (normal, leading) view: signs the seal in this
   * view, sends it to every member and keeps each Ack's signature; a majority makes the certificate.
   */
  private async certify(log: HeightLog): Promise<SealCertificate> {
    const { rollupId, height } = log;
    const stored = log.seal;
    if (stored === undefined) throw veilError.unavailable(`height ${height} is not sealed`);
    const started = performance.now();
    const seal: Seal = {
      rollupId,
      height: BigInt(height),
      txCount: stored.seal.txCount,
      encRoot: String(stored.seal.encRoot).toLowerCase(),
      viewNumber: log.view,
      epoch: this.sealEpoch(log),
    };
    this.assertLeadsNormally(log);
    const ownSignature =
      stored.seal.viewNumber === log.view &&
      stored.seal.epoch === seal.epoch &&
      getAddress(stored.leader) === this.address
        ? stored.signature
        : await this.signSeal(rollupId, height, seal);
    const wire = sealResultToJson({ seal, signature: ownSignature, leader: this.address });
    const signatures = await this.replicateSeal(log, wire, seal);
    signatures.set(this.address, ownSignature);
    for (const signer of signatures.keys()) if (!this.o.chain.isMemberAt(seal.epoch, signer)) signatures.delete(signer);
    if (signatures.size < this.o.chain.majorityAt(seal.epoch)) {
      throw veilError.unavailable(`the seal of height ${height} reached only ${signatures.size} members`);
    }
    const certificate = assembleCertificate(seal, signatures);
    await this.o.store.putCertificate(rollupId, height, sealCertificateToJson(certificate));
    log.certificate = certificate;
    this.o.metrics.certificateSeconds.observe((performance.now() - started) / 1000);
    return certificate;
  }

  /** Fails unless this node leads the height in a view it operates normally in. */
  private assertLeadsNormally(log: HeightLog): void {
    const leader = this.leaderIn(log);
    if (leader !== this.address) throw veilError.notLeader(leader);
    if (log.normalView !== log.view) {
      throw veilError.unavailable(`height ${log.height} is changing to view ${log.view}`);
    }
  }

  /**
   * Before sealing `height`, learns the seals of lower heights this node missed (it was down or cut off
   * while they were sealed) by state transfer, so that heights stay sealed in order.
   */
  private async learnEarlierSeals(rollupId: bigint, height: number): Promise<void> {
    for (let open = await this.openHeight(rollupId); open < height;) {
      const earlier = await this.logOf(rollupId, open);
      if (earlier.seal === undefined) await this.catchUp(earlier);
      if (earlier.seal === undefined) return; // not sealed at a majority either: the caller refuses
      await this.advanceOpenHeight(rollupId, open);
      const next = await this.openHeight(rollupId);
      if (next <= open) return;
      open = next;
    }
  }

  /** Sends the seal to every member; answers the members' seal signatures, each checked, by member. */
  private async replicateSeal(log: HeightLog, result: SealResultJson, seal: Seal): Promise<Map<string, string>> {
    const envelope = await sealEnvelope(
      this.o.wallet,
      this.o.domain,
      this.o.chain.clusterId,
      result.seal.viewNumber,
      ClusterMessageKind.Seal,
      {
        rollupId: log.rollupId.toString(),
        height: log.height,
        seal: result.seal,
        signature: result.signature,
      },
    );
    const results = await Promise.allSettled(
      this.o.peers.all.map(async (peer) => {
        try {
          return this.checkSealAck(await peer.cluster.call("cluster_seal", envelope), log, seal);
        } catch (error) {
          if (this.isBehindView(error)) {
            await this.sendStartView(peer, log); // carries the seal
            return this.checkSealAck(await peer.cluster.call("cluster_seal", envelope), log, seal);
          }
          const behind = this.lagOf(error);
          if (behind === undefined) throw error;
          const missing = await this.o.store.getEntries(log.rollupId, log.height, {
            from: behind,
          });
          await peer.cluster.call("cluster_replicate", await this.replicateEnvelope(log, behind, missing));
          return this.checkSealAck(await peer.cluster.call("cluster_seal", envelope), log, seal);
        }
      }),
    );
    const signatures = new Map<string, string>();
    for (const r of results) if (r.status === "fulfilled" && r.value !== undefined) signatures.set(...r.value);
    return signatures;
  }

  /** A seal's Ack: a valid signed Ack of another member, with that member's own signature on `seal`. */
  private checkSealAck(answer: unknown, log: HeightLog, seal: Seal): [string, string] | undefined {
    const opened = this.openAck(answer, log);
    if (opened === undefined || opened.ack.count !== seal.txCount) return undefined;
    const { sender, ack } = opened;
    if (ack.sealSignature === undefined || !this.sealHasher.isSignedBy(seal, ack.sealSignature, sender)) {
      return undefined;
    }
    return [sender, ack.sealSignature];
  }

  /**
   * Handles `cluster_seal`: the seal must be the leader's of the view this node has installed and cover
   * exactly the entries it holds (and equal the seal it holds, if any). The node stores the seal, records
   * durably that it signs this content, and answers an Ack with its own signature on the seal: its share
   * of the certificate.
   */
  async onSeal(envelope: Envelope): Promise<EnvelopeJson> {
    const payload = openEnvelope(envelope, {
      domain: this.o.domain,
      clusterId: this.o.chain.clusterId,
      kind: ClusterMessageKind.Seal,
      isMember: (a) => this.o.chain.isMember(a),
      schema: sealPayload,
    });
    const seal = asInvalidParams("the seal", () => parseMessage("Seal", payload.seal));
    const rollupId = BigInt(payload.rollupId);
    if (seal.rollupId !== rollupId || seal.height !== BigInt(payload.height)) {
      throw veilError.unauthorized("the seal is for another block than the payload names");
    }
    if (!this.o.chain.knows(seal.epoch)) {
      throw veilError.unauthorized(`the members of epoch ${seal.epoch} are not known here`);
    }
    const leader = this.leaderOf(payload.height, seal.viewNumber, seal.epoch);
    if (envelope.message.sender !== leader) throw veilError.notLeader(leader);
    if (!this.sealHasher.isSignedBy(seal, payload.signature, leader)) {
      throw veilError.invalidSignature("the seal is not signed by the height's leader");
    }
    const log = await this.logOf(rollupId, payload.height);
    const run = log.lock.then(async () => {
      // Only the view this node has installed and operates normally in: a seal proves that view.
      if (seal.viewNumber < log.view) throw veilError.staleView(seal.viewNumber, log.view);
      if (seal.viewNumber > log.normalView) throw veilError.staleView(seal.viewNumber, log.normalView);
      // A seal names the height's epoch or a later one with the very same members (sealEpoch).
      if (!log.epochPinned) this.pinEpoch(log, seal.epoch);
      if (seal.epoch < log.epoch || !this.o.chain.sameMembers(seal.epoch, log.epoch)) {
        throw veilError.unauthorized(`the seal names epoch ${seal.epoch}, whose members are not those of ${log.epoch}`);
      }
      if (log.seal === undefined) {
        if (log.tree.size < seal.txCount) {
          throw new RpcError("OUT_OF_ORDER", `out of order: this node holds ${log.tree.size} entries`, {
            count: log.tree.size,
          });
        }
        if (log.tree.size > seal.txCount || log.tree.root !== seal.encRoot) {
          throw veilError.invalidSignature("the seal's count or root differs from this node's log");
        }
        const result = sealResultToJson({ seal, signature: payload.signature, leader });
        await this.o.store.seal(rollupId, payload.height, sealRecordOf(result));
        log.status = "sealed";
        log.seal = result;
        await this.advanceOpenHeight(rollupId, payload.height);
        // store.seal recorded the signed content in the same synced batch.
        return this.sealHasher.sign(this.o.wallet.signingKey, seal);
      } else if (
        log.seal.seal.txCount !== seal.txCount ||
        String(log.seal.seal.encRoot).toLowerCase() !== seal.encRoot.toLowerCase()
      ) {
        throw veilError.invalidSignature("the seal's count or root differs from the seal this node holds");
      }
      return this.signSeal(rollupId, payload.height, seal);
    });
    log.lock = run.catch(() => undefined);
    const sealSignature = await run;
    return sealEnvelope(this.o.wallet, this.o.domain, this.o.chain.clusterId, seal.viewNumber, ClusterMessageKind.Ack, {
      rollupId: payload.rollupId,
      height: payload.height,
      count: seal.txCount,
      sealSignature,
    });
  }

  // ---- failover: heartbeats and view change (docs/ordering.md, "View change") ----------------------

  /** Starts the heartbeat / leader-timeout timer; returns a function that stops it. */
  startFailover(options: FailoverOptions): () => void {
    this.failover = options;
    const timer = setInterval(() => this.tick(), options.heartbeatIntervalMs);
    timer.unref();
    this.resumeViews().catch((error: unknown) => this.o.log.warn({ err: error }, "could not resume view changes"));
    return () => clearInterval(timer);
  }

  /** The height's leader timeout: doubled per view change since it was last normal (see leaderTimeoutMs). */
  private leaderTimeout(log: Pick<HeightLog, "view" | "normalView">): number {
    return leaderTimeoutMs(this.failover.leaderTimeoutMs, log.view - log.normalView, Math.random());
  }

  private heardFromLeader(log: HeightLog): void {
    log.watched = true;
    log.deadline = performance.now() + this.leaderTimeout(log);
  }

  /**
   * The block of `height` is built and stored on this node: the height needs no leader any more (no
   * heartbeats, no view changes), and its log leaves memory (a later read reloads it from the store).
   */
  markFinalized(rollupId: bigint, height: number): void {
    const key = logKey(rollupId, height);
    const log = this.loaded.get(key);
    if (log !== undefined) log.status = "finalized";
    this.loaded.delete(key);
    this.logs.delete(key);
  }

  /** A follower could not reach the height's leader: watch it, so that silence leads to a view change. */
  async suspectLeader(rollupId: bigint, height: number): Promise<void> {
    const log = await this.logOf(rollupId, height);
    if (!log.watched) this.heardFromLeader(log);
  }

  private tick(): void {
    const now = performance.now();
    for (const log of this.loaded.values()) {
      // A sealed height still needs a live leader until its block is built: heartbeats and failover go on.
      if (log.status === "finalized" || log.builtElsewhere) continue;
      const leading = this.leaderIn(log) === this.address;
      if (leading && log.normalView === log.view) {
        // Replication that every follower acknowledged within the interval already told them the
        // leader is alive (they reset their timers on it), so the signed heartbeat is skipped.
        if (!log.heartbeating && now - log.allAckedAt >= this.failover.heartbeatIntervalMs) {
          log.heartbeating = true;
          // A heartbeat may turn into state transfer (a deposed leader catching up); it runs in the
          // background, so its failures (a peer down, the store closing at shutdown) are logged here.
          this.heartbeat(log)
            .catch((error: unknown) => this.o.log.warn({ err: error, height: log.height }, "heartbeat step failed"))
            .finally(() => (log.heartbeating = false));
        }
      } else if (log.watched && now > log.deadline) {
        this.heardFromLeader(log); // the next attempt waits a full (randomised) timeout again
        this.startViewChange(log, log.view + 1).catch((error: unknown) =>
          this.o.log.warn({ err: error, height: log.height }, "view change step failed"),
        );
      }
    }
  }

  private async heartbeat(log: HeightLog): Promise<void> {
    const view = log.view;
    const envelope = await sealEnvelope(
      this.o.wallet,
      this.o.domain,
      this.o.chain.clusterId,
      view,
      ClusterMessageKind.Heartbeat,
      { rollupId: log.rollupId.toString(), height: log.height, view, epoch: this.epochOf(log), count: log.tree.size },
    );
    let deposed = false;
    await Promise.allSettled(
      this.o.peers.all.map(async (peer) => {
        try {
          await peer.cluster.call("cluster_heartbeat", envelope, undefined, {
            timeoutMs: this.failover.heartbeatIntervalMs * 2,
          });
        } catch (error) {
          if (this.isBehindView(error)) await this.sendStartView(peer, log);
          else if (this.isAheadView(error)) deposed = true;
        }
      }),
    );
    // A peer is in a later view: this node was deposed while it was away; learn the height's new state.
    if (deposed) await this.catchUp(log);
  }

  private async openViewMessage<T extends { rollupId: string; height: number; view: number }>(
    envelope: Envelope,
    kind: ClusterKind,
    schema: z.ZodType<T>,
  ): Promise<{ payload: T; rollup: RollupInfo; log: HeightLog }> {
    const payload = openEnvelope(envelope, {
      domain: this.o.domain,
      clusterId: this.o.chain.clusterId,
      kind,
      isMember: (a) => this.o.chain.isMember(a),
      schema,
    });
    if (payload.view !== envelope.message.viewNumber)
      throw veilError.unauthorized("payload view differs from the envelope's");
    const rollup = await this.o.chain.rollup(BigInt(payload.rollupId));
    if (rollup === undefined) throw veilError.unknownRollup(payload.rollupId);
    return { payload, rollup, log: await this.logOf(rollup.rollupId, payload.height) };
  }

  private ack(log: HeightLog, view: number): Promise<EnvelopeJson> {
    return sealEnvelope(this.o.wallet, this.o.domain, this.o.chain.clusterId, view, ClusterMessageKind.Ack, {
      rollupId: log.rollupId.toString(),
      height: log.height,
      count: log.tree.size,
    });
  }

  /** Handles `cluster_heartbeat`: the current leader is alive (older views are fenced off). */
  async onHeartbeat(envelope: Envelope): Promise<EnvelopeJson> {
    const { payload, log } = await this.openViewMessage(envelope, ClusterMessageKind.Heartbeat, heartbeatPayload);
    if (!this.o.chain.knows(payload.epoch)) {
      throw veilError.unauthorized(`the members of epoch ${payload.epoch} are not known here`);
    }
    const leader = this.leaderOf(payload.height, payload.view, payload.epoch);
    if (envelope.message.sender !== leader) throw veilError.notLeader(leader);
    if (payload.view < log.view) throw veilError.staleView(payload.view, log.view);
    if (payload.view > log.normalView) throw veilError.staleView(payload.view, log.normalView);
    this.pinEpoch(log, payload.epoch);
    this.heardFromLeader(log);
    return this.ack(log, payload.view);
  }

  /**
   * Moves this node to view `view` of the height (durably, before it says so to anyone) and tells every
   * member; with a majority of StartViewChange for the view it sends its log to the view's leader.
   */
  private async startViewChange(log: HeightLog, view: number): Promise<void> {
    const moved = await this.locked(log, async () => {
      if (view <= log.view) return false;
      if (log.status === "finalized") return false;
      const epoch = this.epochOf(log); // a view change keeps the height's epoch, and pins it
      await this.o.store.setViewState(log.rollupId, log.height, { view, normalView: log.normalView, epoch });
      this.pinEpoch(log, epoch);
      log.view = view;
      return true;
    });
    if (!moved) return;
    this.o.metrics.viewChanges.inc();
    this.heardFromLeader(log);
    this.o.log.info({ rollupId: log.rollupId.toString(), height: log.height, view }, "view change started");
    const signature = this.castVote(log, view);
    const envelope = await sealEnvelope(
      this.o.wallet,
      this.o.domain,
      this.o.chain.clusterId,
      view,
      ClusterMessageKind.StartViewChange,
      { rollupId: log.rollupId.toString(), height: log.height, view, epoch: log.epoch, signature },
    );
    for (const peer of this.o.peers.all) {
      peer.cluster.call("cluster_start_view_change", envelope).catch((error: unknown) => {
        this.o.log.debug({ err: error, peer: peer.url }, "StartViewChange not delivered");
      });
    }
    await this.maybeDoViewChange(log, view);
  }

  private voteOf(log: HeightLog, view: number): Map<string, string> {
    let votes = log.votes.get(view);
    if (votes === undefined) log.votes.set(view, (votes = new Map<string, string>()));
    return votes;
  }

  private viewChangeOf(log: HeightLog, view: number) {
    return { rollupId: log.rollupId, height: BigInt(log.height), viewNumber: view, epoch: log.epoch };
  }

  /** This node's ViewChange vote for `view` (deterministic, so signing it again gives the same bytes). */
  private castVote(log: HeightLog, view: number): string {
    const signature = this.viewHasher.sign(this.o.wallet.signingKey, this.viewChangeOf(log, view));
    this.voteOf(log, view).set(this.address, signature);
    return signature;
  }

  /** Counts a member's ViewChange vote once its signature is checked; a forged one is the sender's error. */
  private countVote(log: HeightLog, view: number, sender: string, signature: string): void {
    if (!this.o.chain.isMemberAt(log.epoch, sender)) {
      throw veilError.unauthorized(
        `${sender} is not a member of epoch ${log.epoch}, which height ${log.height} runs in`,
      );
    }
    if (!this.viewHasher.isSignedBy(this.viewChangeOf(log, view), signature, sender)) {
      throw veilError.invalidSignature(`the ViewChange vote is not signed by ${sender}`);
    }
    this.voteOf(log, view).set(getAddress(sender), signature);
  }

  /** Handles `cluster_start_view_change`: joins the view change and counts the sender's vote. */
  async onStartViewChange(envelope: Envelope): Promise<EnvelopeJson> {
    const { payload, log } = await this.openViewMessage(
      envelope,
      ClusterMessageKind.StartViewChange,
      startViewChangePayload,
    );
    if (payload.view < log.view) throw veilError.staleView(payload.view, log.view);
    if (payload.view === log.normalView) return this.ack(log, payload.view); // already installed
    this.pinEpoch(log, payload.epoch);
    this.countVote(log, payload.view, envelope.message.sender, payload.signature);
    if (payload.view > log.view) await this.startViewChange(log, payload.view);
    else await this.maybeDoViewChange(log, payload.view);
    return this.ack(log, payload.view);
  }

  /** With a majority for `view` (itself included), sends this node's log to the view's leader, once. */
  private async maybeDoViewChange(log: HeightLog, view: number): Promise<void> {
    if (log.view !== view || log.normalView === view || log.dvcSentFor >= view) return;
    if (this.voteOf(log, view).size < this.majorityIn(log)) return;
    log.dvcSentFor = view;
    const own = await this.locked(log, async () => ({
      normalView: log.normalView,
      normalViewCertificate: this.normalViewProof(log),
      entries: await this.o.store.getEntries(log.rollupId, log.height),
      seal: log.seal,
    }));
    const leader = this.leaderIn(log, view);
    // This node's own log was checked when it was stored.
    if (leader === this.address) {
      await this.acceptDoViewChange(log, view, this.address, own);
      return;
    }
    const payload = {
      rollupId: log.rollupId.toString(),
      height: log.height,
      view,
      epoch: log.epoch,
      normalView: own.normalView,
      normalViewCertificate:
        own.normalViewCertificate === undefined ? null : viewCertificateToJson(own.normalViewCertificate),
      entries: own.entries,
      seal: own.seal ?? null,
      viewSignature: this.castVote(log, view),
    };
    const envelope = await sealEnvelope(
      this.o.wallet,
      this.o.domain,
      this.o.chain.clusterId,
      view,
      ClusterMessageKind.DoViewChange,
      payload,
    );
    const peer = await this.o.peers.byAddress(leader);
    if (peer === undefined) return; // the timeout moves on to the next view
    try {
      await peer.cluster.call("cluster_do_view_change", envelope);
    } catch (error) {
      // Without this member's log the view may never gather a majority: say why, visibly.
      const reason = error instanceof Error ? error.message : String(error);
      this.o.log.warn({ reason, leader, height: log.height, view }, "DoViewChange not delivered");
    }
  }

  /**
   * Handles `cluster_do_view_change` (the new leader only): collects a member's log. The log is checked
   * on arrival, entry by entry against its signed commitments, so that a malformed one is refused to its
   * sender and counts as no vote.
   */
  async onDoViewChange(envelope: Envelope): Promise<EnvelopeJson> {
    const { payload, rollup, log } = await this.openViewMessage(
      envelope,
      ClusterMessageKind.DoViewChange,
      doViewChangePayload,
    );
    if (!this.o.chain.knows(payload.epoch)) {
      throw veilError.unauthorized(`the members of epoch ${payload.epoch} are not known here`);
    }
    const leader = this.leaderOf(payload.height, payload.view, payload.epoch);
    if (leader !== this.address) throw veilError.notLeader(leader);
    if (payload.normalView >= payload.view)
      throw veilError.outOfOrder("a DoViewChange's normal view must precede its view");
    if (payload.view < log.view) throw veilError.staleView(payload.view, log.view);
    // A late DoViewChange for a view already installed changes nothing: answered without checking its log.
    if (payload.view === log.normalView) return this.ack(log, payload.view);
    const sender = getAddress(envelope.message.sender);
    this.pinEpoch(log, payload.epoch);
    const normalViewCertificate = this.checkNormalView(log, payload.normalView, payload.normalViewCertificate);
    this.countVote(log, payload.view, sender, payload.viewSignature);
    const checked = await this.verifyLog(rollup, payload.height, payload.entries, payload.seal, log.epoch);
    if (payload.view > log.view) await this.startViewChange(log, payload.view);
    await this.acceptDoViewChange(log, payload.view, sender, {
      normalView: payload.normalView,
      ...(normalViewCertificate === undefined ? {} : { normalViewCertificate }),
      ...checked,
    });
    return this.ack(log, payload.view);
  }

  private async acceptDoViewChange(log: HeightLog, view: number, sender: string, checked: CheckedLog): Promise<void> {
    if (log.view !== view || log.normalView === view) return;
    let received = log.dvcs.get(view);
    if (received === undefined) log.dvcs.set(view, (received = new Map<string, CheckedLog>()));
    received.set(sender, checked);
    if (received.size < this.majorityIn(log) || !received.has(this.address) || log.finishing >= view) return;
    log.finishing = view;
    try {
      await this.finishViewChange(log, view, received);
    } catch (error) {
      log.finishing = -1;
      throw error;
    }
  }

  /**
   * The new leader: adopts the first of the checked logs (latest normal view, then longest), installs it
   * durably, and sends it to every member (StartView).
   */
  private async finishViewChange(log: HeightLog, view: number, logs: ReadonlyMap<string, CheckedLog>): Promise<void> {
    const adopted = rankLogs([...logs.values()])[0]!;
    // Every DoViewChange sender's vote was checked on arrival (this node's own is cast): a majority's proof.
    this.castVote(log, view);
    const votes = this.voteOf(log, view);
    const proof = assembleViewCertificate(
      this.viewChangeOf(log, view),
      new Map([...logs.keys()].map((sender) => [sender, votes.get(sender)!])),
    );
    await this.locked(log, () =>
      this.install(log, view, adopted.entries, adopted.seal, { epoch: log.epoch, viewCertificate: proof }),
    );
    this.o.log.info({ height: log.height, view, count: log.tree.size }, "view change done: leading");
    await Promise.allSettled(this.o.peers.all.map((peer) => this.sendStartView(peer, log)));
  }

  /**
   * The certificate of `view` of this height, checked: a majority of the members voted to leave the views
   * below it. Without one a member's claim to lead a view is only its word (docs/ordering.md, "View proofs").
   */
  private checkViewCertificate(log: HeightLog, view: number, proof: unknown): ViewCertificate {
    const certificate = asInvalidParams("the view certificate", () => parseViewCertificate(proof));
    const v = certificate.view;
    if (v.rollupId !== log.rollupId || v.height !== BigInt(log.height) || v.viewNumber !== view) {
      throw veilError.invalidSignature(`the view certificate is not for view ${view} of height ${log.height}`);
    }
    if (log.epochPinned && v.epoch !== log.epoch) {
      throw veilError.unauthorized(`height ${log.height} runs in epoch ${log.epoch}, not ${v.epoch}`);
    }
    if (!this.o.chain.knows(v.epoch))
      throw veilError.unauthorized(`the members of epoch ${v.epoch} are not known here`);
    try {
      verifyViewCertificate(this.o.domain, certificate, this.o.chain.membersAt(v.epoch));
    } catch (error) {
      if (error instanceof CertificateError) throw veilError.invalidSignature(`view ${view}: ${error.message}`);
      throw error;
    }
    return certificate;
  }

  /** The certificate of the view this node was last normal in, when above 0 and held (DoViewChange, LogReport). */
  private normalViewProof(log: HeightLog): ViewCertificate | undefined {
    const proof = log.viewCertificate;
    return log.normalView > 0 && proof?.view.viewNumber === log.normalView ? proof : undefined;
  }

  /**
   * A member's claim that it was last normal in `normalView`: above view 0 it must come with that view's
   * certificate (a majority voted for it), since the latest normal view is what ranks a log first in a
   * view change and in state transfer. Returns the checked certificate (none for view 0).
   */
  private checkNormalView(log: HeightLog, normalView: number, proof: unknown): ViewCertificate | undefined {
    if (normalView === 0) return undefined;
    if (proof === null || proof === undefined) {
      throw veilError.invalidSignature(`a log normal in view ${normalView} comes without that view's certificate`);
    }
    return this.checkViewCertificate(log, normalView, proof);
  }

  /** Checks a whole log from scratch: every entry against its signed commitment and the rebuilt tree. */
  private async verifyLog(
    rollup: RollupInfo,
    height: number,
    rawEntries: readonly unknown[],
    rawSeal: unknown,
    epoch: number,
  ): Promise<{ entries: Entry[]; seal: SealResultJson | undefined }> {
    const scratch = { rollupId: rollup.rollupId, height, epoch, tree: new IncrementalMerkleTree() };
    const entries = rawEntries.map((e, i) => {
      const parsed = entrySchema.safeParse(e);
      if (!parsed.success) throw new RpcError("INVALID_PARAMS", `entry ${i}: ${parsed.error.issues[0]?.message}`);
      return parsed.data;
    });
    await Promise.all(entries.map((e, i) => this.checkEntry(rollup, scratch, i, e, "adoption")));
    if (rawSeal === null || rawSeal === undefined) return { entries: rawEntries as Entry[], seal: undefined };
    const result = asInvalidParams("the seal", () => sealResultSchema.parse(rawSeal));
    const { seal } = result;
    if (seal.epoch < epoch || !this.o.chain.sameMembers(seal.epoch, epoch)) {
      throw veilError.invalidSignature(`the seal names epoch ${seal.epoch}, whose members are not those of ${epoch}`);
    }
    const leader = this.leaderOf(height, seal.viewNumber, epoch);
    if (seal.rollupId !== rollup.rollupId || seal.height !== BigInt(height) || getAddress(result.leader) !== leader) {
      throw veilError.invalidSignature("the seal is for another block or leader");
    }
    if (!this.sealHasher.isSignedBy(seal, result.signature, leader)) {
      throw veilError.invalidSignature("the seal is not signed by the leader of its view");
    }
    if (seal.txCount !== entries.length || seal.encRoot !== scratch.tree.root) {
      throw veilError.invalidSignature("the seal does not cover exactly this log");
    }
    return { entries: rawEntries as Entry[], seal: sealResultToJson(result) };
  }

  /**
   * Installs a verified log as the height's log in `view`, where it was last normal in `normalView` (the
   * same view, except for a decided log learnt while this node was in a later view); under the log's lock.
   */
  private async install(
    log: HeightLog,
    view: number,
    entries: readonly Entry[],
    seal: SealResultJson | undefined,
    {
      epoch,
      normalView = view,
      viewCertificate,
    }: { epoch: number; normalView?: number; viewCertificate?: ViewCertificate },
  ) {
    if (view < log.view) throw veilError.staleView(view, log.view);
    if (log.epochPinned && epoch !== log.epoch) {
      throw veilError.unauthorized(`height ${log.height} runs in epoch ${log.epoch}, not ${epoch}`);
    }
    const own = await this.o.store.getEntries(log.rollupId, log.height);
    let keep = 0;
    while (
      keep < Math.min(own.length, entries.length) &&
      own[keep]!.encTxHash === entries[keep]!.encTxHash &&
      own[keep]!.orderCommitment.signature === entries[keep]!.orderCommitment.signature
    ) {
      keep += 1;
    }
    const sealRecord = seal === undefined ? undefined : sealRecordOf(seal);
    // The entries this node signed itself that the install removes: it must never sign their indices again.
    const signedDropped = own.slice(keep).flatMap((e) => {
      const { commitment, leader } = e.orderCommitment;
      if (getAddress(leader) !== this.address) return [];
      const record = {
        index: commitment.txIndex,
        encTxHash: commitment.encTxHash,
        preRoot: commitment.preRoot,
        viewNumber: commitment.viewNumber,
      };
      return [record];
    });
    try {
      await this.o.store.installLog(
        log.rollupId,
        log.height,
        keep,
        entries.slice(keep),
        { view, normalView, epoch },
        {
          seal: sealRecord,
          signedDropped,
          viewCertificate: viewCertificate === undefined ? undefined : viewCertificateToJson(viewCertificate),
        },
      );
    } catch (error) {
      this.forget(log);
      throw error;
    }
    const tree = new IncrementalMerkleTree();
    for (const e of entries) tree.append(e.encTxHash);
    log.tree = tree;
    log.logBytes = entries.reduce((sum, e) => sum + entryBytes(e), 0);
    log.signedDropped = [...new Set([...log.signedDropped, ...signedDropped.map((r) => r.index)])].sort(
      (a, b) => a - b,
    );
    log.view = view;
    log.normalView = normalView;
    log.allAckedAt = Number.NEGATIVE_INFINITY; // acks of an earlier view say nothing about this one
    log.seal = seal;
    log.epoch = epoch;
    log.epochPinned = true;
    if (viewCertificate !== undefined) log.viewCertificate = viewCertificate;
    log.status = seal === undefined ? "open" : "sealed";
    this.openHeights.delete(log.rollupId); // a superseded minority seal may reopen the height
    this.heardFromLeader(log);
  }

  /** Sends a member the height's log as installed in the current view (StartView). */
  private async sendStartView(peer: Peer, log: HeightLog): Promise<void> {
    const view = log.view;
    if (log.normalView !== view || this.leaderIn(log, view) !== this.address) return;
    const proof = log.viewCertificate;
    if (proof === undefined || proof.view.viewNumber !== view) {
      this.o.log.warn({ height: log.height, view }, "no certificate of this view: StartView not sent");
      return;
    }
    const payload = await this.locked(log, async () => ({
      rollupId: log.rollupId.toString(),
      height: log.height,
      view,
      entries: await this.o.store.getEntries(log.rollupId, log.height),
      seal: log.seal ?? null,
      viewCertificate: viewCertificateToJson(proof),
    }));
    const envelope = await sealEnvelope(
      this.o.wallet,
      this.o.domain,
      this.o.chain.clusterId,
      view,
      ClusterMessageKind.StartView,
      payload,
    );
    try {
      await peer.cluster.call("cluster_start_view", envelope);
    } catch (error) {
      this.o.log.debug({ err: error, peer: peer.url }, "StartView not delivered");
    }
  }

  /** Handles `cluster_start_view`: installs the new leader's log (checked entry by entry) and view. */
  async onStartView(envelope: Envelope): Promise<EnvelopeJson> {
    const { payload, rollup, log } = await this.openViewMessage(
      envelope,
      ClusterMessageKind.StartView,
      startViewPayload,
    );
    // The view's epoch is the one its certificate's majority voted in.
    const proof = this.checkViewCertificate(log, payload.view, payload.viewCertificate);
    const epoch = proof.view.epoch;
    const leader = this.leaderOf(payload.height, payload.view, epoch);
    if (envelope.message.sender !== leader) throw veilError.notLeader(leader);
    if (payload.view < log.view) throw veilError.staleView(payload.view, log.view);
    const verified = await this.verifyLog(rollup, payload.height, payload.entries, payload.seal, epoch);
    await this.locked(log, async () => {
      if (payload.view < log.view) throw veilError.staleView(payload.view, log.view);
      if (payload.view === log.normalView && log.tree.size >= verified.entries.length) return; // installed
      await this.install(log, payload.view, verified.entries, verified.seal, { epoch, viewCertificate: proof });
    });
    if (verified.seal !== undefined) await this.advanceOpenHeight(log.rollupId, log.height);
    return this.ack(log, payload.view);
  }

  // ---- state transfer: a member that missed a view or a seal learns it from its peers ---------------

  /** Handles `cluster_get_log`: a signed report of this node's log of a height and its views. */
  async onGetLog(envelope: Envelope): Promise<EnvelopeJson> {
    const payload = openEnvelope(envelope, {
      domain: this.o.domain,
      clusterId: this.o.chain.clusterId,
      kind: ClusterMessageKind.LogRequest,
      isMember: (a) => this.o.chain.isMember(a),
      schema: logRequestPayload,
    });
    const rollup = await this.o.chain.rollup(BigInt(payload.rollupId));
    if (rollup === undefined) throw veilError.unknownRollup(payload.rollupId);
    const log = await this.logOf(rollup.rollupId, payload.height);
    const report = await this.locked(log, async () => ({
      rollupId: payload.rollupId,
      height: payload.height,
      view: log.view,
      epoch: this.epochOf(log),
      normalView: log.normalView,
      normalViewCertificate: ((p) => (p === undefined ? null : viewCertificateToJson(p)))(this.normalViewProof(log)),
      entries: await this.o.store.getEntries(log.rollupId, log.height),
      seal: log.seal ?? null,
      built: log.status === "finalized",
    }));
    return sealEnvelope(
      this.o.wallet,
      this.o.domain,
      this.o.chain.clusterId,
      report.view,
      ClusterMessageKind.LogReport,
      report,
    );
  }

  /** A peer's answer to a log request, if it is a member's signed report of this very height. */
  private openLogReport(answer: unknown, log: HeightLog): LogReport | undefined {
    const parsed = z.object(ENVELOPE_SHAPE).safeParse(answer);
    if (!parsed.success) return undefined;
    try {
      const report = openEnvelope(parsed.data as Envelope, {
        domain: this.o.domain,
        clusterId: this.o.chain.clusterId,
        kind: ClusterMessageKind.LogReport,
        isMember: (a) => this.o.chain.isMember(a) && getAddress(a) !== this.address,
        schema: logReportPayload,
      });
      const consistent =
        report.rollupId === log.rollupId.toString() &&
        report.height === log.height &&
        report.view === parsed.data.message.viewNumber &&
        report.normalView <= report.view &&
        // A report of another epoch is of no use, unless it holds nothing (a member that never saw the height).
        (!log.epochPinned || report.epoch === log.epoch || (report.entries.length === 0 && report.seal === null)) &&
        this.o.chain.knows(report.epoch);
      if (!consistent) return undefined;
      // A claimed normal view ranks a log first: above view 0 only with that view's certificate.
      const proof = this.checkNormalView(log, report.normalView, report.normalViewCertificate);
      return proof === undefined || proof.view.epoch === report.epoch ? report : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * State transfer (VR's recovery of a replica that fell behind): gathers the peers' logs of the height
   * and, once they and this node make a majority, ranks them with this node's own by the rule a new
   * leader uses (latest normal view, then longest, a seal counting as one more) and installs the best
   * one that passes every check, in the view it was normal in. Only ever moves the height forward; a
   * node in a later view change than the best report keeps its state (the view change decides).
   */
  private async catchUp(log: HeightLog): Promise<void> {
    const request = await sealEnvelope(
      this.o.wallet,
      this.o.domain,
      this.o.chain.clusterId,
      log.view,
      ClusterMessageKind.LogRequest,
      { rollupId: log.rollupId.toString(), height: log.height },
    );
    const answers = await Promise.allSettled(
      this.o.peers.all.map((peer) => peer.cluster.call("cluster_get_log", request)),
    );
    const reports = answers.flatMap((a) => {
      const r = a.status === "fulfilled" ? this.openLogReport(a.value, log) : undefined;
      return r === undefined ? [] : [r];
    });
    if (reports.length + 1 < this.majorityIn(log)) return;
    const own = { own: true, normalView: log.normalView, entries: new Array<unknown>(log.tree.size), seal: log.seal };
    const rollup = await this.o.chain.rollup(log.rollupId);
    if (rollup === undefined) return;
    for (const candidate of rankLogs<{ normalView: number; entries: readonly unknown[]; seal: unknown }>([
      own,
      ...reports,
    ])) {
      if (candidate === own) return; // nothing newer than what this node holds
      const epoch = log.epochPinned ? log.epoch : (candidate as LogReport).epoch;
      let verified: { entries: Entry[]; seal: SealResultJson | undefined };
      try {
        verified = await this.verifyLog(rollup, log.height, candidate.entries, candidate.seal, epoch);
      } catch (error) {
        this.o.log.warn({ err: error, height: log.height }, "a peer's log report failed its checks");
        continue;
      }
      // A seal is acknowledged by a majority before any block is built on it, so a sealed log that a member
      // built is decided: it is taken even if this node has moved to a later view meanwhile (a restarted
      // node's view changes that the builders ignore). Views never go back, so the node stays in its view,
      // with the log's own normal view: a later view change must not rank this log above what it was.
      const decided = verified.seal !== undefined && "built" in candidate && candidate.built;
      const view = candidate.normalView;
      const report = candidate as LogReport; // not this node's own log (returned above)
      const proof = view > 0 ? parseViewCertificate(report.normalViewCertificate) : undefined;
      const installed = await this.locked(log, async () => {
        if (view < log.view && !decided) return false; // this node moved on to a later view meanwhile
        await this.install(log, Math.max(view, log.view), verified.entries, verified.seal, {
          epoch,
          normalView: view,
          ...(proof === undefined ? {} : { viewCertificate: proof }),
        });
        if (decided) log.builtElsewhere = true;
        return true;
      });
      if (installed) {
        this.o.metrics.catchUps.inc();
        this.o.log.info({ height: log.height, view, count: log.tree.size }, "caught up from peers");
        if (verified.seal !== undefined) await this.advanceOpenHeight(log.rollupId, log.height);
      }
      return;
    }
  }

  /** Loads the heights a view change touched before a restart, so their view changes go on. */
  private async resumeViews(): Promise<void> {
    for (const { rollupId, height } of await this.o.store.viewStateHeights()) {
      const state = await this.o.store.blockState(rollupId, height);
      if (state.status === "open") await this.logOf(rollupId, height);
    }
  }

  // ---- reads ---------------------------------------------------------------------------------------

  async entry(rollupId: bigint, height: number, index: number): Promise<Entry> {
    const e = await this.o.store.getEntry(rollupId, height, index);
    if (e === undefined) throw veilError.notFound(`entry ${index} of height ${height}`);
    return e;
  }

  async block(
    rollupId: bigint,
    height: number,
  ): Promise<{ status: HeightLog["status"]; count: number; root: string; seal: SealResultJson | undefined }> {
    const log = await this.logOf(rollupId, height);
    return { status: log.status, count: log.tree.size, root: log.tree.root, seal: log.seal };
  }

  /**
   * Whether this node holds the seal of `height`, asking its peers for it first when it does not: a member
   * that was down while the height was sealed learns it when it is asked about it (a validator reading its
   * node, a client's POST proof), not only when it next seals a height as leader. One lookup per height at a
   * time and at most one a second, so asking about a height nobody sealed costs little.
   */
  async learnSeal(rollupId: bigint, height: number): Promise<boolean> {
    const key = logKey(rollupId, height);
    const log = await this.logOf(rollupId, height);
    if (log.seal !== undefined) return true;
    let run = this.sealLookups.get(key);
    if (run === undefined) {
      if (performance.now() - (this.sealLookedUpAt.get(key) ?? -Infinity) < SEAL_LOOKUP_INTERVAL_MS) return false;
      if (this.sealLookedUpAt.size >= 1_024) this.sealLookedUpAt.clear(); // a bound, not a cache that matters
      this.sealLookedUpAt.set(key, performance.now());
      run = this.catchUp(log).finally(() => this.sealLookups.delete(key));
      this.sealLookups.set(key, run);
    }
    await run;
    // Reloaded: a failed install drops the in-memory log, and the next read takes the store's.
    return (await this.logOf(rollupId, height)).seal !== undefined;
  }

  /** The POST proof of an entry: its path in the sealed tree. */
  async postProof(
    rollupId: bigint,
    height: number,
    index: number,
  ): Promise<{ leafHash: string; root: string; proof: string[] }> {
    await this.learnSeal(rollupId, height);
    const log = await this.logOf(rollupId, height);
    if (log.seal === undefined)
      throw veilError.notFound(`a POST proof of height ${height} (the height is not sealed yet)`);
    if (index >= log.tree.size) throw veilError.notFound(`entry ${index} of height ${height}`);
    return { leafHash: log.tree.leafHash(index), root: log.tree.root, proof: log.tree.proof(index) };
  }
}
