/**
 * How large a height's log may grow. The replica's view-change messages (DoViewChange, StartView) and its
 * recovery responses carry a height's whole log in one `cluster_replica` packet, and `cluster_get_block`
 * answers with all of a height's sealed entries, so a log that outgrows the members' body limit could never
 * change view or reach a member that missed it. The leader therefore admits an entry only while the log,
 * as JSON, stays within the limit minus room for everything else the message holds (docs/ordering.md,
 * "Message size").
 */
import type { OrderReceiptJson, OrderedTransactionJson } from "../../api/wire";
import { MERKLE_DEPTH } from "../../chain/merkle";

/**
 * Room left in a cluster message for what is not an entry: the JSON-RPC framing, the signed
 * ClusterMessage, the payload's other fields and a seal (each well under 2 KiB; 64 KiB leaves slack).
 */
export const MESSAGE_OVERHEAD_BYTES = 64 * 1024;

const HASH = `0x${"f".repeat(64)}`;

/** The largest order receipt the leader signs: every number at its maximum, every hash and signature full. */
const LARGEST_RECEIPT: OrderReceiptJson = {
  commitment: {
    rollupId: "18446744073709551615",
    blockHeight: "18446744073709551615",
    txIndex: 4_294_967_295,
    encTxHash: HASH,
    preRoot: HASH,
    viewNumber: 4_294_967_295,
    epoch: 4_294_967_295,
  },
  signature: `0x${"f".repeat(130)}`,
  leader: `0x${"F".repeat(40)}`,
  viewNumber: 4_294_967_295,
  preProof: Array.from({ length: MERKLE_DEPTH }, () => HASH),
};

/** The bytes of a log's entries as JSON in a message: each entry plus the comma that separates it. */
export function entryBytes(entry: unknown): number {
  return Buffer.byteLength(JSON.stringify(entry), "utf8") + 1;
}

/** An upper bound of entryBytes for the entry the leader will make of `tx` (before it is signed). */
export function entryBytesBound(tx: OrderedTransactionJson): number {
  return entryBytes({ encTxHash: HASH, encryptedTx: tx, orderCommitment: LARGEST_RECEIPT });
}

/** The bytes of entries one log may hold so that a message carrying all of it fits `clusterMaxBodyBytes`. */
export function logBytesBudget(clusterMaxBodyBytes: number): number {
  const budget = clusterMaxBodyBytes - MESSAGE_OVERHEAD_BYTES;
  if (!(budget > 0)) throw new Error(`a cluster body limit of ${clusterMaxBodyBytes} bytes leaves no room for a log`);
  return budget;
}
