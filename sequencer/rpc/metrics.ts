/** The JSON-RPC server's metrics (server.ts), on the registry of the process that serves it. */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

export interface RpcMetrics {
  readonly calls: Counter<"method" | "outcome">;
  readonly callSeconds: Histogram<"method">;
  readonly httpRequests: Counter<"status">;
  readonly inflight: Gauge;
  readonly rateLimited: Counter;
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
      // Up to two minutes: forwarded writes during a failover and finalize_block (round secret, L1) take long.
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
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
