/** The encrypting RPC's Prometheus metrics, on the registry of the process that serves it (`/metrics`). */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

export interface ProxyMetrics {
  readonly requests: Counter<"method" | "outcome">;
  readonly refusals: Counter<"reason">;
  readonly provingSeconds: Histogram;
  readonly sendSeconds: Histogram<"outcome">;
  readonly pending: Gauge;
  readonly forced: Counter;
}

/** Proving takes seconds; a send can wait out a failover and a retry at a later height. */
const SECONDS = [0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 2.5, 3, 4, 5, 7.5, 10, 15, 30, 60, 120];

export function createProxyMetrics(registry: Registry): ProxyMetrics {
  return {
    requests: new Counter({
      name: "veil_proxy_requests_total",
      help: "JSON-RPC requests by method (off-list methods as 'other') and outcome ('ok' or the error code)",
      labelNames: ["method", "outcome"] as const,
      registers: [registry],
    }),
    refusals: new Counter({
      name: "veil_proxy_refusals_total",
      help: "eth_sendRawTransaction calls refused before proving, by reason (pre-check or decoding)",
      labelNames: ["reason"] as const,
      registers: [registry],
    }),
    provingSeconds: new Histogram({
      name: "veil_proxy_proving_seconds",
      help: "Time to prove one transaction's ciphertext well formed (Groth16, in this process)",
      buckets: SECONDS,
      registers: [registry],
    }),
    sendSeconds: new Histogram({
      name: "veil_proxy_send_seconds",
      help: "eth_sendRawTransaction from request to answer: pre-checks, proving, ordering, receipt verification",
      labelNames: ["outcome"] as const,
      buckets: SECONDS,
      registers: [registry],
    }),
    forced: new Counter({
      name: "veil_proxy_forced_total",
      help: "Transactions forced through the L1 inbox after the sequencer refused or ignored them (force.enabled)",
      registers: [registry],
    }),
    pending: new Gauge({
      name: "veil_proxy_pending_transactions",
      help: "Transactions ordered through this endpoint that the L2 has not executed yet",
      registers: [registry],
    }),
  };
}
