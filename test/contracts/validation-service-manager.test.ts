import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, mine } from "@nomicfoundation/hardhat-network-helpers";
import { Wallet, ZeroHash as ZERO_HASH, parseEther } from "ethers";
import { certifySeal } from "../../sequencer/chain/certificate";
import { signMessage, structHash, taskIdOf } from "../../sequencer/chain/eip712";
import { ClusterRegistry__factory, ValidationServiceManager__factory } from "../../typechain-types";
import {
  OPERATOR_STAKE,
  PARAMS,
  ROLLUP_ID,
  blockCommitment,
  certificateOf,
  createTask,
  h,
  leaderSigner,
  onChain,
  responses,
  sealOf,
  world,
} from "./fixture";

describe("ValidationServiceManager", () => {
  describe("deployment", () => {
    it("refuses parameters that would let a faulty party escape or a quorum be ambiguous", async () => {
      const [deployer] = await ethers.getSigners();
      const registry = await new ClusterRegistry__factory(deployer).deploy(1n, 100n, 1n);
      const factory = new ValidationServiceManager__factory(deployer);
      const ok = [await registry.getAddress(), 6_667n, 10n, 50n, 60n, 1n, 1_000n] as const;
      const bad: (readonly [number, bigint])[] = [
        [1, 5_000n], // quorum must be a strict majority
        [1, 10_001n],
        [2, 0n], // no response window
        [3, 9n], // challenge window shorter than the response window
        [4, 50n], // operator exit not longer than the challenge window
        [3, 100n], // member exit (100) not longer than the challenge window
        [5, 0n],
        [6, 10_001n],
      ];
      for (const [i, value] of bad) {
        const args = [...ok] as [string, bigint, bigint, bigint, bigint, bigint, bigint];
        args[i] = value;
        await expect(factory.deploy(...args)).to.be.revertedWithCustomError(factory, "InvalidParameters");
      }
      const vsm = await factory.deploy(...ok);
      expect(await vsm.quorumBps()).to.equal(6_667n);
      expect(await vsm.registry()).to.equal(ok[0]);
      expect(await vsm.responseWindow()).to.equal(10n);
      expect(await vsm.challengeWindow()).to.equal(50n);
      expect(await vsm.operatorWithdrawalDelay()).to.equal(60n);
      expect(await vsm.minOperatorStake()).to.equal(1n);
      expect(await vsm.challengerRewardBps()).to.equal(1_000n);
    });
  });

  describe("operators", () => {
    it("registers operators with stake, tracking history per block", async () => {
      const w = await loadFixture(world);
      const [op] = w.operators;
      expect(await w.vsm.stakeOf(op!.address)).to.equal(OPERATOR_STAKE);
      expect(await w.vsm.totalStake()).to.equal(OPERATOR_STAKE * 4n);
      await expect(w.vsm.connect(op).registerOperator({ value: OPERATOR_STAKE }))
        .to.be.revertedWithCustomError(w.vsm, "AlreadyRegistered")
        .withArgs(op!.address);
      await expect(w.vsm.connect(w.outsider).registerOperator({ value: PARAMS.minOperatorStake - 1n }))
        .to.be.revertedWithCustomError(w.vsm, "StakeBelowMinimum")
        .withArgs(PARAMS.minOperatorStake - 1n, PARAMS.minOperatorStake);
      const before = await ethers.provider.getBlockNumber();
      await expect(w.vsm.connect(op).addStake({ value: 5n }))
        .to.emit(w.vsm, "OperatorStakeUpdated")
        .withArgs(op!.address, OPERATOR_STAKE + 5n);
      expect(await w.vsm.stakeAt(op!.address, before)).to.equal(OPERATOR_STAKE);
      expect(await w.vsm.stakeAt(op!.address, before + 1)).to.equal(OPERATOR_STAKE + 5n);
      expect(await w.vsm.totalStakeAt(before)).to.equal(OPERATOR_STAKE * 4n);
      await expect(w.vsm.connect(w.outsider).addStake({ value: 5n }))
        .to.be.revertedWithCustomError(w.vsm, "NotRegistered")
        .withArgs(w.outsider.address);
      await expect(w.vsm.connect(op).addStake({ value: 0n })).to.be.revertedWithCustomError(w.vsm, "InvalidAmount");
    });

    it("locks withdrawn stake for the delay, and the rest must stay above the minimum", async () => {
      const w = await loadFixture(world);
      const op = w.operators[0]!;
      await expect(w.vsm.connect(op).requestWithdrawal(0)).to.be.revertedWithCustomError(w.vsm, "InvalidAmount");
      await expect(w.vsm.connect(op).requestWithdrawal(OPERATOR_STAKE + 1n)).to.be.revertedWithCustomError(
        w.vsm,
        "InvalidAmount",
      );
      await expect(w.vsm.connect(op).requestWithdrawal(OPERATOR_STAKE - 1n))
        .to.be.revertedWithCustomError(w.vsm, "StakeBelowMinimum")
        .withArgs(1n, PARAMS.minOperatorStake);
      await expect(w.vsm.connect(op).withdraw()).to.be.revertedWithCustomError(w.vsm, "NothingToWithdraw");
      const unlock = BigInt((await ethers.provider.getBlockNumber()) + 1) + PARAMS.operatorWithdrawalDelay;
      await expect(w.vsm.connect(op).requestWithdrawal(parseEther("4")))
        .to.emit(w.vsm, "WithdrawalRequested")
        .withArgs(op.address, parseEther("4"), unlock);
      await w.vsm.connect(op).requestWithdrawal(parseEther("6")); // everything: allowed, restarts the lock
      expect(await w.vsm.stakeOf(op.address)).to.equal(0n);
      expect(await w.vsm.totalStake()).to.equal(OPERATOR_STAKE * 3n);
      const pending = await w.vsm.pendingWithdrawal(op.address);
      expect(pending.amount).to.equal(OPERATOR_STAKE);
      await expect(w.vsm.connect(op).withdraw())
        .to.be.revertedWithCustomError(w.vsm, "WithdrawalLocked")
        .withArgs(pending.unlockBlock);
      await mine(PARAMS.operatorWithdrawalDelay);
      const tx = w.vsm.connect(op).withdraw();
      await expect(tx).to.emit(w.vsm, "Withdrawn").withArgs(op.address, OPERATOR_STAKE);
      await expect(tx).to.changeEtherBalance(op, OPERATOR_STAKE);
      // A former operator comes back through addStake, which enforces the minimum again.
      await expect(w.vsm.connect(op).addStake({ value: 1n })).to.be.revertedWithCustomError(w.vsm, "StakeBelowMinimum");
      await w.vsm.connect(op).addStake({ value: PARAMS.minOperatorStake });
      expect(await w.vsm.stakeOf(op.address)).to.equal(PARAMS.minOperatorStake);
    });
  });

  describe("tasks", () => {
    it("lets anyone relay a certified block commitment signed by the leader of the certified view, once per view", async () => {
      const w = await loadFixture(world);
      const c = blockCommitment(10n, { viewNumber: 1 });
      const leader = leaderSigner(w, 10n, 1);
      const sig = await signMessage(leader, w.domain, "BlockCommitment", c);
      const certificate = onChain(await certificateOf(w, sealOf(c)));
      const taskId = taskIdOf(ROLLUP_ID, 10n);
      const tx = w.vsm.connect(w.outsider).createNewTask(c, certificate, sig);
      await expect(tx)
        .to.emit(w.vsm, "TaskCreated")
        .withArgs(
          taskId,
          ROLLUP_ID,
          10n,
          leader.address,
          1,
          structHash("BlockCommitment", c),
          c.txCount,
          c.encRoot,
          c.rawRoot,
        );
      const task = await w.vsm.getTask(taskId);
      expect(task.leader).to.equal(leader.address);
      expect(task.viewNumber).to.equal(1n);
      expect(task.status).to.equal(1n);
      expect(task.commitmentHash).to.equal(structHash("BlockCommitment", c));
      expect(await w.vsm.taskIdOf(ROLLUP_ID, 10n)).to.equal(taskId);
      await expect(w.vsm.createNewTask(c, certificate, sig))
        .to.be.revertedWithCustomError(w.vsm, "TaskExists")
        .withArgs(taskId);
    });

    it("refuses a squatted task: a member's own seal at a view it picks, for the current or a future height", async () => {
      const w = await loadFixture(world);
      // Member 1 leads height 50 at view 3 ((50 + 3) % 4 = 1) and signs everything itself.
      const c = blockCommitment(50n, { txCount: 0, encRoot: ZERO_HASH, rawRoot: ZERO_HASH, viewNumber: 3 });
      const squatter = leaderSigner(w, 50n, 3);
      const sig = await signMessage(squatter, w.domain, "BlockCommitment", c);
      const alone = onChain(await certificateOf(w, sealOf(c, 3), [squatter]));
      await expect(w.vsm.connect(squatter).createNewTask(c, alone, sig))
        .to.be.revertedWithCustomError(w.vsm, "CertificateBelowMajority")
        .withArgs(1, 4);
      // Two members (a minority of four) are not enough either, nor an outsider who joined the signatures.
      const two = onChain(await certificateOf(w, sealOf(c, 3), [squatter, w.members[2]!]));
      await expect(w.vsm.createNewTask(c, two, sig)).to.be.revertedWithCustomError(w.vsm, "CertificateBelowMajority");
      const withOutsider = onChain(await certificateOf(w, sealOf(c, 3), [squatter, w.members[2]!, w.outsider]));
      await expect(w.vsm.createNewTask(c, withOutsider, sig))
        .to.be.revertedWithCustomError(w.vsm, "CertificateSignerNotMember")
        .withArgs(w.outsider.address);
      expect((await w.vsm.getTask(taskIdOf(ROLLUP_ID, 50n))).status).to.equal(0n);
    });

    it("refuses a certificate with a duplicated or unsorted signer, or one over another seal", async () => {
      const w = await loadFixture(world);
      const c = blockCommitment(11n);
      const leader = leaderSigner(w, 11n);
      const sig = await signMessage(leader, w.domain, "BlockCommitment", c);
      const good = onChain(await certificateOf(w, sealOf(c)));
      const ascending = w.members
        .slice(0, 3)
        .map((m) => m.address)
        .sort((x, y) => (BigInt(x) < BigInt(y) ? -1 : 1));
      expect(await w.vsm.verifySealCertificate(good)).to.deep.equal(ascending);
      const duplicated = { ...good, signatures: [good.signatures[0]!, good.signatures[0]!, good.signatures[1]!] };
      await expect(w.vsm.createNewTask(c, duplicated, sig)).to.be.revertedWithCustomError(
        w.vsm,
        "CertificateSignersNotSorted",
      );
      const unsorted = { ...good, signatures: [...good.signatures].reverse() };
      await expect(w.vsm.createNewTask(c, unsorted, sig)).to.be.revertedWithCustomError(
        w.vsm,
        "CertificateSignersNotSorted",
      );
      // Signatures over another view's seal recover to other addresses: not members (or not sorted).
      const otherView = onChain(await certificateOf(w, sealOf(c, 1)));
      await expect(w.vsm.createNewTask(c, { seal: good.seal, signatures: otherView.signatures }, sig)).to.be.reverted;
      const otherRoot = blockCommitment(11n, { encRoot: h("other") });
      await expect(w.vsm.createNewTask(otherRoot, good, sig)).to.be.revertedWithCustomError(w.vsm, "SealMismatch");
    });

    it("refuses a commitment whose view is not its certificate's, whichever of the two leaders signed it", async () => {
      const w = await loadFixture(world);
      // Certified in view 0; the commitment claims view 1 (or the reverse), otherwise identical.
      const c = blockCommitment(13n, { viewNumber: 1 });
      const certified0 = onChain(await certificateOf(w, sealOf(c, 0)));
      for (const view of [0, 1]) {
        const sig = await signMessage(leaderSigner(w, 13n, view), w.domain, "BlockCommitment", c);
        await expect(w.vsm.createNewTask(c, certified0, sig)).to.be.revertedWithCustomError(w.vsm, "SealMismatch");
      }
      const c0 = { ...c, viewNumber: 0 };
      const certified1 = onChain(await certificateOf(w, sealOf(c0, 1)));
      const sig1 = await signMessage(leaderSigner(w, 13n, 1), w.domain, "BlockCommitment", c0);
      await expect(w.vsm.createNewTask(c0, certified1, sig1)).to.be.revertedWithCustomError(w.vsm, "SealMismatch");
      expect((await w.vsm.getTask(taskIdOf(ROLLUP_ID, 13n))).status).to.equal(0n);
      // With the view of its certificate it is accepted.
      const sig0 = await signMessage(leaderSigner(w, 13n, 0), w.domain, "BlockCommitment", c0);
      await expect(w.vsm.createNewTask(c0, certified0, sig0)).to.emit(w.vsm, "TaskCreated");
    });

    it("refuses commitments not signed by the leader of the certified view, oversize blocks and unknown rollups", async () => {
      const w = await loadFixture(world);
      const c = blockCommitment(10n);
      const certificate = onChain(await certificateOf(w, sealOf(c)));
      const notLeader = leaderSigner(w, 10n, 1);
      const sig = await signMessage(notLeader, w.domain, "BlockCommitment", c);
      await expect(w.vsm.createNewTask(c, certificate, sig))
        .to.be.revertedWithCustomError(w.vsm, "InvalidSigner")
        .withArgs(notLeader.address, leaderSigner(w, 10n, 0).address);
      const big = blockCommitment(10n, { txCount: 65_537 });
      await expect(w.vsm.createNewTask(big, certificate, sig))
        .to.be.revertedWithCustomError(w.vsm, "TxCountTooLarge")
        .withArgs(65_537);
      const unknown = { ...c, rollupId: 1n };
      const unknownCertificate = onChain(await certificateOf(w, sealOf(unknown)));
      await expect(w.vsm.createNewTask(unknown, unknownCertificate, sig)).to.be.revertedWithCustomError(
        w.registry,
        "UnknownRollup",
      );
      // Signed for another deployment's domain: recovers to someone else.
      const foreign = await signMessage(leaderSigner(w, 10n), { ...w.domain, chainId: 1n }, "BlockCommitment", c);
      await expect(w.vsm.createNewTask(c, certificate, foreign)).to.be.revertedWithCustomError(w.vsm, "InvalidSigner");
    });

    it("lets a task certified in a later view replace a pending or rejected one, never the reverse", async () => {
      const w = await loadFixture(world);
      const bad = blockCommitment(12n, { rawRoot: h("bad raw") });
      const good = blockCommitment(12n);
      const taskId = await createTask(w, bad);
      // The same view, or an earlier one, cannot replace it.
      const leader0 = leaderSigner(w, 12n, 0);
      await expect(
        w.vsm.createNewTask(
          good,
          onChain(await certificateOf(w, sealOf(good))),
          await signMessage(leader0, w.domain, "BlockCommitment", good),
        ),
      ).to.be.revertedWithCustomError(w.vsm, "TaskExists");
      const leader2 = leaderSigner(w, 12n, 2);
      const good2 = { ...good, viewNumber: 2 };
      await expect(
        w.vsm.createNewTask(
          good2,
          onChain(await certificateOf(w, sealOf(good2))),
          await signMessage(leader2, w.domain, "BlockCommitment", good2),
        ),
      )
        .to.emit(w.vsm, "TaskReplaced")
        .withArgs(taskId, leader0.address, 0, 2);
      const task = await w.vsm.getTask(taskId);
      expect(task.leader).to.equal(leader2.address);
      expect(task.commitmentHash).to.equal(structHash("BlockCommitment", good2));
      // Once validated, nothing replaces it.
      await w.vsm.respondToTask(taskId, true, await responses(w, taskId, good2, true, w.operators.slice(0, 3)));
      const leader3 = leaderSigner(w, 12n, 3);
      const bad3 = { ...bad, viewNumber: 3 };
      await expect(
        w.vsm.createNewTask(
          bad3,
          onChain(await certificateOf(w, sealOf(bad3))),
          await signMessage(leader3, w.domain, "BlockCommitment", bad3),
        ),
      ).to.be.revertedWithCustomError(w.vsm, "TaskExists");
    });

    it("validates a task when 3 of 4 equal stakes approve, measured at the block before the task", async () => {
      const w = await loadFixture(world);
      const c = blockCommitment(20n);
      const taskId = await createTask(w, c);
      // Stake added after the task was created does not count.
      await w.vsm.connect(w.operators[3]).addStake({ value: parseEther("100") });
      const sigs = await responses(w, taskId, c, true, w.operators.slice(0, 3));
      await expect(w.vsm.respondToTask(taskId, true, sigs))
        .to.emit(w.vsm, "TaskResolved")
        .withArgs(taskId, 2, OPERATOR_STAKE * 3n, OPERATOR_STAKE * 4n);
      expect((await w.vsm.getTask(taskId)).status).to.equal(2n);
      await expect(w.vsm.respondToTask(taskId, true, sigs))
        .to.be.revertedWithCustomError(w.vsm, "TaskNotPending")
        .withArgs(taskId, 2);
    });

    it("rejects a task when a quorum rejects", async () => {
      const w = await loadFixture(world);
      const c = blockCommitment(21n);
      const taskId = await createTask(w, c);
      const sigs = await responses(w, taskId, c, false, w.operators);
      await expect(w.vsm.respondToTask(taskId, false, sigs))
        .to.emit(w.vsm, "TaskResolved")
        .withArgs(taskId, 3, OPERATOR_STAKE * 4n, OPERATOR_STAKE * 4n);
    });

    it("refuses aggregates below quorum, unsorted or duplicated, from non-operators, for other answers or tasks", async () => {
      const w = await loadFixture(world);
      const c = blockCommitment(22n);
      const taskId = await createTask(w, c);
      const two = await responses(w, taskId, c, true, w.operators.slice(0, 2));
      await expect(w.vsm.respondToTask(taskId, true, two))
        .to.be.revertedWithCustomError(w.vsm, "QuorumNotReached")
        .withArgs(OPERATOR_STAKE * 2n, OPERATOR_STAKE * 4n);
      const three = await responses(w, taskId, c, true, w.operators.slice(0, 3));
      await expect(w.vsm.respondToTask(taskId, true, [...three].reverse())).to.be.revertedWithCustomError(
        w.vsm,
        "SignersNotSorted",
      );
      await expect(w.vsm.respondToTask(taskId, true, [three[0]!, three[0]!, three[1]!])).to.be.revertedWithCustomError(
        w.vsm,
        "SignersNotSorted",
      );
      // Signatures for "approve" do not count as "reject" (they recover to strangers).
      await expect(w.vsm.respondToTask(taskId, false, three)).to.be.revertedWithCustomError(
        w.vsm,
        "NoStakeAtReference",
      );
      const stranger = Wallet.createRandom();
      const strangerSig = await signMessage(stranger, w.domain, "OperatorResponse", {
        taskId,
        commitmentHash: structHash("BlockCommitment", c),
        approve: true,
      });
      await expect(w.vsm.respondToTask(taskId, true, [strangerSig]))
        .to.be.revertedWithCustomError(w.vsm, "NoStakeAtReference")
        .withArgs(stranger.address);
      await expect(w.vsm.respondToTask(taskIdOf(ROLLUP_ID, 99n), true, three))
        .to.be.revertedWithCustomError(w.vsm, "UnknownTask")
        .withArgs(taskIdOf(ROLLUP_ID, 99n));
      await expect(w.vsm.respondToTask(taskId, true, [])).to.be.revertedWithCustomError(w.vsm, "QuorumNotReached");
    });

    it("cannot reach quorum when no stake existed at the reference block", async () => {
      const [deployer, m] = await ethers.getSigners();
      const registry = await new ClusterRegistry__factory(deployer).deploy(1n, 100n, 1n);
      const vsm = await new ValidationServiceManager__factory(deployer).deploy(
        await registry.getAddress(),
        6_667n,
        10n,
        50n,
        60n,
        1n,
        0n,
      );
      await registry.setSlasher(await vsm.getAddress());
      await registry.createCluster(1n, 4);
      await registry.connect(m).join(1, { value: 1n });
      await registry.registerRollup(
        ROLLUP_ID,
        { clusterId: 1n, maxTxsPerBlock: 10, blockGasLimit: 1n, timeLockSquarings: 1n, timeLockModulus: "0x01" },
        [deployer!.address],
        [m!.address],
      );
      const domain = { ...(await import("../../sequencer/chain/eip712")).veilDomain(31337n, await vsm.getAddress()) };
      const c = blockCommitment(0n);
      const certificate = await certifySeal([m!], domain, sealOf(c));
      await vsm.createNewTask(c, onChain(certificate), await signMessage(m!, domain, "BlockCommitment", c));
      await expect(vsm.respondToTask(taskIdOf(ROLLUP_ID, 0n), true, []))
        .to.be.revertedWithCustomError(vsm, "QuorumNotReached")
        .withArgs(0n, 0n);
    });

    it("expires a task after the response window, and not before", async () => {
      const w = await loadFixture(world);
      const c = blockCommitment(23n);
      const taskId = await createTask(w, c);
      const sigs = await responses(w, taskId, c, true, w.operators);
      await expect(w.vsm.expireTask(taskId))
        .to.be.revertedWithCustomError(w.vsm, "ResponseWindowOpen")
        .withArgs(taskId);
      await expect(w.vsm.expireTask(taskIdOf(ROLLUP_ID, 1n))).to.be.revertedWithCustomError(w.vsm, "UnknownTask");
      await mine(PARAMS.responseWindow);
      await expect(w.vsm.respondToTask(taskId, true, sigs))
        .to.be.revertedWithCustomError(w.vsm, "ResponseWindowClosed")
        .withArgs(taskId);
      await expect(w.vsm.expireTask(taskId)).to.emit(w.vsm, "TaskExpired").withArgs(taskId);
      expect((await w.vsm.getTask(taskId)).status).to.equal(4n);
      await expect(w.vsm.expireTask(taskId)).to.be.revertedWithCustomError(w.vsm, "TaskNotPending").withArgs(taskId, 4);
    });

    it("exposes the EIP-712 digest it verifies", async () => {
      const w = await loadFixture(world);
      const c = blockCommitment(1n);
      const { typedDataDigest } = await import("../../sequencer/chain/eip712");
      expect(await w.vsm.hashTypedData(structHash("BlockCommitment", c))).to.equal(
        typedDataDigest(w.domain, "BlockCommitment", c),
      );
      const [name, version, chainId, verifyingContract] = (await w.vsm.eip712Domain()).slice(1, 5) as [
        string,
        string,
        bigint,
        string,
      ];
      expect([name, version, chainId, verifyingContract]).to.deep.equal([
        "Veil",
        "1",
        w.domain.chainId,
        w.domain.verifyingContract,
      ]);
    });
  });
});
