/**
 * Checks the answer of `finalize_block` before anything reaches the L2: that it is the block of the
 * height asked for, that its seal and its BlockCommitment are signed (EIP-712, the deployment's one
 * domain) by the leader the registry schedules for that height and view, and that the transactions
 * are exactly the committed ones: one slot per index in order, each valid slot's hash is the keccak of
 * its bytes, and encRoot and rawRoot recomputed from the slots equal the signed roots. The operator
 * executes only what the leader can be held to.
 */
import { getAddress, keccak256 } from "ethers";
import { finalizeResult, type BuiltBlockJson, type FinalizeResultJson } from "../api/wire";
import { isSignedBy, structHash, taskIdOf, type VeilDomain } from "../chain/eip712";
import { hashLeaf, rootOfLeafHashes } from "../chain/merkle";
import { rawRootOf } from "../block/raw-root";

/** The leader the registry schedules for a height at a view (ClusterRegistry.leaderOfRollup). */
export interface LeaderSchedule {
  leaderOf(rollupId: bigint, height: bigint, viewNumber: number): Promise<string>;
}

export class InvalidFinalizeAnswer extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidFinalizeAnswer";
  }
}

/** A verified block: its slots are the committed ones, in index order. */
export interface VerifiedBlock {
  readonly rollupId: bigint;
  readonly height: bigint;
  readonly block: BuiltBlockJson;
  readonly seal: FinalizeResultJson["seal"];
}

function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new InvalidFinalizeAnswer(message);
}

/** Parses and verifies a `finalize_block` answer for (rollupId, height); throws InvalidFinalizeAnswer. */
export async function verifyFinalizeAnswer(
  answer: unknown,
  expected: { readonly rollupId: bigint; readonly height: bigint },
  domain: VeilDomain,
  schedule: LeaderSchedule,
): Promise<VerifiedBlock> {
  const parsed = finalizeResult.safeParse(answer);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidFinalizeAnswer(
      `malformed answer: ${issue === undefined ? "invalid" : `${issue.path.join(".") || "(top)"}: ${issue.message}`}`,
    );
  }
  const { seal, block } = parsed.data;
  const c = block.commitment;
  const at = `height ${expected.height}`;

  check(
    c.rollupId === expected.rollupId && c.height === expected.height,
    `${at}: the commitment is of rollup ${c.rollupId} height ${c.height}`,
  );
  check(
    seal.seal.rollupId === expected.rollupId && seal.seal.height === expected.height,
    `${at}: the seal is of rollup ${seal.seal.rollupId} height ${seal.seal.height}`,
  );

  // Who signed: the registry's leader of this height at the claimed view, for both seal and commitment.
  const leader = getAddress(block.leader);
  const scheduled = getAddress(await schedule.leaderOf(expected.rollupId, expected.height, block.viewNumber));
  check(
    leader === scheduled,
    `${at}: ${leader} is not the leader of view ${block.viewNumber} (the registry says ${scheduled})`,
  );
  check(
    isSignedBy(domain, "BlockCommitment", c, block.signature, leader),
    `${at}: the BlockCommitment signature is not by the leader ${leader}`,
  );
  const sealLeader = getAddress(seal.leader);
  const sealScheduled = getAddress(await schedule.leaderOf(expected.rollupId, expected.height, seal.seal.viewNumber));
  check(sealLeader === sealScheduled, `${at}: the seal's signer ${sealLeader} is not the leader of its view`);
  check(
    isSignedBy(domain, "Seal", seal.seal, seal.signature, sealLeader),
    `${at}: the seal signature is not by ${sealLeader}`,
  );
  check(
    seal.seal.txCount === c.txCount && seal.seal.encRoot === c.encRoot,
    `${at}: the commitment (${c.txCount} txs, encRoot ${c.encRoot}) differs from the seal (${seal.seal.txCount}, ${seal.seal.encRoot})`,
  );
  check(
    block.commitmentHash === structHash("BlockCommitment", c).toLowerCase(),
    `${at}: commitmentHash is not hashStruct(commitment)`,
  );
  check(
    block.taskId === taskIdOf(c.rollupId, c.height).toLowerCase(),
    `${at}: taskId is not taskIdOf(rollupId, height)`,
  );

  // What is executed: exactly the committed slots.
  check(
    block.transactions.length === c.txCount,
    `${at}: ${block.transactions.length} transactions answered for a commitment of ${c.txCount}`,
  );
  block.transactions.forEach((slot, i) => {
    check(slot.index === i, `${at}: slot ${i} carries index ${slot.index}`);
    if (slot.status === "valid") {
      check(
        keccak256(slot.rawTx).toLowerCase() === slot.txHash,
        `${at}: slot ${i}'s txHash is not the hash of its bytes`,
      );
    }
  });
  check(
    rootOfLeafHashes(block.transactions.map((s) => hashLeaf(s.encTxHash))).toLowerCase() === c.encRoot,
    `${at}: the slots' encrypted-tx hashes do not make the committed encRoot`,
  );
  check(
    rawRootOf(block.transactions.map((s) => (s.status === "valid" ? { txHash: s.txHash } : {}))).toLowerCase() ===
      c.rawRoot,
    `${at}: the slots' transactions do not make the committed rawRoot`,
  );
  return { rollupId: expected.rollupId, height: expected.height, block, seal };
}
