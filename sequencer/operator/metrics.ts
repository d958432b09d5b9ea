/** The rollup operator's Prometheus metrics, on its own Registry (several operators may share a process in tests). */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

export interface OperatorMetrics {
  readonly blocksExecuted: Counter;
  readonly txsExecuted: Counter;
  readonly txsInvalid: Counter;
  readonly txsSkippedByL2: Counter;
  readonly orderMismatches: Counter;
  readonly rejectedAnswers: Counter;
  readonly finalizeFailures: Counter;
  readonly finalizeSeconds: Histogram;
  readonly sealToL2Seconds: Histogram;
  readonly nextHeight: Gauge;
}

const LATENCY_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export function createOperatorMetrics(registry: Registry): OperatorMetrics {
  const registers = [registry];
  return {
    blocksExecuted: new Counter({
      name: "veil_operator_blocks_executed_total",
      help: "Sequencer blocks executed as one L2 block each",
      registers,
    }),
    txsExecuted: new Counter({
      name: "veil_operator_txs_executed_total",
      help: "Transactions the L2 accepted and mined",
      registers,
    }),
    txsInvalid: new Counter({
      name: "veil_operator_txs_invalid_total",
      help: "Slots the sequencer marked invalid (not sent to the L2)",
      registers,
    }),
    txsSkippedByL2: new Counter({
      name: "veil_operator_txs_skipped_by_l2_total",
      help: "Valid transactions the L2 refused (nonce, funds, chain)",
      registers,
    }),
    orderMismatches: new Counter({
      name: "veil_operator_order_mismatches_total",
      help: "L2 blocks whose transactions differ from the committed order",
      registers,
    }),
    rejectedAnswers: new Counter({
      name: "veil_operator_rejected_answers_total",
      help: "finalize_block answers that failed verification",
      registers,
    }),
    finalizeFailures: new Counter({
      name: "veil_operator_finalize_failures_total",
      help: "finalize_block attempts that got no usable answer",
      registers,
    }),
    finalizeSeconds: new Histogram({
      name: "veil_operator_finalize_seconds",
      help: "finalize_block request to verified answer",
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    sealToL2Seconds: new Histogram({
      name: "veil_operator_seal_to_l2_seconds",
      help: "finalize_block request to the L2 block mined and checked",
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    nextHeight: new Gauge({
      name: "veil_operator_next_height",
      help: "The next sequencer height to execute",
      registers,
    }),
  };
}
