/**
 * Decoding of one slot's plaintext as a signed Ethereum transaction. A slot is valid only when its
 * bytes are exactly the canonical serialization of a signed transaction (so its hash is well defined
 * and cannot be malleated by re-encoding) for the rollup's chain id, when one is configured.
 */
import { Transaction, hexlify } from "ethers";
import { rawTxHash } from "./leaf-data";

export type InvalidReason =
  | "undecryptable" // the ciphertext does not authenticate under the round key, or the packing is not canonical
  | "commitment-mismatch" // the plaintext differs from the public txCommitment the proof was made for
  | "wrong-round" // the encrypted transaction names another rollup or height than the block
  | "wrong-round-key" // a forced entry proven against another key than the height's (block/forced.ts)
  | "hash-mismatch" // a forced entry whose posted fields do not hash to its proven encTxHash (block/forced.ts)
  | "malformed-tx" // not a canonical serialized Ethereum transaction
  | "unsigned" // a transaction without a signature
  | "wrong-chain-id"; // signed for another chain than the rollup's

export type Decoded =
  | { readonly ok: true; readonly rawTx: string; readonly txHash: string }
  | { readonly ok: false; readonly reason: InvalidReason; readonly detail: string };

export function decodeSignedTransaction(bytes: Uint8Array | string, chainId: bigint | undefined): Decoded {
  const rawTx = typeof bytes === "string" ? bytes.toLowerCase() : hexlify(bytes);
  let tx: Transaction;
  try {
    tx = Transaction.from(rawTx);
  } catch (error) {
    return { ok: false, reason: "malformed-tx", detail: (error as Error).message.slice(0, 200) };
  }
  if (tx.signature === null) return { ok: false, reason: "unsigned", detail: "the transaction carries no signature" };
  if (chainId !== undefined && tx.chainId !== chainId) {
    return { ok: false, reason: "wrong-chain-id", detail: `chain id ${tx.chainId}, the rollup's is ${chainId}` };
  }
  try {
    if (tx.serialized.toLowerCase() !== rawTx) {
      return { ok: false, reason: "malformed-tx", detail: "not the canonical serialization" };
    }
    // The canonical bytes are the input itself: hashing them directly is tx.hash without re-serializing.
    return { ok: true, rawTx, txHash: rawTxHash(rawTx) };
  } catch (error) {
    return { ok: false, reason: "malformed-tx", detail: (error as Error).message.slice(0, 200) };
  }
}
