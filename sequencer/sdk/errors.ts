/**
 * Every failure the SDK reports is a VeilSdkError with a machine-readable `code` and, where a check has
 * several ways to fail, a `reason`. Transport failures of the node connection stay the RPC client's typed
 * errors (RpcCallError, RpcTimeoutError, RpcTransportError) so that callers can tell "the node said no" from
 * "the node's answer is a lie".
 */

export type VeilSdkErrorCode =
  | "NODE_ANSWER_INVALID"
  | "ROUND_KEY_INVALID"
  | "RECEIPT_INVALID"
  | "INCLUSION_UNVERIFIABLE"
  | "TRANSACTION_INVALID"
  | "SUBMISSION_FAILED";

export class VeilSdkError extends Error {
  constructor(
    readonly code: VeilSdkErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "VeilSdkError";
  }
}

/** A node answered with something that does not parse as the method's result. */
export class NodeAnswerError extends VeilSdkError {
  constructor(
    readonly method: string,
    detail: string,
  ) {
    super("NODE_ANSWER_INVALID", `${method}: the node's answer is malformed: ${detail}`);
    this.name = "NodeAnswerError";
  }
}

export type RoundKeyFailure =
  "wrong-round" | "not-in-committee" | "committee-incomplete" | "contribution-invalid" | "key-mismatch";

/** The served round key is not the one the registered committee produced for this round. */
export class RoundKeyError extends VeilSdkError {
  constructor(
    readonly reason: RoundKeyFailure,
    message: string,
  ) {
    super("ROUND_KEY_INVALID", `round key rejected (${reason}): ${message}`);
    this.name = "RoundKeyError";
  }
}

export type ReceiptFailure =
  | "malformed"
  | "wrong-round"
  | "enc-tx-hash-mismatch"
  | "bad-signature"
  | "signer-not-leader"
  | "unknown-epoch"
  | "leader-mismatch"
  | "view-unproven"
  | "pre-proof-invalid";

/** An order receipt that does not bind the registered leader to our transaction. */
export class ReceiptError extends VeilSdkError {
  constructor(
    readonly reason: ReceiptFailure,
    message: string,
  ) {
    super("RECEIPT_INVALID", `order receipt rejected (${reason}): ${message}`);
    this.name = "ReceiptError";
  }
}

export type InclusionFailure =
  | "not-committed"
  | "wrong-block"
  | "post-proof-invalid"
  | "pre-proof-invalid"
  /** The block was committed in another view than the receipt's: a broken promise there is not slashable. */
  | "other-view"
  /** The block's task was posted through another contract: its leader's signature is not in the L1 call. */
  | "signature-unavailable";

/** Inclusion cannot be decided (no block commitment on-chain yet, or proofs that open nothing). */
export class InclusionError extends VeilSdkError {
  constructor(
    readonly reason: InclusionFailure,
    message: string,
  ) {
    super("INCLUSION_UNVERIFIABLE", `inclusion not verifiable (${reason}): ${message}`);
    this.name = "InclusionError";
  }
}

export type TransactionFailure = "not-hex" | "undecodable" | "unsigned" | "wrong-chain-id" | "too-large";

/** A raw transaction the SDK refuses to encrypt. */
export class TransactionError extends VeilSdkError {
  constructor(
    readonly reason: TransactionFailure,
    message: string,
  ) {
    super("TRANSACTION_INVALID", message);
    this.name = "TransactionError";
  }
}

/** Submission gave up: every attempt hit a height that closed before the transaction reached it. */
export class SubmissionError extends VeilSdkError {
  constructor(
    message: string,
    readonly attempts: number,
    options?: { cause?: unknown },
  ) {
    super("SUBMISSION_FAILED", message, options);
    this.name = "SubmissionError";
  }
}
