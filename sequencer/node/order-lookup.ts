/**
 * `get_order_commitment` by leaf: the receipt of a transaction ordered at a height, found by its encTxHash.
 * A client whose send timed out asks this before it sends again, so that a transaction the leader did
 * order gets its receipt rather than a second ordering. A pure read of the store.
 */
import { orderReceipt, type OrderReceiptJson } from "../api/wire";
import type { ViewCertificateJson } from "../chain/certificate";
import { veilError } from "../rpc/errors";
import type { NodeStore } from "./storage/store";

/**
 * The receipt held for `encTxHash` at `height`, at the index the leaf holds now (a view change can move
 * it), if `committed` says a majority holds that index (a view change cannot drop it), or NOT_FOUND. Members keep receipts without the certificate of their view; above view 0 the one
 * this member holds for the height is attached when it is for the receipt's view, so that the client can
 * verify the receipt as the leader would have sent it. A receipt of an earlier view goes as stored.
 */
export async function receiptByLeaf(
  store: NodeStore,
  rollupId: bigint,
  height: number,
  encTxHash: string,
  committed: (index: number) => boolean,
): Promise<OrderReceiptJson> {
  const leaf = encTxHash.toLowerCase();
  const at = await store.findCiphertext(rollupId, leaf);
  // The dedup record names the leaf's place; the entry there must still be that leaf.
  const entry = at?.height === height ? await store.getEntry(rollupId, height, at.index) : undefined;
  if (entry === undefined || entry.encTxHash.toLowerCase() !== leaf) {
    throw veilError.notFound(`transaction ${leaf} at height ${height}`);
  }
  // An entry a majority may not hold yet can still be dropped by a view change: no receipt for it, so that a
  // client never answers a wallet with the hash of a transaction that then never runs. It asks again.
  if (!committed(at!.index)) {
    throw veilError.notFound(
      `a majority-held transaction ${leaf} at height ${height} (it is not known to be committed yet)`,
    );
  }
  const receipt = entry.orderCommitment;
  if (receipt.viewNumber === 0) return receipt;
  const certificate = await store.getViewCertificate(rollupId, height);
  if (certificate === undefined) return receipt;
  const certified = { ...receipt, viewCertificate: certificate as unknown as ViewCertificateJson };
  // The wire schema checks that a certificate is for the receipt's height, view and epoch.
  return orderReceipt.safeParse(certified).success ? certified : receipt;
}
