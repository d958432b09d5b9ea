/**
 * The rollup operator's loop. Every block time it takes the next height, has the cluster seal and
 * build it (`finalize_block`, signed by the executor key), verifies the answer against the signed
 * commitment, executes the valid transactions in index order as exactly one L2 block, checks that
 * block's order, and saves its progress atomically. A failure before the L2 block retries the same
 * height (finalize_block is idempotent); an answer that fails verification is never executed.
 */
import type { Logger } from "pino";
import type { VeilDomain } from "../chain/eip712";
import { executeBlock, type L2, type L2Execution } from "./l2";
import type { OperatorMetrics } from "./metrics";
import type { SequencerClient } from "./sequencer-client";
import { readState, removeStaleTempFiles, writeState, type OperatorState } from "./state";
import { InvalidFinalizeAnswer, verifyFinalizeAnswer, type ClusterMembers } from "./verify";

export interface OperatorOptions {
  readonly rollupId: bigint;
  readonly stateFile: string;
  readonly blockTimeMs: number;
  readonly retryDelayMs: number;
  readonly requestDeadlineSeconds: number;
  /** Where to start without a state file; default: the cluster's open height. */
  readonly startHeight?: bigint;
  readonly sequencer: SequencerClient;
  readonly l2: L2;
  readonly domain: VeilDomain;
  readonly cluster: ClusterMembers;
  readonly metrics: OperatorMetrics;
  readonly log: Logger;
}

/** What one executed height produced. */
export interface HeightReport {
  readonly height: bigint;
  readonly txCount: number;
  readonly invalid: number;
  readonly execution: L2Execution;
  readonly finalizeMs: number;
  readonly sealToL2Ms: number;
}

export class OrderMismatchError extends Error {
  constructor(
    readonly height: bigint,
    readonly expected: readonly string[],
    readonly actual: readonly string[],
  ) {
    super(`L2 block for height ${height} holds [${actual.join(", ")}], committed order [${expected.join(", ")}]`);
    this.name = "OrderMismatchError";
  }
}

export class Operator {
  private state: OperatorState | undefined;
  private lastError: string | undefined;
  private mismatches = 0;
  private stopped = false;
  private wake: (() => void) | undefined;

  constructor(private readonly o: OperatorOptions) {}

  /** Resumes from the state file, or starts at `startHeight` / the cluster's open height. */
  async init(): Promise<OperatorState> {
    removeStaleTempFiles(this.o.stateFile);
    const saved = readState(this.o.stateFile);
    if (saved !== undefined) {
      if (saved.rollupId !== this.o.rollupId) {
        throw new Error(`state file ${this.o.stateFile} belongs to rollup ${saved.rollupId}, not ${this.o.rollupId}`);
      }
      this.state = saved;
      this.o.log.info(
        { nextHeight: saved.nextHeight.toString(), inFlight: saved.inFlight !== undefined },
        "resumed from the state file",
      );
    } else {
      const start = this.o.startHeight ?? (await this.o.sequencer.openHeight(this.o.rollupId));
      this.state = { version: 1, rollupId: this.o.rollupId, nextHeight: start };
      writeState(this.o.stateFile, this.state);
      this.o.log.info({ nextHeight: start.toString() }, "starting without a state file");
    }
    this.o.metrics.nextHeight.set(Number(this.state.nextHeight));
    return this.state;
  }

  get current(): OperatorState | undefined {
    return this.state;
  }

  status(): Record<string, unknown> {
    const s = this.state;
    return {
      rollupId: this.o.rollupId.toString(),
      executor: this.o.sequencer.executorAddress,
      nextHeight: s?.nextHeight.toString(),
      inFlight:
        s?.inFlight === undefined
          ? undefined
          : { height: s.inFlight.height.toString(), l2HeadBefore: s.inFlight.l2HeadBefore },
      last: s?.last === undefined ? undefined : { ...s.last, height: s.last.height.toString() },
      orderMismatches: this.mismatches,
      lastError: this.lastError,
    };
  }

  /**
   * Finalizes, verifies and executes the next height. Throws (state unchanged, same height next time)
   * when the sequencer gives no verified answer or the L2 is unreachable; an order mismatch is
   * recorded, counted and thrown as OrderMismatchError after the state moved past the height (the L2
   * block exists and cannot be taken back).
   */
  async step(): Promise<HeightReport> {
    const state = this.state;
    if (state === undefined) throw new Error("init() first");
    const { rollupId, log, metrics } = this.o;
    const height = state.inFlight?.height ?? state.nextHeight;

    const started = performance.now();
    let answer: unknown;
    try {
      answer = await this.o.sequencer.finalize(rollupId, height, this.o.requestDeadlineSeconds);
    } catch (error) {
      metrics.finalizeFailures.inc();
      throw error;
    }
    let verified;
    try {
      verified = await verifyFinalizeAnswer(answer, { rollupId, height }, this.o.domain, this.o.cluster);
    } catch (error) {
      if (error instanceof InvalidFinalizeAnswer) {
        metrics.rejectedAnswers.inc();
        log.error(
          { height: height.toString(), err: error.message },
          "REJECTED the finalize_block answer: not executed",
        );
      }
      throw error;
    }
    const finalizeMs = performance.now() - started;
    metrics.finalizeSeconds.observe(finalizeMs / 1000);

    // Record the L2 head before anything is sent, so that a restart can tell whether this height was mined.
    const inFlight = state.inFlight ?? { height, l2HeadBefore: await this.o.l2.head() };
    if (state.inFlight === undefined) this.save({ ...state, inFlight });
    const slots = verified.block.transactions;
    const execution = await executeBlock(this.o.l2, slots, inFlight.l2HeadBefore);
    const sealToL2Ms = performance.now() - started;
    const invalid = slots.filter((s) => s.status === "invalid").length;

    this.save({
      version: 1,
      rollupId,
      nextHeight: height + 1n,
      last: {
        height,
        l2Block: execution.l2Block,
        l2BlockHash: execution.l2BlockHash,
        executed: execution.accepted.length,
        skipped: execution.skipped.length,
      },
    });
    metrics.blocksExecuted.inc();
    metrics.txsExecuted.inc(execution.accepted.length);
    metrics.txsInvalid.inc(invalid);
    metrics.txsSkippedByL2.inc(execution.skipped.length);
    metrics.sealToL2Seconds.observe(sealToL2Ms / 1000);
    for (const s of execution.skipped) {
      log.warn(
        { height: height.toString(), index: s.index, txHash: s.txHash, reason: s.reason },
        "transaction skipped by the L2",
      );
    }
    const summary = {
      height: height.toString(),
      txCount: slots.length,
      invalid,
      executed: execution.accepted.length,
      skippedByL2: execution.skipped.length,
      l2Block: execution.l2Block,
      finalizeMs: Math.round(finalizeMs),
      sealToL2Ms: Math.round(sealToL2Ms),
      ...(execution.recovered ? { recovered: true } : {}),
    };
    if (execution.mismatch !== undefined) {
      this.mismatches += 1;
      metrics.orderMismatches.inc();
      log.error(
        { ...summary, expected: execution.mismatch.expected, actual: execution.mismatch.actual },
        "ORDER MISMATCH: the L2 block differs from the committed order",
      );
      throw new OrderMismatchError(height, execution.mismatch.expected, execution.mismatch.actual);
    }
    log.info(summary, "block executed on the L2");
    return { height, txCount: slots.length, invalid, execution, finalizeMs, sealToL2Ms };
  }

  /** Runs `step` every block time until `stop()`; a failed step is retried after the retry delay. */
  async run(): Promise<void> {
    while (!this.stopped) {
      const began = performance.now();
      let delay: number;
      try {
        await this.step();
        this.lastError = undefined;
        delay = Math.max(0, this.o.blockTimeMs - (performance.now() - began));
      } catch (error) {
        this.lastError = (error as Error).message;
        if (error instanceof OrderMismatchError) {
          delay = Math.max(0, this.o.blockTimeMs - (performance.now() - began)); // already logged; the height is done
        } else {
          this.o.log.warn(
            { err: this.lastError, nextHeight: this.state?.nextHeight.toString() },
            "height not executed; retrying",
          );
          delay = this.o.retryDelayMs;
        }
      }
      await this.sleep(delay);
    }
  }

  stop(): void {
    this.stopped = true;
    this.wake?.();
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
    });
  }

  private save(next: OperatorState): void {
    writeState(this.o.stateFile, next);
    this.state = next;
    this.o.metrics.nextHeight.set(Number(next.nextHeight));
  }
}
