/**
 * Which JSON-RPC methods the encrypting RPC serves, and how. Nothing in the clear may reach the L2: a
 * method is forwarded only if it is on the read allow-list below; methods that would send or sign a
 * transaction in the clear are refused with a reason; everything else does not exist here. docs/sdk.md
 * has the same table for people.
 */

/** Reads the L2 answers; forwarded unchanged (two of them are completed with the pending pool, `ANSWERED`). */
export const FORWARDED = new Set([
  "eth_blobBaseFee",
  "eth_blockNumber",
  "eth_call",
  "eth_chainId",
  "eth_createAccessList",
  "eth_estimateGas",
  "eth_feeHistory",
  "eth_gasPrice",
  "eth_getBalance",
  "eth_getBlockByHash",
  "eth_getBlockByNumber",
  "eth_getBlockReceipts",
  "eth_getBlockTransactionCountByHash",
  "eth_getBlockTransactionCountByNumber",
  "eth_getCode",
  "eth_getFilterChanges",
  "eth_getFilterLogs",
  "eth_getLogs",
  "eth_getProof",
  "eth_getStorageAt",
  "eth_getTransactionByBlockHashAndIndex",
  "eth_getTransactionByBlockNumberAndIndex",
  "eth_getTransactionReceipt",
  "eth_getUncleByBlockHashAndIndex",
  "eth_getUncleByBlockNumberAndIndex",
  "eth_getUncleCountByBlockHash",
  "eth_getUncleCountByBlockNumber",
  "eth_maxPriorityFeePerGas",
  "eth_newBlockFilter",
  "eth_newFilter",
  "eth_syncing",
  "eth_uninstallFilter",
  "net_listening",
  "net_version",
  "web3_clientVersion",
  "web3_sha3",
]);

/** Answered here, by Veil, and why. */
export const ANSWERED: Readonly<Record<string, string>> = {
  eth_sendRawTransaction:
    "checked against the L2 and the pending pool, encrypted and proven here, ordered by the sequencer; answers the hash once the order commitment is verified",
  eth_getTransactionCount:
    'forwarded; with "pending" it also counts the sender\'s transactions ordered through this endpoint and not executed yet',
  eth_getTransactionByHash:
    "forwarded; a transaction ordered through this endpoint and not executed yet is answered as a pending transaction (no block)",
  eth_accounts: "[]: this endpoint holds no keys (the L2 node's own accounts would invite clear-text sends)",
};

/** Refused with EIP-1474's -32004 "method not supported", and why. */
export const REFUSED: Readonly<Record<string, string>> = {
  eth_sendTransaction:
    "it would hand the transaction to the L2 in the clear; sign it in the wallet and send it with eth_sendRawTransaction",
  eth_signTransaction: "this endpoint holds no keys; sign in the wallet",
  eth_sign: "this endpoint holds no keys; sign in the wallet",
  eth_signTypedData: "this endpoint holds no keys; sign in the wallet",
  eth_signTypedData_v3: "this endpoint holds no keys; sign in the wallet",
  eth_signTypedData_v4: "this endpoint holds no keys; sign in the wallet",
  personal_sign: "this endpoint holds no keys; sign in the wallet",
  personal_sendTransaction: "it would send the transaction in the clear; use eth_sendRawTransaction",
  eth_sendRawTransactionConditional: "only eth_sendRawTransaction is encrypted; conditional sends are not supported",
  eth_sendBundle: "bundles would reach the L2 in the clear; send each transaction with eth_sendRawTransaction",
  eth_newPendingTransactionFilter: "the L2's mempool is the operator's, not a public one",
  eth_subscribe: "subscriptions need a WebSocket; this endpoint is HTTP only",
  eth_requestAccounts: "this endpoint holds no keys; the wallet provides the accounts",
};

export type MethodPolicy =
  | { readonly kind: "forward" }
  | { readonly kind: "answer" }
  | { readonly kind: "refuse"; readonly reason: string }
  | { readonly kind: "unknown" };

export function policyOf(method: string): MethodPolicy {
  // Own properties only: "constructor" or "toString" must not look like a known method.
  if (Object.hasOwn(ANSWERED, method)) return { kind: "answer" };
  if (FORWARDED.has(method)) return { kind: "forward" };
  if (Object.hasOwn(REFUSED, method)) return { kind: "refuse", reason: REFUSED[method]! };
  return { kind: "unknown" };
}
