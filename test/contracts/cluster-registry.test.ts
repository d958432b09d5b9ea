import { expect } from "chai";
import fc from "fast-check";
import { ethers } from "hardhat";
import { loadFixture, mine } from "@nomicfoundation/hardhat-network-helpers";
import { ZeroAddress, keccak256, parseEther, toBeHex } from "ethers";
import { CLUSTER_BOND, PARAMS, ROLLUP_ID, TIME_LOCK, deployedCore, rollupConfig, world } from "./fixture";
import { ClusterRegistry__factory } from "../../typechain-types";
import { mineUntilMembers } from "../../sequencer/chain/deploy";
import { loadBigMath } from "../../sequencer/crypto/timelock/bigmath";
import { RSA_2048_MODULUS } from "../../sequencer/crypto/timelock/modulus";
import { generateTestOnlyModulus } from "../../sequencer/crypto/timelock/test-modulus";

describe("ClusterRegistry", () => {
  describe("deployment", () => {
    it("refuses epochs of zero blocks and reports its epoch parameters", async () => {
      const [deployer] = await ethers.getSigners();
      const factory = new ClusterRegistry__factory(deployer);
      await expect(factory.deploy(1n, 10n, 0n, TIME_LOCK)).to.be.revertedWithCustomError(factory, "InvalidEpochLength");
      const registry = await factory.deploy(1n, 10n, 7n, TIME_LOCK);
      expect(await registry.epochLength()).to.equal(7n);
      expect(await registry.EPOCH_LEAD()).to.equal(2n);
      expect(await registry.currentEpoch()).to.equal(BigInt(await ethers.provider.getBlockNumber()) / 7n);
    });

    it("takes RSA-2048 as the only modulus unless a test modulus is deployed with the insecure flag", async () => {
      const [deployer] = await ethers.getSigners();
      const factory = new ClusterRegistry__factory(deployer);
      const known = toBeHex(generateTestOnlyModulus(await loadBigMath(), 1024).N);
      // The cheapest attack: a deployer who knows the factors of its own modulus, without saying so.
      await expect(factory.deploy(1n, 10n, 1n, { ...TIME_LOCK, modulus: known })).to.be.revertedWithCustomError(
        factory,
        "InvalidTimeLockPolicy",
      );
      for (const bad of [{ minSquarings: 0n }, { modulus: "0x" }, { modulus: "0x00c5" }, { modulus: "0xc4" }]) {
        await expect(
          factory.deploy(1n, 10n, 1n, { ...TIME_LOCK, insecureTestModulus: true, ...bad }),
        ).to.be.revertedWithCustomError(factory, "InvalidTimeLockPolicy");
      }
      const honest = await factory.deploy(1n, 10n, 1n, TIME_LOCK);
      await expect(honest.deploymentTransaction())
        .to.emit(honest, "TimeLockPolicySet")
        .withArgs(keccak256(TIME_LOCK.modulus), TIME_LOCK.minSquarings, false);
      expect(await honest.timeLockModulusHash()).to.equal(await honest.RSA_2048_MODULUS_HASH());
      expect(await honest.insecureTestModulus()).to.equal(false);
      const test = await factory.deploy(1n, 10n, 1n, { ...TIME_LOCK, modulus: known, insecureTestModulus: true });
      expect(await test.insecureTestModulus()).to.equal(true);
      expect(await test.timeLockModulusHash()).to.equal(keccak256(known));
    });

    it("knows the RSA-2048 challenge number's hash", async () => {
      const [deployer] = await ethers.getSigners();
      const registry = await new ClusterRegistry__factory(deployer).deploy(1n, 10n, 1n, TIME_LOCK);
      expect(await registry.RSA_2048_MODULUS_HASH()).to.equal(keccak256(toBeHex(RSA_2048_MODULUS)));
    });
  });

  describe("slasher", () => {
    it("lets only the deployer set the slasher, once, to a non-zero address", async () => {
      const [deployer, other] = await ethers.getSigners();
      const registry = await new ClusterRegistry__factory(deployer).deploy(1n, 10n, 1n, TIME_LOCK);
      await expect(registry.connect(other).setSlasher(other!.address))
        .to.be.revertedWithCustomError(registry, "Unauthorized")
        .withArgs(other!.address);
      await expect(registry.setSlasher(ZeroAddress)).to.be.revertedWithCustomError(registry, "ZeroAddress");
      await expect(registry.setSlasher(other!.address)).to.emit(registry, "SlasherSet").withArgs(other!.address);
      expect(await registry.slasher()).to.equal(other!.address);
      await expect(registry.setSlasher(deployer!.address)).to.be.revertedWithCustomError(registry, "SlasherAlreadySet");
    });

    it("lets only the slasher slash, with a sane reward, and only members with a bond", async () => {
      const [deployer, slasher, member, challenger] = await ethers.getSigners();
      const registry = await new ClusterRegistry__factory(deployer).deploy(1n, 10n, 1n, TIME_LOCK);
      await registry.setSlasher(slasher!.address);
      await registry.createCluster(100n, 4);
      await registry.connect(member).join(1, { value: 1000n });
      await expect(registry.slash(1, member!.address, challenger!.address, 0, ethers.ZeroHash))
        .to.be.revertedWithCustomError(registry, "Unauthorized")
        .withArgs(deployer!.address);
      await expect(
        registry.connect(slasher).slash(1, member!.address, challenger!.address, 10_001, ethers.ZeroHash),
      ).to.be.revertedWithCustomError(registry, "InvalidRewardBps");
      await expect(registry.connect(slasher).slash(1, challenger!.address, challenger!.address, 0, ethers.ZeroHash))
        .to.be.revertedWithCustomError(registry, "NothingToSlash")
        .withArgs(1, challenger!.address);
      // No reward: everything is burned and no transfer happens.
      await expect(registry.connect(slasher).slash(1, member!.address, challenger!.address, 0, ethers.ZeroHash))
        .to.emit(registry, "MemberSlashed")
        .withArgs(1, member!.address, ethers.ZeroHash, 1000n, challenger!.address, 0n);
      expect(await registry.totalBurned()).to.equal(1000n);
      await mine(3);
      expect(await registry.membersOf(1)).to.deep.equal([]);
    });
  });

  describe("clusters and members", () => {
    it("creates clusters with increasing ids and checks the bond floor and size", async () => {
      const { registry } = await loadFixture(deployedCore);
      const [, owner] = await ethers.getSigners();
      await expect(registry.connect(owner).createCluster(PARAMS.minimumBond - 1n, 4))
        .to.be.revertedWithCustomError(registry, "BondBelowMinimum")
        .withArgs(PARAMS.minimumBond - 1n, PARAMS.minimumBond);
      await expect(registry.connect(owner).createCluster(PARAMS.minimumBond, 0)).to.be.revertedWithCustomError(
        registry,
        "InvalidMaxMembers",
      );
      // Bounded: removal reads the record, so a cluster of 2^32 members could make its first member unremovable.
      expect(await registry.MAX_MEMBERS()).to.equal(256n);
      await expect(registry.connect(owner).createCluster(PARAMS.minimumBond, 257)).to.be.revertedWithCustomError(
        registry,
        "InvalidMaxMembers",
      );
      await expect(registry.connect(owner).createCluster(PARAMS.minimumBond, 4))
        .to.emit(registry, "ClusterCreated")
        .withArgs(1, owner!.address, PARAMS.minimumBond, 4);
      await registry.connect(owner).createCluster(PARAMS.minimumBond, 4);
      expect(await registry.nextClusterId()).to.equal(3n);
      expect(await registry.clusterInfo(1)).to.deep.equal([owner!.address, PARAMS.minimumBond, 4n, 0n]);
      await expect(registry.clusterInfo(9)).to.be.revertedWithCustomError(registry, "UnknownCluster").withArgs(9);
    });

    it("lets nodes join with a bond, in order, and refuses unknown clusters, low bonds, duplicates and full clusters", async () => {
      const { registry } = await loadFixture(deployedCore);
      const [, owner, a, b, c] = await ethers.getSigners();
      await registry.connect(owner).createCluster(CLUSTER_BOND, 2);
      await expect(registry.connect(a).join(7, { value: CLUSTER_BOND }))
        .to.be.revertedWithCustomError(registry, "UnknownCluster")
        .withArgs(7);
      await expect(registry.connect(a).join(1, { value: CLUSTER_BOND - 1n }))
        .to.be.revertedWithCustomError(registry, "BondBelowMinimum")
        .withArgs(CLUSTER_BOND - 1n, CLUSTER_BOND);
      const joinEpoch = BigInt((await ethers.provider.getBlockNumber()) + 1) / PARAMS.epochLength;
      await expect(registry.connect(a).join(1, { value: CLUSTER_BOND }))
        .to.emit(registry, "MemberJoined")
        .withArgs(1, a!.address, CLUSTER_BOND, joinEpoch + 2n);
      await expect(registry.connect(a).join(1, { value: CLUSTER_BOND }))
        .to.be.revertedWithCustomError(registry, "AlreadyMember")
        .withArgs(1, a!.address);
      await registry.connect(b).join(1, { value: CLUSTER_BOND + 5n });
      await expect(registry.connect(c).join(1, { value: CLUSTER_BOND }))
        .to.be.revertedWithCustomError(registry, "ClusterFull")
        .withArgs(1);
      await mineUntilMembers(registry, 1, 2, ethers.provider);
      expect(await registry.membersOf(1)).to.deep.equal([a!.address, b!.address]);
      const info = await registry.memberInfo(1, b!.address);
      expect(info.bond).to.equal(CLUSTER_BOND + 5n);
      expect(info.status).to.equal(1n);
    });

    it("takes a leaving member out of the schedule from an epoch boundary and returns its bond only after the delay", async () => {
      const w = await loadFixture(world);
      const [m0, m1, m2, m3] = w.members as [
        typeof w.outsider,
        typeof w.outsider,
        typeof w.outsider,
        typeof w.outsider,
      ];
      const all = [m0.address, m1.address, m2.address, m3.address];
      await expect(w.registry.connect(w.outsider).requestExit(w.clusterId))
        .to.be.revertedWithCustomError(w.registry, "NotActiveMember")
        .withArgs(w.clusterId, w.outsider.address);
      const tx = w.registry.connect(m1).requestExit(w.clusterId);
      const untilEpoch = BigInt((await ethers.provider.getBlockNumber()) + 1) / PARAMS.epochLength + 2n;
      const unlock = untilEpoch * PARAMS.epochLength + PARAMS.memberWithdrawalDelay;
      await expect(tx).to.emit(w.registry, "MemberExitRequested").withArgs(w.clusterId, m1.address, untilEpoch, unlock);
      // The current epoch keeps its schedule; the member leaves it at the boundary.
      expect(await w.registry.membersOf(w.clusterId)).to.deep.equal(all);
      await mineUntilMembers(w.registry, w.clusterId, 3, ethers.provider);
      expect(await w.registry.membersOf(w.clusterId)).to.deep.equal([m0.address, m2.address, m3.address]);
      expect(await w.registry.membersAt(w.clusterId, Number(untilEpoch) - 1)).to.deep.equal(all);
      await expect(w.registry.connect(m1).requestExit(w.clusterId)).to.be.revertedWithCustomError(
        w.registry,
        "NotActiveMember",
      );
      await expect(w.registry.connect(m2).withdrawBond(w.clusterId))
        .to.be.revertedWithCustomError(w.registry, "NotExiting")
        .withArgs(w.clusterId, m2.address);
      await expect(w.registry.connect(m1).withdrawBond(w.clusterId))
        .to.be.revertedWithCustomError(w.registry, "BondLocked")
        .withArgs(unlock);
      await mine(PARAMS.memberWithdrawalDelay);
      const withdrawal = w.registry.connect(m1).withdrawBond(w.clusterId);
      await expect(withdrawal).to.emit(w.registry, "BondWithdrawn").withArgs(w.clusterId, m1.address, CLUSTER_BOND);
      await expect(withdrawal).to.changeEtherBalance(m1, CLUSTER_BOND);
      expect((await w.registry.memberInfo(w.clusterId, m1.address)).status).to.equal(0n);
      // The epochs it served are no longer on record once its bond could leave.
      await expect(w.registry.membersAt(w.clusterId, Number(untilEpoch) - 1))
        .to.be.revertedWithCustomError(w.registry, "EpochExpired")
        .withArgs(untilEpoch - 1n);
      // Having left, it may join again (at the end of the order).
      await w.registry.connect(m1).join(w.clusterId, { value: CLUSTER_BOND });
      await mineUntilMembers(w.registry, w.clusterId, 4, ethers.provider);
      expect(await w.registry.membersOf(w.clusterId)).to.deep.equal([m0.address, m2.address, m3.address, m1.address]);
      // The last member leaving leaves the list in order too.
      await w.registry.connect(m1).requestExit(w.clusterId);
      await mineUntilMembers(w.registry, w.clusterId, 3, ethers.provider);
      expect(await w.registry.membersOf(w.clusterId)).to.deep.equal([m0.address, m2.address, m3.address]);
    });
  });

  describe("membership epochs", () => {
    it("bounds the record at twice the cluster size: join-and-exit churn cannot grow every schedule scan", async () => {
      const { registry } = await loadFixture(deployedCore);
      const [, owner, a, b, c, d, e] = await ethers.getSigners();
      await registry.connect(owner).createCluster(CLUSTER_BOND, 2);
      for (const churner of [a!, b!, c!]) {
        await registry.connect(churner).join(1, { value: CLUSTER_BOND });
        await registry.connect(churner).requestExit(1);
      }
      await registry.connect(d).join(1, { value: CLUSTER_BOND }); // one staying member of two, four on record
      await expect(registry.connect(e).join(1, { value: CLUSTER_BOND }))
        .to.be.revertedWithCustomError(registry, "ClusterFull")
        .withArgs(1);
    });

    it("a join that lands just before a leader's transaction does not change the schedule it was built for", async () => {
      const w = await loadFixture(world);
      const before = await w.registry.membersOf(w.clusterId);
      const leaders = await Promise.all([0n, 1n, 2n, 3n].map((h) => w.registry.leaderOf(w.clusterId, h, 0)));
      const current = Number(await w.registry.currentEpoch());
      const joined = await (await w.registry.connect(w.outsider).join(w.clusterId, { value: CLUSTER_BOND })).wait();
      // The join landed in the epoch the leader read its schedule in: that schedule holds.
      expect(Math.floor(joined!.blockNumber / Number(PARAMS.epochLength))).to.equal(current);
      expect(await w.registry.currentEpoch()).to.equal(current);
      expect(await w.registry.membersOf(w.clusterId)).to.deep.equal(before);
      expect(await Promise.all([0n, 1n, 2n, 3n].map((h) => w.registry.leaderOf(w.clusterId, h, 0)))).to.deep.equal(
        leaders,
      );
      expect(await w.registry.leaderAt(w.clusterId, current, 1n, 0)).to.equal(leaders[1]);
      // The next epoch is final already (known a whole epoch ahead); the join shows from the one after.
      expect(await w.registry.membersAt(w.clusterId, current + 1)).to.deep.equal(before);
      await expect(w.registry.membersAt(w.clusterId, current + 2))
        .to.be.revertedWithCustomError(w.registry, "EpochNotFinal")
        .withArgs(current + 2);
      await mine(PARAMS.epochLength);
      expect(await w.registry.currentEpoch()).to.equal(current + 1);
      expect(await w.registry.membersOf(w.clusterId)).to.deep.equal(before);
      expect(await w.registry.membersAt(w.clusterId, current + 2)).to.deep.equal([...before, w.outsider.address]);
    });

    it("applies at most one change per epoch, in the order they were made (neighbouring majorities intersect)", async () => {
      const w = await loadFixture(world);
      const [m0, m1] = w.members as [typeof w.outsider, typeof w.outsider];
      const joiner = w.executor;
      // Three changes in one block: they take the next three free epochs.
      await ethers.provider.send("evm_setAutomine", [false]);
      const sent = [
        await w.registry.connect(m0).requestExit(w.clusterId),
        await w.registry.connect(joiner).join(w.clusterId, { value: CLUSTER_BOND }),
        await w.registry.connect(m1).requestExit(w.clusterId),
      ];
      await mine(1);
      await ethers.provider.send("evm_setAutomine", [true]);
      const at = (await sent[0]!.wait())!.blockNumber;
      const epoch = Math.floor(at / Number(PARAMS.epochLength));
      expect(new Set((await Promise.all(sent.map((t) => t.wait()))).map((r) => r!.blockNumber))).to.have.length(1);
      const rest = w.members.slice(2).map((m) => m.address);
      // Known up to the next epoch only: mine three epochs to read the fourth.
      await mine(3n * PARAMS.epochLength);
      const lists = await Promise.all([1, 2, 3, 4].map((k) => w.registry.membersAt(w.clusterId, epoch + k)));
      expect(lists).to.deep.equal([
        w.members.map((m) => m.address),
        [m1.address, ...rest],
        [m1.address, ...rest, joiner.address],
        [...rest, joiner.address],
      ]);
    });

    it("keeps a slashed member in the epochs already fixed, and lets anyone prune it once its bond would unlock", async () => {
      const [deployer, slasher, a, b, challenger] = await ethers.getSigners();
      const registry = await new ClusterRegistry__factory(deployer).deploy(1n, 10n, 1n, TIME_LOCK);
      await registry.setSlasher(slasher!.address);
      await registry.createCluster(100n, 4);
      await registry.connect(a).join(1, { value: 1000n });
      await registry.connect(b).join(1, { value: 1000n });
      await mineUntilMembers(registry, 1, 2, ethers.provider);
      await registry.connect(slasher).slash(1, a!.address, challenger!.address, 0, ethers.ZeroHash);
      expect(await registry.membersOf(1)).to.deep.equal([a!.address, b!.address]);
      await expect(registry.prune(1, a!.address)).to.be.revertedWithCustomError(registry, "NotPrunable");
      await expect(registry.prune(1, b!.address)).to.be.revertedWithCustomError(registry, "NotPrunable");
      // Its record stays until pruned: it cannot join again before.
      await expect(registry.connect(a).join(1, { value: 1000n }))
        .to.be.revertedWithCustomError(registry, "AlreadyMember")
        .withArgs(1, a!.address);
      await mineUntilMembers(registry, 1, 1, ethers.provider);
      expect(await registry.membersOf(1)).to.deep.equal([b!.address]);
      await mine(10);
      await expect(registry.prune(1, a!.address)).to.emit(registry, "MemberPruned").withArgs(1, a!.address);
      expect((await registry.memberInfo(1, a!.address)).status).to.equal(0n);
      expect(await registry.membersOf(1)).to.deep.equal([b!.address]);
    });
  });

  describe("leader schedule", () => {
    it("rotates through members in join order, view v being the v-th fallback (property)", async () => {
      const w = await loadFixture(world);
      const addresses = w.members.map((m) => m.address);
      await fc.assert(
        fc.asyncProperty(
          fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
          fc.nat({ max: 2 ** 32 - 1 }),
          async (height, view) => {
            const expected = addresses[Number((height + BigInt(view)) % 4n)];
            expect(await w.registry.leaderOf(w.clusterId, height, view)).to.equal(expected);
            const [leader, clusterId] = await w.registry.leaderOfRollup(ROLLUP_ID, height, view);
            expect(leader).to.equal(expected);
            expect(clusterId).to.equal(w.clusterId);
          },
        ),
        { numRuns: 30 },
      );
    });

    it("has no leader in a cluster without members or for an unknown rollup", async () => {
      const w = await loadFixture(world);
      await w.registry.connect(w.clusterOwner).createCluster(CLUSTER_BOND, 3);
      await expect(w.registry.leaderOf(2, 0, 0))
        .to.be.revertedWithCustomError(w.registry, "NoMembers")
        .withArgs(2);
      await expect(w.registry.leaderOfRollup(1, 0, 0))
        .to.be.revertedWithCustomError(w.registry, "UnknownRollup")
        .withArgs(1);
    });
  });

  describe("rollups", () => {
    it("registers a rollup with its cluster, executors, committee and parameters", async () => {
      const w = await loadFixture(world);
      const [owner, config] = await w.registry.rollupInfo(ROLLUP_ID);
      expect(owner).to.equal(w.rollupOwner.address);
      expect(config.clusterId).to.equal(w.clusterId);
      expect(config.maxTxsPerBlock).to.equal(4096n);
      expect(config.timeLockModulus).to.equal(rollupConfig(w.clusterId).timeLockModulus);
      expect(await w.registry.executorsOf(ROLLUP_ID)).to.deep.equal([w.executor.address]);
      expect(await w.registry.isExecutor(ROLLUP_ID, w.executor.address)).to.equal(true);
      expect(await w.registry.isExecutor(ROLLUP_ID, w.outsider.address)).to.equal(false);
      expect(await w.registry.keyGeneratorsOf(ROLLUP_ID)).to.deep.equal(w.keyGenerators);
      expect(await w.registry.clusterOfRollup(ROLLUP_ID)).to.equal(w.clusterId);
      await expect(w.registry.rollupInfo(5)).to.be.revertedWithCustomError(w.registry, "UnknownRollup");
      await expect(w.registry.clusterOfRollup(5)).to.be.revertedWithCustomError(w.registry, "UnknownRollup");
    });

    it("registers a rollup only with its cluster owner's consent, for that id and that owner, once", async () => {
      const w = await loadFixture(world);
      const register = (as: typeof w.outsider, id: number) =>
        w.registry.connect(as).registerRollup(id, rollupConfig(w.clusterId), [w.executor.address], w.keyGenerators);
      // First come, first served is over: an outsider cannot take a chain id on someone else's cluster.
      await expect(register(w.outsider, 7))
        .to.be.revertedWithCustomError(w.registry, "RollupNotApproved")
        .withArgs(w.clusterId, 7, w.outsider.address);
      await expect(w.registry.connect(w.outsider).approveRollup(w.clusterId, 7, w.outsider.address))
        .to.be.revertedWithCustomError(w.registry, "Unauthorized")
        .withArgs(w.outsider.address);
      await expect(w.registry.connect(w.clusterOwner).approveRollup(w.clusterId, 7, w.rollupOwner.address))
        .to.emit(w.registry, "RollupApproved")
        .withArgs(w.clusterId, 7, w.rollupOwner.address);
      await expect(register(w.outsider, 7)).to.be.revertedWithCustomError(w.registry, "RollupNotApproved");
      await expect(register(w.rollupOwner, 8)).to.be.revertedWithCustomError(w.registry, "RollupNotApproved");
      await register(w.rollupOwner, 7);
      // The consent is spent, and it can be withdrawn before use.
      await w.registry.connect(w.clusterOwner).approveRollup(w.clusterId, 8, w.rollupOwner.address);
      await w.registry.connect(w.clusterOwner).approveRollup(w.clusterId, 8, ZeroAddress);
      await expect(register(w.rollupOwner, 8)).to.be.revertedWithCustomError(w.registry, "RollupNotApproved");
    });

    it("emits the registration events", async () => {
      const w = await loadFixture(world);
      await w.registry.connect(w.clusterOwner).approveRollup(w.clusterId, 7, w.deployer.address);
      const tx = w.registry.registerRollup(7, rollupConfig(w.clusterId), [w.executor.address], w.keyGenerators);
      await expect(tx).to.emit(w.registry, "RollupRegistered").withArgs(7, w.clusterId, w.deployer.address);
      await expect(tx).to.emit(w.registry, "ExecutorSet").withArgs(7, w.executor.address, true);
      await expect(tx).to.emit(w.registry, "KeyGeneratorsSet").withArgs(7, w.keyGenerators);
    });

    it("never requires more round-key contributors than the committee has members", async () => {
      const w = await loadFixture(world);
      const kg = w.keyGenerators; // three generators
      const strict = { ...rollupConfig(w.clusterId), minContributors: 4 };
      await expect(w.registry.registerRollup(9, strict, [w.executor.address], kg))
        .to.be.revertedWithCustomError(w.registry, "MinContributorsAboveCommittee")
        .withArgs(4, 3);
      const owner = w.registry.connect(w.rollupOwner);
      await expect(owner.updateRollupConfig(ROLLUP_ID, strict)).to.be.revertedWithCustomError(
        w.registry,
        "MinContributorsAboveCommittee",
      );
      await owner.updateRollupConfig(ROLLUP_ID, { ...strict, minContributors: 3 });
      expect((await w.registry.rollupInfo(ROLLUP_ID))[1].minContributors).to.equal(3n);
      await expect(owner.setKeyGenerators(ROLLUP_ID, kg.slice(0, 2)))
        .to.be.revertedWithCustomError(w.registry, "MinContributorsAboveCommittee")
        .withArgs(3, 2);
    });

    it("refuses bad registrations", async () => {
      const w = await loadFixture(world);
      const ok = rollupConfig(w.clusterId);
      const ex = [w.executor.address];
      const kg = w.keyGenerators;
      const r = w.registry;
      await expect(r.registerRollup(0, ok, ex, kg)).to.be.revertedWithCustomError(r, "InvalidRollupId");
      await expect(r.registerRollup(ROLLUP_ID, ok, ex, kg))
        .to.be.revertedWithCustomError(r, "RollupExists")
        .withArgs(ROLLUP_ID);
      await expect(r.registerRollup(9, { ...ok, clusterId: 5n }, ex, kg))
        .to.be.revertedWithCustomError(r, "UnknownCluster")
        .withArgs(5);
      for (const bad of [
        { maxTxsPerBlock: 0 },
        { maxTxsPerBlock: 65_537 },
        { blockGasLimit: 0n },
        { timeLockH: "0x" },
        { timeLockHProof: "0x" },
        { timeLockH: `0x01${"00".repeat(256)}` },
        { timeLockHProof: `0x01${"00".repeat(256)}` },
      ]) {
        await expect(r.registerRollup(9, { ...ok, ...bad }, ex, kg)).to.be.revertedWithCustomError(
          r,
          "InvalidRollupConfig",
        );
      }
      // A modulus other than the deployment's (one whose factors the registrant knows) is refused, as is a
      // T below the deployment's least delay.
      for (const modulus of ["0x", "0x00ff", `0xc5${"3b".repeat(255)}`, `${ok.timeLockModulus}01`]) {
        await expect(r.registerRollup(9, { ...ok, timeLockModulus: modulus }, ex, kg)).to.be.revertedWithCustomError(
          r,
          "TimeLockModulusNotAllowed",
        );
      }
      for (const squarings of [0n, PARAMS.timeLock.minSquarings - 1n]) {
        await expect(r.registerRollup(9, { ...ok, timeLockSquarings: squarings }, ex, kg))
          .to.be.revertedWithCustomError(r, "TimeLockTooShort")
          .withArgs(squarings, PARAMS.timeLock.minSquarings);
      }
      await expect(r.registerRollup(9, ok, [], kg)).to.be.revertedWithCustomError(r, "NoExecutors");
      await expect(r.registerRollup(9, ok, [ZeroAddress], kg)).to.be.revertedWithCustomError(r, "ZeroAddress");
      await expect(r.registerRollup(9, ok, [w.executor.address, w.executor.address], kg))
        .to.be.revertedWithCustomError(r, "ExecutorUnchanged")
        .withArgs(w.executor.address);
      await expect(r.registerRollup(9, ok, ex, [])).to.be.revertedWithCustomError(r, "KeyGeneratorsNotSorted");
      await expect(r.registerRollup(9, ok, ex, [...kg].reverse())).to.be.revertedWithCustomError(
        r,
        "KeyGeneratorsNotSorted",
      );
      await expect(r.registerRollup(9, ok, ex, [ZeroAddress])).to.be.revertedWithCustomError(
        r,
        "KeyGeneratorsNotSorted",
      );
    });

    it("lets only the owner update parameters (never the cluster), executors, committee and ownership", async () => {
      const w = await loadFixture(world);
      const r = w.registry.connect(w.rollupOwner);
      const other = w.registry.connect(w.outsider);
      const cfg = { ...rollupConfig(w.clusterId), maxTxsPerBlock: 100 };
      await expect(other.updateRollupConfig(ROLLUP_ID, cfg))
        .to.be.revertedWithCustomError(w.registry, "Unauthorized")
        .withArgs(w.outsider.address);
      await expect(r.updateRollupConfig(99, cfg))
        .to.be.revertedWithCustomError(w.registry, "UnknownRollup")
        .withArgs(99);
      await expect(r.updateRollupConfig(ROLLUP_ID, { ...cfg, clusterId: 2n })).to.be.revertedWithCustomError(
        w.registry,
        "InvalidRollupConfig",
      );
      await expect(r.updateRollupConfig(ROLLUP_ID, { ...cfg, blockGasLimit: 0n })).to.be.revertedWithCustomError(
        w.registry,
        "InvalidRollupConfig",
      );
      await expect(r.updateRollupConfig(ROLLUP_ID, cfg)).to.emit(w.registry, "RollupConfigUpdated").withArgs(ROLLUP_ID);
      expect((await w.registry.rollupInfo(ROLLUP_ID))[1].maxTxsPerBlock).to.equal(100n);

      await expect(other.setExecutor(ROLLUP_ID, w.outsider.address, true)).to.be.revertedWithCustomError(
        w.registry,
        "Unauthorized",
      );
      await expect(r.setExecutor(ROLLUP_ID, ZeroAddress, true)).to.be.revertedWithCustomError(
        w.registry,
        "ZeroAddress",
      );
      await expect(r.setExecutor(ROLLUP_ID, w.executor.address, true))
        .to.be.revertedWithCustomError(w.registry, "ExecutorUnchanged")
        .withArgs(w.executor.address);
      await expect(r.setExecutor(ROLLUP_ID, w.executor.address, false)).to.be.revertedWithCustomError(
        w.registry,
        "NoExecutors",
      );
      await expect(r.setExecutor(ROLLUP_ID, w.outsider.address, false)).to.be.revertedWithCustomError(
        w.registry,
        "ExecutorUnchanged",
      );
      await expect(r.setExecutor(ROLLUP_ID, w.outsider.address, true))
        .to.emit(w.registry, "ExecutorSet")
        .withArgs(ROLLUP_ID, w.outsider.address, true);
      await expect(r.setExecutor(ROLLUP_ID, w.executor.address, false))
        .to.emit(w.registry, "ExecutorSet")
        .withArgs(ROLLUP_ID, w.executor.address, false);
      expect(await w.registry.executorsOf(ROLLUP_ID)).to.deep.equal([w.outsider.address]);

      const committee = [w.outsider.address];
      await expect(other.setKeyGenerators(ROLLUP_ID, committee)).to.be.revertedWithCustomError(
        w.registry,
        "Unauthorized",
      );
      await expect(r.setKeyGenerators(ROLLUP_ID, [])).to.be.revertedWithCustomError(
        w.registry,
        "KeyGeneratorsNotSorted",
      );
      await expect(r.setKeyGenerators(ROLLUP_ID, committee))
        .to.emit(w.registry, "KeyGeneratorsSet")
        .withArgs(ROLLUP_ID, committee);
      expect(await w.registry.keyGeneratorsOf(ROLLUP_ID)).to.deep.equal(committee);

      await expect(other.transferRollupOwnership(ROLLUP_ID, w.outsider.address)).to.be.revertedWithCustomError(
        w.registry,
        "Unauthorized",
      );
      await expect(r.transferRollupOwnership(ROLLUP_ID, ZeroAddress)).to.be.revertedWithCustomError(
        w.registry,
        "ZeroAddress",
      );
      await expect(r.transferRollupOwnership(ROLLUP_ID, w.outsider.address))
        .to.emit(w.registry, "RollupOwnershipTransferred")
        .withArgs(ROLLUP_ID, w.rollupOwner.address, w.outsider.address);
      expect((await w.registry.rollupInfo(ROLLUP_ID))[0]).to.equal(w.outsider.address);
      await expect(r.setKeyGenerators(ROLLUP_ID, committee)).to.be.revertedWithCustomError(w.registry, "Unauthorized");
      expect(parseEther("1")).to.equal(PARAMS.minimumBond);
    });
  });
});
