/**
 * The node's Prometheus metrics. Each node owns a Registry (not prom-client's global one) so that
 * several nodes can run in one process, as the in-process cluster tests do.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export interface RpcMetrics {
  readonly calls: Counter<"method" | "outcome">;
  readonly callSeconds: Histogram<"method">;
  readonly httpRequests: Counter<"status">;
  readonly inflight: Gauge;
  readonly rateLimited: Counter;
}

/** A fresh registry; `processMetrics` adds prom-client's CPU, memory and event-loop metrics. */
export function createRegistry(options: { processMetrics: boolean; labels?: Record<string, string> }): Registry {
  const registry = new Registry();
  if (options.labels !== undefined) registry.setDefaultLabels(options.labels);
  if (options.processMetrics) collectDefaultMetrics({ register: registry, prefix: "veil_" });
  return registry;
}

export function createRpcMetrics(registry: Registry): RpcMetrics {
  return {
    calls: new Counter({
      name: "veil_rpc_calls_total",
      help: "JSON-RPC calls by method and outcome (ok or the error name)",
      labelNames: ["method", "outcome"] as const,
      registers: [registry],
    }),
    callSeconds: new Histogram({
      name: "veil_rpc_call_seconds",
      help: "Time from parsed call to its result, by method",
      labelNames: ["method"] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    httpRequests: new Counter({
      name: "veil_http_requests_total",
      help: "HTTP requests by response status",
      labelNames: ["status"] as const,
      registers: [registry],
    }),
    inflight: new Gauge({
      name: "veil_rpc_inflight_requests",
      help: "HTTP requests being processed",
      registers: [registry],
    }),
    rateLimited: new Counter({
      name: "veil_rpc_rate_limited_total",
      help: "Calls refused by the per-client rate limit",
      registers: [registry],
    }),
  };
}

export interface BlockMetrics {
  /** Seconds from the start of building (round secret in hand) to the block stored, by role. */
  readonly buildSeconds: Histogram<"role">;
  /** Seconds spent obtaining the round secret, by path (reveals or the key generators' round secret). */
  readonly secretSeconds: Histogram<"path">;
  readonly blocksFinalized: Counter<"role">;
  readonly invalidSlots: Counter<"reason">;
  readonly vsmTaskFailures: Counter<"cause">;
  /** BlockBuilt messages a follower refused, by error name. */
  readonly blocksRefused: Counter<"error">;
}

export function createBlockMetrics(registry: Registry): BlockMetrics {
  return {
    buildSeconds: new Histogram({
      name: "veil_block_build_seconds",
      help: "Decrypt-and-build time of a block (leader: to the answer; follower: the rebuild), by role",
      labelNames: ["role"] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    secretSeconds: new Histogram({
      name: "veil_round_secret_seconds",
      help: "Time to obtain a round secret from the key generators, by path",
      labelNames: ["path"] as const,
      buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 120],
      registers: [registry],
    }),
    blocksFinalized: new Counter({
      name: "veil_blocks_finalized_total",
      help: "Blocks built and stored, by role (leader or follower)",
      labelNames: ["role"] as const,
      registers: [registry],
    }),
    invalidSlots: new Counter({
      name: "veil_block_invalid_slots_total",
      help: "Slots of blocks built by this node as leader that are invalid, by reason",
      labelNames: ["reason"] as const,
      registers: [registry],
    }),
    vsmTaskFailures: new Counter({
      name: "veil_vsm_task_failures_total",
      help: "VSM createNewTask attempts that failed, by cause (conflict: a task with another commitment)",
      labelNames: ["cause"] as const,
      registers: [registry],
    }),
    blocksRefused: new Counter({
      name: "veil_block_built_refused_total",
      help: "BlockBuilt messages this node refused as a follower, by error name",
      labelNames: ["error"] as const,
      registers: [registry],
    }),
  };
}
