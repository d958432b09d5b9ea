/**
 * Decodes and checks a signed Ethereum transaction before it is encrypted: it must be RLP that ethers
 * decodes, carry a signature, target the rollup's chain id, and fit the encryption's fixed plaintext.
 */
import { Transaction, getBytes, isHexString } from "ethers";
import { MAX_PLAINTEXT_BYTES } from "../crypto/packing";
import { TransactionError } from "./errors";

export interface SignedTransaction {
  readonly bytes: Uint8Array;
  /** keccak-256 of the signed bytes: the L2 transaction hash a wallet expects back. */
  readonly hash: string;
  readonly from: string;
  readonly nonce: number;
  /** Every field of the transaction, as ethers decoded it (the encrypting RPC's pre-checks read them). */
  readonly decoded: Transaction;
}

export function decodeSignedTransaction(raw: unknown, expectedChainId: bigint): SignedTransaction {
  // `true`: whole bytes only. An odd number of digits passes isHexString alone, and getBytes then throws.
  if (typeof raw !== "string" || !isHexString(raw, true) || raw.length <= 2) {
    throw new TransactionError("not-hex", "the raw transaction must be a non-empty 0x-hex string of whole bytes");
  }
  const bytes = getBytes(raw);
  let tx: Transaction;
  let hash: string | null;
  let from: string | null;
  try {
    tx = Transaction.from(raw);
    // The hash re-serialises the fields, and ethers refuses some that decode (a tip above the fee cap).
    ({ hash, from } = tx);
  } catch (error) {
    const detail = (error as { shortMessage?: string }).shortMessage ?? (error as Error).message;
    throw new TransactionError("undecodable", `the raw transaction does not decode: ${detail}`);
  }
  if (hash === null || from === null) throw new TransactionError("unsigned", "the transaction is not signed");
  if (tx.chainId !== expectedChainId) {
    throw new TransactionError(
      "wrong-chain-id",
      `the transaction is for chain ${tx.chainId}, this endpoint serves chain ${expectedChainId}`,
    );
  }
  if (bytes.length > MAX_PLAINTEXT_BYTES) {
    throw new TransactionError(
      "too-large",
      `the signed transaction is ${bytes.length} bytes; encrypted transactions hold at most ${MAX_PLAINTEXT_BYTES}`,
    );
  }
  return { bytes, hash, from, nonce: tx.nonce, decoded: tx };
}
