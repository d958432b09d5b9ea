/**
 * What a follower checks of the transactions in a member's message before its replica sees it
 * (docs/ordering.md, "Followers"). The replica checks positions, schedule, signatures and the tree; the
 * content behind each leaf is checked here, because only the node knows ciphertexts, round keys and proofs.
 *
 * - Every raw transaction's leaf is recomputed (one keccak-256).
 * - On the append path (`replicate`), an encrypted entry's leaf (a Poseidon chain, the costliest hash of
 *   the ordering path) is recomputed and its proof verified for a sample; the others keep the leaf their
 *   leader signed, vouched for by the authenticated message.
 * - A whole log a member adopts (`start-view`, `do-view-change`, `recovery-response`) has every leaf
 *   recomputed and no proof verified: a proof must never decide which log is adopted.
 *
 * A message with one bad entry is dropped whole: the replica never acknowledges it, and its leader's
 * signed message is the evidence against it.
 */
import type { OrderedTransactionJson } from "../../api/wire";
import { encryptedSubmission } from "../../api/wire";
import { rawTxHash } from "../../block/leaf-data";
import { toBytes32 } from "../../chain/merkle";
import { blockHeight, encTxHash, rollupId as rollupIdOf } from "../../crypto/encryption";
import { txValidityPublicSignals } from "../../zk/prover";
import type { MicroBatcher } from "../../zk/micro-batcher";
import type { RollupInfo } from "../chain-view";
import type { RoundKeys } from "../round-keys";
import type { NodeEntry, NodeMessage } from "./wire";

export interface EntryCheckDeps {
  readonly roundKeys: Pick<RoundKeys, "get">;
  readonly verifier: Pick<MicroBatcher, "verify">;
  /** The rollup's registry record, or undefined for a rollup the registry does not know. */
  rollup(rollupId: bigint): Promise<RollupInfo | undefined>;
  /** Share of encrypted entries on the append path whose leaf is recomputed and proof verified, in [0, 1]. */
  readonly proofSampleRate: number;
  readonly random: () => number;
  /** Counts each proof a follower verified. */
  readonly onProof?: (valid: boolean) => void;
}

/** Why a message's transactions were refused. */
export class EntryContentError extends Error {
  override readonly name = "EntryContentError";
}

export class EntryChecks {
  constructor(private readonly d: EntryCheckDeps) {}

  /** Throws EntryContentError when a transaction in `message` does not match its leaf (or its proof fails). */
  async check(rollupId: bigint, height: number, message: NodeMessage): Promise<void> {
    switch (message.type) {
      case "replicate":
        return this.checkAll(rollupId, height, message.entries, "append");
      case "start-view":
        return this.checkAll(rollupId, height, message.entries, "adoption");
      case "do-view-change":
      case "recovery-response":
        return this.checkAll(rollupId, height, message.log.entries, "adoption");
      default:
        return;
    }
  }

  private async checkAll(
    rollupId: bigint,
    height: number,
    entries: readonly NodeEntry[],
    path: "append" | "adoption",
  ): Promise<void> {
    for (const entry of entries) await this.checkOne(rollupId, height, entry, path);
  }

  private async checkOne(
    rollupId: bigint,
    height: number,
    entry: NodeEntry,
    path: "append" | "adoption",
  ): Promise<void> {
    const where = `entry ${entry.commitment.index} of height ${height}`;
    const tx: OrderedTransactionJson = entry.tx;
    if (tx.kind === "raw") {
      if (rawTxHash(tx.rawTx) !== entry.commitment.leaf) {
        throw new EntryContentError(`${where}: the raw transaction does not hash to its leaf`);
      }
      return;
    }
    const submission = encryptedSubmission.parse(tx.submission);
    if (submission.tx.rollupId !== rollupId || submission.tx.height !== BigInt(height)) {
      throw new EntryContentError(`${where}: the transaction is for another block`);
    }
    if (path === "append" && this.d.random() >= this.d.proofSampleRate) return;
    const leaf = encTxHash({
      ...submission.tx,
      rollupId: rollupIdOf(submission.tx.rollupId),
      height: blockHeight(submission.tx.height),
    });
    if (toBytes32(leaf) !== entry.commitment.leaf) {
      throw new EntryContentError(`${where}: the ciphertext does not hash to its leaf`);
    }
    if (path === "adoption") return;
    const rollup = await this.d.rollup(rollupId);
    if (rollup === undefined) throw new EntryContentError(`${where}: rollup ${rollupId} is not registered`);
    const key = await this.d.roundKeys.get(rollup, BigInt(height));
    const valid = await this.d.verifier.verify(
      submission.proof,
      txValidityPublicSignals({ encTxHash: leaf, txCommitment: submission.txCommitment, roundKey: key.publicKey }),
    );
    this.d.onProof?.(valid);
    if (!valid) throw new EntryContentError(`${where}: the proof does not verify`);
  }
}
