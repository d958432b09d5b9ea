/** Prometheus metrics of ordering and replication (registered on the node's own registry). */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/**
 * Buckets of the commit and certificate latencies: fine below 100 ms (the normal case), then up to a
 * minute, so that a commit delayed by a failover (leader timeout, view change) lands in a bucket, not +Inf.
 */
export const LATENCY_BUCKETS: readonly number[] = [
  0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60,
];

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
      buckets: [...LATENCY_BUCKETS],
      registers: [registry],
    }),
    certificateSeconds: new Histogram({
      name: "veil_seal_certificate_seconds",
      help: "Time for the leader to certify a stored seal: sent to every member, each stores it, records and signs it, and a majority's checked signatures are assembled and stored",
      buckets: [...LATENCY_BUCKETS],
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

/** Where the ordering gauges read their values at each scrape (the node's Ordering; reads only). */
export interface OrderingGaugeSource {
  /** Rollups whose open height this node knows. */
  rollups(): readonly bigint[];
  openHeight(rollupId: bigint): Promise<number>;
  /** The view of a height here, and whether this node leads the height in it. */
  viewAndLeading(rollupId: bigint, height: number): Promise<{ view: number; leading: boolean }>;
  /** Heights whose replica is in memory. */
  readonly liveHeights: number;
  /** The L1 block number the node read last (-1 before the first). */
  readonly l1Head: number;
}

/**
 * Gauges computed when /metrics is scraped: the open height of each rollup, its view here, whether this
 * node leads it, the heights in memory and the L1 head. A scrape reads memory and the store, nothing else.
 */
export function registerOrderingGauges(registry: Registry, source: OrderingGaugeSource): void {
  // One pass computes the three per-rollup gauges; the collects of one scrape share it.
  let pass: Promise<void> | undefined;
  const collectAll = (): Promise<void> =>
    (pass ??= (async () => {
      for (const rollupId of source.rollups()) {
        const labels = { rollup: rollupId.toString() };
        const open = await source.openHeight(rollupId);
        const here = await source.viewAndLeading(rollupId, open);
        openHeight.set(labels, open);
        view.set(labels, here.view);
        leader.set(labels, here.leading ? 1 : 0);
      }
    })().finally(() => (pass = undefined)));
  const openHeight = new Gauge({
    name: "veil_open_height",
    help: "The lowest height of the rollup this node has not sealed",
    labelNames: ["rollup"] as const,
    registers: [registry],
    collect: collectAll,
  });
  const view = new Gauge({
    name: "veil_open_height_view",
    help: "The view this node is in for the rollup's open height",
    labelNames: ["rollup"] as const,
    registers: [registry],
    collect: collectAll,
  });
  const leader = new Gauge({
    name: "veil_open_height_leader",
    help: "1 if this node leads the rollup's open height in its view there, else 0",
    labelNames: ["rollup"] as const,
    registers: [registry],
    collect: collectAll,
  });
  new Gauge({
    name: "veil_live_heights",
    help: "Heights whose replica is in memory on this node (reads never add one)",
    registers: [registry],
    collect() {
      this.set(source.liveHeights);
    },
  });
  new Gauge({
    name: "veil_l1_head_block",
    help: "The latest L1 block number this node has read",
    registers: [registry],
    collect() {
      if (source.l1Head >= 0) this.set(source.l1Head);
    },
  });
}
