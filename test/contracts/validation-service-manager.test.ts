import { expect } from "chai";
import { ethers } from "hardhat";
import { anyValue } from "@nomicfoundation/hardhat-chai-matchers/withArgs";
import { loadFixture, mine } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { Wallet, ZeroHash as ZERO_HASH, parseEther } from "ethers";
import { certifySeal } from "../../sequencer/chain/certificate";
import { signMessage, structHash, taskIdOf } from "../../sequencer/chain/eip712";
import { mineUntilMembers } from "../../sequencer/chain/deploy";
import { ClusterRegistry__factory, ValidationServiceManager__factory } from "../../typechain-types";
import {
  CLUSTER_BOND,
  OPERATOR_STAKE,
  PARAMS,
  ROLLUP_ID,
  blockCommitment,
  certificateOf,
  createTask,
  currentEpoch,
  h,
  inboxOf,
  leaderSigner,
  mineToEpochEnd,
  onChain,
  responses,
  sealOf,
  signersOf,
  rollupConfig,
  world,
  TIME_LOCK,
} from "./fixture";

describe("ValidationServiceManager", () => {
  describe("deployment", () => {
    it("refuses parameters that would let a faulty party escape or a quorum be ambiguous", async () => {
      const [deployer] = await ethers.getSigners();
      const registry = await new ClusterRegistry__factory(deployer).deploy(1n, 100n, 1n, TIME_LOCK);
      const factory = new ValidationServiceManager__factory(deployer);
      const inbox = await inboxOf(await registry.getAddress());
      const ok = [await registry.getAddress(), inbox, 6_666n, 10n, 50n, 60n, 1n, 1_000n] as const;
      const bad: (readonly [number, bigint])[] = [
        [2, 5_000n], // quorum must be a strict majority
        [2, 10_001n],
        [3, 0n], // no response window
        [4, 9n], // challenge window shorter than the response window
        [5, 50n], // operator exit not longer than the challenge window
        [4, 100n], // member exit (100) not longer than the challenge window
        [6, 0n],
        [7, 10_001n],
      ];
      for (const [i, value] of bad) {
        const args = [...ok] as [string, string, bigint, bigint, bigint, bigint, bigint, bigint];
        args[i] = value;
        await expect(factory.deploy(...args)).to.be.revertedWithCustomError(factory, "InvalidParameters");
      }
      // A member's bond must outlast the challenge window of a task landing up to one epoch after the member's
      // last epoch: memberWithdrawalDelay (100) >= challengeWindow (50) + epochLength.
      const [, , ...rest] = ok;
      const longEpochs = await new ClusterRegistry__factory(deployer).deploy(1n, 100n, 51n, TIME_LOCK);
      const longAddress = await longEpochs.getAddress();
      await expect(factory.deploy(longAddress, await inboxOf(longAddress), ...rest)).to.be.revertedWithCustomError(
        factory,
        "InvalidParameters",
      );
      const justEnough = await new ClusterRegistry__factory(deployer).deploy(1n, 100n, 50n, TIME_LOCK);
      const enoughAddress = await justEnough.getAddress();
      await factory.deploy(enoughAddress, await inboxOf(enoughAddress), ...rest);
      // The inbox must serve the same registry: the VSM judges omissions by its entries.
      await expect(factory.deploy(enoughAddress, inbox, ...rest)).to.be.revertedWithCustomError(
        factory,
        "InvalidParameters",
      );
      const vsm = await factory.deploy(...ok);
      expect(await vsm.quorumBps()).to.equal(6_666n);
      expect(await vsm.registry()).to.equal(ok[0]);
      expect(await vsm.inbox()).to.equal(inbox);
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
      const epoch = await currentEpoch(w);
      const c = blockCommitment(10n, { viewNumber: 1 });
      const leader = leaderSigner(w, 10n, 1);
      const sig = await signMessage(leader, w.domain, "BlockCommitment", c);
      const certificate = onChain(await certificateOf(w, sealOf(c, epoch)));
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
          c.inboxBlock,
          c.forcedCount,
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
      const epoch = await currentEpoch(w);
      // Member 1 leads height 50 at view 3 ((50 + 3) % 4 = 1) and signs everything itself.
      const c = blockCommitment(50n, { txCount: 0, encRoot: ZERO_HASH, rawRoot: ZERO_HASH, viewNumber: 3 });
      const squatter = leaderSigner(w, 50n, 3);
      const sig = await signMessage(squatter, w.domain, "BlockCommitment", c);
      const alone = onChain(await certificateOf(w, sealOf(c, epoch, 3), [squatter]));
      await expect(w.vsm.connect(squatter).createNewTask(c, alone, sig))
        .to.be.revertedWithCustomError(w.vsm, "CertificateBelowMajority")
        .withArgs(1, 4);
      // Two members (a minority of four) are not enough either, nor an outsider who joined the signatures.
      const two = onChain(await certificateOf(w, sealOf(c, epoch, 3), [squatter, w.members[2]!]));
      await expect(w.vsm.createNewTask(c, two, sig)).to.be.revertedWithCustomError(w.vsm, "CertificateBelowMajority");
      const withOutsider = onChain(await certificateOf(w, sealOf(c, epoch, 3), [squatter, w.members[2]!, w.outsider]));
      await expect(w.vsm.createNewTask(c, withOutsider, sig))
        .to.be.revertedWithCustomError(w.vsm, "CertificateSignerNotMember")
        .withArgs(w.outsider.address);
      expect((await w.vsm.getTask(taskIdOf(ROLLUP_ID, 50n))).status).to.equal(0n);
    });

    it("refuses a certificate with a duplicated or unsorted signer, or one over another seal", async () => {
      const w = await loadFixture(world);
      const epoch = await currentEpoch(w);
      const c = blockCommitment(11n);
      const leader = leaderSigner(w, 11n);
      const sig = await signMessage(leader, w.domain, "BlockCommitment", c);
      const good = onChain(await certificateOf(w, sealOf(c, epoch)));
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
      const otherView = onChain(await certificateOf(w, sealOf(c, epoch, 1)));
      await expect(w.vsm.createNewTask(c, { seal: good.seal, signatures: otherView.signatures }, sig)).to.be.reverted;
      // The inbox cut too: a leader cannot build under another cut than the one a majority sealed.
      const others = [{ encRoot: h("other") }, { txCount: 4 }, { height: 12n }, { rollupId: 1n }, { inboxBlock: 1n }];
      for (const other of others) {
        const mismatched = { ...c, ...other };
        await expect(w.vsm.createNewTask(mismatched, good, sig)).to.be.revertedWithCustomError(w.vsm, "SealMismatch");
      }
    });

    it("refuses a commitment whose view is not its certificate's, whichever of the two leaders signed it", async () => {
      const w = await loadFixture(world);
      const epoch = await currentEpoch(w);
      // Certified in view 0; the commitment claims view 1 (or the reverse), otherwise identical.
      const c = blockCommitment(13n, { viewNumber: 1 });
      const certified0 = onChain(await certificateOf(w, sealOf(c, epoch, 0)));
      for (const view of [0, 1]) {
        const sig = await signMessage(leaderSigner(w, 13n, view), w.domain, "BlockCommitment", c);
        await expect(w.vsm.createNewTask(c, certified0, sig)).to.be.revertedWithCustomError(w.vsm, "SealMismatch");
      }
      const c0 = { ...c, viewNumber: 0 };
      const certified1 = onChain(await certificateOf(w, sealOf(c0, epoch, 1)));
      const sig1 = await signMessage(leaderSigner(w, 13n, 1), w.domain, "BlockCommitment", c0);
      await expect(w.vsm.createNewTask(c0, certified1, sig1)).to.be.revertedWithCustomError(w.vsm, "SealMismatch");
      expect((await w.vsm.getTask(taskIdOf(ROLLUP_ID, 13n))).status).to.equal(0n);
      // With the view of its certificate it is accepted.
      const sig0 = await signMessage(leaderSigner(w, 13n, 0), w.domain, "BlockCommitment", c0);
      await expect(w.vsm.createNewTask(c0, certified0, sig0)).to.emit(w.vsm, "TaskCreated");
    });

    it("refuses commitments not signed by the leader of the certified view, oversize blocks and unknown rollups", async () => {
      const w = await loadFixture(world);
      const epoch = await currentEpoch(w);
      const c = blockCommitment(10n);
      const certificate = onChain(await certificateOf(w, sealOf(c, epoch)));
      const notLeader = leaderSigner(w, 10n, 1);
      const sig = await signMessage(notLeader, w.domain, "BlockCommitment", c);
      await expect(w.vsm.createNewTask(c, certificate, sig))
        .to.be.revertedWithCustomError(w.vsm, "InvalidSigner")
        .withArgs(notLeader.address, leaderSigner(w, 10n, 0).address);
      const big = blockCommitment(10n, { txCount: 65_537 });
      await expect(w.vsm.createNewTask(big, certificate, sig))
        .to.be.revertedWithCustomError(w.vsm, "TooManySlots")
        .withArgs(65_537);
      // Forced slots count against the same tree: 65,530 sealed and 7 forced do not fit either.
      const crowded = blockCommitment(10n, { txCount: 65_530, forcedCount: 7 });
      await expect(w.vsm.createNewTask(crowded, certificate, sig))
        .to.be.revertedWithCustomError(w.vsm, "TooManySlots")
        .withArgs(65_537);
      const unknown = { ...c, rollupId: 1n };
      const unknownCertificate = onChain(await certificateOf(w, sealOf(unknown, epoch)));
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
      const epoch = await currentEpoch(w);
      const bad = blockCommitment(12n, { rawRoot: h("bad raw") });
      const good = blockCommitment(12n);
      const taskId = await createTask(w, bad);
      // The same view, or an earlier one, cannot replace it.
      const leader0 = leaderSigner(w, 12n, 0);
      await expect(
        w.vsm.createNewTask(
          good,
          onChain(await certificateOf(w, sealOf(good, epoch))),
          await signMessage(leader0, w.domain, "BlockCommitment", good),
        ),
      ).to.be.revertedWithCustomError(w.vsm, "TaskExists");
      const leader2 = leaderSigner(w, 12n, 2);
      const good2 = { ...good, viewNumber: 2 };
      await expect(
        w.vsm.createNewTask(
          good2,
          onChain(await certificateOf(w, sealOf(good2, epoch))),
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
          onChain(await certificateOf(w, sealOf(bad3, epoch))),
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

    it("lets three equal operators lose one: two of three reach the default quorum (2/3 is at least 6,666 bps)", async () => {
      const w = await loadFixture(world);
      await w.vsm.connect(w.operators[3]).requestWithdrawal(OPERATOR_STAKE); // three equal stakes remain
      const c = blockCommitment(23n);
      const taskId = await createTask(w, c);
      const two = await responses(w, taskId, c, true, w.operators.slice(0, 2));
      await expect(w.vsm.respondToTask(taskId, true, two))
        .to.emit(w.vsm, "TaskResolved")
        .withArgs(taskId, 2, OPERATOR_STAKE * 2n, OPERATOR_STAKE * 3n);
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
      const registry = await new ClusterRegistry__factory(deployer).deploy(1n, 100n, 1n, TIME_LOCK);
      const vsm = await new ValidationServiceManager__factory(deployer).deploy(
        await registry.getAddress(),
        await inboxOf(await registry.getAddress()),
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
      await mineUntilMembers(registry, 1, 1, ethers.provider);
      await registry.approveRollup(1, ROLLUP_ID, deployer!.address);
      await registry.registerRollup(
        ROLLUP_ID,
        {
          ...rollupConfig(1n),
          maxTxsPerBlock: 10,
          blockGasLimit: 1n,
        },
        [deployer!.address],
        [m!.address],
      );
      const domain = { ...(await import("../../sequencer/chain/eip712")).veilDomain(31337n, await vsm.getAddress()) };
      const c = blockCommitment(0n);
      const epoch = Number(await registry.currentEpoch());
      const certificate = await certifySeal([m!], domain, sealOf(c, epoch));
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

  describe("membership epochs", () => {
    it("counts a task whose schedule a join and an exit landing just before it, in its block, would have changed (issue 11, attack 4)", async () => {
      const w = await loadFixture(world);
      const [m0, m1] = w.members as [HardhatEthersSigner, HardhatEthersSigner];
      const epoch = await currentEpoch(w);
      // m1 leads height 65 among the four members. Applied at once, the join alone would hand it to m0
      // (65 % 5), the exit alone to m3 (65 % 3), both to m2: the leader's transaction would revert.
      const c = blockCommitment(65n);
      expect(leaderSigner(w, 65n).address).to.equal(m1.address);
      const sig = await signMessage(m1, w.domain, "BlockCommitment", c);
      const certificate = onChain(await certificateOf(w, sealOf(c, epoch)));
      await ethers.provider.send("evm_setAutomine", [false]);
      let sent;
      try {
        sent = [
          await w.registry.connect(w.outsider).join(w.clusterId, { value: CLUSTER_BOND }),
          await w.registry.connect(m0).requestExit(w.clusterId),
          await w.vsm.connect(m1).createNewTask(c, certificate, sig),
        ];
        await mine(1);
      } finally {
        await ethers.provider.send("evm_setAutomine", [true]);
      }
      const receipts = await Promise.all(sent.map(async (t) => (await t.wait())!));
      expect(new Set(receipts.map((r) => r.blockNumber)).size).to.equal(1);
      expect(receipts.map((r) => r.index)).to.deep.equal([0, 1, 2]);
      expect(Math.floor(receipts[2]!.blockNumber / Number(PARAMS.epochLength))).to.equal(epoch);
      await expect(sent[2]).to.emit(w.vsm, "TaskCreated");
      const task = await w.vsm.getTask(taskIdOf(ROLLUP_ID, 65n));
      expect(task.status).to.equal(1n);
      expect(task.leader).to.equal(m1.address);
      expect(await w.registry.leaderOf(w.clusterId, 65n, 0)).to.equal(m1.address);
    });

    it("counts a task built in the last block of an epoch that lands in the next, where a join applies", async () => {
      const w = await loadFixture(world);
      // A join now applies two epochs on; the leader builds its task in the last block of the epoch before.
      const joined = await currentEpoch(w);
      await w.registry.connect(w.outsider).join(w.clusterId, { value: CLUSTER_BOND });
      await mine(PARAMS.epochLength);
      await mineToEpochEnd();
      const built = await currentEpoch(w);
      expect(built).to.equal(joined + 1);
      const c = blockCommitment(64n);
      const leader = leaderSigner(w, 64n); // m0: 64 % 4
      // In the next epoch (final already) the joiner leads height 64 (64 % 5).
      expect(await w.registry.leaderAt(w.clusterId, built + 1, 64n, 0)).to.equal(w.outsider.address);
      const tx = await w.vsm.createNewTask(
        c,
        onChain(await certificateOf(w, sealOf(c, built))),
        await signMessage(leader, w.domain, "BlockCommitment", c),
      );
      const receipt = (await tx.wait())!;
      expect(Math.floor(receipt.blockNumber / Number(PARAMS.epochLength))).to.equal(built + 1);
      expect(await w.registry.leaderOf(w.clusterId, 64n, 0)).to.equal(w.outsider.address);
      expect((await w.vsm.getTask(taskIdOf(ROLLUP_ID, 64n))).leader).to.equal(leader.address);
    });

    it("takes a task's seal of the current or the previous epoch only: EpochOutOfWindow otherwise", async () => {
      const w = await loadFixture(world);
      await mine(PARAMS.epochLength); // the fixture's four members are the current and the previous epoch's
      const current = await currentEpoch(w);
      /** A task of `height` certified by the first majority of `epoch`'s members, signed by its leader. */
      const attempt = async (height: bigint, epoch: number, members?: HardhatEthersSigner[]) => {
        const c = blockCommitment(height);
        const of = members ?? (await signersOf(await w.registry.membersAt(w.clusterId, epoch)));
        const certificate = await certifySeal(of.slice(0, Math.floor(of.length / 2) + 1), w.domain, sealOf(c, epoch));
        const leader = of[Number(height % BigInt(of.length))]!;
        return w.vsm.createNewTask(c, onChain(certificate), await signMessage(leader, w.domain, "BlockCommitment", c));
      };
      // Two epochs behind (still on record), long ago, and the next epoch (final already).
      for (const [epoch, members] of [
        [current - 2, undefined],
        [0, w.members],
        [current + 1, undefined],
      ] as const) {
        await expect(attempt(80n, epoch, members && [...members]))
          .to.be.revertedWithCustomError(w.vsm, "EpochOutOfWindow")
          .withArgs(epoch, current);
      }
      await expect(attempt(80n, current - 1)).to.emit(w.vsm, "TaskCreated");
      await expect(attempt(81n, current)).to.emit(w.vsm, "TaskCreated");
    });

    it("checks a certificate against its own epoch's members and takes the leader from them", async () => {
      const w = await loadFixture(world);
      const [m0, m1, m2] = w.members as [HardhatEthersSigner, HardhatEthersSigner, HardhatEthersSigner];
      const joiner = w.outsider;
      const four = w.members.map((m) => m.address);
      await w.registry.connect(joiner).join(w.clusterId, { value: CLUSTER_BOND });
      const { fromEpoch } = await w.registry.memberInfo(w.clusterId, joiner.address);
      await mine((fromEpoch - BigInt(await currentEpoch(w))) * PARAMS.epochLength);
      const current = await currentEpoch(w);
      expect(current).to.equal(Number(fromEpoch));
      expect(await w.registry.membersOf(w.clusterId)).to.deep.equal([...four, joiner.address]);
      const previous = current - 1;
      expect(await w.registry.membersAt(w.clusterId, previous)).to.deep.equal(four);
      const c = blockCommitment(70n);
      const seal = sealOf(c, previous);
      const sig = await signMessage(m2, w.domain, "BlockCommitment", c); // 70 % 4: m2 led it in `previous`
      // The joiner signs the previous epoch's seal, in which it was not a member yet.
      const withJoiner = onChain(await certifySeal([m0, m1, joiner], w.domain, seal));
      await expect(w.vsm.createNewTask(c, withJoiner, sig))
        .to.be.revertedWithCustomError(w.vsm, "CertificateSignerNotMember")
        .withArgs(joiner.address);
      await expect(w.vsm.verifySealCertificate(withJoiner))
        .to.be.revertedWithCustomError(w.vsm, "CertificateSignerNotMember")
        .withArgs(joiner.address);
      // That epoch's majority certifies it, and its leader of height 70 is m2, not the current epoch's (m0,
      // 70 % 5).
      expect(await w.registry.leaderOf(w.clusterId, 70n, 0)).to.equal(m0.address);
      const ofEpoch = onChain(await certifySeal([m0, m1, m2], w.domain, seal));
      await expect(w.vsm.createNewTask(c, ofEpoch, await signMessage(m0, w.domain, "BlockCommitment", c)))
        .to.be.revertedWithCustomError(w.vsm, "InvalidSigner")
        .withArgs(m0.address, m2.address);
      await expect(w.vsm.createNewTask(c, ofEpoch, sig))
        .to.emit(w.vsm, "TaskCreated")
        .withArgs(
          taskIdOf(ROLLUP_ID, 70n),
          ROLLUP_ID,
          70n,
          m2.address,
          0,
          anyValue,
          c.txCount,
          c.encRoot,
          c.inboxBlock,
          c.forcedCount,
          c.rawRoot,
        );
      // In the current epoch the joiner counts: three of the five are a majority.
      const now = onChain(await certifySeal([m1, m2, joiner], w.domain, sealOf(blockCommitment(71n), current)));
      expect(await w.vsm.verifySealCertificate(now)).to.have.length(3);
    });

    it("counts a member that left for the epochs it served, and not after", async () => {
      const w = await loadFixture(world);
      const [m0, m1, m2] = w.members as [HardhatEthersSigner, HardhatEthersSigner, HardhatEthersSigner];
      await w.registry.connect(m0).requestExit(w.clusterId);
      const { untilEpoch } = await w.registry.memberInfo(w.clusterId, m0.address);
      await mine((untilEpoch - BigInt(await currentEpoch(w))) * PARAMS.epochLength);
      const current = await currentEpoch(w);
      expect(current).to.equal(Number(untilEpoch));
      expect(await w.registry.membersOf(w.clusterId)).to.not.include(m0.address);
      // The previous epoch's seal: m0 still signs for it, and it leads height 72 there (72 % 4).
      const c = blockCommitment(72n);
      const certificate = onChain(await certifySeal([m0, m1, m2], w.domain, sealOf(c, current - 1)));
      await expect(w.vsm.createNewTask(c, certificate, await signMessage(m0, w.domain, "BlockCommitment", c)))
        .to.emit(w.vsm, "TaskCreated")
        .withArgs(
          taskIdOf(ROLLUP_ID, 72n),
          ROLLUP_ID,
          72n,
          m0.address,
          0,
          anyValue,
          c.txCount,
          c.encRoot,
          c.inboxBlock,
          c.forcedCount,
          c.rawRoot,
        );
      const now = onChain(await certifySeal([m0, m1, m2], w.domain, sealOf(blockCommitment(73n), current)));
      await expect(w.vsm.verifySealCertificate(now))
        .to.be.revertedWithCustomError(w.vsm, "CertificateSignerNotMember")
        .withArgs(m0.address);
    });
  });
});
