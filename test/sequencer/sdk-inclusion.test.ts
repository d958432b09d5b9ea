import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { ethers } from "hardhat";
import type { BlockCommitment } from "../../sequencer/chain/eip712";
import type { BrokenCommitmentEvidence } from "../../sequencer/chain/evidence";
import { IncrementalMerkleTree, toBytes32 } from "../../sequencer/chain/merkle";
import { InclusionError } from "../../sequencer/sdk/errors";
import { checkInclusion } from "../../sequencer/sdk/inclusion";
import { verifyReceipt, type VerifiedReceipt } from "../../sequencer/sdk/receipt";
import { CLUSTER_BOND, PARAMS, ROLLUP_ID, blockCommitment, createTask, h } from "../contracts/fixture";
import { HEIGHT, orderOurTransaction, receiptJson, sdkWorld, type Ordered, type SdkWorld } from "./sdk-fixture";

const INDEX = 3;
const REWARD = (CLUSTER_BOND * PARAMS.challengerRewardBps) / 10_000n;

describe("SDK: POST verification and slashing evidence", () => {
  let w: SdkWorld;
  let ordered: Ordered;
  let receipt: VerifiedReceipt;

  beforeEach(async () => {
    w = await loadFixture(sdkWorld);
    ordered = await orderOurTransaction(w, INDEX);
    receipt = await verifyReceipt(
      receiptJson(ordered),
      { rollupId: ROLLUP_ID, height: HEIGHT, encTxHash: ordered.encTxHash },
      w.chain,
    );
  });

  /** The SDK's two steps of a slash: the claim, CLAIM_DELAY blocks (mined here), then the evidence. */
  async function claimedSlash(verdict: { block: BlockCommitment; evidence: BrokenCommitmentEvidence }) {
    const { revealFrom } = await w.chain.claimBrokenOrderCommitment(
      w.outsider,
      receipt,
      verdict.block,
      verdict.evidence,
    );
    const now = await ethers.provider.getBlockNumber();
    if (revealFrom - 1 > now) await ethers.provider.send("hardhat_mine", [`0x${(revealFrom - 1 - now).toString(16)}`]);
    return w.chain.slashBrokenOrderCommitment(w.outsider, receipt, verdict.block, verdict.evidence);
  }

  /** Seals `tree` (after `more` further appends) and posts its commitment as the task of HEIGHT. */
  async function commit(tree: IncrementalMerkleTree, more = 2, txCount?: number) {
    for (let i = 0; i < more; i++) tree.append(toBytes32(BigInt(i) + 5000n));
    const commitment = blockCommitment(HEIGHT, { txCount: txCount ?? tree.size, encRoot: tree.root });
    await createTask(w, commitment);
    const committed = await w.chain.committedBlock(ROLLUP_ID, HEIGHT);
    expect(committed?.commitment).to.deep.equal(commitment);
    return commitment;
  }

  async function expectSlashed(tx: Promise<unknown>) {
    await expect(tx).to.emit(w.vsm, "FaultSlashed");
    expect((await w.registry.memberInfo(w.clusterId, ordered.leader.address)).bond).to.equal(0n);
  }

  it("reads no block commitment before the task exists", async () => {
    expect(await w.chain.committedBlock(ROLLUP_ID, HEIGHT)).to.equal(undefined);
  });

  it("confirms a kept promise: the POST proof opens the on-chain encRoot and agrees with the PRE frontier", async () => {
    const block = await commit(ordered.tree);
    const post = { leafHash: ordered.tree.leafHash(INDEX), siblings: ordered.tree.proof(INDEX) };
    const verdict = checkInclusion(receipt, block, post);
    expect(verdict.kept).to.equal(true);
  });

  it("builds evidence the VSM accepts when another transaction sits at the promised index", async () => {
    const sealed = new IncrementalMerkleTree();
    for (let i = 0; i < INDEX; i++) sealed.append(toBytes32(BigInt(i) + 1000n));
    sealed.append(h("front-runner"));
    const block = await commit(sealed);
    const verdict = checkInclusion(receipt, block, { leafHash: sealed.leafHash(INDEX), siblings: sealed.proof(INDEX) });
    if (verdict.kept) expect.fail("a broken promise was judged kept");
    expect(verdict.evidence.kind).to.equal("other-leaf");
    const slash = claimedSlash(verdict);
    await expect(slash).to.changeEtherBalances([w.outsider, w.registry], [REWARD, -REWARD], { includeFee: false });
    expect((await w.registry.memberInfo(w.clusterId, ordered.leader.address)).bond).to.equal(0n);
  });

  it("builds evidence the VSM accepts when the block is cut before the promised index", async () => {
    const block = await commit(ordered.tree, 0, INDEX);
    const verdict = checkInclusion(receipt, block, undefined);
    if (verdict.kept) expect.fail("a broken promise was judged kept");
    expect(verdict.evidence.kind).to.equal("index-beyond-block");
    await expectSlashed(claimedSlash(verdict));
  });

  it("builds evidence the VSM accepts when the prefix before the transaction was rewritten", async () => {
    const sealed = new IncrementalMerkleTree();
    sealed.append(toBytes32(1001n)); // txs 0 and 1 swapped
    sealed.append(toBytes32(1000n));
    sealed.append(toBytes32(1002n));
    sealed.append(ordered.encTxHash);
    const block = await commit(sealed);
    const verdict = checkInclusion(receipt, block, { leafHash: sealed.leafHash(INDEX), siblings: sealed.proof(INDEX) });
    if (verdict.kept) expect.fail("a broken promise was judged kept");
    expect(verdict.evidence.kind).to.equal("prefix-rewritten");
    await expectSlashed(claimedSlash(verdict));
  });

  it("refuses to judge with a POST proof that does not open encRoot, a missing proof, or another block", async () => {
    const block = await commit(ordered.tree);
    const siblings = ordered.tree.proof(INDEX);
    const bad = [...siblings];
    bad[5] = h("not a sibling");
    const reasonOf = (f: () => unknown): string => {
      try {
        f();
      } catch (error) {
        expect(error).to.be.instanceOf(InclusionError);
        return (error as InclusionError).reason;
      }
      return expect.fail("no InclusionError");
    };
    const leafHash = ordered.tree.leafHash(INDEX);
    expect(reasonOf(() => checkInclusion(receipt, block, { leafHash, siblings: bad }))).to.equal("post-proof-invalid");
    expect(reasonOf(() => checkInclusion(receipt, block, { leafHash, siblings: siblings.slice(1) }))).to.equal(
      "post-proof-invalid",
    );
    expect(reasonOf(() => checkInclusion(receipt, block, undefined))).to.equal("post-proof-invalid");
    // A broken promise against a block committed in another view is not evidence (the VSM refuses it).
    const other = new IncrementalMerkleTree();
    for (let i = 0; i <= INDEX; i++) other.append(toBytes32(BigInt(i) + 3000n));
    const otherBlock = { ...block, encRoot: other.root, txCount: other.size, viewNumber: receipt.viewNumber };
    const otherPost = { leafHash: other.leafHash(INDEX), siblings: other.proof(INDEX) };
    const laterView = { ...otherBlock, viewNumber: receipt.viewNumber + 1 };
    expect(reasonOf(() => checkInclusion(receipt, laterView, otherPost))).to.equal("other-view");
    expect(checkInclusion(receipt, otherBlock, otherPost).kept).to.equal(false);
    expect(reasonOf(() => checkInclusion(receipt, { ...block, height: HEIGHT + 1n }, { leafHash, siblings }))).to.equal(
      "wrong-block",
    );
    // A receipt whose PRE proof was swapped after verification cannot produce evidence either.
    const swapped = { ...receipt, preProof: [...siblings.slice(0, 15), h("x")] };
    const sealed = new IncrementalMerkleTree();
    for (let i = 0; i < INDEX; i++) sealed.append(toBytes32(BigInt(i) + 2000n));
    sealed.append(ordered.encTxHash);
    expect(
      reasonOf(() =>
        checkInclusion(
          swapped,
          { ...block, encRoot: sealed.root, txCount: sealed.size },
          {
            leafHash: sealed.leafHash(INDEX),
            siblings: sealed.proof(INDEX),
          },
        ),
      ),
    ).to.equal("pre-proof-invalid");
  });
});
