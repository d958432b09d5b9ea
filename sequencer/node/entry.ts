/**
 * One entry of a height's replicated log (docs/ordering.md), one type for every place it goes: the
 * leader's signed batch, the replica messages that carry entries (replicate, do-view-change, start-view,
 * recovery-response), `cluster_get_block`'s sealed entries, and the store, which keeps each entry exactly
 * as it travels.
 */
import { z } from "zod";
import { orderReceipt, orderedTransaction, type OrderReceiptJson, type OrderedTransactionJson } from "../api/wire";

/** An entry: its leaf data, the transaction and the leader's signed receipt, all as JSON. */
export interface Entry {
  /**
   * The entry's Merkle leaf data (block/leaf-data.ts): the Poseidon encTxHash of an encrypted transaction
   * as bytes32, keccak-256 of a raw one. Unique per rollup (the store's dedup key).
   */
  readonly encTxHash: string;
  readonly encryptedTx: OrderedTransactionJson;
  readonly orderCommitment: OrderReceiptJson;
}

/** What a member parses every entry it is sent with, before it looks at anything in it. */
export const entrySchema = z.strictObject({
  encTxHash: z.string().regex(/^0x[0-9a-f]{64}$/),
  encryptedTx: orderedTransaction,
  orderCommitment: orderReceipt,
});
