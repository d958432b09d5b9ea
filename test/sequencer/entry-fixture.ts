// A log entry of the right shape for tests of the store, which checks none of an entry's content but its
// leaf data (the dedup key). Not a test suite.
import type { Entry } from "../../sequencer/node/entry";

export function storedEntry(o: {
  readonly rollupId: bigint;
  readonly height: number;
  readonly index: number;
  readonly encTxHash: string;
  readonly rawTx: string;
}): Entry {
  return {
    encTxHash: o.encTxHash,
    encryptedTx: { kind: "raw", rawTx: o.rawTx },
    orderCommitment: {
      commitment: {
        rollupId: o.rollupId.toString(),
        blockHeight: String(o.height),
        txIndex: o.index,
        encTxHash: o.encTxHash,
        preRoot: `0x${"cd".repeat(32)}`,
        viewNumber: 0,
        epoch: 0,
      },
      signature: `0x${"ab".repeat(65)}`,
      leader: `0x${"11".repeat(20)}`,
      viewNumber: 0,
      preProof: [],
    },
  };
}
