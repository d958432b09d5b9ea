/**
 * The path of one `eth_sendRawTransaction` after it decoded: pre-checks against the L2 and the pending pool,
 * then encrypt, prove, submit and verify (`send`, or the fallback that forces it through the L1 inbox when
 * the sequencer keeps refusing it), then the pending pool. One sender's transactions go
 * through in arrival order, one at a time: the next one is checked against the pool its predecessor left,
 * and reaches the sequencer after it, so a sender's nonces are ordered in nonce order. Different senders
 * run concurrently.
 */
import type { Delivery, ForcedTransaction, SentTransaction } from "../sdk/client";
import type { SignedTransaction } from "../sdk/raw-tx";
import type { L2StateReader } from "./l2-state";
import { maxCostOf, type PendingPool, type PendingTx } from "./pending";
import { precheck, type PrecheckPolicy, type Refusal } from "./prechecks";

export type AdmissionResult =
  | { readonly kind: "ordered"; readonly sent: SentTransaction; readonly pending: PendingTx }
  /** The sequencer refused it or did not answer, `failures` times: it was posted to the L1 inbox instead. */
  | {
      readonly kind: "forced";
      readonly forced: ForcedTransaction;
      readonly failures: readonly unknown[];
      readonly pending: PendingTx;
    }
  /** The identical transaction was ordered before: its hash is the answer, and nothing is sent again. */
  | { readonly kind: "already-ordered"; readonly pending: PendingTx }
  | { readonly kind: "refused"; readonly refusal: Refusal };

export interface AdmissionOptions {
  readonly l2: L2StateReader;
  readonly pool: PendingPool;
  readonly policy: PrecheckPolicy;
  /**
   * Encrypts, proves, submits and verifies the receipt (VeilClient.send, or sendOrForce with the fallback on),
   * at `notBelow` or above: the height of the sender's latest pending transaction, so that the rollup
   * executes its transactions in nonce order.
   */
  readonly send: (tx: SignedTransaction, notBelow: bigint) => Promise<Delivery>;
}

export class Admission {
  readonly #options: AdmissionOptions;
  /** Per sender (lower-case), the tail of its lane: settles when the sender's last admission has. */
  readonly #lanes = new Map<string, Promise<unknown>>();

  constructor(options: AdmissionOptions) {
    this.#options = options;
  }

  admit(tx: SignedTransaction): Promise<AdmissionResult> {
    const key = tx.from.toLowerCase();
    const before = this.#lanes.get(key) ?? Promise.resolve();
    const mine = before.then(
      () => this.#admitNow(tx),
      () => this.#admitNow(tx),
    );
    const tail = mine.catch(() => undefined);
    this.#lanes.set(key, tail);
    void tail.then(() => {
      if (this.#lanes.get(key) === tail) this.#lanes.delete(key);
    });
    return mine;
  }

  async #admitNow(tx: SignedTransaction): Promise<AdmissionResult> {
    const { l2, pool, policy, send } = this.#options;
    const known = pool.byHash(tx.hash);
    if (known !== undefined) return { kind: "already-ordered", pending: known };
    const state = await l2.read(tx.from);
    const before = pool.settle(tx.from, state.sender.nonce);
    const refusal = precheck(tx.decoded, tx.from, state.sender, before, state.block, policy);
    if (refusal !== undefined) return { kind: "refused", refusal };
    // Not below the sender's latest pending height: the rollup runs heights in order, so nonces stay in order.
    const floor = before.reduce((max, p) => (p.height > max ? p.height : max), 0n);
    const delivery = await send(tx, floor);
    const pending = pool.add({
      hash: tx.hash,
      from: tx.from,
      nonce: tx.nonce,
      maxCost: maxCostOf(tx.decoded),
      tx: tx.decoded,
      height: delivery.kind === "ordered" ? delivery.sent.height : delivery.forced.height,
    });
    return delivery.kind === "ordered"
      ? { kind: "ordered", sent: delivery.sent, pending }
      : { kind: "forced", forced: delivery.forced, failures: delivery.failures, pending };
  }
}
