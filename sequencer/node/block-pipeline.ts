/**
 * After the seal, produce and publish the block (DESIGN.md steps 6–8, docs/blocks.md "Pipeline").
 *
 * Leader: obtain the round secret, build the block from this node's sealed entries with the one
 * builder the validators share, sign the BlockCommitment, create the VSM task (the same commitment
 * already there counts as success), store the block, and send it to the followers in a signed
 * BlockBuilt cluster message. Follower: check the envelope and the commitment signature against the
 * height's leader, the round secret against the round key it verified itself, REBUILD the block from
 * its own replica and compare, then store it. Nothing a peer sends is stored on its word.
 */
import { getAddress, type Wallet } from "ethers";
import type { Logger } from "pino";
import { z } from "zod";
import { builtBlockJson, type BuiltBlockJson, type BuiltBlockWire } from "../api/wire";
import {
  type SealCertificateJson,
  CertificateError,
  parseSealCertificate,
  sealCertificateToJson,
  sealResultToJson,
  verifySealCertificate,
  type SealCertificate,
} from "../chain/certificate";
import { buildBlock, type BlockDecrypter, type BuiltBlock } from "../block/build";
import { entryFromWire } from "../block/entries";
import {
  ClusterMessageKind,
  isSignedBy,
  signMessage,
  structHash,
  taskIdOf,
  type BlockCommitment,
  type VeilDomain,
} from "../chain/eip712";
import { isRoundSecret, type RoundKey } from "../crypto/roundkey";
import { RpcCallError } from "../rpc/client";
import { RpcError, veilError } from "../rpc/errors";
import type { ChainView, RollupInfo } from "./chain-view";
import { openEnvelope, sealEnvelope, type Envelope, type EnvelopeJson } from "./cluster/envelope";
import type { Peers } from "./cluster/peers";
import type { BlockMetrics } from "./metrics";
import { RoundKeyUnavailable, type RoundKeys } from "./round-keys";
import type { RoundSecretSource } from "./round-secrets";
import { sealRecordOf, type NodeStore, type SealRecord } from "./storage/store";
import { entrySchema, type Entry } from "./entry";
import { IncrementalMerkleTree } from "../chain/merkle";
import type { StoredValue } from "./storage/codec";
import { TaskConflict, type VsmTasks } from "./vsm-tasks";
import type { DueEntries } from "../chain/inbox";

export interface BlockPipelineOptions {
  readonly wallet: Wallet;
  readonly domain: VeilDomain;
  readonly chain: ChainView;
  readonly store: NodeStore;
  readonly peers: Peers;
  readonly roundKeys: RoundKeys;
  readonly secrets: RoundSecretSource;
  readonly tasks: VsmTasks;
  /** L2 chain id per rollup; a rollup without one has its chain id unchecked. */
  readonly chainIds: ReadonlyMap<bigint, bigint>;
  /** The forced-inclusion entries due at a seal's inbox block (the L1 inbox). */
  readonly inbox: DueEntries;
  readonly decrypter?: BlockDecrypter;
  readonly metrics: BlockMetrics;
  readonly log: Logger;
  /** Called once a height's block is stored here (the sequencer then stops leading or watching it). */
  readonly onFinalized?: (rollupId: bigint, height: number) => void;
  /**
   * Called when a leader's block arrives with a checked certificate, before this node rebuilds it: the height
   * is decided, and the sequencer stops waiting for its leader meanwhile.
   */
  readonly onBlockArriving?: (rollupId: bigint, height: number, certificate: SealCertificate, from: string) => void;
}

const blockBuiltPayload = z.strictObject({
  rollupId: z.string().regex(/^[0-9]{1,20}$/),
  height: z.number().int().nonnegative().safe(),
  block: z.unknown(),
  roundSecret: z.string().regex(/^0x[0-9a-f]{1,64}$/),
  /** The seal certificate of the view the block was built in: it proves that view, and followers keep it. */
  certificate: z.unknown(),
});
type BlockBuiltPayload = z.output<typeof blockBuiltPayload>;

/** What `cluster_get_block` asks: a height's built block. */
const blockRequestPayload = z.strictObject({
  rollupId: z.string().regex(/^[0-9]{1,20}$/),
  height: z.number().int().nonnegative().safe(),
});

/** What it answers: the block, its round secret, its seal certificate and the sealed entries it was built from. */
const fetchedBlock = z.strictObject({
  block: z.unknown(),
  roundSecret: z.string().regex(/^0x[0-9a-f]{1,64}$/),
  certificate: z.unknown(),
  entries: z.array(z.unknown()).max(1 << 20),
});

const hex = (v: bigint): string => `0x${v.toString(16)}`;

interface BlockContent {
  readonly commitment: {
    readonly txCount: number;
    readonly encRoot: string;
    readonly inboxBlock: string | number | bigint;
    readonly forcedCount: number;
    readonly rawRoot: string;
  };
}

/**
 * Whether two blocks of one height commit the same content (count and roots), whatever view each was
 * signed in: a leader that takes a height over rebuilds the same block, and commits it in its own view.
 */
function sameBlock(a: BlockContent, b: BlockContent): boolean {
  return (
    a.commitment.txCount === b.commitment.txCount &&
    a.commitment.encRoot.toLowerCase() === b.commitment.encRoot.toLowerCase() &&
    BigInt(a.commitment.inboxBlock) === BigInt(b.commitment.inboxBlock) &&
    a.commitment.forcedCount === b.commitment.forcedCount &&
    a.commitment.rawRoot.toLowerCase() === b.commitment.rawRoot.toLowerCase()
  );
}

/** The wire form of a built block signed by `leader` at `viewNumber`. */
function toWire(block: BuiltBlock, viewNumber: number, leader: string, signature: string): BuiltBlockWire {
  const c = block.commitment;
  return {
    commitment: {
      rollupId: c.rollupId.toString(),
      height: c.height.toString(),
      txCount: c.txCount,
      encRoot: c.encRoot,
      inboxBlock: c.inboxBlock.toString(),
      forcedCount: c.forcedCount,
      rawRoot: c.rawRoot,
      viewNumber: c.viewNumber,
    },
    commitmentHash: block.commitmentHash.toLowerCase(),
    viewNumber,
    leader,
    signature,
    taskId: taskIdOf(c.rollupId, c.height),
    transactions: block.slots.map((s) =>
      s.status === "valid"
        ? { index: s.index, status: "valid", encTxHash: s.encTxHash, rawTx: s.rawTx, txHash: s.txHash }
        : { index: s.index, status: "invalid", encTxHash: s.encTxHash, reason: s.reason, detail: s.detail },
    ),
  };
}

export class BlockPipeline {
  private readonly inFlight = new Map<string, Promise<BuiltBlockWire>>();
  private readonly broadcasts = new Set<Promise<void>>();
  /** Leaders' blocks being rebuilt here, by height: a fetch of the same height waits for them first. */
  private readonly arriving = new Map<string, Promise<boolean>>();

  constructor(private readonly o: BlockPipelineOptions) {}

  /** The stored block of a finalized height, or undefined. */
  async stored(rollupId: bigint, height: number): Promise<BuiltBlockWire | undefined> {
    const record = await this.o.store.getBuiltBlock(rollupId, height);
    return record?.block.built;
  }

  /**
   * Leader: builds, commits and publishes the block of a sealed height, signing in the view of its seal
   * certificate (the view this node leads the height in, proven by a majority). A finalized height answers
   * its stored block; concurrent calls share one run.
   */
  finalize(rollup: RollupInfo, height: number, certificate: SealCertificate): Promise<BuiltBlockWire> {
    const key = `${rollup.rollupId}:${height}`;
    let run = this.inFlight.get(key);
    if (run === undefined) {
      run = this.produce(rollup, height, certificate).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, run);
    }
    return run;
  }

  /** Waits for the BlockBuilt messages in flight (shutdown, tests). */
  async settled(): Promise<void> {
    while (this.broadcasts.size > 0) await Promise.allSettled([...this.broadcasts]);
  }

  private async produce(rollup: RollupInfo, height: number, certificate: SealCertificate): Promise<BuiltBlockWire> {
    const view = certificate.seal.viewNumber;
    const { rollupId } = rollup;
    const done = await this.stored(rollupId, height);
    if (done !== undefined) {
      // A retry (operator timeout, failover) also re-offers the block to followers that missed it.
      if (done.leader === this.o.wallet.address) {
        this.rebroadcast(rollupId, height, done).catch((error: unknown) =>
          this.o.log.warn({ height, err: error }, "cannot re-offer the stored block"),
        );
      }
      return done;
    }
    await this.o.chain.fetchMembersAt(certificate.seal.epoch);
    const leader = this.o.chain.leaderAt(certificate.seal.epoch, height, view);
    if (leader !== this.o.wallet.address) throw veilError.notLeader(leader);
    const log = this.o.log.child({ rollupId: rollupId.toString(), height });

    const roundKey = await this.roundKeyOf(rollup, height);
    const secretStarted = performance.now();
    const secret = await this.o.secrets.obtain(roundKey, certificate).catch((error: unknown) => {
      log.error({ err: error }, "no round secret");
      throw veilError.unavailable(`the round secret of height ${height}: ${(error as Error).message}`);
    });
    this.o.metrics.secretSeconds.observe({ path: secret.path }, (performance.now() - secretStarted) / 1000);

    const sealRecord = await this.o.store.getSeal(rollupId, height);
    if (sealRecord === undefined) throw veilError.outOfOrder(`height ${height} is not sealed on this node`);
    const block = await this.build(rollup, height, view, sealRecord, roundKey, secret.secretKey, "leader");

    const signature = await signMessage(this.o.wallet, this.o.domain, "BlockCommitment", block.commitment);
    try {
      const outcome = await this.o.tasks.submit(block.commitment, certificate, signature);
      log.info({ taskId: taskIdOf(rollupId, BigInt(height)), outcome }, "VSM task in place");
    } catch (error) {
      if (error instanceof TaskConflict) {
        this.o.metrics.vsmTaskFailures.inc({ cause: "conflict" });
        log.fatal({ err: error }, "the VSM holds ANOTHER block commitment for this height");
        throw new RpcError("INTERNAL_ERROR", `conflicting block commitment on-chain: ${error.message}`);
      }
      this.o.metrics.vsmTaskFailures.inc({ cause: "l1" });
      log.error({ err: error }, "createNewTask failed");
      throw veilError.unavailable(`the VSM task of height ${height} could not be created`);
    }

    const wire = toWire(block, view, this.o.wallet.address, signature);
    const roundSecret = hex(secret.secretKey);
    // Finalized here once the followers took the block (or did not answer in time): until then this node's
    // replica keeps heartbeating the height, so that a follower's leader timer never runs out in between.
    await this.persist(rollupId, height, wire, roundSecret, false);
    this.o.metrics.blocksFinalized.inc({ role: "leader" });
    for (const s of block.slots) if (s.status === "invalid") this.o.metrics.invalidSlots.inc({ reason: s.reason });
    log.info(
      { txCount: block.commitment.txCount, invalid: block.slots.filter((s) => s.status === "invalid").length },
      "block finalized",
    );
    this.broadcast(
      {
        rollupId: rollupId.toString(),
        height,
        block: wire,
        roundSecret,
        certificate: sealCertificateToJson(certificate),
      },
      view,
      log,
      () => this.o.onFinalized?.(rollupId, height),
    );
    return (await this.stored(rollupId, height)) ?? wire;
  }

  private async roundKeyOf(rollup: RollupInfo, height: number): Promise<RoundKey> {
    try {
      return await this.o.roundKeys.get(rollup, BigInt(height));
    } catch (error) {
      if (error instanceof RoundKeyUnavailable) throw veilError.unavailable(error.message);
      throw error;
    }
  }

  /** Sends a stored block again (followers that hold it acknowledge without rebuilding). */
  private async rebroadcast(rollupId: bigint, height: number, block: BuiltBlockWire): Promise<void> {
    const [record, certificate] = await Promise.all([
      this.o.store.getBuiltBlock(rollupId, height),
      this.o.store.getCertificate(rollupId, height),
    ]);
    // Only with the certificate of the block's own view (a later view may have certified the seal again).
    if (record === undefined || certificate === undefined) return;
    if ((certificate as { seal?: { viewNumber?: unknown } }).seal?.viewNumber !== block.viewNumber) return;
    const { roundSecret } = record.block;
    const log = this.o.log.child({ rollupId: rollupId.toString(), height });
    this.broadcast({ rollupId: rollupId.toString(), height, block, roundSecret, certificate }, block.viewNumber, log);
  }

  /**
   * Builds from this node's sealed entries, committed in `view` (its seal certificate's); the result must
   * reproduce the seal's count and encRoot.
   */
  private async build(
    rollup: RollupInfo,
    height: number,
    view: number,
    seal: SealRecord,
    roundKey: RoundKey,
    secretKey: bigint,
    role: "leader" | "follower",
  ): Promise<BuiltBlock> {
    const started = performance.now();
    const records = await this.o.store.getEntries(rollup.rollupId, height);
    if (records.length !== seal.txCount) {
      throw veilError.outOfOrder(`height ${height} holds ${records.length} entries, its seal ${seal.txCount}`);
    }
    const chainId = this.o.chainIds.get(rollup.rollupId);
    const inboxBlock = BigInt(seal.seal.seal.inboxBlock);
    const forced = await this.o.inbox.dueAt(rollup.rollupId, BigInt(height), inboxBlock);
    const block = await buildBlock({
      rollupId: rollup.rollupId,
      height: BigInt(height),
      entries: records.map((r) => entryFromWire(r.encryptedTx)),
      forced: { inboxBlock, entries: forced },
      // Trusted: a leader computed the leaf data of the entries it admitted, and a height can only be sealed
      // after a majority recomputed every leaf of a log it adopted from another leader (docs/ordering.md,
      // "What a follower's unrecomputed leaf trusts"); a follower's rebuild reproduces its leader's block.
      encTxHashes: records.map((r) => r.encTxHash.toLowerCase()),
      roundKey: roundKey.publicKey,
      secretKey,
      viewNumber: view,
      ...(chainId === undefined ? {} : { chainId }),
      ...(this.o.decrypter === undefined ? {} : { decrypter: this.o.decrypter }),
    });
    if (block.encRoot.toLowerCase() !== seal.encRoot.toLowerCase()) {
      throw new Error(`the rebuilt encRoot ${block.encRoot} differs from the sealed ${seal.encRoot}`);
    }
    this.o.metrics.buildSeconds.observe({ role }, (performance.now() - started) / 1000);
    return block;
  }

  /**
   * Stores a block; a block stored meanwhile with the same content (the same commitment, or the same block
   * committed in another view) is fine, another is an error. `finalized`: tell the sequencer now (a leader
   * tells it once its broadcast settled).
   */
  private async persist(
    rollupId: bigint,
    height: number,
    wire: BuiltBlockWire,
    roundSecret: string,
    finalized = true,
  ): Promise<void> {
    try {
      await this.o.store.finalize(rollupId, height, {
        rawRoot: wire.commitment.rawRoot,
        block: { built: wire, roundSecret },
      });
    } catch (error) {
      const existing = await this.stored(rollupId, height);
      if (existing === undefined) throw error;
      if (!sameBlock(existing, wire)) {
        throw veilError.invalidProof(`height ${height} is already finalized with another block commitment`);
      }
    }
    if (finalized) this.o.onFinalized?.(rollupId, height);
  }

  /** Sends a built block to every other member; `settled` runs once each answered or failed. */
  private broadcast(
    payload: BlockBuiltPayload & { block: BuiltBlockWire; certificate: SealCertificateJson | StoredValue },
    view: number,
    log: Logger,
    settled?: () => void,
  ): void {
    const run = (async () => {
      const envelope = await sealEnvelope(
        this.o.wallet,
        this.o.domain,
        this.o.chain.clusterId,
        view,
        ClusterMessageKind.BlockBuilt,
        payload,
      );
      await Promise.all(
        this.o.peers.all.map(async (peer) => {
          try {
            await peer.cluster.call("cluster_block_built", envelope);
          } catch (error) {
            const name = error instanceof RpcCallError ? error.errorName : undefined;
            // A follower without the seal learns the height by catch-up later; anything else is worth a look.
            const level = name === "OUT_OF_ORDER" ? "info" : "warn";
            log[level]({ peer: peer.url, err: (error as Error).message }, "a follower did not take the block");
          }
        }),
      );
    })().finally(() => {
      this.broadcasts.delete(run);
      settled?.();
    });
    this.broadcasts.add(run);
  }

  // ---- a member that missed the height: fetch ------------------------------------------------------

  /**
   * `cluster_get_block`: this node's built block of a height, with its round secret, seal certificate and
   * sealed entries, for a member that missed the height (a read: it changes nothing here).
   */
  async onGetBlock(envelope: Envelope): Promise<z.input<typeof fetchedBlock>> {
    const request = openEnvelope(envelope, {
      domain: this.o.domain,
      clusterId: this.o.chain.clusterId,
      kind: ClusterMessageKind.BlockRequest,
      isMember: (a) => this.o.chain.isMember(a),
      schema: blockRequestPayload,
    });
    const rollupId = BigInt(request.rollupId);
    const [record, certificate, entries] = await Promise.all([
      this.o.store.getBuiltBlock(rollupId, request.height),
      this.o.store.getCertificate(rollupId, request.height),
      this.o.store.getEntries(rollupId, request.height),
    ]);
    if (record === undefined || certificate === undefined) {
      throw veilError.notFound(`the built block of height ${request.height}`);
    }
    return { block: record.block.built, roundSecret: record.block.roundSecret, certificate, entries };
  }

  /**
   * Fetches the built block of a decided height from member `from` and stores it with the sealed log it was
   * built from, after checking everything: the certificate's majority, the entries against the certified
   * count and root, the commitment's signature by the certificate view's leader, the round secret, and this
   * node's own rebuild. Resolves true once stored here.
   */
  async fetch(rollupId: bigint, height: number, from: string): Promise<boolean> {
    // This node's own build of the height, or a leader's block being rebuilt here: wait for it, rather than
    // ask a member that cannot have the block before it is built.
    const key = `${rollupId}:${height}`;
    const building = this.inFlight.get(key);
    if (
      building !== undefined &&
      (await building.then(
        () => true,
        () => false,
      ))
    )
      return true;
    const arriving = this.arriving.get(key);
    if (arriving !== undefined && (await arriving)) return true;
    if ((await this.stored(rollupId, height)) !== undefined) return true;
    const peer = await this.o.peers.byAddress(from);
    if (peer === undefined) return false;
    const request = await sealEnvelope(
      this.o.wallet,
      this.o.domain,
      this.o.chain.clusterId,
      0,
      ClusterMessageKind.BlockRequest,
      { rollupId: rollupId.toString(), height },
    );
    const answer = fetchedBlock.parse(await peer.cluster.call("cluster_get_block", request));
    const block = builtBlockJson.parse(answer.block);
    const commitment: BlockCommitment = block.commitment;
    if (commitment.rollupId !== rollupId || commitment.height !== BigInt(height)) {
      throw veilError.invalidProof("the fetched block is of another height");
    }
    const certificate = await this.certifiedView(answer.certificate, commitment);
    const { seal } = certificate;
    const view = seal.viewNumber;
    const leader = this.o.chain.leaderAt(seal.epoch, height, view);
    if (getAddress(block.leader) !== leader || block.viewNumber !== view || commitment.viewNumber !== view) {
      throw veilError.unauthorized(
        `the fetched block names another leader or view than its certificate (view ${view})`,
      );
    }
    if (!isSignedBy(this.o.domain, "BlockCommitment", commitment, block.signature, leader)) {
      throw veilError.invalidSignature("the fetched block commitment is not signed by its view's leader");
    }
    // The entries must be the certified log: its count, and leaves whose tree has the certified root.
    const entries = answer.entries.map((e): Entry => {
      entrySchema.parse(e);
      return e as Entry;
    });
    const tree = new IncrementalMerkleTree();
    for (const e of entries) tree.append(e.encTxHash.toLowerCase());
    if (entries.length !== seal.txCount || tree.root.toLowerCase() !== seal.encRoot.toLowerCase()) {
      throw veilError.invalidProof("the fetched entries are not the certified log");
    }
    const rollup = await this.o.chain.rollup(rollupId);
    if (rollup === undefined) throw veilError.unknownRollup(rollupId.toString());
    const roundKey = await this.roundKeyOf(rollup, height);
    const secretKey = BigInt(answer.roundSecret);
    if (!isRoundSecret(roundKey, secretKey)) {
      throw new RpcError("WRONG_ROUND_KEY", `the round secret does not open the round key of height ${height}`);
    }
    // The sealed log as this node's own, signed by the leader of the certificate's view (it signed its seal).
    const leaderSignature = certificate.signatures.find((sig) => isSignedBy(this.o.domain, "Seal", seal, sig, leader));
    if (leaderSignature === undefined) throw veilError.invalidProof("the certificate lacks its leader's signature");
    const sealRecord: SealRecord = sealRecordOf(sealResultToJson({ seal, signature: leaderSignature, leader }));
    const current = await this.o.store.getViewState(rollupId, height);
    await this.o.store.applyHeightWrites(rollupId, height, [
      {
        type: "install",
        view: Math.max(current.view, view),
        normalView: Math.max(current.normalView, view),
        keep: 0,
        entries,
        seal: sealRecord,
        viewCertificate: undefined,
        signedDropped: [],
      },
      { type: "decided", certificate: sealCertificateToJson(certificate) as unknown as StoredValue },
    ]);
    const rebuilt = await this.build(rollup, height, view, sealRecord, roundKey, secretKey, "follower");
    if (
      rebuilt.rawRoot.toLowerCase() !== commitment.rawRoot ||
      rebuilt.commitmentHash.toLowerCase() !== block.commitmentHash
    ) {
      throw veilError.invalidProof(
        `this node's rebuild gives rawRoot ${rebuilt.rawRoot}, the leader's is ${commitment.rawRoot}`,
      );
    }
    await this.persist(rollupId, height, toWire(rebuilt, view, leader, block.signature), answer.roundSecret);
    this.o.metrics.blocksFinalized.inc({ role: "follower" });
    this.o.log.info({ rollupId: rollupId.toString(), height, from }, "missed block fetched, rebuilt and stored");
    return true;
  }

  // ---- follower ------------------------------------------------------------------------------------

  /** Handles `cluster_block_built`: checks, rebuilds from this node's replica, compares, stores. */
  async onBlockBuilt(envelope: Envelope): Promise<EnvelopeJson> {
    try {
      return await this.acceptBlock(envelope);
    } catch (error) {
      const name = error instanceof RpcError ? error.errorName : "INTERNAL_ERROR";
      this.o.metrics.blocksRefused.inc({ error: name });
      throw error;
    }
  }

  /** A seal certificate of the cluster for exactly this commitment's count and root, or an error. */
  private async certifiedView(raw: unknown, commitment: BlockCommitment): Promise<SealCertificate> {
    let certificate: SealCertificate;
    try {
      certificate = parseSealCertificate(raw);
    } catch (error) {
      const issue = error instanceof z.ZodError ? error.issues[0]?.message : undefined;
      throw new RpcError("INVALID_PARAMS", `invalid params: the seal certificate is malformed: ${issue ?? "invalid"}`);
    }
    const { seal } = certificate;
    if (
      seal.rollupId !== commitment.rollupId ||
      seal.height !== commitment.height ||
      seal.txCount !== commitment.txCount ||
      seal.encRoot !== commitment.encRoot
    ) {
      throw veilError.invalidProof("the seal certificate is for another count or root than the block commitment");
    }
    try {
      verifySealCertificate(this.o.domain, certificate, await this.o.chain.fetchMembersAt(seal.epoch));
    } catch (error) {
      if (error instanceof CertificateError) throw veilError.invalidSignature(`the seal certificate: ${error.message}`);
      throw error;
    }
    return certificate;
  }

  private async acceptBlock(envelope: Envelope): Promise<EnvelopeJson> {
    const payload = openEnvelope(envelope, {
      domain: this.o.domain,
      clusterId: this.o.chain.clusterId,
      kind: ClusterMessageKind.BlockBuilt,
      isMember: (a) => this.o.chain.isMember(a),
      schema: blockBuiltPayload,
    });
    const parsed = builtBlockJson.safeParse(payload.block);
    if (!parsed.success) {
      throw new RpcError("INVALID_PARAMS", `invalid block: ${parsed.error.issues[0]?.message ?? "malformed"}`);
    }
    const block = parsed.data;
    const rollupId = BigInt(payload.rollupId);
    const { height } = payload;
    const commitment: BlockCommitment = block.commitment;
    if (commitment.rollupId !== rollupId || commitment.height !== BigInt(height)) {
      throw veilError.unauthorized("the block commitment is for another height than the message names");
    }
    // The view is the one a majority certified the seal in, never the one the message claims.
    const certificate = await this.certifiedView(payload.certificate, commitment);
    const view = certificate.seal.viewNumber;
    const sender = envelope.message.sender;
    const leader = this.o.chain.leaderAt(certificate.seal.epoch, height, view);
    if (sender !== leader) throw veilError.notLeader(leader);
    if (
      block.viewNumber !== view ||
      commitment.viewNumber !== view ||
      envelope.message.viewNumber !== view ||
      getAddress(block.leader) !== sender
    ) {
      throw veilError.unauthorized(`the block names another leader or view than its seal certificate (view ${view})`);
    }
    if (!isSignedBy(this.o.domain, "BlockCommitment", commitment, block.signature, sender)) {
      throw veilError.invalidSignature("the block commitment is not signed by the height's leader");
    }
    if (block.commitmentHash !== structHash("BlockCommitment", commitment).toLowerCase()) {
      throw new RpcError("INVALID_PARAMS", "invalid params: commitmentHash is not hashStruct(commitment)");
    }
    if (block.taskId !== taskIdOf(rollupId, BigInt(height)).toLowerCase()) {
      throw new RpcError("INVALID_PARAMS", "invalid params: taskId is not taskIdOf(rollupId, height)");
    }

    const ack = (): Promise<EnvelopeJson> =>
      sealEnvelope(this.o.wallet, this.o.domain, this.o.chain.clusterId, block.viewNumber, ClusterMessageKind.Ack, {
        rollupId: payload.rollupId,
        height,
        commitmentHash: block.commitmentHash,
      });
    const existing = await this.stored(rollupId, height);
    if (existing !== undefined) {
      // The same block committed in another view (a leader that took the height over rebuilt it) too.
      if (sameBlock(existing, block)) return ack();
      throw veilError.invalidProof(`height ${height} is finalized here with another block commitment`);
    }

    const rollup = await this.o.chain.rollup(rollupId);
    if (rollup === undefined) throw veilError.unknownRollup(payload.rollupId);
    const seal = await this.o.store.getSeal(rollupId, height);
    if (seal === undefined) {
      throw veilError.outOfOrder(`this node lacks the seal of height ${height} (it will catch up)`);
    }
    if (seal.txCount !== commitment.txCount || seal.encRoot.toLowerCase() !== commitment.encRoot) {
      throw veilError.invalidProof("the block commitment's count or encRoot differs from the seal this node holds");
    }
    // Decided from here on: the replica stops waiting for a leader while the block is rebuilt (seconds under
    // load), and a fetch of the height meanwhile waits for this rebuild rather than starting another.
    this.o.onBlockArriving?.(rollupId, height, certificate, sender);
    const key = `${rollupId}:${height}`;
    const run = this.rebuildArrived(rollup, payload, block, certificate, seal, sender);
    this.arriving.set(
      key,
      run.then(
        () => true,
        () => false,
      ),
    );
    try {
      await run;
    } finally {
      this.arriving.delete(key);
    }
    return ack();
  }

  /** Rebuilds a leader's block from this node's sealed log, compares it with the leader's, and stores it. */
  private async rebuildArrived(
    rollup: RollupInfo,
    payload: BlockBuiltPayload,
    block: BuiltBlockJson,
    certificate: SealCertificate,
    seal: SealRecord,
    sender: string,
  ): Promise<void> {
    const { rollupId } = rollup;
    const { height } = payload;
    const commitment: BlockCommitment = block.commitment;
    const view = certificate.seal.viewNumber;
    const roundKey = await this.roundKeyOf(rollup, height);
    const secretKey = BigInt(payload.roundSecret);
    if (!isRoundSecret(roundKey, secretKey)) {
      throw new RpcError("WRONG_ROUND_KEY", `the round secret does not open the round key of height ${height}`);
    }
    const rebuilt = await this.build(rollup, height, view, seal, roundKey, secretKey, "follower");
    if (
      rebuilt.rawRoot.toLowerCase() !== commitment.rawRoot ||
      rebuilt.commitmentHash.toLowerCase() !== block.commitmentHash
    ) {
      throw veilError.invalidProof(
        `this node's rebuild gives rawRoot ${rebuilt.rawRoot}, the leader's is ${commitment.rawRoot}`,
      );
    }
    // The certificate through the replica's write path: host.built reads it once the block is stored.
    await this.o.store.applyHeightWrites(rollupId, height, [
      { type: "decided", certificate: sealCertificateToJson(certificate) as unknown as StoredValue },
    ]);
    await this.persist(
      rollupId,
      height,
      toWire(rebuilt, block.viewNumber, sender, block.signature),
      payload.roundSecret,
    );
    this.o.metrics.blocksFinalized.inc({ role: "follower" });
    this.o.log.info({ rollupId: payload.rollupId, height }, "block from the leader rebuilt and stored");
  }
}
