/**
 * The SDK's side of forced inclusion against the deployed contracts on Hardhat's chain: posting a proven
 * transaction to the inbox (real proof, fee read from the contract), judging a height's block commitment
 * against the posted entry, and slashing the signer of a block that left it out with the signature read
 * back from the `createNewTask` call.
 */
import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { ethers } from "hardhat";
import { getBytes } from "ethers";
import type { ProvenTransaction } from "../../sequencer/chain/inbox";
import { mulBase, randomScalar } from "../../sequencer/crypto/babyjub";
import { blockHeight, encryptTransaction, rollupId } from "../../sequencer/crypto/encryption";
import type { PostedEntry } from "../../sequencer/sdk/chain";
import { forcedVerdict } from "../../sequencer/sdk/force";
import { proveTxValidity } from "../../sequencer/zk/prover";
import { CLUSTER_BOND, PARAMS, ROLLUP_ID, blockCommitment, createTask, leaderSigner } from "../contracts/fixture";
import { sdkWorld, signedTransfer, type SdkWorld } from "./sdk-fixture";

const ROUND_KEY = mulBase(randomScalar());

async function proven(height: bigint, nonce: number): Promise<ProvenTransaction> {
  const enc = encryptTransaction(getBytes(await signedTransfer(nonce)), {
    rollupId: rollupId(ROLLUP_ID),
    height: blockHeight(height),
    roundKey: ROUND_KEY,
  });
  const { proof } = await proveTxValidity(enc);
  return { tx: enc.encrypted, txCommitment: enc.txCommitment, roundKey: ROUND_KEY, proof };
}

/** The world with one forced transaction posted for each of heights 50, 51 and 52. */
async function withForced(): Promise<SdkWorld & { posted: Map<bigint, PostedEntry> }> {
  const w = await sdkWorld();
  const posted = new Map<bigint, PostedEntry>();
  for (const height of [50n, 51n, 52n])
    posted.set(height, await w.chain.postForced(w.outsider, await proven(height, 7)));
  return { ...w, posted };
}

describe("SDK: forced transactions through the L1 inbox", function () {
  this.timeout(120_000);

  it("posts a proven transaction with the inbox's fee and learns its place and posting block", async () => {
    const w = await loadFixture(withForced);
    const entry = w.posted.get(50n)!;
    expect(entry.index).to.equal(0);
    const receipt = await ethers.provider.getTransactionReceipt(entry.l1TxHash);
    expect(BigInt(receipt!.blockNumber)).to.equal(entry.postedBlock);
    expect(await w.inbox.entryCount(ROLLUP_ID, 50n)).to.equal(1);
    expect(await w.inbox.totalBurned()).to.equal(3n * PARAMS.forcedInclusion.fee);
    // A second entry of the same height takes the next place.
    const second = await w.chain.postForced(w.outsider, await proven(50n, 8));
    expect(second.index).to.equal(1);
  });

  it("judges a height's block commitment: pending, placed at txCount + index, not due, or omitted", async () => {
    const w = await loadFixture(withForced);
    const at = (h: bigint) => w.posted.get(h)!;
    expect(forcedVerdict(at(50n), await w.chain.committedBlock(ROLLUP_ID, 50n))).to.deep.equal({ status: "pending" });

    await createTask(w, blockCommitment(50n, { inboxBlock: at(50n).postedBlock, forcedCount: 1 }));
    const placed = forcedVerdict(at(50n), await w.chain.committedBlock(ROLLUP_ID, 50n));
    expect(placed).to.include({ status: "placed", slot: 3 });

    await createTask(w, blockCommitment(52n, { inboxBlock: at(52n).postedBlock - 1n, forcedCount: 0 }));
    expect(forcedVerdict(at(52n), await w.chain.committedBlock(ROLLUP_ID, 52n))).to.include({ status: "not-due" });

    await createTask(w, blockCommitment(51n, { inboxBlock: at(51n).postedBlock, forcedCount: 0 }));
    expect(forcedVerdict(at(51n), await w.chain.committedBlock(ROLLUP_ID, 51n))).to.include({ status: "omitted" });
  });

  it("slashes the signer of a block that left the entry out, with the signature read back from L1", async () => {
    const w = await loadFixture(withForced);
    const entry = w.posted.get(51n)!;
    const omitting = blockCommitment(51n, { inboxBlock: entry.postedBlock, forcedCount: 0 });
    await createTask(w, omitting);
    const verdict = forcedVerdict(entry, await w.chain.committedBlock(ROLLUP_ID, 51n));
    if (verdict.status !== "omitted") throw new Error(`expected an omission, got ${verdict.status}`);
    const leader = leaderSigner(w, 51n);
    expect(verdict.block.signature).to.be.a("string");
    const { revealFrom } = await w.chain.claimForcedInclusionOmission(
      w.outsider,
      verdict.block.commitment,
      verdict.block.signature!,
    );
    const now = await ethers.provider.getBlockNumber();
    if (revealFrom - 1 > now) await ethers.provider.send("hardhat_mine", [`0x${(revealFrom - 1 - now).toString(16)}`]);
    const reward = (CLUSTER_BOND * PARAMS.challengerRewardBps) / 10_000n;
    const slash = w.chain.slashForcedInclusionOmission(w.outsider, verdict.block.commitment, verdict.block.signature!);
    await expect(slash).to.emit(w.vsm, "FaultSlashed");
    await expect(slash).to.changeEtherBalance(w.outsider, reward);
    expect((await w.registry.memberInfo(w.clusterId, leader.address)).bond).to.equal(0n);
  });
});
