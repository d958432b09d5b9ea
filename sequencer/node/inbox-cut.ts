/**
 * The forced-inclusion cut a node names in its seals, and the cuts it signs in others' (docs/forced-inclusion.md).
 * A seal names an L1 block; the inbox entries of the height posted at or before it belong in the block. The
 * cut is this node's latest L1 head less `confirmations` (a reorg deeper than that could remove entries the
 * block holds). A member signs another leader's cut only while it is within `maxLagBlocks` of its own: a
 * stale one would drop the entries posted since, and a far-future one would keep the block from being built.
 */
export interface InboxCutOptions {
  /** Blocks below the L1 head a cut stays, so that the entries it covers are settled (at least 1). */
  readonly confirmations: number;
  /** How far another member's cut may be from this node's own, either way, for it to sign the seal. */
  readonly maxLagBlocks: number;
}

export class InboxCut {
  /** @param head this node's latest L1 block number, -1 while unknown. */
  constructor(
    private readonly head: () => number,
    private readonly o: InboxCutOptions,
  ) {
    if (!Number.isInteger(o.confirmations) || o.confirmations < 1) throw new RangeError("confirmations must be >= 1");
    if (!Number.isInteger(o.maxLagBlocks) || o.maxLagBlocks < 0) throw new RangeError("maxLagBlocks must be >= 0");
  }

  /** The cut of a seal this node makes now (0 while it knows no L1 head: nothing can be due yet to it). */
  cut(): number {
    return Math.max(0, this.head() - this.o.confirmations);
  }

  /** Whether this node signs a seal naming `inboxBlock`: never while it knows no L1 head to judge it by. */
  accepts(inboxBlock: number): boolean {
    if (this.head() < 0) return false;
    return Math.abs(inboxBlock - this.cut()) <= this.o.maxLagBlocks;
  }
}
