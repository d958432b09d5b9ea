/**
 * The Prometheus registry of a Veil process, whatever its role. Each process (node, key generator,
 * validator, operator) owns a Registry, not prom-client's global one, so that several of them can run
 * in one process, as the in-process tests do. Each role adds its own metrics to it (node/metrics.ts,
 * keygen/metrics.ts, …; the RPC server's in rpc/metrics.ts).
 */
import { Registry, collectDefaultMetrics } from "prom-client";

/** A fresh registry; `processMetrics` adds prom-client's CPU, memory and event-loop metrics. */
export function createRegistry(options: { processMetrics: boolean; labels?: Record<string, string> }): Registry {
  const registry = new Registry();
  if (options.labels !== undefined) registry.setDefaultLabels(options.labels);
  if (options.processMetrics) collectDefaultMetrics({ register: registry, prefix: "veil_" });
  return registry;
}
