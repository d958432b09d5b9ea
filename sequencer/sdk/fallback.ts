/**
 * When a client gives up on the sequencer and forces its transaction through the L1 inbox instead
 * (VeilClient.sendOrForce): after a number of sends the sequencer refused or left unanswered. Only failures
 * that forcing can get around count; a transaction the node refused for a fault of its own (a proof that
 * does not verify, a ciphertext for the wrong round key, a payload too large) would be refused by the inbox
 * as well, and is reported as it is.
 */
import { RpcCallError, RpcTimeoutError, RpcTransportError } from "../rpc/client";
import type { RpcErrorName } from "../rpc/errors";
import { SubmissionError } from "./errors";

/**
 * Node answers that say the sequencer would not or could not order the transaction now: refused outright
 * (UNAUTHORIZED, RATE_LIMITED), unable (UNAVAILABLE, INTERNAL_ERROR, NOT_LEADER), out of time
 * (UPSTREAM_TIMEOUT), or a height that kept closing (HEIGHT_SEALED, WRONG_HEIGHT). DUPLICATE_CIPHERTEXT
 * counts when the lookup that follows it finds nothing: a leader may claim it holds what it dropped.
 */
const SEQUENCER_REFUSALS: ReadonlySet<RpcErrorName> = new Set([
  "UNAUTHORIZED",
  "RATE_LIMITED",
  "UNAVAILABLE",
  "INTERNAL_ERROR",
  "NOT_LEADER",
  "UPSTREAM_TIMEOUT",
  "HEIGHT_SEALED",
  "WRONG_HEIGHT",
  "DUPLICATE_CIPHERTEXT",
]);

/** Whether a failed send counts towards forcing: the sequencer refused it or did not answer. */
export function isSequencerFailure(error: unknown): boolean {
  if (error instanceof RpcTimeoutError || error instanceof RpcTransportError) return true;
  if (error instanceof SubmissionError) return true;
  return error instanceof RpcCallError && error.errorName !== undefined && SEQUENCER_REFUSALS.has(error.errorName);
}

/** How `sendOrForce` gives up on the sequencer. */
export interface FallbackOptions {
  /** Failed sends (refusals or timeouts) after which the transaction is forced (default 3). */
  readonly afterFailures?: number;
  /** The wait between two sends (default 500 ms). */
  readonly retryDelayMs?: number;
  /** Told of each failure that counts, with the count so far (for logs). */
  readonly onFailure?: (error: unknown, failures: number) => void;
}

export const DEFAULT_AFTER_FAILURES = 3;
export const DEFAULT_RETRY_DELAY_MS = 500;
