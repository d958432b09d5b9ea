import { expect } from "chai";
import { anyValue } from "@nomicfoundation/hardhat-chai-matchers/withArgs";
import { ethers } from "hardhat";
import { loadFixture, mine } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { AbiCoder, keccak256, toUtf8Bytes } from "ethers";
import {
  signMessage,
  structHash,
  type BlockCommitment,
  type OrderCommitment,
  type Seal,
} from "../../sequencer/chain/eip712";
import { ZeroHash as ZERO_HASH } from "ethers";
import { certifySeal } from "../../sequencer/chain/certificate";
import { brokenCommitmentEvidence } from "../../sequencer/chain/evidence";
import {
  IncrementalMerkleTree,
  ZERO_HASHES,
  MERKLE_DEPTH,
  hashLeaf,
  type AppendReceipt,
} from "../../sequencer/chain/merkle";
import {
  CLUSTER_BOND,
  OPERATOR_STAKE,
  PARAMS,
  ROLLUP_ID,
  blockCommitment,
  claiming,
  createTask,
  currentEpoch,
  h,
  leaderSigner,
  onChain,
  responses,
  world,
  type World,
} from "./fixture";

const HEIGHT = 30n;
const REWARD = (CLUSTER_BOND * PARAMS.challengerRewardBps) / 10_000n;
const EMPTY_PATH = ZERO_HASHES.slice(0, MERKLE_DEPTH);

/** A block of `n` encrypted txs as the leader built it: the tree, each tx's receipt and signed order commitment. */
async function orderedBlock(w: World, leader: HardhatEthersSigner, n: number) {
  const epoch = await currentEpoch(w);
  const tree = new IncrementalMerkleTree();
  const orders: { order: OrderCommitment; receipt: AppendReceipt; signature: string }[] = [];
  for (let i = 0; i < n; i++) {
    const encTxHash = keccak256(toUtf8Bytes(`encrypted tx ${i}`));
    const receipt = tree.append(encTxHash);
    const order: OrderCommitment = {
      rollupId: ROLLUP_ID,
      blockHeight: HEIGHT,
      txIndex: i,
      encTxHash,
      preRoot: receipt.preRoot,
      viewNumber: 0,
      epoch,
    };
    orders.push({ order, receipt, signature: await signMessage(leader, w.domain, "OrderCommitment", order) });
  }
  return { tree, orders };
}

function commitmentOf(tree: IncrementalMerkleTree): BlockCommitment {
  return blockCommitment(HEIGHT, { txCount: tree.size, encRoot: tree.root });
}

describe("Slashing", () => {
  describe("broken order commitment", () => {
    it("end to end: a leader promises index 2, commits a block with another tx there, and loses its bond", async () => {
      const w = await loadFixture(world);
      const leader = leaderSigner(w, HEIGHT);
      const { orders } = await orderedBlock(w, leader, 4);
      const victim = orders[2]!;
      // The leader drops tx 2 and puts a different one in its place.
      const sealed = new IncrementalMerkleTree();
      for (const [i, o] of orders.entries()) sealed.append(i === 2 ? h("front-runner") : o.order.encTxHash);
      const commitment = commitmentOf(sealed);
      await createTask(w, commitment);
      // Operators approve (they cannot know the user's commitment); the user still proves the fault.
      const taskId = await w.vsm.taskIdOf(ROLLUP_ID, HEIGHT);
      await w.vsm.respondToTask(taskId, true, await responses(w, taskId, commitment, true, w.operators.slice(0, 3)));
      const evidence = brokenCommitmentEvidence(victim.order, victim.receipt.preProof, commitment, {
        leafHash: sealed.leafHash(2),
        siblings: sealed.proof(2),
      });
      expect(evidence?.kind).to.equal("other-leaf");
      const tx = claiming(w, w.outsider).slashBrokenOrderCommitment(
        victim.order,
        victim.signature,
        commitment,
        evidence!.postLeafHash,
        evidence!.postSiblings,
        evidence!.preSiblings,
      );
      await expect(tx).to.emit(w.vsm, "FaultSlashed");
      await expect(tx).to.emit(w.registry, "MemberSlashed");
      await expect(tx).to.changeEtherBalances([w.outsider, w.registry], [REWARD, -REWARD]);
      expect((await w.registry.memberInfo(w.clusterId, leader.address)).bond).to.equal(0n);
      expect(await w.registry.totalBurned()).to.equal(CLUSTER_BOND - REWARD);
      // Once only, even with other evidence for the same promise.
      await expect(
        claiming(w).slashBrokenOrderCommitment(
          victim.order,
          victim.signature,
          commitment,
          evidence!.postLeafHash,
          evidence!.postSiblings,
          evidence!.preSiblings,
        ),
      ).to.be.revertedWithCustomError(w.vsm, "FaultAlreadySlashed");
      // The leader's other broken promises find no bond left.
      const dropped = { ...orders[3]!.order, txIndex: 9 };
      const droppedSig = await signMessage(leader, w.domain, "OrderCommitment", dropped);
      await expect(
        claiming(w).slashBrokenOrderCommitment(dropped, droppedSig, commitment, EMPTY_PATH[0]!, EMPTY_PATH, EMPTY_PATH),
      ).to.be.revertedWithCustomError(w.registry, "NothingToSlash");
      // It stays in the epochs already fixed and leaves the schedule at the next free epoch boundary.
      expect(await w.registry.membersOf(w.clusterId)).to.include(leader.address);
      await mine(3n * PARAMS.epochLength);
      expect(await w.registry.membersOf(w.clusterId)).to.not.include(leader.address);
    });

    it("slashes when the promised index is beyond the committed block", async () => {
      const w = await loadFixture(world);
      const leader = leaderSigner(w, HEIGHT);
      const { tree, orders } = await orderedBlock(w, leader, 3);
      const truncated = blockCommitment(HEIGHT, { txCount: 2, encRoot: tree.root });
      await createTask(w, truncated);
      const o = orders[2]!;
      const evidence = brokenCommitmentEvidence(o.order, o.receipt.preProof, truncated)!;
      expect(evidence.kind).to.equal("index-beyond-block");
      await expect(
        claiming(w).slashBrokenOrderCommitment(
          o.order,
          o.signature,
          truncated,
          evidence.postLeafHash,
          evidence.postSiblings,
          evidence.preSiblings,
        ),
      )
        .to.emit(w.registry, "MemberSlashed")
        .withArgs(w.clusterId, leader.address, anyValue, CLUSTER_BOND, w.deployer.address, REWARD);
      expect((await w.registry.memberInfo(w.clusterId, leader.address)).bond).to.equal(0n);
    });

    it("slashes when the tx is at its index but the prefix before it was rewritten (PRE frontier disagrees)", async () => {
      const w = await loadFixture(world);
      const leader = leaderSigner(w, HEIGHT);
      const { orders } = await orderedBlock(w, leader, 4);
      const o = orders[3]!; // index 3: left siblings at levels 0 and 1
      const sealed = new IncrementalMerkleTree();
      sealed.append(orders[1]!.order.encTxHash); // txs 0 and 1 swapped
      sealed.append(orders[0]!.order.encTxHash);
      sealed.append(orders[2]!.order.encTxHash);
      sealed.append(o.order.encTxHash);
      const commitment = commitmentOf(sealed);
      await createTask(w, commitment);
      const evidence = brokenCommitmentEvidence(o.order, o.receipt.preProof, commitment, {
        leafHash: sealed.leafHash(3),
        siblings: sealed.proof(3),
      })!;
      expect(evidence.kind).to.equal("prefix-rewritten");
      await expect(
        claiming(w).slashBrokenOrderCommitment(
          o.order,
          o.signature,
          commitment,
          evidence.postLeafHash,
          evidence.postSiblings,
          evidence.preSiblings,
        ),
      ).to.emit(w.vsm, "FaultSlashed");
    });

    it("does not slash a leader that kept its promise, nor accept proofs that do not open the roots", async () => {
      const w = await loadFixture(world);
      const leader = leaderSigner(w, HEIGHT);
      const { tree, orders } = await orderedBlock(w, leader, 5);
      const commitment = commitmentOf(tree);
      await createTask(w, commitment);
      const o = orders[4]!;
      const post = tree.proof(4);
      expect(
        brokenCommitmentEvidence(o.order, o.receipt.preProof, commitment, {
          leafHash: o.receipt.leafHash,
          siblings: post,
        }),
      ).to.equal(undefined);
      const slash = (leafHash: string, postSiblings: string[], pre: readonly string[]) =>
        claiming(w).slashBrokenOrderCommitment(o.order, o.signature, commitment, leafHash, postSiblings, [...pre]);
      await expect(slash(o.receipt.leafHash, post, o.receipt.preProof)).to.be.revertedWithCustomError(w.vsm, "NoFault");
      await expect(slash(h("x"), post, o.receipt.preProof)).to.be.revertedWithCustomError(w.vsm, "InvalidProof");
      await expect(slash(o.receipt.leafHash, post, EMPTY_PATH)).to.be.revertedWithCustomError(w.vsm, "InvalidProof");
      // Wrong block commitment, wrong signer, unknown task, closed window.
      await expect(
        claiming(w).slashBrokenOrderCommitment(
          o.order,
          o.signature,
          { ...commitment, rawRoot: h("other") },
          o.receipt.leafHash,
          post,
          [...o.receipt.preProof],
        ),
      ).to.be.revertedWithCustomError(w.vsm, "CommitmentMismatch");
      const forged = await signMessage(w.outsider, w.domain, "OrderCommitment", o.order);
      await expect(
        claiming(w).slashBrokenOrderCommitment(o.order, forged, commitment, o.receipt.leafHash, post, [
          ...o.receipt.preProof,
        ]),
      )
        .to.be.revertedWithCustomError(w.vsm, "InvalidSigner")
        .withArgs(w.outsider.address, leader.address);
      const elsewhere = { ...o.order, blockHeight: HEIGHT + 1n };
      await expect(
        claiming(w).slashBrokenOrderCommitment(elsewhere, o.signature, commitment, o.receipt.leafHash, post, [
          ...o.receipt.preProof,
        ]),
      ).to.be.revertedWithCustomError(w.vsm, "UnknownTask");
      await mine(PARAMS.challengeWindow);
      await expect(slash(o.receipt.leafHash, post, o.receipt.preProof)).to.be.revertedWithCustomError(
        w.vsm,
        "ChallengeWindowClosed",
      );
    });

    it("does not slash an honest leader for an entry of an earlier view that a view change dropped", async () => {
      const w = await loadFixture(world);
      // Member (HEIGHT + 0) % 4 leads view 0 and view 4. In view 0 it signed index 2 (never stored by a
      // majority, so never answered); view 1 dropped it; in view 4 it leads again and builds a block with
      // another transaction at index 2. A follower that kept the view-0 entry holds a valid signature.
      const leader = leaderSigner(w, HEIGHT, 0);
      expect(leaderSigner(w, HEIGHT, 4).address).to.equal(leader.address);
      const { orders } = await orderedBlock(w, leader, 3);
      const stale = orders[2]!;
      const later = new IncrementalMerkleTree();
      for (const [i, o] of orders.entries()) later.append(i === 2 ? h("another tx, view 1") : o.order.encTxHash);
      const commitment = { ...commitmentOf(later), viewNumber: 4 };
      await createTask(w, commitment);
      await expect(
        claiming(w).slashBrokenOrderCommitment(
          stale.order,
          stale.signature,
          commitment,
          later.leafHash(2),
          later.proof(2),
          [...stale.receipt.preProof],
        ),
      )
        .to.be.revertedWithCustomError(w.vsm, "OtherView")
        .withArgs(0, 4);
      // The same promise made in the task's own view is enforced.
      const promised = { ...stale.order, viewNumber: 4 };
      const signature = await signMessage(leader, w.domain, "OrderCommitment", promised);
      await expect(
        claiming(w).slashBrokenOrderCommitment(promised, signature, commitment, later.leafHash(2), later.proof(2), [
          ...stale.receipt.preProof,
        ]),
      ).to.emit(w.registry, "MemberSlashed");
    });

    it("throws off-chain on evidence that does not open its roots", () => {
      const tree = new IncrementalMerkleTree();
      const r = tree.append(h("a"));
      tree.append(h("b"));
      const order: OrderCommitment = {
        rollupId: 1n,
        blockHeight: 1n,
        txIndex: 0,
        encTxHash: h("a"),
        preRoot: r.preRoot,
        viewNumber: 0,
        epoch: 0,
      };
      const block = blockCommitment(1n, { txCount: 2, encRoot: tree.root });
      expect(() => brokenCommitmentEvidence(order, r.preProof, block)).to.throw(/POST proof is needed/);
      expect(() =>
        brokenCommitmentEvidence(order, r.preProof, block, { leafHash: h("z"), siblings: tree.proof(0) }),
      ).to.throw(/POST proof/);
      expect(() =>
        brokenCommitmentEvidence({ ...order, preRoot: h("bad") }, r.preProof, block, {
          leafHash: hashLeaf(h("a")),
          siblings: tree.proof(0),
        }),
      ).to.throw(/PRE proof/);
    });
  });

  describe("equivocation", () => {
    it("slashes a member that signed two order commitments for one index, once", async () => {
      const w = await loadFixture(world);
      const leader = leaderSigner(w, HEIGHT);
      const a: OrderCommitment = {
        rollupId: ROLLUP_ID,
        blockHeight: HEIGHT,
        txIndex: 0,
        encTxHash: h("a"),
        preRoot: h("ra"),
        viewNumber: 0,
        epoch: await currentEpoch(w),
      };
      const b: OrderCommitment = { ...a, encTxHash: h("b") };
      const sa = await signMessage(leader, w.domain, "OrderCommitment", a);
      const sb = await signMessage(leader, w.domain, "OrderCommitment", b);
      await expect(claiming(w).slashOrderEquivocation(a, sa, a, sa)).to.be.revertedWithCustomError(
        w.vsm,
        "NotConflicting",
      );
      for (const other of [{ txIndex: 1 }, { blockHeight: HEIGHT + 1n }, { rollupId: 1n }]) {
        const c = { ...b, ...other };
        await expect(claiming(w).slashOrderEquivocation(a, sa, c, sb)).to.be.revertedWithCustomError(
          w.vsm,
          "NotConflicting",
        );
      }
      const byOther = await signMessage(w.members[3]!, w.domain, "OrderCommitment", b);
      await expect(claiming(w).slashOrderEquivocation(a, sa, b, byOther))
        .to.be.revertedWithCustomError(w.vsm, "SignersDiffer")
        .withArgs(leader.address, w.members[3]!.address);
      const tx = claiming(w, w.outsider).slashOrderEquivocation(
        a,
        sa,
        { ...a, preRoot: h("rb") },
        await signMessage(leader, w.domain, "OrderCommitment", { ...a, preRoot: h("rb") }),
      );
      await expect(tx).to.changeEtherBalance(w.outsider, REWARD);
      await expect(claiming(w).slashOrderEquivocation(a, sa, b, sb)).to.be.revertedWithCustomError(
        w.vsm,
        "FaultAlreadySlashed",
      );
      // An outsider without a bond cannot be slashed (only the faulty bonded party is).
      const oa = await signMessage(w.outsider, w.domain, "OrderCommitment", a);
      const ob = await signMessage(w.outsider, w.domain, "OrderCommitment", b);
      await expect(claiming(w).slashOrderEquivocation(a, oa, b, ob)).to.be.revertedWithCustomError(
        w.registry,
        "NothingToSlash",
      );
    });

    it("slashes a member that signed two block commitments for one height", async () => {
      const w = await loadFixture(world);
      const leader = leaderSigner(w, HEIGHT);
      const a = blockCommitment(HEIGHT);
      const b = blockCommitment(HEIGHT, { rawRoot: h("raw2") });
      const sa = await signMessage(leader, w.domain, "BlockCommitment", a);
      const sb = await signMessage(leader, w.domain, "BlockCommitment", b);
      await expect(claiming(w).slashBlockEquivocation(a, sa, a, sa)).to.be.revertedWithCustomError(
        w.vsm,
        "NotConflicting",
      );
      await expect(claiming(w).slashBlockEquivocation(a, sa, { ...b, height: 1n }, sb)).to.be.revertedWithCustomError(
        w.vsm,
        "NotConflicting",
      );
      await expect(claiming(w).slashBlockEquivocation(a, sa, { ...b, rollupId: 1n }, sb)).to.be.revertedWithCustomError(
        w.vsm,
        "NotConflicting",
      );
      // Leaving the schedule does not protect an exiting member's bond.
      await w.registry.connect(leader).requestExit(w.clusterId);
      const faultId = keccak256(
        AbiCoder.defaultAbiCoder().encode(
          ["uint8", "uint64", "uint64", "uint32", "address"],
          [2, ROLLUP_ID, HEIGHT, 0, leader.address],
        ),
      );
      expect(await w.vsm.isFaultSettled(faultId)).to.equal(false);
      await expect(claiming(w).slashBlockEquivocation(a, sa, b, sb))
        .to.emit(w.vsm, "FaultSlashed")
        .withArgs(faultId, 2, leader.address, w.deployer.address, CLUSTER_BOND);
      expect(await w.vsm.isFaultSettled(faultId)).to.equal(true);
      await mine(PARAMS.memberWithdrawalDelay);
      await expect(w.registry.connect(leader).withdrawBond(w.clusterId)).to.be.revertedWithCustomError(
        w.registry,
        "NotExiting",
      );
      await expect(claiming(w).slashBlockEquivocation(b, sb, a, sa)).to.be.revertedWithCustomError(
        w.vsm,
        "FaultAlreadySlashed",
      );
    });

    it("does not slash a member that led one height in two views and signed the same block in both; two blocks are slashable", async () => {
      const w = await loadFixture(world);
      // Member (HEIGHT + 0) % 4 leads the height at view 0 and again at view 4 (after view changes).
      const leader = leaderSigner(w, HEIGHT, 0);
      expect(leaderSigner(w, HEIGHT, 4).address).to.equal(leader.address);
      const first = blockCommitment(HEIGHT);
      const again = { ...first, viewNumber: 4 };
      const s1 = await signMessage(leader, w.domain, "BlockCommitment", first);
      const s4 = await signMessage(leader, w.domain, "BlockCommitment", again);
      await expect(claiming(w).slashBlockEquivocation(first, s1, again, s4)).to.be.revertedWithCustomError(
        w.vsm,
        "NotConflicting",
      );
      // Another content in each view is an equivocation, whichever field differs.
      const edits = [
        { txCount: 4 },
        { encRoot: h("enc2") },
        { inboxBlock: 9n },
        { forcedCount: 1 },
        { rawRoot: h("raw2") },
      ];
      for (const edit of edits) {
        const other = { ...again, ...edit };
        const so = await signMessage(leader, w.domain, "BlockCommitment", other);
        // Without a claim it gets as far as the claim check: the evidence itself passed.
        await expect(w.vsm.slashBlockEquivocation.staticCall(first, s1, other, so)).to.be.revertedWithCustomError(
          w.vsm,
          "ClaimNotMatured",
        );
      }
      const other = { ...again, encRoot: h("enc2") };
      const so = await signMessage(leader, w.domain, "BlockCommitment", other);
      await expect(claiming(w).slashBlockEquivocation(first, s1, other, so))
        .to.emit(w.registry, "MemberSlashed")
        .withArgs(w.clusterId, leader.address, anyValue, CLUSTER_BOND, w.deployer.address, REWARD);
    });

    it("slashes a member that signed two seals ending one height differently in one view; seals of two views are no fault", async () => {
      const w = await loadFixture(world);
      const leader = leaderSigner(w, HEIGHT);
      const epoch = await currentEpoch(w);
      const a: Seal = {
        rollupId: ROLLUP_ID,
        height: HEIGHT,
        txCount: 3,
        encRoot: h("e1"),
        inboxBlock: 0n,
        viewNumber: 0,
        epoch,
      };
      const b: Seal = { ...a, encRoot: h("e2") };
      const sa = await signMessage(leader, w.domain, "Seal", a);
      const sb = await signMessage(leader, w.domain, "Seal", b);
      const signed = async (seal: Seal): Promise<string> => signMessage(leader, w.domain, "Seal", seal);
      // Another content in a later view: an uncertified seal that a view change rightly replaced (the
      // deadlock of simulator seeds 1002074 and 1002188 if it were slashable). Same content, later view or
      // next epoch: a re-seal of the adopted log.
      for (const later of [
        { ...b, viewNumber: 5 },
        { ...a, txCount: 9, viewNumber: 1 },
        { ...a, viewNumber: 1 },
        { ...a, viewNumber: 1, epoch: epoch + 1 },
      ]) {
        await expect(
          claiming(w).slashSealEquivocation(a, sa, later, await signed(later)),
        ).to.be.revertedWithCustomError(w.vsm, "NotConflicting");
      }
      await expect(claiming(w).slashSealEquivocation(a, sa, a, sa)).to.be.revertedWithCustomError(
        w.vsm,
        "NotConflicting",
      );
      await expect(claiming(w).slashSealEquivocation(a, sa, { ...b, height: 1n }, sb)).to.be.revertedWithCustomError(
        w.vsm,
        "NotConflicting",
      );
      await expect(claiming(w).slashSealEquivocation(a, sa, { ...b, rollupId: 1n }, sb)).to.be.revertedWithCustomError(
        w.vsm,
        "NotConflicting",
      );
      // Another content in the same view, whichever field differs: the leader's second seal of its view. The
      // inbox cut is content too: the same log with a later cut drops no entry but admits other forced ones.
      for (const other of [
        { ...a, txCount: 4 },
        { ...a, inboxBlock: 1n },
      ]) {
        await expect(
          w.vsm.slashSealEquivocation.staticCall(a, sa, other, await signed(other)),
        ).to.be.revertedWithCustomError(w.vsm, "ClaimNotMatured");
      }
      await expect(claiming(w).slashSealEquivocation(a, sa, b, sb)).to.emit(w.registry, "MemberSlashed");
      await expect(claiming(w).slashSealEquivocation(a, sa, b, sb)).to.be.revertedWithCustomError(
        w.vsm,
        "FaultAlreadySlashed",
      );
    });

    it("slashes every member that signed both of two conflicting seal certificates of one epoch, in one call", async () => {
      const w = await loadFixture(world);
      const [m0, m1, m2, m3] = w.members as [
        HardhatEthersSigner,
        HardhatEthersSigner,
        HardhatEthersSigner,
        HardhatEthersSigner,
      ];
      const epoch = await currentEpoch(w);
      const a: Seal = {
        rollupId: ROLLUP_ID,
        height: HEIGHT,
        txCount: 3,
        encRoot: h("e1"),
        inboxBlock: 0n,
        viewNumber: 0,
        epoch,
      };
      const b: Seal = { ...a, txCount: 0, encRoot: ZERO_HASH, viewNumber: 2 };
      const certA = onChain(await certifySeal([m0, m1, m2], w.domain, a));
      const certB = onChain(await certifySeal([m1, m2, m3], w.domain, b));
      const minority = onChain(await certifySeal([m1, m2], w.domain, b));
      await expect(claiming(w).slashConflictingCertificates(certA, minority)).to.be.revertedWithCustomError(
        w.vsm,
        "CertificateBelowMajority",
      );
      await expect(claiming(w).slashConflictingCertificates(certA, certA)).to.be.revertedWithCustomError(
        w.vsm,
        "NotConflicting",
      );
      const tx = claiming(w, w.outsider).slashConflictingCertificates(certA, certB);
      for (const m of [m1, m2])
        await expect(tx)
          .to.emit(w.registry, "MemberSlashed")
          .withArgs(w.clusterId, m.address, anyValue, CLUSTER_BOND, w.outsider.address, REWARD);
      await expect(tx).to.changeEtherBalance(w.outsider, REWARD * 2n);
      expect((await w.registry.memberInfo(w.clusterId, m0.address)).bond).to.equal(CLUSTER_BOND);
      expect((await w.registry.memberInfo(w.clusterId, m3.address)).bond).to.equal(CLUSTER_BOND);
      // Nobody both signed is left to slash, whichever certificate comes first.
      for (const [x, y] of [
        [certA, certB],
        [certB, certA],
      ] as const) {
        await expect(claiming(w).slashConflictingCertificates(x, y)).to.be.revertedWithCustomError(w.vsm, "NoFault");
      }
      // The two leave the schedule in two epochs, one change each, after the epoch already fixed.
      expect(await w.registry.membersOf(w.clusterId)).to.deep.equal(w.members.map((m) => m.address));
      await mine(4n * PARAMS.epochLength);
      expect(await w.registry.membersOf(w.clusterId)).to.deep.equal([m0.address, m3.address]);
    });

    it("slashes the member two conflicting certificates of neighbouring epochs share, across a membership change", async () => {
      const w = await loadFixture(world);
      const [m0, m1, m2, m3] = w.members as [
        HardhatEthersSigner,
        HardhatEthersSigner,
        HardhatEthersSigner,
        HardhatEthersSigner,
      ];
      // The epoch before m3 joined had three members, its first one four: one change, so a majority of each
      // (two and three) always share a member.
      const joined = Number((await w.registry.memberInfo(w.clusterId, m3.address)).fromEpoch);
      expect(await w.registry.membersAt(w.clusterId, joined - 1)).to.have.length(3);
      const a: Seal = {
        rollupId: ROLLUP_ID,
        height: HEIGHT,
        txCount: 3,
        encRoot: h("e1"),
        inboxBlock: 0n,
        viewNumber: 0,
        epoch: joined - 1,
      };
      const b: Seal = { ...a, encRoot: h("e2"), viewNumber: 1, epoch: joined };
      const certA = onChain(await certifySeal([m0, m1], w.domain, a));
      const certB = onChain(await certifySeal([m1, m2, m3], w.domain, b));
      // Each counts against its own epoch: the same pair is no majority of the current four.
      const pairNow = onChain(await certifySeal([m0, m1], w.domain, { ...a, epoch: joined }));
      await expect(claiming(w).slashConflictingCertificates(pairNow, certB))
        .to.be.revertedWithCustomError(w.vsm, "CertificateBelowMajority")
        .withArgs(2, 4);
      const tx = claiming(w, w.outsider).slashConflictingCertificates(certA, certB);
      await expect(tx)
        .to.emit(w.registry, "MemberSlashed")
        .withArgs(w.clusterId, m1.address, anyValue, CLUSTER_BOND, w.outsider.address, REWARD);
      await expect(tx).to.changeEtherBalance(w.outsider, REWARD);
      for (const m of [m0, m2, m3]) {
        expect((await w.registry.memberInfo(w.clusterId, m.address)).bond).to.equal(CLUSTER_BOND);
      }
    });
  });

  describe("block commitment outside any certified view", () => {
    /** The height's seal (3 txs under h("enc")) certified in view 0 by members 0..2. */
    async function certified(w: World) {
      const seal: Seal = {
        rollupId: ROLLUP_ID,
        height: HEIGHT,
        txCount: 3,
        encRoot: h("enc"),
        inboxBlock: 0n,
        viewNumber: 0,
        epoch: await currentEpoch(w),
      };
      return onChain(await certifySeal(w.members.slice(0, 3), w.domain, seal));
    }
    const faultIdOf = (signer: string) =>
      keccak256(
        AbiCoder.defaultAbiCoder().encode(
          ["uint8", "uint64", "uint64", "uint32", "address"],
          [5, ROLLUP_ID, HEIGHT, 0, signer],
        ),
      );

    it("slashes a leader that signed a block over another encRoot or count than the certified seal, in any view, once", async () => {
      const w = await loadFixture(world);
      const certificate = await certified(w);
      // The leader of view 1, a view never certified, commits another root (to get a task of its own).
      const forger = leaderSigner(w, HEIGHT, 1);
      const forged = blockCommitment(HEIGHT, { encRoot: h("forged"), viewNumber: 1 });
      const sf = await signMessage(forger, w.domain, "BlockCommitment", forged);
      const faultId = faultIdOf(forger.address);
      const tx = claiming(w, w.outsider).slashUncertifiedBlockCommitment(forged, sf, certificate);
      await expect(tx)
        .to.emit(w.vsm, "FaultSlashed")
        .withArgs(faultId, 5, forger.address, w.outsider.address, CLUSTER_BOND);
      await expect(tx)
        .to.emit(w.registry, "MemberSlashed")
        .withArgs(w.clusterId, forger.address, faultId, CLUSTER_BOND, w.outsider.address, REWARD);
      await expect(tx).to.changeEtherBalance(w.outsider, REWARD);
      expect(await w.vsm.isFaultSettled(faultId)).to.equal(true);
      expect((await w.registry.memberInfo(w.clusterId, forger.address)).bond).to.equal(0n);
      await expect(claiming(w).slashUncertifiedBlockCommitment(forged, sf, certificate))
        .to.be.revertedWithCustomError(w.vsm, "FaultAlreadySlashed")
        .withArgs(faultId);
      // The leader of the certified view itself, committing another count in that very view.
      const leader0 = leaderSigner(w, HEIGHT, 0);
      const short = blockCommitment(HEIGHT, { txCount: 2 });
      const ss = await signMessage(leader0, w.domain, "BlockCommitment", short);
      await expect(claiming(w).slashUncertifiedBlockCommitment(short, ss, certificate))
        .to.emit(w.vsm, "FaultSlashed")
        .withArgs(faultIdOf(leader0.address), 5, leader0.address, w.deployer.address, CLUSTER_BOND);
      // The leader of view 2, committing the certified log under another inbox cut (to pick the entries due).
      const leader2 = leaderSigner(w, HEIGHT, 2);
      const recut = blockCommitment(HEIGHT, { inboxBlock: 7n, viewNumber: 2 });
      const sr = await signMessage(leader2, w.domain, "BlockCommitment", recut);
      await expect(claiming(w).slashUncertifiedBlockCommitment(recut, sr, certificate))
        .to.emit(w.vsm, "FaultSlashed")
        .withArgs(faultIdOf(leader2.address), 5, leader2.address, w.deployer.address, CLUSTER_BOND);
    });

    it("does not slash a commitment of the certified content, whatever its view or rawRoot", async () => {
      const w = await loadFixture(world);
      const certificate = await certified(w);
      for (const [view, rawRoot] of [
        [0, h("raw")],
        [4, h("raw")],
        [1, h("another raw")],
      ] as const) {
        const signer = leaderSigner(w, HEIGHT, view);
        const c = blockCommitment(HEIGHT, { viewNumber: view, rawRoot });
        const sig = await signMessage(signer, w.domain, "BlockCommitment", c);
        await expect(claiming(w).slashUncertifiedBlockCommitment(c, sig, certificate)).to.be.revertedWithCustomError(
          w.vsm,
          "NoFault",
        );
      }
    });

    it("refuses a certificate of another height or rollup, a minority's, a non-member's or a forged one", async () => {
      const w = await loadFixture(world);
      const [m0, m1, m2] = w.members as [HardhatEthersSigner, HardhatEthersSigner, HardhatEthersSigner];
      const forger = leaderSigner(w, HEIGHT, 1);
      const forged = blockCommitment(HEIGHT, { encRoot: h("forged"), viewNumber: 1 });
      const sf = await signMessage(forger, w.domain, "BlockCommitment", forged);
      const seal: Seal = {
        rollupId: ROLLUP_ID,
        height: HEIGHT,
        txCount: 3,
        encRoot: h("enc"),
        inboxBlock: 0n,
        viewNumber: 0,
        epoch: await currentEpoch(w),
      };
      const otherHeight = onChain(await certifySeal([m0, m1, m2], w.domain, { ...seal, height: HEIGHT + 1n }));
      await expect(claiming(w).slashUncertifiedBlockCommitment(forged, sf, otherHeight)).to.be.revertedWithCustomError(
        w.vsm,
        "SealMismatch",
      );
      const otherRollup = onChain(await certifySeal([m0, m1, m2], w.domain, { ...seal, rollupId: 1n }));
      await expect(claiming(w).slashUncertifiedBlockCommitment(forged, sf, otherRollup)).to.be.revertedWithCustomError(
        w.vsm,
        "SealMismatch",
      );
      const minority = onChain(await certifySeal([m0, m1], w.domain, seal));
      await expect(claiming(w).slashUncertifiedBlockCommitment(forged, sf, minority))
        .to.be.revertedWithCustomError(w.vsm, "CertificateBelowMajority")
        .withArgs(2, 4);
      const withOutsider = onChain(await certifySeal([m0, m1, w.outsider], w.domain, seal));
      await expect(claiming(w).slashUncertifiedBlockCommitment(forged, sf, withOutsider))
        .to.be.revertedWithCustomError(w.vsm, "CertificateSignerNotMember")
        .withArgs(w.outsider.address);
      // A majority's signatures over the real seal, attached to a seal of a third content: they recover to
      // strangers, so nobody can frame the forger (or an honest leader) with an invented certificate.
      const borrowed = { seal: { ...seal, txCount: 7 }, signatures: (await certified(w)).signatures };
      await expect(claiming(w).slashUncertifiedBlockCommitment(forged, sf, borrowed)).to.be.reverted;
      expect((await w.registry.memberInfo(w.clusterId, forger.address)).bond).to.equal(CLUSTER_BOND);
    });

    it("checks the certificate against its own epoch's members, while the registry has that epoch on record", async () => {
      const w = await loadFixture(world);
      const [m0, m1, m2, m3] = w.members as [
        HardhatEthersSigner,
        HardhatEthersSigner,
        HardhatEthersSigner,
        HardhatEthersSigner,
      ];
      // The epoch before m3 joined, two or more behind the current one (older than a task may name).
      const old = Number((await w.registry.memberInfo(w.clusterId, m3.address)).fromEpoch) - 1;
      const behind = old + 2 - (await currentEpoch(w));
      if (behind > 0) await mine(BigInt(behind) * PARAMS.epochLength);
      const current = await currentEpoch(w);
      const seal = (epoch: number): Seal => ({
        rollupId: ROLLUP_ID,
        height: HEIGHT,
        txCount: 3,
        encRoot: h("enc"),
        inboxBlock: 0n,
        viewNumber: 0,
        epoch,
      });
      const forged = blockCommitment(HEIGHT, { encRoot: h("forged"), viewNumber: 1 });
      const forger = leaderSigner(w, HEIGHT, 1);
      const sf = await signMessage(forger, w.domain, "BlockCommitment", forged);
      // An epoch whose members may still change proves nothing.
      await expect(
        claiming(w).slashUncertifiedBlockCommitment(
          forged,
          sf,
          onChain(await certifySeal([m0, m1, m2], w.domain, seal(current + 2))),
        ),
      )
        .to.be.revertedWithCustomError(w.registry, "EpochNotFinal")
        .withArgs(current + 2);
      // Then m3 was not a member yet, and two of the three were a majority. The registry still has it on record.
      expect(old).to.be.at.most(current - 2);
      expect(await w.registry.membersAt(w.clusterId, old)).to.deep.equal([m0.address, m1.address, m2.address]);
      await expect(
        claiming(w).slashUncertifiedBlockCommitment(
          forged,
          sf,
          onChain(await certifySeal([m1, m2, m3], w.domain, seal(old))),
        ),
      )
        .to.be.revertedWithCustomError(w.vsm, "CertificateSignerNotMember")
        .withArgs(m3.address);
      const oldCertificate = onChain(await certifySeal([m0, m1], w.domain, seal(old)));
      expect(await w.vsm.verifySealCertificate(oldCertificate)).to.have.length(2);
      await expect(claiming(w).slashUncertifiedBlockCommitment(forged, sf, oldCertificate))
        .to.emit(w.registry, "MemberSlashed")
        .withArgs(w.clusterId, forger.address, anyValue, CLUSTER_BOND, w.deployer.address, REWARD);
      // Once the bonds of that epoch's leavers may be gone, the registry no longer answers for it.
      const next = leaderSigner(w, HEIGHT, 2);
      const forged2 = { ...forged, viewNumber: 2 };
      const sf2 = await signMessage(next, w.domain, "BlockCommitment", forged2);
      await mine(
        (BigInt(old) + 1n) * PARAMS.epochLength +
          PARAMS.memberWithdrawalDelay -
          BigInt(await ethers.provider.getBlockNumber()),
      );
      await expect(claiming(w).slashUncertifiedBlockCommitment(forged2, sf2, oldCertificate))
        .to.be.revertedWithCustomError(w.registry, "EpochExpired")
        .withArgs(old);
      const recent = await currentEpoch(w);
      await expect(
        claiming(w).slashUncertifiedBlockCommitment(
          forged2,
          sf2,
          onChain(await certifySeal([m0, m1, m2], w.domain, seal(recent))),
        ),
      ).to.emit(w.registry, "MemberSlashed");
    });

    it("has no bond to take from a signer outside the cluster", async () => {
      const w = await loadFixture(world);
      const forged = blockCommitment(HEIGHT, { encRoot: h("forged") });
      const sig = await signMessage(w.outsider, w.domain, "BlockCommitment", forged);
      await expect(
        claiming(w).slashUncertifiedBlockCommitment(forged, sig, await certified(w)),
      ).to.be.revertedWithCustomError(w.registry, "NothingToSlash");
    });
  });

  describe("slashing claims (commit, then reveal)", () => {
    /** A ready slash: two block commitments of one height by its leader (an equivocation). */
    async function equivocation(w: World) {
      const leader = leaderSigner(w, HEIGHT);
      const a = blockCommitment(HEIGHT);
      const b = { ...a, rawRoot: h("raw2") };
      const args = [
        a,
        await signMessage(leader, w.domain, "BlockCommitment", a),
        b,
        await signMessage(leader, w.domain, "BlockCommitment", b),
      ] as const;
      return { leader, args, data: w.vsm.interface.encodeFunctionData("slashBlockEquivocation", [...args]) };
    }

    it("a copy of a challenger's slash from the mempool earns nothing: it reverts without its own claim", async () => {
      const w = await loadFixture(world);
      const { args, data } = await equivocation(w);
      await w.vsm.connect(w.outsider).commitClaim(await w.vsm.claimOf(w.outsider.address, data));
      await mine(2);
      // The copier sends the very same calldata: the claim names the challenger, not the copier.
      const copier = w.executor;
      await expect(w.vsm.connect(copier).slashBlockEquivocation(...args)).to.be.revertedWithCustomError(
        w.vsm,
        "ClaimNotMatured",
      );
      const tx = w.vsm.connect(w.outsider).slashBlockEquivocation(...args);
      await expect(tx).to.emit(w.vsm, "FaultSlashed");
      await expect(tx).to.changeEtherBalance(w.outsider, REWARD);
    });

    it("a claim matures only CLAIM_DELAY blocks after its commitment, counts from its earliest commitment, and is spent once", async () => {
      const w = await loadFixture(world);
      const { args, data } = await equivocation(w);
      const claim = await w.vsm.claimOf(w.outsider.address, data);
      await expect(w.vsm.connect(w.outsider).commitClaim(claim))
        .to.emit(w.vsm, "ClaimCommitted")
        .withArgs(claim, w.outsider.address);
      const first = await w.vsm.claimedAt(claim);
      expect(await w.vsm.CLAIM_DELAY()).to.equal(2n);
      // The reveal lands one block after the commitment here: too early.
      await expect(w.vsm.connect(w.outsider).slashBlockEquivocation(...args)).to.be.revertedWithCustomError(
        w.vsm,
        "ClaimNotMatured",
      );
      await w.vsm.connect(w.executor).commitClaim(claim); // anyone may commit it again: the earliest counts
      expect(await w.vsm.claimedAt(claim)).to.equal(first);
      await w.vsm.connect(w.outsider).slashBlockEquivocation(...args);
      expect(await w.vsm.claimedAt(claim)).to.equal(0n);
    });

    it("refuses a deployment whose reward would make slashing oneself a cheap exit (over half the bond)", async () => {
      const w = await loadFixture(world);
      const factory = await ethers.getContractFactory("ValidationServiceManager");
      const params = [
        await w.registry.getAddress(),
        await w.inbox.getAddress(),
        PARAMS.quorumBps,
        PARAMS.responseWindow,
        PARAMS.challengeWindow,
        PARAMS.operatorWithdrawalDelay,
        PARAMS.minOperatorStake,
      ] as const;
      expect(await w.vsm.MAX_REWARD_BPS()).to.equal(5_000n);
      await expect(factory.deploy(...params, 5_001n)).to.be.revertedWithCustomError(w.vsm, "InvalidParameters");
      await expect(factory.deploy(...params, 5_000n)).to.not.be.reverted;
    });
  });

  describe("operator double vote", () => {
    it("slashes an operator's active and pending stake for two answers to one task, once, and no one else", async () => {
      const w = await loadFixture(world);
      const c = blockCommitment(HEIGHT);
      const taskId = await createTask(w, c);
      const op = w.operators[1]!;
      const yes = { taskId, commitmentHash: structHash("BlockCommitment", c), approve: true };
      const no = { ...yes, approve: false };
      const sy = await signMessage(op, w.domain, "OperatorResponse", yes);
      const sn = await signMessage(op, w.domain, "OperatorResponse", no);
      await expect(claiming(w).slashOperatorDoubleVote(yes, sy, yes, sy)).to.be.revertedWithCustomError(
        w.vsm,
        "NotConflicting",
      );
      await expect(
        claiming(w).slashOperatorDoubleVote(yes, sy, { ...no, taskId: h("t") }, sn),
      ).to.be.revertedWithCustomError(w.vsm, "NotConflicting");
      // Answers to two commitments of one task (a task replaced by a later view's) are no double vote.
      const replaced = { ...no, commitmentHash: h("the later view's commitment") };
      const sr = await signMessage(op, w.domain, "OperatorResponse", replaced);
      await expect(claiming(w).slashOperatorDoubleVote(yes, sy, replaced, sr)).to.be.revertedWithCustomError(
        w.vsm,
        "NotConflicting",
      );
      const other = await signMessage(w.operators[2]!, w.domain, "OperatorResponse", no);
      await expect(claiming(w).slashOperatorDoubleVote(yes, sy, no, other)).to.be.revertedWithCustomError(
        w.vsm,
        "SignersDiffer",
      );
      await w.vsm.connect(op).requestWithdrawal(OPERATOR_STAKE / 2n); // cannot escape by withdrawing
      const tx = claiming(w, w.outsider).slashOperatorDoubleVote(yes, sy, no, sn);
      const reward = (OPERATOR_STAKE * PARAMS.challengerRewardBps) / 10_000n;
      await expect(tx).to.emit(w.vsm, "FaultSlashed");
      await expect(tx).to.changeEtherBalance(w.outsider, reward);
      expect(await w.vsm.stakeOf(op.address)).to.equal(0n);
      expect((await w.vsm.pendingWithdrawal(op.address)).amount).to.equal(0n);
      expect(await w.vsm.totalBurned()).to.equal(OPERATOR_STAKE - reward);
      expect(await w.vsm.stakeOf(w.operators[2]!.address)).to.equal(OPERATOR_STAKE);
      await expect(claiming(w).slashOperatorDoubleVote(yes, sy, no, sn)).to.be.revertedWithCustomError(
        w.vsm,
        "FaultAlreadySlashed",
      );
      // A signer with no stake at all has nothing to slash.
      const ny = await signMessage(w.outsider, w.domain, "OperatorResponse", yes);
      const nn = await signMessage(w.outsider, w.domain, "OperatorResponse", no);
      await expect(claiming(w).slashOperatorDoubleVote(yes, ny, no, nn)).to.be.revertedWithCustomError(
        w.vsm,
        "NothingToSlash",
      );
    });

    it("slashes a fully withdrawn operator's pending stake (no reward when the reward is zero is covered by the registry suite)", async () => {
      const w = await loadFixture(world);
      const c = blockCommitment(HEIGHT);
      const taskId = await createTask(w, c);
      const op = w.operators[0]!;
      const yes = { taskId, commitmentHash: structHash("BlockCommitment", c), approve: true };
      const no = { ...yes, approve: false };
      await w.vsm.connect(op).requestWithdrawal(OPERATOR_STAKE);
      await claiming(w).slashOperatorDoubleVote(
        yes,
        await signMessage(op, w.domain, "OperatorResponse", yes),
        no,
        await signMessage(op, w.domain, "OperatorResponse", no),
      );
      expect((await w.vsm.pendingWithdrawal(op.address)).amount).to.equal(0n);
      await expect(w.vsm.connect(op).withdraw()).to.be.revertedWithCustomError(w.vsm, "NothingToWithdraw");
    });
  });
});
