/**
 * slashForcedInclusionOmission on Hardhat's chain, with real entries in the deployed inbox (real tx-validity
 * proofs): a member that signed a block commitment whose forced count is not the number of entries due at
 * its inbox block loses its bond, once; an honest count, a cut before the entries, a cut not yet past, a
 * signer without a bond and a forged signature slash nobody.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { AbiCoder, keccak256 } from "ethers";
import { signMessage, type BlockCommitment } from "../../sequencer/chain/eip712";
import { forcedSubmission } from "../../sequencer/chain/inbox";
import { mulBase, randomScalar } from "../../sequencer/crypto/babyjub";
import { blockHeight, encryptTransaction, rollupId } from "../../sequencer/crypto/encryption";
import { proveTxValidity } from "../../sequencer/zk/prover";
import { CLUSTER_BOND, PARAMS, ROLLUP_ID, blockCommitment, claiming, leaderSigner, world, type World } from "./fixture";

const HEIGHT = 40n;
const OMISSION = 6; // Fault.ForcedInclusionOmission
const REWARD = (CLUSTER_BOND * PARAMS.challengerRewardBps) / 10_000n;

/** A world with two entries of HEIGHT in the inbox, posted in blocks `posted[0]` and `posted[1]`. */
async function withEntries(): Promise<World & { posted: bigint[] }> {
  const w = await world();
  const roundKey = mulBase(randomScalar());
  const posted: bigint[] = [];
  for (const text of ["forced a", "forced b"]) {
    const enc = encryptTransaction(new TextEncoder().encode(text), {
      rollupId: rollupId(ROLLUP_ID),
      height: blockHeight(HEIGHT),
      roundKey,
    });
    const { proof } = await proveTxValidity(enc);
    const s = forcedSubmission({ tx: enc.encrypted, txCommitment: enc.txCommitment, roundKey, proof });
    const receipt = await (await w.inbox.connect(w.outsider).submit(s, { value: PARAMS.forcedInclusion.fee })).wait();
    posted.push(BigInt(receipt!.blockNumber));
  }
  return { ...w, posted };
}

const faultIdOf = (signer: string, height = HEIGHT) =>
  keccak256(
    AbiCoder.defaultAbiCoder().encode(
      ["uint8", "uint64", "uint64", "uint32", "address"],
      [OMISSION, ROLLUP_ID, height, 0, signer],
    ),
  );

describe("ValidationServiceManager: slashing a block that leaves out due forced-inclusion entries", function () {
  this.timeout(120_000);

  async function signed(w: World, c: BlockCommitment, view = c.viewNumber) {
    const leader = leaderSigner(w, c.height, view);
    return { leader, signature: await signMessage(leader, w.domain, "BlockCommitment", c) };
  }

  it("does not slash a leader whose forced count is the number due at its cut, whatever else it committed", async () => {
    const w = await loadFixture(withEntries);
    const cases: [bigint, number][] = [
      [w.posted[0]! - 1n, 0], // a cut before both entries: none due
      [w.posted[0]!, 1],
      [w.posted[1]!, 2],
    ];
    for (const [inboxBlock, forcedCount] of cases) {
      const c = blockCommitment(HEIGHT, { inboxBlock, forcedCount });
      const { signature } = await signed(w, c);
      await expect(claiming(w).slashForcedInclusionOmission(c, signature)).to.be.revertedWithCustomError(
        w.vsm,
        "NoFault",
      );
    }
    // Another height with no entry at all, and a count of 0.
    const empty = blockCommitment(HEIGHT + 1n, { inboxBlock: w.posted[1]!, forcedCount: 0 });
    const { signature } = await signed(w, empty);
    await expect(claiming(w).slashForcedInclusionOmission(empty, signature)).to.be.revertedWithCustomError(
      w.vsm,
      "NoFault",
    );
  });

  it("slashes the signer of a block that leaves a due entry out, once, and pays the challenger", async () => {
    const w = await loadFixture(withEntries);
    const c = blockCommitment(HEIGHT, { inboxBlock: w.posted[1]!, forcedCount: 1 });
    const { leader, signature } = await signed(w, c);
    const faultId = faultIdOf(leader.address);
    const tx = claiming(w, w.outsider).slashForcedInclusionOmission(c, signature);
    await expect(tx)
      .to.emit(w.vsm, "FaultSlashed")
      .withArgs(faultId, OMISSION, leader.address, w.outsider.address, CLUSTER_BOND);
    await expect(tx)
      .to.emit(w.registry, "MemberSlashed")
      .withArgs(w.clusterId, leader.address, faultId, CLUSTER_BOND, w.outsider.address, REWARD);
    await expect(tx).to.changeEtherBalance(w.outsider, REWARD);
    expect(await w.vsm.isFaultSettled(faultId)).to.equal(true);
    // The same block again, or another wrong count for the height: one fault per height and signer.
    await expect(claiming(w).slashForcedInclusionOmission(c, signature))
      .to.be.revertedWithCustomError(w.vsm, "FaultAlreadySlashed")
      .withArgs(faultId);
    const none = { ...c, forcedCount: 0 };
    const again = await signed(w, none);
    await expect(claiming(w).slashForcedInclusionOmission(none, again.signature))
      .to.be.revertedWithCustomError(w.vsm, "FaultAlreadySlashed")
      .withArgs(faultId);
  });

  it("slashes a block that claims more forced slots than were posted by its cut (room for its own transactions)", async () => {
    const w = await loadFixture(withEntries);
    // Cut between the two posts: one entry due, three claimed.
    const c = blockCommitment(HEIGHT, { inboxBlock: w.posted[0]!, forcedCount: 3, viewNumber: 2 });
    const { leader, signature } = await signed(w, c);
    await expect(claiming(w).slashForcedInclusionOmission(c, signature))
      .to.emit(w.vsm, "FaultSlashed")
      .withArgs(faultIdOf(leader.address), OMISSION, leader.address, w.deployer.address, CLUSTER_BOND);
  });

  it("refuses a cut that is not in the past yet: the entries due at it are not final", async () => {
    const w = await loadFixture(withEntries);
    const head = BigInt(await ethers.provider.getBlockNumber());
    const c = blockCommitment(HEIGHT, { inboxBlock: head + 100n, forcedCount: 0 });
    const { signature } = await signed(w, c);
    await expect(w.vsm.slashForcedInclusionOmission(c, signature)).to.be.revertedWithCustomError(
      w.inbox,
      "InboxBlockNotPast",
    );
  });

  it("slashes nobody for a commitment signed by a non-member, or whose signature was tampered with", async () => {
    const w = await loadFixture(withEntries);
    const c = blockCommitment(HEIGHT, { inboxBlock: w.posted[1]!, forcedCount: 0 });
    const byOutsider = await signMessage(w.outsider, w.domain, "BlockCommitment", c);
    await expect(claiming(w).slashForcedInclusionOmission(c, byOutsider))
      .to.be.revertedWithCustomError(w.registry, "NothingToSlash")
      .withArgs(w.clusterId, w.outsider.address);
    // A leader's signature over the honest commitment, presented with the count changed: it recovers to
    // some other address, which holds no bond.
    const honest = { ...c, forcedCount: 2 };
    const { leader, signature } = await signed(w, honest);
    await expect(claiming(w).slashForcedInclusionOmission(c, signature)).to.be.revertedWithCustomError(
      w.registry,
      "NothingToSlash",
    );
    expect((await w.registry.memberInfo(w.clusterId, leader.address)).bond).to.equal(CLUSTER_BOND);
    // Signed in another deployment's domain: the same.
    const foreign = await signMessage(leader, { ...w.domain, chainId: 1n }, "BlockCommitment", c);
    await expect(claiming(w).slashForcedInclusionOmission(c, foreign)).to.be.revertedWithCustomError(
      w.registry,
      "NothingToSlash",
    );
  });

  it("pays only the challenger that committed its claim first (no front-running the evidence)", async () => {
    const w = await loadFixture(withEntries);
    const c = blockCommitment(HEIGHT, { inboxBlock: w.posted[1]!, forcedCount: 0 });
    const { signature } = await signed(w, c);
    await expect(w.vsm.connect(w.outsider).slashForcedInclusionOmission(c, signature)).to.be.revertedWithCustomError(
      w.vsm,
      "ClaimNotMatured",
    );
  });
});
