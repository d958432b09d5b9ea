/**
 * A running node as far as the infrastructure goes: storage opened, the JSON-RPC server listening
 * with /health and /metrics, the status method registered. The API's methods (API_METHODS) are
 * announced before the server listens and register once the cluster is read from L1; until then they
 * answer UNAVAILABLE and the node is not ready.
 */
import { JsonRpcProvider, Wallet, computeAddress } from "ethers";
import { API_METHODS, registerApi } from "../api/methods";
import { veilDomain } from "../chain/eip712";
import { Health } from "../common/health";
import { createRegistry } from "../common/metrics";
import { MicroBatcher } from "../zk/micro-batcher";
import { Groth16VerifierPool } from "../zk/verifier";
import { TX_VALIDITY_CIRCUIT } from "../zk/prover";
import {
  ClusterRegistry__factory,
  ForcedInclusionInbox__factory,
  ValidationServiceManager__factory,
  type ClusterRegistry,
} from "../../typechain-types";
import { InboxReader } from "../chain/inbox";
import { MERKLE_CAPACITY } from "../chain/merkle";
import { BlockPipeline } from "./block-pipeline";
import { censorSwitch } from "./censor";
import { ChainView } from "./chain-view";
import { expectSlasher } from "../chain/deployment-check";
import { logBytesBudget } from "./cluster/message-size";
import { Peers } from "./cluster/peers";
import { UploadPermits } from "./cluster/upload-permit";
import { createOrderingMetrics, registerOrderingGauges } from "./ordering-metrics";
import { MemoryRoundKeySource, RoundKeys, RpcRoundKeySource, type RoundKeySource } from "./round-keys";
import { Ordering } from "./ordering";
import { InboxCut } from "./inbox-cut";
import { parseSealCertificate } from "../chain/certificate";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { z } from "zod";
import { veilError } from "../rpc/errors";
import { MethodRegistry } from "../rpc/registry";
import { RpcServer, serverLimits, type ListenAddress } from "../rpc/server";
import type { NodeConfig } from "./config";
import { createBlockMetrics, registerBuildInfo } from "./metrics";
import { LazyDecrypter } from "../block/lazy-decrypter";
import { KeyGeneratorSecrets, type RoundSecretSource } from "./round-secrets";
import { VsmTaskSubmitter, type VsmTasks } from "./vsm-tasks";
import { NodeStore, type StoreStats } from "./storage/store";
import { VERSION } from "../common/version";

export { VERSION };

/**
 * What `get_cluster_status` answers (bigints are sent as decimal strings). No file-system path: where
 * the database lives is the operator's business (the start-up log line has it), not every caller's.
 */
export const clusterStatusSchema = z.object({
  version: z.string(),
  nodeAddress: z.string(),
  clusterId: z.string(),
  peers: z.array(z.string()),
  uptimeSeconds: z.number(),
  ready: z.boolean(),
  storage: z.object({
    entries: z.number(),
    blocks: z.object({ open: z.number(), sealed: z.number(), finalized: z.number() }),
  }),
});
export type ClusterStatus = z.infer<typeof clusterStatusSchema>;

/** What an embedding process (tests, the benchmark) may supply instead of the defaults. */
export interface NodeDeps {
  /** ClusterRegistry binding (default: connect to `l1.rpcUrl`). */
  readonly registry?: ClusterRegistry;
  /** Chain id of the domain (default: asked from the registry's provider). */
  readonly chainId?: bigint;
  /** Round-key contributions (default: the key-generator service at `keyGenerator.url`). */
  readonly roundKeySource?: RoundKeySource;
  /** Proof verification (default: a worker-thread pool behind a micro-batcher, owned by the node). */
  readonly verifier?: Pick<MicroBatcher, "verify">;
  /** Round secrets of sealed heights (default: the key generators at `keyGenerator.url(s)`). */
  readonly roundSecretSource?: RoundSecretSource;
  /** VSM task creation (default: the ValidationServiceManager, sent with the node's key). */
  readonly vsmTasks?: VsmTasks;
  readonly now?: () => number;
}

export interface RunningNode {
  readonly address: ListenAddress;
  readonly nodeAddress: string;
  readonly methods: MethodRegistry;
  readonly store: NodeStore;
  readonly health: Health;
  readonly metricsRegistry: Registry;
  readonly log: Logger;
  /** Ordering, once the cluster was read from L1. */
  readonly sequencer: Ordering | undefined;
  /** Block building and publishing, once the cluster was read from L1. */
  readonly blocks: BlockPipeline | undefined;
  readonly chain: ChainView;
  /** Stops serving (draining requests in flight), then closes the store. Idempotent. */
  stop(): Promise<void>;
}

/** How often the node reads L1's block number to follow membership epochs (an epoch is many blocks). */
const EPOCH_POLL_MS = 2_000;

export async function startNode(config: NodeConfig, log: Logger, deps: NodeDeps = {}): Promise<RunningNode> {
  const startedAt = performance.now();
  const nodeAddress = computeAddress(config.node.signingKey.reveal());
  const provider = deps.registry === undefined ? new JsonRpcProvider(config.l1.rpcUrl) : undefined;
  const registry = deps.registry ?? ClusterRegistry__factory.connect(config.l1.contracts.clusterRegistry, provider);
  const chain = new ChainView(registry, config.cluster.id);
  const store = await NodeStore.open(config.storage.path);
  const metricsRegistry = createRegistry({ processMetrics: true, labels: { node: nodeAddress } });
  registerBuildInfo(metricsRegistry, VERSION);
  const health = new Health().addReadinessCheck("storage", () =>
    store.isOpen ? { ok: true } : { ok: false, detail: "the database is not open" },
  );
  health.addReadinessCheck("cluster", () =>
    chain.size > 0 ? { ok: true } : { ok: false, detail: "the cluster's member list is not loaded" },
  );
  const methods = new MethodRegistry().announce(
    API_METHODS,
    "the node is starting and serves it once it has read its cluster from L1",
  );
  health.addReadinessCheck("api", () =>
    methods.pending.length === 0
      ? { ok: true }
      : { ok: false, detail: `${methods.pending.length} methods wait for the cluster to be read from L1` },
  );
  // Ordering serves once the cluster is read and checked (the slasher too) and the API is registered; its
  // progress is judged from what the node holds already (a probe sends nothing).
  let serving = false;
  health.addReadinessCheck("ordering", () =>
    serving ? { ok: true } : { ok: false, detail: "ordering is not started (the cluster is not read from L1 yet)" },
  );
  health.addReadinessCheck("leader-progress", () => sequencer?.progressCheck() ?? { ok: true });
  health.addReadinessCheck("lag", () => sequencer?.lagCheck() ?? { ok: true });
  let ownedPool: Groth16VerifierPool | undefined;
  let ownedBatcher: MicroBatcher | undefined;
  if (deps.verifier === undefined) {
    ownedPool = Groth16VerifierPool.forCircuit(TX_VALIDITY_CIRCUIT);
    ownedBatcher = new MicroBatcher(ownedPool);
  }
  // The node's own key generator first, then the others it may ask for round keys, reveals and secrets.
  const keyGeneratorUrls = [
    ...(config.keyGenerator.url === undefined ? [] : [config.keyGenerator.url]),
    ...config.keyGenerator.urls,
  ];
  const source =
    deps.roundKeySource ??
    (keyGeneratorUrls.length > 0 ? new RpcRoundKeySource(keyGeneratorUrls) : new MemoryRoundKeySource());
  const peers = new Peers(config.cluster.peers, config.timeouts.peerRequestMs);
  let permits: UploadPermits | undefined; // known once the cluster is read from L1 (attachOrdering)
  const server = new RpcServer({
    methods,
    log,
    metricsRegistry,
    health,
    ...serverLimits(config.rpc),
    clusterUploadPermit: (permit, bytes) =>
      permits === undefined
        ? veilError.unavailable("the node is starting and has not read its cluster from L1")
        : permits.refusal(permit, bytes),
  });
  methods.register("get_cluster_status", {
    description: "the node's identity, peers, uptime and storage statistics",
    params: {},
    handler: async (): Promise<ClusterStatus> => {
      const [stats, report]: [StoreStats, { ready: boolean }] = await Promise.all([store.stats(), health.report()]);
      return {
        version: VERSION,
        nodeAddress,
        clusterId: config.cluster.id.toString(),
        peers: config.cluster.peers,
        uptimeSeconds: Math.round((performance.now() - startedAt) / 1000),
        ready: report.ready,
        storage: stats,
      };
    },
  });
  methods.register("rpc_methods", {
    description: "the methods this node serves, with their param names in positional order",
    params: {},
    handler: () => methods.list(),
  });
  /** Reads the cluster from L1, then serves ordering; until then the node is live but not ready. */
  let sequencer: Ordering | undefined;
  let blocks: BlockPipeline | undefined;
  const decrypter = new LazyDecrypter(config.blocks.decryptThreads);
  let stopFailover: (() => void) | undefined;
  const attachOrdering = async (): Promise<void> => {
    const withTimeout = <T>(p: Promise<T>): Promise<T> =>
      Promise.race([
        p,
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error("L1 did not answer")), config.timeouts.l1RequestMs).unref(),
        ),
      ]);
    await withTimeout(chain.refresh());
    expectSlasher(await withTimeout(registry.slasher()), config.l1.contracts.validationServiceManager);
    if (!chain.isMember(nodeAddress)) log.warn({ nodeAddress }, "this node is not a member of its cluster");
    const chainId = deps.chainId ?? (await withTimeout(registry.runner!.provider!.getNetwork())).chainId;
    const domain = veilDomain(chainId, config.l1.contracts.validationServiceManager);
    const censored = censorSwitch(config.testing.censorClients, chainId, log);
    // The inbox whose due entries the VSM holds blocks to, and room for its most entries in every block.
    const l1 = registry.runner!.provider!;
    const vsmReader = ValidationServiceManager__factory.connect(config.l1.contracts.validationServiceManager, l1);
    const inbox = ForcedInclusionInbox__factory.connect(await withTimeout(vsmReader.inbox()), l1);
    const forcedSlots = Number(await withTimeout(inbox.maxEntriesPerHeight()));
    // Every contribution must be signed by its generator in this deployment's domain: otherwise one key
    // generator could serve contributions it made up for the others and know the round secret.
    const roundKeys = new RoundKeys(source, domain, log);
    // One signer for everything this node signs off-chain (order commitments, cluster messages, seals,
    // block commitments); the L1 signer below is the same key connected to the L1 provider.
    const wallet = new Wallet(config.node.signingKey.reveal());
    permits = new UploadPermits({ wallet, domain, clusterId: config.cluster.id, isMember: (a) => chain.isMember(a) });
    peers.usePermits(permits);
    sequencer = new Ordering({
      wallet,
      domain,
      chain,
      store,
      peers,
      roundKeys,
      verifier: deps.verifier ?? ownedBatcher!,
      metrics: createOrderingMetrics(metricsRegistry),
      log,
      lookahead: config.limits.maxLookaheadHeights,
      followerProofSampleRate: config.ordering.followerProofSampleRate,
      followerSignatureSampleRate: config.ordering.followerSignatureSampleRate,
      maxLogBytes: logBytesBudget(config.rpc.clusterMaxBodyBytes),
      heartbeatIntervalMs: config.timeouts.heartbeatIntervalMs,
      leaderTimeoutMs: config.timeouts.leaderTimeoutMs,
      commitTimeoutMs: config.timeouts.peerRequestMs,
      maxLagHeights: config.health.maxLagHeights,
      inbox: new InboxCut(() => chain.l1Head, config.l1.inbox),
      maxEntries: MERKLE_CAPACITY - forcedSlots,
    });
    const ordering = sequencer;
    registerOrderingGauges(metricsRegistry, {
      rollups: () => ordering.rollups(),
      openHeight: (rollupId) => ordering.openHeight(rollupId),
      viewAndLeading: (rollupId, height) => ordering.viewAndLeading(rollupId, height),
      get liveHeights() {
        return ordering.liveHeights;
      },
      get l1Head() {
        return chain.l1Head;
      },
    });
    stopFailover = () => void ordering.close();
    ordering.start().catch((error: unknown) => log.warn({ err: error }, "could not resume the heights in progress"));
    const l1Signer = wallet.connect(registry.runner!.provider);
    blocks = new BlockPipeline({
      wallet,
      domain,
      chain,
      store,
      peers,
      roundKeys,
      secrets:
        deps.roundSecretSource ??
        new KeyGeneratorSecrets({
          urls: keyGeneratorUrls,
          revealTimeoutMs: config.keyGenerator.revealTimeoutMs,
          secretWaitMs: config.keyGenerator.secretWaitMs,
          certificateOf: async (rollupId, height) => {
            const stored = await store.getCertificate(rollupId, Number(height));
            return stored === undefined ? undefined : parseSealCertificate(stored);
          },
          log,
        }),
      tasks:
        deps.vsmTasks ??
        new VsmTaskSubmitter(
          ValidationServiceManager__factory.connect(config.l1.contracts.validationServiceManager, l1Signer),
          3 * config.timeouts.l1RequestMs,
        ),
      chainIds: new Map(Object.entries(config.blocks.chainIds).map(([r, c]) => [BigInt(r), c])),
      inbox: new InboxReader(inbox),
      decrypter,
      metrics: createBlockMetrics(metricsRegistry),
      log,
      onFinalized: (rollupId, height) => sequencer?.markFinalized(rollupId, height),
      onBlockArriving: (rollupId, height, certificate, from) =>
        sequencer?.blockArriving(rollupId, height, certificate, from),
    });
    const pipeline = blocks;
    ordering.fetchBlocksWith((rollupId, height, from) => pipeline.fetch(rollupId, height, from));
    registerApi({
      methods,
      store,
      blocks,
      sequencer,
      chain,
      peers,
      roundKeys,
      domain,
      lookahead: config.limits.maxLookaheadHeights,
      maxSubmissionBytes: config.limits.maxCiphertextBytes,
      // The leader may wait for the round secret, then decrypt and wait for L1: far longer than a peer call.
      finalizeTimeoutMs:
        config.keyGenerator.secretWaitMs + config.keyGenerator.revealTimeoutMs + 5 * config.timeouts.l1RequestMs,
      ...(deps.now === undefined ? {} : { now: deps.now }),
      ...(censored === undefined ? {} : { censors: censored }),
    });
    // An announced method that registerApi does not register would keep the node unready for good.
    if (methods.pending.length > 0) log.error({ methods: methods.pending }, "announced methods were not registered");
    serving = true;
  };
  let address: ListenAddress;
  try {
    address = await server.listen(config.rpc.port, config.rpc.host);
  } catch (error) {
    await store.close();
    throw error;
  }
  log.info(
    { url: address.url, nodeAddress, clusterId: config.cluster.id.toString(), db: store.location },
    "node started",
  );

  let retry: NodeJS.Timeout | undefined;
  let epochs: NodeJS.Timeout | undefined;
  /** Follows L1's membership epochs: the current one, and the next one's members once they are final. */
  const followEpochs = (): void => {
    epochs = setInterval(() => {
      const before = chain.epoch;
      chain.refresh().then(
        () => {
          if (chain.epoch !== before) log.info({ epoch: chain.epoch, members: chain.memberList }, "new epoch");
        },
        (error: unknown) => log.warn({ err: error }, "cannot read the membership epoch from L1"),
      );
    }, EPOCH_POLL_MS);
    epochs.unref();
  };
  const connect = async (): Promise<void> => {
    try {
      await attachOrdering();
      followEpochs();
      log.info({ epoch: chain.epoch, members: chain.memberList }, "cluster loaded from L1; ordering enabled");
    } catch (error) {
      log.warn({ err: error }, "cannot read the cluster from L1 yet; retrying");
      retry = setTimeout(() => void connect(), 2_000);
    }
  };
  // In-process callers hand in a live registry and want ordering on return; a process reaches L1 in the background.
  if (deps.registry !== undefined) await connect();
  else void connect();

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      health.markShuttingDown();
      log.info("node stopping");
      if (retry !== undefined) clearTimeout(retry);
      if (epochs !== undefined) clearInterval(epochs);
      stopFailover?.();
      await server.close(config.timeouts.shutdownGraceMs);
      await blocks?.settled();
      provider?.destroy();
      await decrypter.close();
      await ownedBatcher?.close();
      await ownedPool?.close();
      await store.close();
      log.info("node stopped");
    })());

  return {
    address,
    nodeAddress,
    methods,
    store,
    health,
    metricsRegistry,
    log,
    get sequencer() {
      return sequencer;
    },
    get blocks() {
      return blocks;
    },
    chain,
    stop,
  };
}
