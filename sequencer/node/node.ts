/**
 * A running node as far as the infrastructure goes: storage opened, the JSON-RPC server listening
 * with /health and /metrics, the status method registered. The ordering methods register on
 * `node.methods` as they are built.
 */
import { computeAddress } from "ethers";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { z } from "zod";
import { MethodRegistry } from "../rpc/registry";
import { RpcServer, type ListenAddress } from "../rpc/server";
import type { NodeConfig } from "./config";
import { Health } from "./health";
import { createRegistry } from "./metrics";
import { NodeStore, type StoreStats } from "./storage/store";

export const VERSION = "0.1.0";

/** What `get_cluster_status` answers (bigints are sent as decimal strings). */
export const clusterStatusSchema = z.object({
  version: z.string(),
  nodeAddress: z.string(),
  clusterId: z.string(),
  view: z.number(),
  peers: z.array(z.string()),
  uptimeSeconds: z.number(),
  ready: z.boolean(),
  storage: z.object({
    path: z.string(),
    entries: z.number(),
    blocks: z.object({ open: z.number(), sealed: z.number(), finalized: z.number() }),
  }),
});
export type ClusterStatus = z.infer<typeof clusterStatusSchema>;

export interface RunningNode {
  readonly address: ListenAddress;
  readonly nodeAddress: string;
  readonly methods: MethodRegistry;
  readonly store: NodeStore;
  readonly health: Health;
  readonly metricsRegistry: Registry;
  readonly log: Logger;
  /** Stops serving (draining requests in flight), then closes the store. Idempotent. */
  stop(): Promise<void>;
}

export async function startNode(config: NodeConfig, log: Logger): Promise<RunningNode> {
  const startedAt = performance.now();
  const nodeAddress = computeAddress(config.node.signingKey.reveal());
  const store = await NodeStore.open(config.storage.path);
  const metricsRegistry = createRegistry({ processMetrics: true, labels: { node: nodeAddress } });
  const health = new Health().addReadinessCheck("storage", () =>
    store.isOpen ? { ok: true } : { ok: false, detail: "the database is not open" },
  );
  const methods = new MethodRegistry();

  methods.register("get_cluster_status", {
    description: "the node's identity, view, peers, uptime and storage statistics",
    params: {},
    handler: async (): Promise<ClusterStatus> => {
      const [stats, view, report]: [StoreStats, number, { ready: boolean }] = await Promise.all([
        store.stats(),
        store.getView(),
        health.report(),
      ]);
      return {
        version: VERSION,
        nodeAddress,
        clusterId: config.cluster.id.toString(),
        view,
        peers: config.cluster.peers,
        uptimeSeconds: Math.round((performance.now() - startedAt) / 1000),
        ready: report.ready,
        storage: { path: store.location, ...stats },
      };
    },
  });
  methods.register("rpc_methods", {
    description: "the methods this node serves, with their param names in positional order",
    params: {},
    handler: () => methods.list(),
  });

  const server = new RpcServer({
    methods,
    log,
    metricsRegistry,
    health,
    maxBodyBytes: config.rpc.maxBodyBytes,
    maxBatchSize: config.rpc.maxBatchSize,
    requestTimeoutMs: config.rpc.requestTimeoutMs,
    ...(config.rpc.rateLimit.enabled
      ? { rateLimit: { ratePerSecond: config.rpc.rateLimit.ratePerSecond, burst: config.rpc.rateLimit.burst } }
      : {}),
  });
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

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      health.markShuttingDown();
      log.info("node stopping");
      await server.close(config.timeouts.shutdownGraceMs);
      await store.close();
      log.info("node stopped");
    })());

  return { address, nodeAddress, methods, store, health, metricsRegistry, log, stop };
}
