/**
 * Checks the answer of `finalize_block` before anything reaches the L2: that it is the block of the
 * height asked for, that its seal is certified (a majority of the cluster's members signed it in one
 * view, which proves that view), that its BlockCommitment names that view and is signed (EIP-712, the
 * deployment's one domain) by the leader the registry schedules for the height at that view, and that
 * the transactions are exactly the committed ones: one slot per index in order (the sealed ones, then the
 * forced-inclusion ones), each valid slot's hash is the keccak of its bytes, encRoot recomputed from the
 * sealed slots and rawRoot from every slot equal the signed roots, and the inbox cut is the seal's.
 * The operator executes only what the leader can be held to.
 */
import { getAddress } from "ethers";
import { finalizeResult, type BuiltBlockJson, type FinalizeResultJson } from "../api/wire";
import { CertificateError, verifySealCertificate } from "../chain/certificate";
import { isSignedBy, structHash, taskIdOf, type VeilDomain } from "../chain/eip712";
import { hashLeaf, rootOfLeafHashes } from "../chain/merkle";
import { rawTxHash } from "../block/leaf-data";
import { rawRootOf } from "../block/raw-root";

/** The members of the cluster serving a rollup in an epoch, in schedule order (ClusterRegistry.membersAt). */
export interface ClusterMembers {
  membersAt(rollupId: bigint, epoch: number): Promise<readonly string[]>;
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
  cluster: ClusterMembers,
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

  // Who signed: a majority of the members of the seal's epoch the seal, which proves its view; the
  // registry's leader of the height at that view the commitment. A view the answer merely claims proves nothing.
  let members: string[];
  try {
    members = (await cluster.membersAt(expected.rollupId, seal.seal.epoch)).map((m) => getAddress(m));
  } catch (error) {
    throw new InvalidFinalizeAnswer(`${at}: no members of epoch ${seal.seal.epoch}: ${(error as Error).message}`);
  }
  check(members.length > 0, `${at}: the cluster has no members in epoch ${seal.seal.epoch}`);
  try {
    verifySealCertificate(domain, seal, members);
  } catch (error) {
    if (!(error instanceof CertificateError)) throw error;
    throw new InvalidFinalizeAnswer(`${at}: the seal certificate does not verify: ${error.message}`);
  }
  const view = seal.seal.viewNumber;
  check(block.viewNumber === view, `${at}: the block is of view ${block.viewNumber}, its seal certificate of ${view}`);
  check(
    c.viewNumber === view,
    `${at}: the commitment is signed for view ${c.viewNumber}, its seal certificate is of view ${view}`,
  );
  const leader = getAddress(block.leader);
  const scheduled = members[Number((expected.height + BigInt(view)) % BigInt(members.length))]!;
  check(leader === scheduled, `${at}: ${leader} is not the leader of view ${view} (the registry says ${scheduled})`);
  check(
    isSignedBy(domain, "BlockCommitment", c, block.signature, leader),
    `${at}: the BlockCommitment signature is not by the leader ${leader}`,
  );
  check(
    seal.seal.txCount === c.txCount && seal.seal.encRoot === c.encRoot && seal.seal.inboxBlock === c.inboxBlock,
    `${at}: the commitment (${c.txCount} txs, encRoot ${c.encRoot}, inbox block ${c.inboxBlock}) differs from the seal (${seal.seal.txCount}, ${seal.seal.encRoot}, ${seal.seal.inboxBlock})`,
  );
  check(
    block.commitmentHash === structHash("BlockCommitment", c).toLowerCase(),
    `${at}: commitmentHash is not hashStruct(commitment)`,
  );
  check(
    block.taskId === taskIdOf(c.rollupId, c.height).toLowerCase(),
    `${at}: taskId is not taskIdOf(rollupId, height)`,
  );

  // What is executed: exactly the committed slots, the sealed ones and then the forced ones. Whether the
  // forced slots are the inbox's due entries is the validators' to check (they read the L1).
  const slots = c.txCount + c.forcedCount;
  check(
    block.transactions.length === slots,
    `${at}: ${block.transactions.length} transactions answered for a commitment of ${c.txCount} + ${c.forcedCount} forced`,
  );
  block.transactions.forEach((slot, i) => {
    check(slot.index === i, `${at}: slot ${i} carries index ${slot.index}`);
    if (slot.status === "valid") {
      check(rawTxHash(slot.rawTx) === slot.txHash, `${at}: slot ${i}'s txHash is not the hash of its bytes`);
    }
  });
  check(
    rootOfLeafHashes(block.transactions.slice(0, c.txCount).map((s) => hashLeaf(s.encTxHash))).toLowerCase() ===
      c.encRoot,
    `${at}: the slots' encrypted-tx hashes do not make the committed encRoot`,
  );
  check(
    rawRootOf(block.transactions.map((s) => (s.status === "valid" ? { txHash: s.txHash } : {}))).toLowerCase() ===
      c.rawRoot,
    `${at}: the slots' transactions do not make the committed rawRoot`,
  );
  return { rollupId: expected.rollupId, height: expected.height, block, seal };
}
