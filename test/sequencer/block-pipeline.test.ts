import { certifySeal, sealCertificateToJson, type SealCertificate } from "../../sequencer/chain/certificate";
/**
 * The block pipeline on an in-process 3-node cluster (loopback HTTP, LevelDB, Hardhat's chain with the
 * deployed VSM): finalize_block seals, obtains the round secret, decrypts and builds, signs the
 * BlockCommitment, creates the VSM task, stores the block and hands it to the followers, which rebuild
 * it from their own replica before storing it. Real encryptions and proofs, real signed transactions.
 */
import { expect } from "chai";
import { freePort } from "../../scripts/devnet/net";
import fc from "fast-check";
import { ethers } from "hardhat";
import { Wallet } from "ethers";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { z } from "zod";
import {
  builtBlockJson,
  encryptionKeyResult,
  finalizeResult,
  type BuiltBlockWire,
  type FinalizeResultJson,
} from "../../sequencer/api/wire";
import { buildBlock, entryFromWire, noForcedEntries } from "../../sequencer/block";
import {
  ClusterMessageKind,
  isSignedBy,
  signMessage,
  structHash,
  taskIdOf,
  type BlockCommitment,
} from "../../sequencer/chain/eip712";
import { SUBGROUP_ORDER, mulBase, randomScalar } from "../../sequencer/crypto/babyjub";
import { roundKeyFromJson, shareRevealToJson, type RoundKey, type ShareReveal } from "../../sequencer/crypto/roundkey";
import { parseKeygenConfig } from "../../sequencer/keygen/config";
import { startKeygen, type RunningKeygen } from "../../sequencer/keygen/keygen";
import { sealEnvelope } from "../../sequencer/node/cluster/envelope";
import { Health } from "../../sequencer/common/health";
import { createRegistry } from "../../sequencer/common/metrics";
import { RpcRoundKeySource } from "../../sequencer/node/round-keys";
import { secretFromCandidates } from "../../sequencer/node/round-secrets";
import { MethodRegistry } from "../../sequencer/rpc/registry";
import { RpcServer } from "../../sequencer/rpc/server";
import { schemas, type Seal } from "../../sequencer/chain/eip712";
import { fetchSealedHeight } from "../../sequencer/validator/sources";
import { ValidationServiceManager__factory } from "../../typechain-types";
import { signedTransfer } from "./operator-fixture";
import {
  ROLLUP,
  deployWorld,
  provenSubmission,
  rejects,
  startMember,
  stopMember,
  teardown,
  until,
  type ClusterWorld,
} from "./cluster-harness";

const R = ROLLUP.toString();
const sender = new Wallet(`0x${"5a".repeat(32)}`);
const TASK_PENDING = 1n;

const signedTx = (nonce: number): Promise<string> => signedTransfer(sender, nonce, { chainId: 31337n });

async function counter(w: ClusterWorld, node: number, name: string, labels: Record<string, string>): Promise<number> {
  const metric = w.nodes[node]!.metricsRegistry.getSingleMetric(name);
  if (metric === undefined) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  return values
    .filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))
    .reduce((sum, v) => sum + v.value, 0);
}

describe("block pipeline: finalize_block builds, commits on-chain and replicates the block (3 nodes)", function () {
  this.timeout(300_000);
  let w: ClusterWorld;
  let txs: string[];
  let answer: FinalizeResultJson;
  let answerWire: unknown;

  const finalizeCall = async (height: number) => {
    const request = { rollupId: ROLLUP, height: BigInt(height), deadline: BigInt(Math.floor(Date.now() / 1000) + 600) };
    return {
      request: { rollupId: R, height: String(height), deadline: request.deadline.toString() },
      signature: await signMessage(w.executor, w.domain, "FinalizeRequest", request),
    };
  };

  before(async () => {
    w = await deployWorld([0, 1, 2, 3, 4, 5, 6]);
    for (let i = 0; i < 3; i++) await startMember(w, i);
    txs = [await signedTx(0), await signedTx(1), await signedTx(2)];
    const client = w.clients[0]!;
    // Height 0 (leader: member 0): valid encrypted, raw garbage, valid raw, encrypted non-transaction.
    await client.call("send_encrypted_transaction", await provenSubmission(client, 0, ethers.getBytes(txs[0]!)));
    await client.call("send_raw_transaction", { rollupId: R, height: "0", rawTx: "0xdeadbeef" });
    await client.call("send_raw_transaction", { rollupId: R, height: "0", rawTx: txs[1] });
    const text = new TextEncoder().encode("not a transaction");
    await client.call("send_encrypted_transaction", await provenSubmission(client, 0, text));
  });
  after(() => teardown(w));

  it("answers every slot at its committed index: raw txs for valid ones, invalid slots kept in place", async () => {
    answerWire = await w.clients[2]!.call("finalize_block", await finalizeCall(0)); // a follower forwards it
    answer = finalizeResult.parse(answerWire);
    const { block, seal } = answer;
    expect(block.transactions.map((t) => t.index)).to.deep.equal([0, 1, 2, 3]);
    expect(block.transactions.map((t) => t.status)).to.deep.equal(["valid", "invalid", "valid", "invalid"]);
    const [first, second, third, fourth] = block.transactions;
    expect(first!.status === "valid" && first!.rawTx).to.equal(txs[0]!.toLowerCase());
    expect(third!.status === "valid" && third!.rawTx).to.equal(txs[1]!.toLowerCase());
    expect(second!.status === "invalid" && second!.reason).to.equal("malformed-tx");
    expect(fourth!.status === "invalid" && fourth!.reason).to.equal("malformed-tx");
    // Each slot's encTxHash is the leaf the order commitment promised at that index.
    for (const t of block.transactions) {
      const receipt = (await w.clients[1]!.call("get_order_commitment", {
        rollupId: R,
        height: "0",
        index: t.index,
      })) as {
        commitment: { encTxHash: string };
      };
      expect(t.encTxHash).to.equal(receipt.commitment.encTxHash);
    }
    expect(block.commitment.txCount).to.equal(seal.seal.txCount);
    expect(block.commitment.encRoot).to.equal(seal.seal.encRoot);
    expect(block.commitment.viewNumber).to.equal(seal.seal.viewNumber);
    expect(block.leader).to.equal(w.members[0]!.address);
    expect(isSignedBy(w.domain, "BlockCommitment", block.commitment, block.signature, block.leader)).to.equal(true);
    expect(block.commitmentHash).to.equal(structHash("BlockCommitment", block.commitment).toLowerCase());
    expect(await counter(w, 0, "veil_block_invalid_slots_total", { reason: "malformed-tx" })).to.equal(2);
  });

  it("the VSM task exists on-chain with hashStruct(commitment), signed by the height's leader", async () => {
    const vsm = ValidationServiceManager__factory.connect(w.domain.verifyingContract, ethers.provider);
    const task = await vsm.getTask(answer.block.taskId);
    expect(answer.block.taskId).to.equal(taskIdOf(ROLLUP, 0n).toLowerCase());
    expect(task.commitmentHash.toLowerCase()).to.equal(
      structHash("BlockCommitment", answer.block.commitment).toLowerCase(),
    );
    expect(task.status).to.equal(TASK_PENDING);
    expect(task.leader).to.equal(w.members[0]!.address);
  });

  it("every follower rebuilds and stores the same block; get_block reports finalized on every member", async () => {
    const leaders = await w.clients[0]!.call("get_raw_transaction_list", { rollupId: R, height: "0" });
    expect(leaders).to.deep.equal((answerWire as { block: unknown }).block);
    for (const i of [1, 2]) {
      const theirs = await until(`the block on member ${i}`, () =>
        w.clients[i]!.call("get_raw_transaction_list", { rollupId: R, height: "0" }),
      );
      expect(theirs).to.deep.equal(leaders);
      const status = (await w.clients[i]!.call("get_block", { rollupId: R, height: "0" })) as { status: string };
      expect(status.status).to.equal("finalized");
      expect(await counter(w, i, "veil_blocks_finalized_total", { role: "follower" })).to.equal(1);
    }
  });

  it("re-finalizing a finalized height answers the same result and creates nothing new", async () => {
    const again = await w.clients[0]!.call("finalize_block", await finalizeCall(0));
    expect(again).to.deep.equal(answerWire);
    expect(await counter(w, 0, "veil_blocks_finalized_total", { role: "leader" })).to.equal(1);
    expect(await counter(w, 0, "veil_vsm_task_failures_total", {})).to.equal(0);
  });

  it("get_raw_transaction_list answers NOT_FOUND for a height that is not built", async () => {
    await rejects(w.clients[1]!.call("get_raw_transaction_list", { rollupId: R, height: "1" }), "NOT_FOUND", /open/);
  });

  describe("get_sealed_entries", () => {
    it("serves any window of a sealed height in index order, equal to the per-index reads", async () => {
      const all: unknown[] = [];
      for (let index = 0; index < 4; index++) {
        all.push(await w.clients[1]!.call("get_encrypted_transaction", { rollupId: R, height: "0", index }));
      }
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 1, max: 1024 }), async (from, count) => {
          const got = (await w.clients[1]!.call("get_sealed_entries", { rollupId: R, height: "0", from, count })) as {
            txCount: number;
            encRoot: string;
            from: number;
            entries: unknown[];
          };
          expect(got.txCount).to.equal(4);
          expect(got.encRoot).to.equal(answer.seal.seal.encRoot);
          expect(got.from).to.equal(from);
          expect(got.entries).to.deep.equal(all.slice(from, from + count));
        }),
        { numRuns: 25 },
      );
    });

    it("is what a validator's fetchSealedHeight reads", async () => {
      const sealed = await fetchSealedHeight(w.clients[2]!, ROLLUP, 0n);
      expect(sealed.txCount).to.equal(4);
      expect(sealed.encRoot).to.equal(answer.seal.seal.encRoot);
      const direct = await w.clients[2]!.call("get_sealed_entries", { rollupId: R, height: "0", from: 0, count: 4 });
      expect(sealed.entries).to.deep.equal((direct as { entries: unknown[] }).entries.map(entryFromWire));
    });

    it("bounds count to 1..1024 and from to the sealed count", async () => {
      const call = (from: number, count: number) =>
        w.clients[0]!.call("get_sealed_entries", { rollupId: R, height: "0", from, count });
      await rejects(call(0, 1025), "INVALID_PARAMS", /count/);
      await rejects(call(0, 0), "INVALID_PARAMS", /count/);
      await rejects(call(-1, 1), "INVALID_PARAMS", /from/);
      await rejects(call(5, 1), "INVALID_PARAMS", /beyond the 4 sealed entries/);
    });

    it("answers NOT_FOUND for a height that is not sealed and UNKNOWN_ROLLUP for another rollup", async () => {
      await rejects(
        w.clients[0]!.call("get_sealed_entries", { rollupId: R, height: "1", from: 0, count: 1 }),
        "NOT_FOUND",
        /not sealed/,
      );
      await rejects(
        w.clients[0]!.call("get_sealed_entries", { rollupId: "99", height: "0", from: 0, count: 1 }),
        "UNKNOWN_ROLLUP",
      );
    });
  });

  describe("a follower checks a BlockBuilt before it stores it", () => {
    // Height 1 is led by member 1; it is sealed (not built) so that members 0 and 2 hold the seal only.
    const HEIGHT = 1;
    let seal: SealCertificate;
    let roundKey: RoundKey;
    let secretKey: bigint;
    let genuine: BuiltBlockWire;

    const leader = () => w.members[1]!;
    const send = async (
      to: number,
      block: unknown,
      secret: bigint,
      from = leader(),
      height = HEIGHT,
      certificate: unknown = sealCertificateToJson(seal),
      view = 0,
    ) =>
      w.clients[to]!.call(
        "cluster_block_built",
        await sealEnvelope(from, w.domain, w.clusterId, view, ClusterMessageKind.BlockBuilt, {
          rollupId: R,
          height,
          block,
          roundSecret: `0x${secret.toString(16)}`,
          certificate,
        }),
      );
    /** A certificate of the seal that `block` carries, signed by `signers` (two of three: a majority). */
    const certificateFor = async (block: { commitment: unknown }, signers = w.members.slice(0, 2), view = 0) => {
      const c = builtBlockJson.shape.commitment.parse(block.commitment);
      const sealed = {
        rollupId: c.rollupId,
        height: c.height,
        txCount: c.txCount,
        encRoot: c.encRoot,
        inboxBlock: c.inboxBlock,
        viewNumber: view,
        epoch: w.epoch,
      };
      return sealCertificateToJson(await certifySeal(signers, w.domain, sealed));
    };
    /** The genuine block with its commitment changed by `edit` and signed again by `signer`. */
    const tampered = async (edit: (c: BlockCommitment) => BlockCommitment, signer = leader()) => {
      const commitment = edit(builtBlockJson.parse(genuine).commitment);
      return {
        ...genuine,
        commitment: {
          ...commitment,
          rollupId: R,
          height: String(HEIGHT),
          inboxBlock: commitment.inboxBlock.toString(),
        },
        commitmentHash: structHash("BlockCommitment", commitment).toLowerCase(),
        signature: await signMessage(signer, w.domain, "BlockCommitment", commitment),
      };
    };

    before(async () => {
      await w.clients[1]!.call("send_raw_transaction", { rollupId: R, height: "1", rawTx: txs[2] });
      await w.clients[1]!.call("send_raw_transaction", { rollupId: R, height: "1", rawTx: "0x01" });
      seal = await w.nodes[1]!.sequencer!.seal(ROLLUP, HEIGHT);
      const key = await w.clients[0]!.call("get_encryption_key", { rollupId: R, height: HEIGHT }, encryptionKeyResult);
      roundKey = roundKeyFromJson(key.roundKey);
      secretKey = (await w.roundSecrets.obtain(roundKey, seal)).secretKey;
      const records = await w.nodes[1]!.store.getEntries(ROLLUP, HEIGHT);
      const built = await buildBlock({
        rollupId: ROLLUP,
        height: BigInt(HEIGHT),
        entries: records.map((r) => entryFromWire(r.encryptedTx)),
        forced: noForcedEntries(seal.seal.inboxBlock),
        roundKey: roundKey.publicKey,
        secretKey,
        viewNumber: 0,
      });
      const signature = await signMessage(leader(), w.domain, "BlockCommitment", built.commitment);
      genuine = {
        commitment: {
          ...built.commitment,
          rollupId: R,
          height: String(HEIGHT),
          inboxBlock: built.commitment.inboxBlock.toString(),
        },
        commitmentHash: built.commitmentHash.toLowerCase(),
        viewNumber: 0,
        leader: leader().address,
        signature,
        taskId: taskIdOf(ROLLUP, BigInt(HEIGHT)).toLowerCase(),
        transactions: built.slots.map((s) => ({ ...s })),
      };
      expect(seal.seal.height).to.equal(BigInt(HEIGHT));
    });

    it("rejects a commitment not signed by the height's leader", async () => {
      const forged = await tampered((c) => c, w.members[2]);
      await rejects(send(0, forged, secretKey), "INVALID_SIGNATURE", /not signed by the height's leader/);
    });

    it("rejects a commitment signed by the leader for another view than its seal certificate's", async () => {
      const otherView = await tampered((c) => ({ ...c, viewNumber: 1 }));
      await rejects(send(0, otherView, secretKey), "UNAUTHORIZED", /another leader or view than its seal certificate/);
    });

    it("rejects a BlockBuilt from a member that does not lead the height", async () => {
      await rejects(send(0, genuine, secretKey, w.members[2]), "NOT_LEADER");
    });

    it("takes the view from the seal certificate, never from the message: a member claiming a view it leads is refused", async () => {
      // Member 2 leads height 1 at view 1; it signs the block itself and claims view 1 in its message.
      const claimed = { ...(await tampered((c) => c, w.members[2])), viewNumber: 1, leader: w.members[2]!.address };
      await rejects(send(0, claimed, secretKey, w.members[2], HEIGHT, sealCertificateToJson(seal), 1), "NOT_LEADER");
      // Its own seal of view 1 is no certificate (one member of three).
      const alone = await certificateFor(claimed, [w.members[2]!], 1);
      await rejects(send(0, claimed, secretKey, w.members[2], HEIGHT, alone, 1), "INVALID_SIGNATURE", /majority/);
      await rejects(send(0, genuine, secretKey, leader(), HEIGHT, null), "INVALID_PARAMS", /certificate/);
    });

    it("rejects a round secret that does not open the round key it verified itself", async () => {
      await rejects(send(0, genuine, secretKey + 1n), "WRONG_ROUND_KEY", /does not open the round key/);
    });

    it("rejects a rawRoot its own rebuild contradicts", async () => {
      const lying = await tampered((c) => ({ ...c, rawRoot: `0x${"ab".repeat(32)}` }));
      await rejects(send(2, lying, secretKey), "INVALID_PROOF", /rebuild gives rawRoot/);
    });

    it("rejects a commitment whose count or encRoot differs from the seal it holds", async () => {
      const lying = await tampered((c) => ({ ...c, encRoot: `0x${"cd".repeat(32)}` }));
      await rejects(send(2, lying, secretKey), "INVALID_PROOF", /seal certificate is for another count or root/);
      // Even with a colluding majority's certificate of that root, the follower holds the true seal.
      const colluded = await certificateFor(lying);
      await rejects(send(2, lying, secretKey, leader(), HEIGHT, colluded), "INVALID_PROOF", /differs from the seal/);
    });

    it("answers OUT_OF_ORDER when it lacks the seal (it learns the height by catch-up later)", async () => {
      // Height 2 is led by member 2 and not sealed anywhere.
      const block = { ...genuine, commitment: { ...genuine.commitment, height: "2" } };
      const commitment = { ...builtBlockJson.parse(genuine).commitment, height: 2n };
      const signed = {
        ...block,
        leader: w.members[2]!.address,
        commitmentHash: structHash("BlockCommitment", commitment).toLowerCase(),
        taskId: taskIdOf(ROLLUP, 2n).toLowerCase(),
        signature: await signMessage(w.members[2]!, w.domain, "BlockCommitment", commitment),
      };
      await rejects(
        send(0, signed, secretKey, w.members[2], 2, await certificateFor(signed)),
        "OUT_OF_ORDER",
        /lacks the seal/,
      );
    });

    it("stores nothing after any rejection, then takes the genuine block and acknowledges it twice", async () => {
      for (const i of [0, 2]) {
        await rejects(w.clients[i]!.call("get_raw_transaction_list", { rollupId: R, height: "1" }), "NOT_FOUND");
      }
      expect(await counter(w, 0, "veil_block_built_refused_total", {})).to.be.greaterThanOrEqual(4);
      await send(0, genuine, secretKey);
      await send(0, genuine, secretKey); // idempotent
      const stored = (await w.clients[0]!.call("get_raw_transaction_list", {
        rollupId: R,
        height: "1",
      })) as BuiltBlockWire;
      expect(stored.commitmentHash).to.equal(genuine.commitmentHash);
      expect(stored.transactions.map((t) => t.status)).to.deep.equal(["valid", "invalid"]);
      const other = await tampered((c) => ({ ...c, rawRoot: `0x${"ef".repeat(32)}` }));
      await rejects(send(0, other, secretKey), "INVALID_PROOF", /another block commitment/);
      // The same block committed by the leader of a later view (it took the height over and rebuilt it)
      // is acknowledged: the follower keeps the block it stored.
      const takeover = w.members[2]!; // leads height 1 at view 1
      const rebuilt = {
        ...(await tampered((c) => ({ ...c, viewNumber: 1 }), takeover)),
        viewNumber: 1,
        leader: takeover.address,
      };
      const certificate1 = await certificateFor(rebuilt, w.members.slice(0, 2), 1);
      await send(0, rebuilt, secretKey, takeover, HEIGHT, certificate1, 1);
      const kept = (await w.clients[0]!.call("get_raw_transaction_list", {
        rollupId: R,
        height: "1",
      })) as BuiltBlockWire;
      expect(kept.commitmentHash).to.equal(genuine.commitmentHash);
    });
  });

  /** Seals `height` on its leader `member` and returns the block the pipeline will build for it. */
  const sealAndBuild = async (height: number, member: number) => {
    await w.clients[member]!.call("send_raw_transaction", {
      rollupId: R,
      height: String(height),
      rawTx: await signedTx(10 + height),
    });
    const seal = await w.nodes[member]!.sequencer!.seal(ROLLUP, height);
    const key = await w.clients[member]!.call("get_encryption_key", { rollupId: R, height }, encryptionKeyResult);
    const roundKey = roundKeyFromJson(key.roundKey);
    const records = await w.nodes[member]!.store.getEntries(ROLLUP, height);
    return buildBlock({
      rollupId: ROLLUP,
      height: BigInt(height),
      entries: records.map((r) => entryFromWire(r.encryptedTx)),
      forced: noForcedEntries(seal.seal.inboxBlock),
      roundKey: roundKey.publicKey,
      secretKey: (await w.roundSecrets.obtain(roundKey, seal)).secretKey,
      viewNumber: 0,
    });
  };
  /** Creates the task of `commitment` with a certificate (members 0 and 1) of its seal in its own view. */
  const createTask = async (commitment: BlockCommitment, leader: Wallet) => {
    const vsm = ValidationServiceManager__factory.connect(w.domain.verifyingContract, w.members[0]);
    const signature = await signMessage(leader, w.domain, "BlockCommitment", commitment);
    const { rawRoot: _raw, forcedCount: _forced, ...content } = commitment;
    const seal = { ...content, epoch: Number(await w.registry.currentEpoch()) };
    const certificate = await certifySeal(w.members.slice(0, 2), w.domain, seal);
    await (
      await vsm.createNewTask(commitment, { ...certificate, signatures: [...certificate.signatures] }, signature)
    ).wait();
  };

  describe("the VSM task of a height that already has one", () => {
    it("counts a task with the same commitment (a predecessor's, before a failover) as success", async () => {
      const built = await sealAndBuild(2, 2); // height 2 is led by member 2
      await createTask(built.commitment, w.members[2]!);
      const { block } = finalizeResult.parse(await w.clients[0]!.call("finalize_block", await finalizeCall(2)));
      expect(block.commitmentHash).to.equal(built.commitmentHash.toLowerCase());
      expect(await counter(w, 2, "veil_vsm_task_failures_total", {})).to.equal(0);
      expect(await counter(w, 2, "veil_blocks_finalized_total", { role: "leader" })).to.equal(1);
    });

    it("refuses to answer a block when the task holds another commitment, and stores nothing", async () => {
      const built = await sealAndBuild(3, 0); // height 3 is led by member 0
      await createTask({ ...built.commitment, rawRoot: `0x${"77".repeat(32)}` }, w.members[0]!);
      await rejects(
        w.clients[1]!.call("finalize_block", await finalizeCall(3)),
        "INTERNAL_ERROR",
        /conflicting block commitment on-chain/,
      );
      expect(await counter(w, 0, "veil_vsm_task_failures_total", { cause: "conflict" })).to.equal(1);
      await rejects(w.clients[0]!.call("get_raw_transaction_list", { rollupId: R, height: "3" }), "NOT_FOUND");
      const status = (await w.clients[0]!.call("get_block", { rollupId: R, height: "3" })) as { status: string };
      expect(status.status).to.equal("sealed");
    });
  });

  describe("after a follower missed the block", () => {
    it("a follower that was down when the block was sent gets it when finalize_block is retried", async () => {
      // Height 4 is led by member 1; member 2 holds the seal, then misses the BlockBuilt.
      await w.clients[1]!.call("send_raw_transaction", { rollupId: R, height: "4", rawTx: await signedTx(20) });
      await w.nodes[1]!.sequencer!.seal(ROLLUP, 4);
      await stopMember(w, 2);
      const first = await w.clients[0]!.call("finalize_block", await finalizeCall(4));
      await w.nodes[1]!.blocks!.settled();
      await startMember(w, 2);
      await rejects(w.clients[2]!.call("get_raw_transaction_list", { rollupId: R, height: "4" }), "NOT_FOUND");
      const again = await w.clients[0]!.call("finalize_block", await finalizeCall(4));
      expect(again).to.deep.equal(first);
      const healed = await until("the block on member 2", () =>
        w.clients[2]!.call("get_raw_transaction_list", { rollupId: R, height: "4" }),
      );
      expect(healed).to.deep.equal((first as { block: unknown }).block);
    });
  });

  describe("the VSM task of the same block in another view", () => {
    it("counts a task of the same block committed in another view (a successor's) as success", async () => {
      const built = await sealAndBuild(5, 2); // led by member 2 at view 0, member 0 at view 1
      await createTask({ ...built.commitment, viewNumber: 1 }, w.members[0]!);
      const { block, seal } = finalizeResult.parse(await w.clients[2]!.call("finalize_block", await finalizeCall(5)));
      // Answered in its own (certified) view; the task on-chain keeps the view-1 commitment of the same block.
      expect(seal.seal.viewNumber).to.equal(0);
      expect(block.commitment.viewNumber).to.equal(0);
      expect(block.commitmentHash).to.equal(built.commitmentHash.toLowerCase());
      const vsm = ValidationServiceManager__factory.connect(w.domain.verifyingContract, ethers.provider);
      const task = await vsm.getTask(taskIdOf(ROLLUP, 5n));
      expect(task.viewNumber).to.equal(1n);
      expect(task.commitmentHash).to.equal(structHash("BlockCommitment", { ...built.commitment, viewNumber: 1 }));
      expect(await counter(w, 2, "veil_vsm_task_failures_total", {})).to.equal(0);
    });
  });

  describe("a leader asked for the block it is building", () => {
    it("waits for its own build instead of asking another member, which does not have it yet", async () => {
      // Last: it seals height 6, led by member 0, whose decided replica asks for the block when building
      // outlasts its timer.
      await w.clients[0]!.call("send_raw_transaction", { rollupId: R, height: "6", rawTx: await signedTx(30) });
      const seal = await w.nodes[0]!.sequencer!.seal(ROLLUP, 6);
      const rollup = (await w.nodes[0]!.chain.rollup(ROLLUP))!;
      const asked = () =>
        Promise.all([1, 2].map((i) => counter(w, i, "veil_rpc_calls_total", { method: "cluster_get_block" })));
      const before = await asked();
      const building = w.nodes[0]!.blocks!.finalize(rollup, 6, seal);
      expect(await w.nodes[0]!.blocks!.fetch(ROLLUP, 6, w.members[1]!.address)).to.equal(true);
      expect((await building).commitment.height).to.equal("6");
      expect(await asked(), "no member was asked").to.deep.equal(before);
    });
  });
});

describe("block pipeline with real key generators: reveals first, the committee's recovered secret as fallback", function () {
  this.timeout(300_000);
  let w: ClusterWorld;
  let dir: string;
  const keygens: (RunningKeygen | undefined)[] = [];
  let keygenUrls: string[];
  let liar: RpcServer | undefined;

  const finalize = async (height: number) => {
    const request = { rollupId: ROLLUP, height: BigInt(height), deadline: BigInt(Math.floor(Date.now() / 1000) + 600) };
    const answer = await w.clients[0]!.call("finalize_block", {
      request: { rollupId: R, height: String(height), deadline: request.deadline.toString() },
      signature: await signMessage(w.executor, w.domain, "FinalizeRequest", request),
    });
    return finalizeResult.parse(answer);
  };

  before(async () => {
    w = await deployWorld([]);
    dir = mkdtempSync(path.join(os.tmpdir(), "veil-pipeline-keygen-"));
    const ports = [await freePort(), await freePort()];
    keygenUrls = ports.map((p) => `http://127.0.0.1:${p}`);
    const contracts = {
      clusterRegistry: await w.registry.getAddress(),
      validationServiceManager: w.domain.verifyingContract,
    };
    for (let i = 0; i < w.generators.length; i++) {
      const config = parseKeygenConfig({
        keygen: { signingKey: w.generators[i]!.privateKey },
        rollups: [R],
        committee: w.generators.map((g, j) => ({ address: g.address, url: keygenUrls[j] })),
        schedule: { lookahead: 2, startHeight: 0, tickMs: 50, aggregationTimeoutMs: 5_000 },
        solver: { enabled: true, revealTimeoutMs: 1_000 },
        rpc: { port: ports[i], rateLimit: { enabled: false } },
        storage: { path: path.join(dir, `keygen-${i}`) },
        l1: { rpcUrl: "http://127.0.0.1:1", contracts },
        timeouts: { peerRequestMs: 1_000, shutdownGraceMs: 100 },
        log: { level: "silent" },
      });
      keygens.push(await startKeygen(config, pino({ level: "silent" }), { runner: ethers.provider }));
    }
    // An endpoint that answers reveal_share with a made-up share in the second generator's name.
    const liarMethods = new MethodRegistry().register("reveal_share", {
      params: { seal: schemas.Seal, signature: z.string() },
      // It answers last, after the honest generators, so that it cannot simply be outrun.
      handler: async ({ seal }: { seal: Seal }) => {
        await new Promise((r) => setTimeout(r, 300));
        return {
          reveal: shareRevealToJson({
            round: { rollupId: seal.rollupId, height: seal.height },
            generator: w.generators[1]!.address,
            secretShare: randomScalar(),
            randomness: 1n,
          }),
        };
      },
    });
    liar = new RpcServer({
      methods: liarMethods,
      log: pino({ level: "silent" }),
      metricsRegistry: createRegistry({ processMetrics: false }),
      health: new Health(),
      maxBodyBytes: 1 << 20,
      maxBatchSize: 10,
      requestTimeoutMs: 10_000,
    });
    const liarUrl = (await liar.listen(0, "127.0.0.1")).url;
    for (let i = 0; i < 3; i++) {
      // The first generator and the liar are configured: the node learns the other URL from get_committee.
      await startMember(
        w,
        i,
        { keyGenerator: { url: keygenUrls[0], urls: [liarUrl], revealTimeoutMs: 1_000, secretWaitMs: 60_000 } },
        { roundKeySource: new RpcRoundKeySource(keygenUrls[0]!), roundSecretSource: undefined },
      );
    }
    for (const height of [0, 1]) {
      await until(`the round key of height ${height}`, () =>
        w.clients[0]!.call("get_encryption_key", { rollupId: R, height }),
      );
    }
  });
  after(async () => {
    await teardown(w);
    for (const k of keygens) await k?.stop();
    await liar?.close(100);
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("obtains the round secret from every generator's reveal against the seal (a false reveal beside them is ignored)", async () => {
    await w.clients[0]!.call(
      "send_encrypted_transaction",
      await provenSubmission(w.clients[0]!, 0, ethers.getBytes(await signedTx(0))),
    );
    const { block } = await finalize(0);
    expect(block.transactions.map((t) => t.status)).to.deep.equal(["valid"]);
    expect(await counter(w, 0, "veil_round_secret_seconds", { path: "reveals" })).to.be.greaterThan(0);
  });

  it("falls back to the committee's recovered secret (solver evidence) when a generator is down", async () => {
    await keygens[1]!.stop();
    keygens[1] = undefined;
    await w.clients[1]!.call(
      "send_encrypted_transaction",
      await provenSubmission(w.clients[1]!, 1, ethers.getBytes(await signedTx(1))),
    );
    const { block } = await finalize(1);
    expect(block.transactions.map((t) => t.status)).to.deep.equal(["valid"]);
    // Height 1 is led by member 1: its secret came through get_round_secret, not reveals.
    expect(await counter(w, 1, "veil_round_secret_seconds", { path: "round-secret" })).to.be.greaterThan(0);
    expect(await counter(w, 1, "veil_round_secret_seconds", { path: "reveals" })).to.equal(0);
    const follower = await until("the block on member 2", () =>
      w.clients[2]!.call("get_raw_transaction_list", { rollupId: R, height: "1" }),
    );
    expect((follower as BuiltBlockWire).commitmentHash).to.equal(block.commitmentHash);
  });
});

describe("round secret from candidate reveals", () => {
  const round = { rollupId: ROLLUP, height: 5n };
  const generators = [0, 1, 2].map((i) => `0x${String(i + 1).repeat(40)}`);
  const keyOf = (shares: readonly bigint[]): RoundKey =>
    ({
      round,
      publicKey: mulBase(shares.reduce((a, b) => a + b, 0n) % SUBGROUP_ORDER),
      generators: generators.slice(0, shares.length),
    }) as unknown as RoundKey;
  const reveal = (i: number, secretShare: bigint): ShareReveal => ({
    round,
    generator: generators[i]!,
    secretShare,
    randomness: 0n,
  });
  const scalar = fc.bigInt({ min: 1n, max: SUBGROUP_ORDER - 1n });

  it("finds the honest shares among false ones, whatever their order", () => {
    fc.assert(
      fc.property(
        fc.array(scalar, { minLength: 1, maxLength: 3 }),
        fc.array(fc.array(scalar, { maxLength: 2 }), { minLength: 3, maxLength: 3 }),
        fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
        (shares, lies, honestFirst) => {
          const candidates = new Map<string, ShareReveal[]>();
          shares.forEach((share, i) => {
            const liars = lies[i]!.map((l) => reveal(i, l));
            const honest = reveal(i, share);
            candidates.set(generators[i]!, honestFirst[i] ? [honest, ...liars] : [...liars, honest]);
          });
          const expected = shares.reduce((a, b) => a + b, 0n) % SUBGROUP_ORDER;
          expect(secretFromCandidates(keyOf(shares), candidates)).to.equal(expected);
        },
      ),
      { numRuns: 30 },
    );
  });

  it("gives nothing when a generator has no candidate or only false ones", () => {
    fc.assert(
      fc.property(fc.array(scalar, { minLength: 2, maxLength: 3 }), scalar, (shares, lie) => {
        const honest = new Map(shares.map((share, i) => [generators[i]!, [reveal(i, share)]]));
        const missing = new Map(honest);
        missing.delete(generators[1]!);
        expect(secretFromCandidates(keyOf(shares), missing)).to.equal(undefined);
        fc.pre(lie !== shares[1]);
        const lying = new Map(honest).set(generators[1]!, [reveal(1, lie)]);
        expect(secretFromCandidates(keyOf(shares), lying)).to.equal(undefined);
      }),
      { numRuns: 30 },
    );
  });
});
