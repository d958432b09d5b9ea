/**
 * What a wallet sees when the encrypting RPC refuses: EIP-1474's codes and JSON-RPC 2.0's, never the Veil
 * node's own codes (sequencer/rpc/errors.ts), which mean nothing to a wallet. The Veil name of the failure
 * stays in `data.veilError` (with the node's or the SDK's data beside it) so that operators can still tell.
 *
 * | Veil error (node name, SDK code, client error) | to the wallet               | why                                |
 * | ---------------------------------------------- | --------------------------- | ---------------------------------- |
 * | RATE_LIMITED                                   | -32005 limit exceeded       | the proxy's rate at the node;      |
 * |                                                |                             | `data.retryAfterMs` kept           |
 * | PAYLOAD_TOO_LARGE (the node's, or this body's) | -32005 limit exceeded       | a size limit of the server, not a  |
 * |                                                |                             | malformed parameter                |
 * | UNAVAILABLE, UPSTREAM_TIMEOUT, NOT_LEADER,     | -32002 resource unavailable | the sequencer cannot take it now   |
 * | UNKNOWN_ROLLUP, WRONG_HEIGHT, HEIGHT_SEALED,   |                             | (starting, slow, unreachable, no   |
 * | SUBMISSION_FAILED, RpcTimeoutError,            |                             | leader, not this rollup, heights   |
 * | RpcTransportError                              |                             | closed first); the same bytes may  |
 * |                                                |                             | succeed later                      |
 * | NODE_ANSWER_INVALID, ROUND_KEY_INVALID,        | -32002 resource unavailable | the node's answer or served key    |
 * | INCLUSION_UNVERIFIABLE                         |                             | cannot be trusted now              |
 * | INVALID_PROOF, WRONG_ROUND_KEY                 | -32003 transaction rejected | the node refused this ciphertext   |
 * | RECEIPT_INVALID                                | -32003 transaction rejected | the receipt does not bind the      |
 * |                                                |                             | leader to it: no unverified hash   |
 * | DUPLICATE_CIPHERTEXT                           | -32000 "already known"      | geth's answer for a transaction    |
 * |                                                |                             | its pool holds; wallets know it    |
 * | NOT_FOUND                                      | -32001 resource not found   | no round key for any height the    |
 * |                                                |                             | node accepts (the send path's one) |
 * | TRANSACTION_INVALID                            | -32602 invalid params       | the wallet's bytes; `data.reason`  |
 * |                                                |                             | says which check (too-large: too   |
 * |                                                |                             | large to encrypt at all)           |
 * | UNAUTHORIZED, INVALID_SIGNATURE, INDEX_TAKEN,  | -32603 internal error       | cluster and executor answers that  |
 * | OUT_OF_ORDER                                   |                             | send_encrypted_transaction never   |
 * |                                                |                             | gives: proxy and node disagree     |
 * | the node's PARSE_ERROR, INVALID_REQUEST,       | -32603 internal error       | the node refused the proxy's own   |
 * | METHOD_NOT_FOUND, INVALID_PARAMS,              |                             | request: no fault of the wallet's  |
 * | INTERNAL_ERROR, or a code Veil does not define |                             | and nothing it can act on          |
 */
import { RpcCallError, RpcTimeoutError, RpcTransportError } from "../rpc/client";
import { STANDARD_ERRORS, type RpcErrorName } from "../rpc/errors";
import { SubmissionError, VeilSdkError, type VeilSdkErrorCode } from "../sdk/errors";

/** EIP-1474's server error codes, the ones wallets understand (its -32006, "version not supported", is unused). */
export const EIP1474_ERRORS = {
  INVALID_INPUT: -32000,
  RESOURCE_NOT_FOUND: -32001,
  RESOURCE_UNAVAILABLE: -32002,
  TRANSACTION_REJECTED: -32003,
  METHOD_NOT_SUPPORTED: -32004,
  LIMIT_EXCEEDED: -32005,
} as const;

const { INVALID_INPUT, RESOURCE_NOT_FOUND, RESOURCE_UNAVAILABLE, TRANSACTION_REJECTED, LIMIT_EXCEEDED } =
  EIP1474_ERRORS;
const { INVALID_PARAMS, INTERNAL_ERROR } = STANDARD_ERRORS;

export interface WalletError {
  readonly code: number;
  readonly message: string;
  /** `veilError` is the node's error name, the SDK's error code, or a code Veil does not define. */
  readonly data: Readonly<Record<string, unknown>> & { readonly veilError: string };
}

/** The node's errors by name; a Record, so that a new Veil error does not compile until it is mapped here. */
const NODE_ERRORS: Readonly<Record<RpcErrorName, number>> = {
  RATE_LIMITED: LIMIT_EXCEEDED,
  PAYLOAD_TOO_LARGE: LIMIT_EXCEEDED,
  UNAVAILABLE: RESOURCE_UNAVAILABLE,
  UPSTREAM_TIMEOUT: RESOURCE_UNAVAILABLE,
  NOT_LEADER: RESOURCE_UNAVAILABLE,
  UNKNOWN_ROLLUP: RESOURCE_UNAVAILABLE,
  WRONG_HEIGHT: RESOURCE_UNAVAILABLE,
  HEIGHT_SEALED: RESOURCE_UNAVAILABLE,
  INVALID_PROOF: TRANSACTION_REJECTED,
  WRONG_ROUND_KEY: TRANSACTION_REJECTED,
  DUPLICATE_CIPHERTEXT: INVALID_INPUT,
  NOT_FOUND: RESOURCE_NOT_FOUND,
  UNAUTHORIZED: INTERNAL_ERROR,
  INVALID_SIGNATURE: INTERNAL_ERROR,
  INDEX_TAKEN: INTERNAL_ERROR,
  OUT_OF_ORDER: INTERNAL_ERROR,
  PARSE_ERROR: INTERNAL_ERROR,
  INVALID_REQUEST: INTERNAL_ERROR,
  METHOD_NOT_FOUND: INTERNAL_ERROR,
  INVALID_PARAMS: INTERNAL_ERROR,
  INTERNAL_ERROR: INTERNAL_ERROR,
};

/** The SDK's failures by code (sequencer/sdk/errors.ts). */
const SDK_ERRORS: Readonly<Record<VeilSdkErrorCode, number>> = {
  TRANSACTION_INVALID: INVALID_PARAMS,
  RECEIPT_INVALID: TRANSACTION_REJECTED,
  SUBMISSION_FAILED: RESOURCE_UNAVAILABLE,
  NODE_ANSWER_INVALID: RESOURCE_UNAVAILABLE,
  ROUND_KEY_INVALID: RESOURCE_UNAVAILABLE,
  INCLUSION_UNVERIFIABLE: RESOURCE_UNAVAILABLE,
};

/** geth's message for a transaction its pool already holds; wallets and libraries match on it. */
export const ALREADY_KNOWN = "already known";

/** The node's error data as fields of ours: an object's own fields, anything else under `detail`. */
function nodeData(data: unknown): Record<string, unknown> {
  if (data === undefined) return {};
  return typeof data === "object" && data !== null && !Array.isArray(data)
    ? { ...(data as Record<string, unknown>) }
    : { detail: data };
}

/**
 * The wallet's answer for a failure of the send path (decoding, the SDK's checks, the node's refusal, the
 * node connection); undefined for anything else, which is a bug: the caller logs it and answers -32603
 * without detail.
 */
export function toWalletError(error: unknown): WalletError | undefined {
  if (error instanceof RpcCallError) {
    const name = error.errorName;
    if (name === undefined) {
      return {
        code: INTERNAL_ERROR,
        message: `the sequencer refused the transaction: ${error.message}`,
        data: { ...nodeData(error.data), veilError: "UNKNOWN_CODE", veilCode: error.code },
      };
    }
    return {
      code: NODE_ERRORS[name],
      message:
        name === "DUPLICATE_CIPHERTEXT" ? ALREADY_KNOWN : `the sequencer refused the transaction: ${error.message}`,
      data: { ...nodeData(error.data), veilError: name },
    };
  }
  if (error instanceof RpcTimeoutError) {
    return {
      code: RESOURCE_UNAVAILABLE,
      message: `the sequencer did not answer: ${error.message}`,
      data: { veilError: "UPSTREAM_TIMEOUT", timeoutMs: error.timeoutMs },
    };
  }
  if (error instanceof RpcTransportError) {
    return {
      code: RESOURCE_UNAVAILABLE,
      message: `the sequencer is unreachable: ${error.message}`,
      data: { veilError: "UNAVAILABLE" },
    };
  }
  if (error instanceof VeilSdkError) {
    return {
      code: SDK_ERRORS[error.code],
      message: error.message,
      data: {
        veilError: error.code,
        ...("reason" in error ? { reason: error.reason } : {}),
        ...(error instanceof SubmissionError ? { attempts: error.attempts } : {}),
      },
    };
  }
  return undefined;
}

/** The proxy's own answer to a request body over its limit (sent with HTTP 413). */
export function bodyTooLarge(limit: number): WalletError {
  return {
    code: LIMIT_EXCEEDED,
    message: `request body exceeds ${limit} bytes`,
    data: { veilError: "PAYLOAD_TOO_LARGE", limit },
  };
}

/** The proxy's own answer to a forwarded read when the L2 node does not answer. */
export function l2Unreachable(l2RpcUrl: string): WalletError {
  return {
    code: RESOURCE_UNAVAILABLE,
    message: `the L2 node at ${l2RpcUrl} did not answer`,
    data: { veilError: "UNAVAILABLE" },
  };
}
