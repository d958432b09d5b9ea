/**
 * Forced inclusion from the client's side (docs/forced-inclusion.md): what became of a transaction posted
 * to the L1 inbox, judged from its height's block commitment alone. A block whose inbox cut is at or after
 * the posting block must count the entry; one that counts fewer (or more) is evidence against its signer.
 */
import type { CommittedBlock, PostedEntry } from "./chain";

export type ForcedVerdict =
  /** No block commitment for the height yet. */
  | { readonly status: "pending" }
  /** The height's cut is before the posting block: the entry is not due and will never run. */
  | { readonly status: "not-due"; readonly block: CommittedBlock }
  /** Due and counted: it sits at `slot` (run, or marked invalid there by a rule every validator applies). */
  | { readonly status: "placed"; readonly slot: number; readonly block: CommittedBlock }
  /** Due and left out: the block's signer is slashable (`slashForcedInclusionOmission`). */
  | { readonly status: "omitted"; readonly block: CommittedBlock };

export function forcedVerdict(
  entry: Pick<PostedEntry, "postedBlock" | "index">,
  block?: CommittedBlock,
): ForcedVerdict {
  if (block === undefined) return { status: "pending" };
  const { inboxBlock, txCount, forcedCount } = block.commitment;
  if (inboxBlock < entry.postedBlock) return { status: "not-due", block };
  if (entry.index < forcedCount) return { status: "placed", slot: txCount + entry.index, block };
  return { status: "omitted", block };
}
