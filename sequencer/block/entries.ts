/**
 * The sealed, ordered entries of one height as the block builder takes them, and their conversion
 * from the node's wire format (`OrderedTransactionJson`, what `get_encrypted_transaction` answers).
 * Each entry's Merkle leaf data (`leafDataOf`) is leaf-data.ts's.
 */
import { orderedTransaction } from "../api/wire";
import { blockHeight, rollupId, type EncryptedTransaction } from "../crypto/encryption";

/** One sealed slot: an encrypted transaction with its public commitment, or a raw signed transaction. */
export type SealedEntry =
  | { readonly kind: "encrypted"; readonly tx: EncryptedTransaction; readonly txCommitment: bigint }
  | { readonly kind: "raw"; readonly rawTx: string };

/** Parses one entry in the node's wire format; throws a zod error naming the bad field. */
export function entryFromWire(json: unknown): SealedEntry {
  const parsed = orderedTransaction.parse(json);
  if (parsed.kind === "raw") return { kind: "raw", rawTx: parsed.rawTx };
  const { tx, txCommitment } = parsed.submission;
  return {
    kind: "encrypted",
    tx: { ...tx, rollupId: rollupId(tx.rollupId), height: blockHeight(tx.height) },
    txCommitment,
  };
}
