/**
 * Idempotent sends: what the client does when the answer to `send_encrypted_transaction` leaves open whether
 * the leader ordered the transaction (the answer was lost or late, or a follower could not reach the leader
 * while the leader went on). It looks the ciphertext up at its height by its encTxHash, a bounded number of
 * times, before it reports anything: an ordered transaction gets its receipt, never an error and never a
 * second ordering.
 */
import { RpcCallError, RpcTimeoutError, RpcTransportError } from "../rpc/client";
import type { RpcErrorName } from "../rpc/errors";
import type { Hash } from "./hashes";
import type { NodeApi } from "./node-api";

/** How long the client looks for a transaction whose send ended without a clear answer. */
export interface LookupOptions {
  /** Lookups before the outcome counts as unknown (default 8). */
  readonly attempts?: number;
  /** The wait before the second lookup; it doubles after each, up to 1 s or this (default 100 ms: 4.5 s in all). */
  readonly delayMs?: number;
  /** The time limit of each lookup call (default 2 s). */
  readonly timeoutMs?: number;
}

const DEFAULT_ATTEMPTS = 8;
const DEFAULT_DELAY_MS = 100;
const MAX_DELAY_MS = 1_000;
const DEFAULT_TIMEOUT_MS = 2_000;

/**
 * Node answers after which the transaction may be ordered anyway: the leader may go on after a follower
 * gave up on it, after its own commit timeout, or after a view change; DUPLICATE_CIPHERTEXT says this very
 * ciphertext is ordered (or being ordered) already.
 */
const OPEN_ANSWERS: ReadonlySet<RpcErrorName> = new Set([
  "UNAVAILABLE",
  "UPSTREAM_TIMEOUT",
  "NOT_LEADER",
  "DUPLICATE_CIPHERTEXT",
  "INTERNAL_ERROR",
]);

/**
 * Answers of a cluster that could not take the request just now: a view change under way (NOT_LEADER), a
 * leader out of reach or too slow for a follower that forwarded it (UNAVAILABLE, UPSTREAM_TIMEOUT).
 */
const PASSING_ANSWERS: ReadonlySet<RpcErrorName> = new Set(["NOT_LEADER", "UNAVAILABLE", "UPSTREAM_TIMEOUT"]);

/** Refusals of the height itself: this request was not ordered, and another height may take it. */
const HEIGHT_REFUSALS: ReadonlySet<RpcErrorName> = new Set(["HEIGHT_SEALED", "WRONG_HEIGHT"]);

/** Connection failures before the request left this process: the node never saw it. */
const NEVER_SENT = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ERR_INVALID_URL",
]);

/** Lookup answers that no later lookup can change: the node cannot look the transaction up. */
const LOOKUP_IMPOSSIBLE: ReadonlySet<RpcErrorName> = new Set(["INVALID_PARAMS", "METHOD_NOT_FOUND", "UNKNOWN_ROLLUP"]);

const isNotFound = (error: unknown): boolean => error instanceof RpcCallError && error.errorName === "NOT_FOUND";

function hasName(error: unknown, names: ReadonlySet<RpcErrorName>): boolean {
  return error instanceof RpcCallError && error.errorName !== undefined && names.has(error.errorName);
}

/** The errno-style code somewhere in an error's chain of causes. */
function codeInCauses(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") return code;
  }
  return undefined;
}

/** Whether a failed send may still have been ordered. */
export function mayBeOrdered(error: unknown): boolean {
  if (error instanceof RpcTimeoutError) return true;
  if (error instanceof RpcTransportError) return !NEVER_SENT.has(codeInCauses(error) ?? "");
  return hasName(error, OPEN_ANSWERS);
}

/**
 * Whether a failed send is worth sending again as it is, the same ciphertext to the same node: the failure
 * was the cluster's passing state, or the connection's. A leader orders one ciphertext at most once (a copy
 * is answered DUPLICATE_CIPHERTEXT, and settled), so sending it again can only order it or find it ordered.
 */
export function isPassingFailure(error: unknown): boolean {
  if (error instanceof RpcTimeoutError || error instanceof RpcTransportError) return true;
  return hasName(error, PASSING_ANSWERS);
}

/** A refusal of the send because of its height. */
export type HeightRefusal = "HEIGHT_SEALED" | "WRONG_HEIGHT";

/** The node's refusal of the send because of its height, if that is what `error` is. */
export function heightRefusal(error: unknown): HeightRefusal | undefined {
  return hasName(error, HEIGHT_REFUSALS) ? ((error as RpcCallError).errorName as HeightRefusal) : undefined;
}

/** Whether the node refused the send because of its height (HEIGHT_SEALED, WRONG_HEIGHT). */
export function isHeightRefusal(error: unknown): boolean {
  return heightRefusal(error) !== undefined;
}

/** Where the transaction would be: its rollup, the height it was encrypted for and its leaf. */
export interface Leaf {
  readonly rollupId: bigint;
  readonly height: bigint;
  readonly encTxHash: Hash;
}

export type Settled =
  /** The node holds it ordered: its receipt, unverified (receipt.ts verifies it). */
  | { readonly kind: "ordered"; readonly receipt: unknown }
  /** Provably not ordered at its height. */
  | { readonly kind: "not-ordered" }
  /** Neither could be established within the lookups. */
  | { readonly kind: "unknown" };

/**
 * Looks `leaf` up until it is found or provably not ordered. Not found is proof when the height is sealed
 * on the node (its log is final there: the status is read after the miss, then the leaf is looked up once
 * more, so an entry appended in between is not missed) or, after a WRONG_HEIGHT `refusal`, at once: the
 * height is beyond the look-ahead or full, so no copy of the request can be ordered there after it.
 *
 * HEIGHT_SEALED is no such proof by itself: a copy of the request (a retrying middlebox, an earlier answer
 * lost) may have been ordered before the seal, and a follower answering the lookup may not hold the
 * leader's last entries yet. The miss counts only once the node itself has the height sealed.
 */
export async function settle(
  node: NodeApi,
  leaf: Leaf,
  options: LookupOptions = {},
  refusal?: HeightRefusal,
): Promise<Settled> {
  const attempts = options.attempts ?? DEFAULT_ATTEMPTS;
  const call = { timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS };
  const lookUp = async (): Promise<Settled | undefined> => {
    try {
      return {
        kind: "ordered",
        receipt: await node.orderCommitmentByLeaf(leaf.rollupId, leaf.height, leaf.encTxHash, call),
      };
    } catch (error) {
      if (!isNotFound(error)) throw error;
      return undefined;
    }
  };
  let delay = options.delayMs ?? DEFAULT_DELAY_MS;
  const maxDelay = Math.max(delay, MAX_DELAY_MS);
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (attempt > 0) {
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(2 * delay, maxDelay);
    }
    try {
      const found = await lookUp();
      if (found !== undefined) return found;
      if (refusal === "WRONG_HEIGHT") return { kind: "not-ordered" };
      if ((await node.blockStatus(leaf.rollupId, leaf.height, call)) !== "open") {
        return (await lookUp()) ?? { kind: "not-ordered" };
      }
    } catch (error) {
      // A node that cannot look it up now may later (it restarts, catches up, answers in time); one that
      // cannot look anything up never will.
      if (hasName(error, LOOKUP_IMPOSSIBLE)) return { kind: "unknown" };
    }
  }
  return { kind: "unknown" };
}
