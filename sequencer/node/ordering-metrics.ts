/** Prometheus metrics of ordering and replication (registered on the node's own registry). */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

export interface OrderingMetrics {
  readonly commitSeconds: Histogram;
  readonly certificateSeconds: Histogram;
  readonly queueDepth: Gauge;
  readonly proofs: Counter<"role" | "verdict">;
  readonly viewChanges: Counter;
  readonly replicaMessages: Counter<"type" | "direction">;
}

export function createOrderingMetrics(registry: Registry): OrderingMetrics {
  return {
    commitSeconds: new Histogram({
      name: "veil_order_commitment_seconds",
      help: "Time from an admitted transaction to its majority-durable order commitment (leader)",
      buckets: [0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    certificateSeconds: new Histogram({
      name: "veil_seal_certificate_seconds",
      help: "Time for the leader to certify a stored seal: sent to every member, each stores it, records and signs it, and a majority's checked signatures are assembled and stored",
      buckets: [0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: "veil_sequencing_queue_depth",
      help: "Admitted transactions waiting for their group commit",
      registers: [registry],
    }),
    proofs: new Counter({
      name: "veil_proofs_total",
      help: "tx-validity proofs verified, by role (leader, follower) and verdict (valid, invalid)",
      labelNames: ["role", "verdict"] as const,
      registers: [registry],
    }),
    viewChanges: new Counter({
      name: "veil_view_changes_total",
      help: "Views this node moved a height to (each a durable ViewChange vote)",
      registers: [registry],
    }),
    replicaMessages: new Counter({
      name: "veil_replica_messages_total",
      help: "Replica messages this node sent (out) and took from members (in), by type (replicate, ack, heartbeat, ...)",
      labelNames: ["type", "direction"] as const,
      registers: [registry],
    }),
  };
}
