/**
 * What the encrypting RPC checks before it spends seconds proving a transaction: everything the L2 would
 * refuse it for, against the L2's state plus the sender's transactions that are ordered but not executed
 * yet (`PendingPool`). A transaction that cannot run never gets a hash.
 *
 * Each refusal carries the message geth gives for it, code -32000, because wallets and libraries already
 * recognise those texts (ethers maps "nonce too low" and "insufficient funds" to its error codes, viem to
 * NonceTooLowError, InsufficientFundsError, IntrinsicGasTooLowError, FeeCapTooLowError, ...). The checks
 * run in geth's order (`ValidateTransaction`, then the pool's nonce and balance rules).
 */
import type { Transaction } from "ethers";
import { intrinsicGas } from "./intrinsic-gas";
import { maxCostOf, type PendingTx } from "./pending";
import { EIP1474_ERRORS } from "./wallet-errors";

/** The sender as the L2 sees it, pending block included. */
export interface SenderState {
  readonly nonce: number;
  readonly balance: bigint;
}

/** The L2's next block. */
export interface BlockState {
  readonly baseFee: bigint;
  readonly gasLimit: bigint;
}

export interface PrecheckPolicy {
  /** How far beyond the next nonce a transaction may be (0: exactly the next one). */
  readonly nonceWindow: number;
  /** The most gas one transaction may ask for (EIP-7825's 2^24 on Osaka), besides the block gas limit. */
  readonly maxTxGas: bigint;
}

export const DEFAULT_PRECHECK_POLICY: PrecheckPolicy = { nonceWindow: 0, maxTxGas: 1n << 24n };

export type RefusalReason =
  | "tx-type-not-supported"
  | "gas-limit-exceeds-block"
  | "gas-limit-too-high"
  | "tip-above-fee-cap"
  | "intrinsic-gas-too-low"
  | "floor-data-gas-too-low"
  | "fee-cap-below-base-fee"
  | "nonce-too-low"
  | "replacement-underpriced"
  | "nonce-too-high"
  | "insufficient-funds";

/** geth's JSON-RPC code for every transaction-pool refusal (EIP-1474's "invalid input"). */
export const REFUSAL_CODE = EIP1474_ERRORS.INVALID_INPUT;

export interface Refusal {
  readonly reason: RefusalReason;
  /** geth's message, with geth's details. */
  readonly message: string;
}

/** Legacy (0), access-list (1), fee-market (2) and set-code (4) transactions; blob transactions have no L2 here. */
const SUPPORTED_TYPES = new Set([0, 1, 2, 4]);

/**
 * The first reason the L2 would refuse `tx` from `from`, or undefined when it would take it. `pending` are the
 * sender's ordered, unexecuted transactions, in nonce order (`PendingPool.settle`); `sender.nonce` is the L2's
 * pending nonce, so every entry of `pending` is at or above it.
 */
export function precheck(
  tx: Transaction,
  from: string,
  sender: SenderState,
  pending: readonly PendingTx[],
  block: BlockState,
  policy: PrecheckPolicy = DEFAULT_PRECHECK_POLICY,
): Refusal | undefined {
  const refuse = (reason: RefusalReason, message: string): Refusal => ({ reason, message });
  if (!SUPPORTED_TYPES.has(tx.type ?? 0)) return refuse("tx-type-not-supported", "transaction type not supported");
  if (tx.gasLimit > block.gasLimit) return refuse("gas-limit-exceeds-block", "exceeds block gas limit");
  if (tx.gasLimit > policy.maxTxGas) {
    return refuse("gas-limit-too-high", `transaction gas limit too high (cap: ${policy.maxTxGas}, tx: ${tx.gasLimit})`);
  }
  const feeCap = tx.maxFeePerGas ?? tx.gasPrice ?? 0n;
  const tip = tx.maxPriorityFeePerGas ?? feeCap;
  if (tip > feeCap) {
    return refuse(
      "tip-above-fee-cap",
      `max priority fee per gas higher than max fee per gas: address ${from}, maxPriorityFeePerGas: ${tip}, maxFeePerGas: ${feeCap}`,
    );
  }
  const gas = intrinsicGas(tx);
  if (tx.gasLimit < gas.intrinsic) {
    return refuse(
      "intrinsic-gas-too-low",
      `intrinsic gas too low: gas ${tx.gasLimit}, minimum needed ${gas.intrinsic}`,
    );
  }
  if (tx.gasLimit < gas.floor) {
    return refuse(
      "floor-data-gas-too-low",
      `insufficient gas for floor data gas cost: gas ${tx.gasLimit}, minimum needed ${gas.floor}`,
    );
  }
  if (feeCap < block.baseFee) {
    return refuse(
      "fee-cap-below-base-fee",
      `max fee per gas less than block base fee: address ${from}, maxFeePerGas: ${feeCap}, baseFee: ${block.baseFee}`,
    );
  }
  if (tx.nonce < sender.nonce) {
    return refuse("nonce-too-low", `nonce too low: address ${from}, tx: ${tx.nonce} state: ${sender.nonce}`);
  }
  // An ordered transaction cannot be taken back: the leader signed its place. geth replaces a pending one
  // that pays enough more; here no fee is enough, so the answer is geth's refusal of a replacement.
  if (pending.some((p) => p.nonce === tx.nonce)) {
    return refuse(
      "replacement-underpriced",
      `replacement transaction underpriced: nonce ${tx.nonce} of ${from} is already ordered and cannot be replaced`,
    );
  }
  let next = sender.nonce;
  for (const p of pending) if (p.nonce === next) next++;
  if (tx.nonce > next + policy.nonceWindow) {
    return refuse("nonce-too-high", `nonce too high: address ${from}, tx: ${tx.nonce} state: ${next}`);
  }
  const committed = pending.reduce((sum, p) => sum + p.maxCost, 0n);
  const have = sender.balance > committed ? sender.balance - committed : 0n;
  const want = maxCostOf(tx);
  if (have < want) {
    return refuse(
      "insufficient-funds",
      `insufficient funds for gas * price + value: address ${from} have ${have} want ${want}`,
    );
  }
  return undefined;
}
