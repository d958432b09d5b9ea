/**
 * Transactions this encrypting RPC got ordered that the L2 has not executed yet. The L2 cannot see them:
 * until their block is decrypted and executed they exist only as ciphertexts in the sequencer. Without
 * this pool a wallet asking for its pending nonce would get the executed count, and its next transaction
 * would reuse a nonce (issue 15's "two sends in a row get the same nonce").
 *
 * An entry leaves the pool once the L2's own pending nonce of its sender has passed it (it executed, or
 * another transaction took the nonce on the L2), or once it is older than `maxAgeMs`: a transaction the
 * rollup skipped at execution never executes, and must not hold its sender's nonce forever.
 */
import type { Transaction } from "ethers";

export interface PendingTx {
  /** The L2 transaction hash (lower-case hex). */
  readonly hash: string;
  /** The sender, checksummed. */
  readonly from: string;
  readonly nonce: number;
  /** value + gas limit × max fee: the most the transaction can take from its sender's balance. */
  readonly maxCost: bigint;
  readonly tx: Transaction;
  /** The sequencer height it was ordered at. */
  readonly height: bigint;
  readonly orderedAtMs: number;
}

export interface PendingPoolOptions {
  readonly maxAgeMs: number;
  /** Milliseconds on any monotonic clock (injected, so that tests control age). */
  readonly now: () => number;
}

/** The most a transaction can cost its sender: its value plus its gas limit at its highest fee. */
export function maxCostOf(tx: Pick<Transaction, "value" | "gasLimit" | "maxFeePerGas" | "gasPrice">): bigint {
  return tx.value + tx.gasLimit * (tx.maxFeePerGas ?? tx.gasPrice ?? 0n);
}

export class PendingPool {
  readonly #bySender = new Map<string, Map<number, PendingTx>>();
  readonly #byHash = new Map<string, PendingTx>();
  readonly #options: PendingPoolOptions;

  constructor(options: PendingPoolOptions) {
    this.#options = options;
  }

  get size(): number {
    return this.#byHash.size;
  }

  /** Records a transaction ordered now; it replaces nothing (a nonce already pending is refused before this). */
  add(ordered: Omit<PendingTx, "orderedAtMs">): PendingTx {
    this.#prune();
    const entry: PendingTx = { ...ordered, orderedAtMs: this.#options.now() };
    const key = entry.from.toLowerCase();
    let nonces = this.#bySender.get(key);
    if (nonces === undefined) this.#bySender.set(key, (nonces = new Map<number, PendingTx>()));
    if (nonces.has(entry.nonce)) throw new Error(`nonce ${entry.nonce} of ${entry.from} is already pending`);
    nonces.set(entry.nonce, entry);
    this.#byHash.set(entry.hash.toLowerCase(), entry);
    return entry;
  }

  /** The pending transaction with this hash, if it is still pending. */
  byHash(hash: string): PendingTx | undefined {
    this.#prune();
    return this.#byHash.get(hash.toLowerCase());
  }

  /**
   * The sender's transactions still pending, in nonce order, given the L2's pending nonce of the sender:
   * those below it are done and leave the pool.
   */
  settle(from: string, l2Nonce: number): PendingTx[] {
    this.#prune();
    const nonces = this.#bySender.get(from.toLowerCase());
    if (nonces === undefined) return [];
    for (const [nonce, entry] of nonces) if (nonce < l2Nonce) this.#remove(entry);
    return [...nonces.values()].sort((a, b) => a.nonce - b.nonce);
  }

  /** The nonce the sender's next transaction should carry: past the L2's, and past every pending one in a row. */
  nextNonce(from: string, l2Nonce: number): number {
    const pending = new Set(this.settle(from, l2Nonce).map((p) => p.nonce));
    let next = l2Nonce;
    while (pending.has(next)) next++;
    return next;
  }

  #remove(entry: PendingTx): void {
    const key = entry.from.toLowerCase();
    const nonces = this.#bySender.get(key);
    nonces?.delete(entry.nonce);
    if (nonces?.size === 0) this.#bySender.delete(key);
    this.#byHash.delete(entry.hash.toLowerCase());
  }

  /** Drops entries past their age. The map keeps insertion order, which is age order: stop at the first young one. */
  #prune(): void {
    const oldest = this.#options.now() - this.#options.maxAgeMs;
    for (const entry of this.#byHash.values()) {
      if (entry.orderedAtMs >= oldest) break;
      this.#remove(entry);
    }
  }
}
