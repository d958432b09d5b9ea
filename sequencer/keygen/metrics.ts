/** The key generator's Prometheus metrics, on its own registry (several generators share a test process). */
import { Counter, type Registry } from "prom-client";

export interface KeygenMetrics {
  readonly contributionsCreated: Counter;
  readonly contributionsRejected: Counter;
  readonly roundKeysPublished: Counter;
  readonly revealsServed: Counter;
  readonly recoveriesStarted: Counter;
  readonly roundSecretsKnown: Counter<"path">;
}

export function createKeygenMetrics(registry: Registry): KeygenMetrics {
  const counter = (name: string, help: string): Counter => new Counter({ name, help, registers: [registry] });
  return {
    contributionsCreated: counter("veil_keygen_contributions_created_total", "Own contributions created and stored"),
    contributionsRejected: counter(
      "veil_keygen_contributions_rejected_total",
      "Peer contributions that failed verification and were excluded",
    ),
    roundKeysPublished: counter("veil_keygen_round_keys_published_total", "Round keys aggregated and made final"),
    revealsServed: counter("veil_keygen_reveals_served_total", "Share reveals answered against a valid seal"),
    recoveriesStarted: counter("veil_keygen_recoveries_started_total", "Round-secret recoveries started after a seal"),
    roundSecretsKnown: new Counter({
      name: "veil_keygen_round_secrets_total",
      help: "Round secrets recovered or accepted, by path (reveals or solution)",
      labelNames: ["path"] as const,
      registers: [registry],
    }),
  };
}
