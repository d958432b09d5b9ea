/**
 * JSON-RPC error codes: the five of the JSON-RPC 2.0 specification and Veil's own application codes.
 * Veil's codes live in a range of their own, -33001 to -33099: outside the range JSON-RPC 2.0 reserves
 * (-32768 to -32000) and clear of the Engine API's -38001 to -38005. Before 1.0 they were -32001 to
 * -32018, numbers to which EIP-1474 gives other meanings (-32002 is "resource unavailable", not rate
 * limited), and the encrypting RPC passed them on to wallets that read them as Ethereum's. They moved
 * once, keeping their last two digits. From now on they are stable and part of the public API: never
 * renumber one, only add new ones. Wallets see EIP-1474 codes instead (sequencer/proxy/wallet-errors.ts).
 */
export const STANDARD_ERRORS = {
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL_ERROR: -32603,
} as const;

export const VEIL_ERRORS = {
  /** The HTTP body or a field in it is larger than the node accepts. */
  PAYLOAD_TOO_LARGE: -33001,
  /** The client spent its token bucket; retry after the `retryAfterMs` in the error data. */
  RATE_LIMITED: -33002,
  /** The caller is not allowed to call this method (not a member, not the registered executor). */
  UNAUTHORIZED: -33003,
  /** A signature does not verify or was made by someone else than the claimed signer. */
  INVALID_SIGNATURE: -33004,
  /** This node is not the leader for the request; the data names the leader when known. */
  NOT_LEADER: -33005,
  // -33006 (before the move -32006) was STALE_VIEW, the old node's answer to a cluster message of an older
  // view; the replica answers such messages inside the protocol (`newer-view`). Retired, not reused.
  /** The node is starting or shutting down and cannot serve the request now. */
  UNAVAILABLE: -33007,
  /** A call to another node or to L1 did not answer in time. */
  UPSTREAM_TIMEOUT: -33008,
  /** The rollup id is not registered with this cluster. */
  UNKNOWN_ROLLUP: -33010,
  /** The zk-proof does not verify. */
  INVALID_PROOF: -33011,
  /** The proof or ciphertext was made for another round key than the one registered for the height. */
  WRONG_ROUND_KEY: -33012,
  /** The height is not one the node accepts transactions for (too far ahead, or in the past). */
  WRONG_HEIGHT: -33013,
  /** The height is sealed: its order is final and nothing more can be appended. */
  HEIGHT_SEALED: -33014,
  /** The same ciphertext was already ordered. */
  DUPLICATE_CIPHERTEXT: -33015,
  /** The requested object (block, entry, commitment, key) does not exist (yet). */
  NOT_FOUND: -33016,
  /** An index in a block is already taken by another transaction. */
  INDEX_TAKEN: -33017,
  /** An append or a status change does not follow the block's sequence (gap, or going backwards). */
  OUT_OF_ORDER: -33018,
} as const;

export type VeilErrorName = keyof typeof VEIL_ERRORS;
export type StandardErrorName = keyof typeof STANDARD_ERRORS;
export type RpcErrorName = VeilErrorName | StandardErrorName;

const ALL_CODES: Readonly<Record<RpcErrorName, number>> = { ...STANDARD_ERRORS, ...VEIL_ERRORS };
const NAME_BY_CODE = new Map<number, RpcErrorName>(
  Object.entries(ALL_CODES).map(([name, code]) => [code, name as RpcErrorName]),
);

/** The code of a named error. */
export function codeOf(name: RpcErrorName): number {
  return ALL_CODES[name];
}

/** The name of a known code, or undefined for a code Veil does not define. */
export function nameOfCode(code: number): RpcErrorName | undefined {
  return NAME_BY_CODE.get(code);
}

/** Extra data attached to an error; must be JSON-serialisable (bigints are sent as decimal strings). */
export type ErrorData = Readonly<Record<string, unknown>>;

/**
 * A typed error that handlers throw (or the server raises) and that reaches the client unchanged as
 * `{ code, message, data }`. Any other exception becomes INTERNAL_ERROR with a generic message, so
 * that internals never leak.
 */
export class RpcError extends Error {
  readonly code: number;

  constructor(
    readonly errorName: RpcErrorName,
    message: string,
    readonly data?: ErrorData,
  ) {
    super(message);
    this.name = "RpcError";
    this.code = codeOf(errorName);
  }

  toJSON(): { code: number; message: string; data?: ErrorData } {
    return this.data === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, data: this.data };
  }
}

/** Shorthand constructors for the application errors, so call sites read as what went wrong. */
export const veilError = {
  payloadTooLarge: (what: string, limit: number) =>
    new RpcError("PAYLOAD_TOO_LARGE", `${what} exceeds the limit of ${limit} bytes`, { limit }),
  rateLimited: (retryAfterMs: number) =>
    new RpcError("RATE_LIMITED", `rate limit exceeded, retry in ${retryAfterMs} ms`, { retryAfterMs }),
  unauthorized: (why: string) => new RpcError("UNAUTHORIZED", `unauthorized: ${why}`),
  invalidSignature: (why: string) => new RpcError("INVALID_SIGNATURE", `invalid signature: ${why}`),
  notLeader: (leader?: string) =>
    new RpcError(
      "NOT_LEADER",
      leader === undefined ? "this node is not the leader" : `this node is not the leader; the leader is ${leader}`,
      leader === undefined ? undefined : { leader },
    ),
  unavailable: (why: string) => new RpcError("UNAVAILABLE", `unavailable: ${why}`),
  upstreamTimeout: (what: string, ms: number) =>
    new RpcError("UPSTREAM_TIMEOUT", `${what} did not answer within ${ms} ms`, { timeoutMs: ms }),
  unknownRollup: (rollupId: string) =>
    new RpcError("UNKNOWN_ROLLUP", `rollup ${rollupId} is not served by this cluster`, { rollupId }),
  invalidProof: (why: string) => new RpcError("INVALID_PROOF", `invalid proof: ${why}`),
  wrongRoundKey: (height: number) =>
    new RpcError("WRONG_ROUND_KEY", `the proof is not for the round key registered for height ${height}`, {
      height,
    }),
  wrongHeight: (height: number, why: string) =>
    new RpcError("WRONG_HEIGHT", `height ${height} is not accepted: ${why}`, { height }),
  heightSealed: (height: number) => new RpcError("HEIGHT_SEALED", `height ${height} is already sealed`, { height }),
  duplicateCiphertext: (encTxHash: string) =>
    new RpcError("DUPLICATE_CIPHERTEXT", `ciphertext ${encTxHash} was already ordered`, { encTxHash }),
  notFound: (what: string) => new RpcError("NOT_FOUND", `${what} not found`),
  indexTaken: (height: number, index: number) =>
    new RpcError("INDEX_TAKEN", `index ${index} of height ${height} is already taken`, { height, index }),
  outOfOrder: (why: string) => new RpcError("OUT_OF_ORDER", `out of order: ${why}`),
} as const;
