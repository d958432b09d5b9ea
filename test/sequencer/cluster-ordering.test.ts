import { verifySealCertificate } from "../../sequencer/chain/certificate";
import { expect } from "chai";
import { keccak256 } from "ethers";
import { ethers } from "hardhat";
import { signMessage, isSignedBy, parseMessage, ClusterMessageKind } from "../../sequencer/chain/eip712";
import { hashLeaf, preAndPostAgree, verifyPreProof, verifyProof } from "../../sequencer/chain/merkle";
import {
  encryptionKeyResult,
  finalizeResult,
  orderReceipt,
  type EncryptedSubmissionJson,
  type OrderReceiptJson,
} from "../../sequencer/api/wire";
import { sealEnvelope } from "../../sequencer/node/cluster/envelope";
import { ContractChainView } from "../../sequencer/sdk/chain";
import { VeilClient } from "../../sequencer/sdk/client";
import { verifyEncryptionKey } from "../../sequencer/sdk/round-key";
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

describe("sequencer cluster: ordering, replication and the external API (3 nodes, loopback)", function () {
  this.timeout(300_000);
  let w: ClusterWorld;
  let subs: EncryptedSubmissionJson[];
  const receipts: OrderReceiptJson[] = [];

  before(async () => {
    w = await deployWorld([0, 1, 2]);
    for (let i = 0; i < 3; i++) await startMember(w, i);
    subs = [];
    for (let i = 0; i < 4; i++) subs.push(await provenSubmission(w.clients[0]!, 0, `transfer #${i} to bob`));
  });
  after(() => teardown(w));

  const verifyReceipt = (r: OrderReceiptJson, index: number): void => {
    const receipt = orderReceipt.parse(r);
    expect(receipt.commitment.txIndex).to.equal(index);
    expect(receipt.leader).to.equal(w.members[0]!.address); // leaderOf(cluster, 0, 0) = first member
    expect(
      isSignedBy(w.domain, "OrderCommitment", receipt.commitment, receipt.signature, w.members[0]!.address),
    ).to.equal(true);
    expect(
      verifyPreProof(receipt.commitment.preRoot, hashLeaf(receipt.commitment.encTxHash), index, receipt.preProof),
    ).to.equal(true);
  };

  it("the leader orders an encrypted transaction and every member holds it when the receipt arrives", async () => {
    const r = (await w.clients[0]!.call("send_encrypted_transaction", subs[0])) as OrderReceiptJson;
    verifyReceipt(r, 0);
    receipts.push(r);
    // Majority-durable at answer time: at least one follower already stored it.
    const held = await Promise.all(
      [1, 2].map((i) => w.nodes[i]!.store.getEntry(ROLLUP, 0, 0).then((e) => e !== undefined)),
    );
    expect(held.filter(Boolean).length).to.be.greaterThanOrEqual(1);
  });

  it("serves the round key with the signed contributions the SDK re-verifies it against", async () => {
    const raw = await w.clients[1]!.call("get_encryption_key", { rollupId: ROLLUP.toString(), height: "1" });
    const params = w.timelock;
    const committee = w.generators.map((g) => g.address);
    const key = await verifyEncryptionKey(raw, { rollupId: ROLLUP, height: 1n }, committee, params, w.domain);
    expect(key.publicKey).to.deep.equal(encryptionKeyResult.parse(raw).publicKey);
    // Without the contributions (what the node used to serve) the SDK cannot verify, so it refuses.
    const { contributions: _dropped, ...bare } = raw as Record<string, unknown>;
    let refused = false;
    await verifyEncryptionKey(bare, { rollupId: ROLLUP, height: 1n }, committee, params, w.domain).catch(() => {
      refused = true;
    });
    expect(refused).to.equal(true);
  });

  it("the SDK targets the highest height with a published round key, never beyond what the node accepts", async () => {
    const chain = await ContractChainView.connect(ethers.provider, {
      registry: await w.registry.getAddress(),
      validationServiceManager: w.domain.verifyingContract,
    });
    const client = (lookAhead: { blockTimeMs: number; initialProvingMs: number }) =>
      new VeilClient({ node: w.clients[1]!, chain, rollupId: ROLLUP, lookAhead });
    // A slow prover wants ~900 blocks ahead; keys exist for heights 0, 1 and 2 only.
    expect(await client({ blockTimeMs: 100, initialProvingMs: 60_000 }).targetHeight()).to.equal(2n);
    // A fast one wants the next height, whose key exists.
    expect(await client({ blockTimeMs: 1_000_000, initialProvingMs: 1 }).targetHeight()).to.equal(1n);
  });

  it("a follower forwards a write to the leader and relays its receipt; reads come from its replica", async () => {
    const r = (await w.clients[2]!.call("send_encrypted_transaction", subs[1])) as OrderReceiptJson;
    verifyReceipt(r, 1);
    receipts.push(r);
    // Acknowledged means stored on a majority: node 1 may be the member that stores it just after.
    const again = await until("node 1's replica of index 1", () =>
      w.clients[1]!.call("get_order_commitment", { rollupId: "7", height: "0", index: 1 }),
    );
    expect(again).to.deep.equal(r);
    const tx = (await w.clients[1]!.call("get_encrypted_transaction", { rollupId: "7", height: "0", index: 1 })) as {
      kind: string;
      submission: unknown;
    };
    expect(tx.kind).to.equal("encrypted");
    expect(tx.submission).to.deep.equal(subs[1]);
  });

  it("concurrent submissions get distinct consecutive indices (group commit)", async () => {
    const raws = Array.from({ length: 12 }, (_, i) => `0x${Buffer.from(`raw tx ${i}`).toString("hex")}`);
    const rs = (await Promise.all(
      raws.map((rawTx, i) => w.clients[i % 3]!.call("send_raw_transaction", { rollupId: "7", height: "0", rawTx })),
    )) as OrderReceiptJson[];
    const indices = rs.map((r) => r.commitment.txIndex).sort((a, b) => a - b);
    expect(indices).to.deep.equal(Array.from({ length: 12 }, (_, i) => i + 2));
    rs.forEach((r, i) => {
      expect(r.commitment.encTxHash).to.equal(keccak256(raws[i]!));
      verifyReceipt(r, r.commitment.txIndex);
    });
    receipts.push(...rs);
  });

  describe("bad input gets a clear JSON-RPC error and changes nothing", () => {
    let countBefore: number;
    beforeEach(async () => {
      countBefore = (await w.nodes[0]!.store.blockState(ROLLUP, 0)).count;
    });
    afterEach(async () => {
      expect((await w.nodes[0]!.store.blockState(ROLLUP, 0)).count).to.equal(countBefore);
    });

    it("duplicate ciphertext", () =>
      rejects(w.clients[1]!.call("send_encrypted_transaction", subs[0]), "DUPLICATE_CIPHERTEXT"));
    it("duplicate raw transaction", () =>
      rejects(
        w.clients[0]!.call("send_raw_transaction", { rollupId: "7", height: "0", rawTx: "0x726177207478203" + "0" }),
        "DUPLICATE_CIPHERTEXT",
      ));
    it("invalid proof (txCommitment changed)", () =>
      rejects(
        w.clients[0]!.call("send_encrypted_transaction", { ...subs[2]!, txCommitment: "12345" }),
        "INVALID_PROOF",
      ));
    it("proof for another height (the ciphertext moved to height 1)", () =>
      rejects(
        w.clients[0]!.call("send_encrypted_transaction", { ...subs[2]!, tx: { ...subs[2]!.tx, height: "1" } }),
        "INVALID_PROOF",
      ));
    it("a height without a published round key", () =>
      rejects(
        w.clients[0]!.call("send_encrypted_transaction", { ...subs[2]!, tx: { ...subs[2]!.tx, height: "5" } }),
        "WRONG_HEIGHT",
        /no round key/,
      ));
    it("a height beyond the look-ahead", () =>
      rejects(
        w.clients[0]!.call("send_raw_transaction", { rollupId: "7", height: "1000", rawTx: "0x01" }),
        "WRONG_HEIGHT",
        /at most 64 ahead/,
      ));
    it("unknown rollup", () =>
      rejects(
        w.clients[0]!.call("send_raw_transaction", { rollupId: "99", height: "0", rawTx: "0x01" }),
        "UNKNOWN_ROLLUP",
      ));
    it("wrong types and unknown fields", async () => {
      await rejects(
        w.clients[0]!.call("send_raw_transaction", { rollupId: 7, height: "x", rawTx: "0x01" }),
        "INVALID_PARAMS",
        /height/,
      );
      await rejects(
        w.clients[0]!.call("send_encrypted_transaction", { ...subs[2]!, extra: 1 }),
        "INVALID_PARAMS",
        /extra/,
      );
      await rejects(w.clients[0]!.call("get_block", { rollupId: "7" }), "INVALID_PARAMS", /height/);
    });
    it("an entry that does not exist", () =>
      rejects(w.clients[2]!.call("get_order_commitment", { rollupId: "7", height: "0", index: 999 }), "NOT_FOUND"));
    it("a POST proof before the height is sealed", () =>
      rejects(
        w.clients[0]!.call("get_post_merkle_proof", { rollupId: "7", height: "0", index: 0 }),
        "NOT_FOUND",
        /not sealed/,
      ));
    it("raw transaction list before the block is built", () =>
      rejects(
        w.clients[0]!.call("get_raw_transaction_list", { rollupId: "7", height: "0" }),
        "NOT_FOUND",
        /not built/,
      ));
  });

  describe("cluster RPC accepts signed messages of members only", () => {
    let payload: Record<string, unknown>;
    before(() => {
      payload = {
        rollupId: "7",
        height: 0,
        epoch: w.epoch,
        messages: [{ type: "replicate", view: 0, firstIndex: 0, entries: [] }],
      };
    });
    it("rejects a non-member", async () => {
      const env = await sealEnvelope(w.outsider, w.domain, w.clusterId, 0, ClusterMessageKind.Replica, payload);
      await rejects(w.clients[1]!.call("cluster_replica", env), "UNAUTHORIZED", /not a cluster member/);
    });
    it("rejects a payload that differs from the signed one", async () => {
      const env = await sealEnvelope(w.members[0]!, w.domain, w.clusterId, 0, ClusterMessageKind.Replica, payload);
      await rejects(
        w.clients[1]!.call("cluster_replica", { ...env, payload: { ...payload, height: 1 } }),
        "INVALID_SIGNATURE",
      );
    });
    it("rejects a signature by someone else than the sender", async () => {
      const env = await sealEnvelope(w.members[0]!, w.domain, w.clusterId, 0, ClusterMessageKind.Replica, payload);
      const other = await sealEnvelope(w.members[2]!, w.domain, w.clusterId, 0, ClusterMessageKind.Replica, payload);
      await rejects(w.clients[1]!.call("cluster_replica", { ...env, signature: other.signature }), "INVALID_SIGNATURE");
    });
    it("rejects another kind of cluster message, and a malformed packet", async () => {
      const env = await sealEnvelope(w.members[0]!, w.domain, w.clusterId, 0, ClusterMessageKind.BlockBuilt, payload);
      await rejects(w.clients[1]!.call("cluster_replica", env), "UNAUTHORIZED", /kind/);
      const bad = await sealEnvelope(w.members[0]!, w.domain, w.clusterId, 0, ClusterMessageKind.Replica, {
        ...payload,
        messages: [],
      });
      await rejects(w.clients[1]!.call("cluster_replica", bad), "INVALID_PARAMS", /messages/);
    });
    it("takes nothing from a member that does not lead the height's view", async () => {
      // Once the follower holds the leader's whole log (it may still be catching up from earlier tests).
      const leaderCount = (await w.nodes[0]!.store.blockState(ROLLUP, 0)).count;
      for (let i = 0; i < 50 && (await w.nodes[1]!.store.blockState(ROLLUP, 0)).count < leaderCount; i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
      const before = (await w.nodes[1]!.store.blockState(ROLLUP, 0)).count;
      expect(before).to.equal(leaderCount);
      // Member 2 replays the leader's own entries as if it led view 0: the replica drops them unheard.
      const leaderEntries = await w.nodes[0]!.store.getEntries(ROLLUP, 0);
      const forged = { ...payload, messages: [{ type: "replicate", view: 0, firstIndex: 0, entries: leaderEntries }] };
      const env = await sealEnvelope(w.members[2]!, w.domain, w.clusterId, 0, ClusterMessageKind.Replica, forged);
      await w.clients[1]!.call("cluster_replica", env);
      await new Promise((r) => setTimeout(r, 200));
      expect((await w.nodes[1]!.store.blockState(ROLLUP, 0)).count).to.equal(before);
    });
  });

  it("a majority suffices: with one follower down the leader still commits; the follower catches up", async () => {
    await stopMember(w, 2);
    const r = (await w.clients[0]!.call("send_raw_transaction", {
      rollupId: "7",
      height: "0",
      rawTx: "0xdeadbeef01",
    })) as OrderReceiptJson;
    receipts.push(r);
    await startMember(w, 2);
    const r2 = (await w.clients[0]!.call("send_raw_transaction", {
      rollupId: "7",
      height: "0",
      rawTx: "0xdeadbeef02",
    })) as OrderReceiptJson;
    receipts.push(r2);
    // The restarted follower received what it missed before the new entry (pushed by the leader).
    for (let tries = 0; tries < 50; tries++) {
      if ((await w.nodes[2]!.store.blockState(ROLLUP, 0)).count === r2.commitment.txIndex + 1) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    expect((await w.nodes[2]!.store.blockState(ROLLUP, 0)).count).to.equal(r2.commitment.txIndex + 1);
  });

  it("without a majority no receipt is returned", async () => {
    await stopMember(w, 1);
    await stopMember(w, 2);
    await rejects(
      w.clients[0]!.call("send_raw_transaction", { rollupId: "7", height: "0", rawTx: "0xdeadbeef03" }),
      "UNAVAILABLE",
      /majority/,
    );
    await startMember(w, 1);
    await startMember(w, 2);
  });

  describe("finalize_block", () => {
    const request = (deadline = BigInt(Math.floor(Date.now() / 1000) + 600)) => ({
      rollupId: ROLLUP,
      height: 0n,
      deadline,
    });
    const call = async (signer: ClusterWorld["executor"], req = request()) => ({
      request: { rollupId: "7", height: req.height.toString(), deadline: req.deadline.toString() },
      signature: await signMessage(signer, w.domain, "FinalizeRequest", req),
    });

    it("refuses a signer that is not an executor of the rollup", async () =>
      rejects(w.clients[0]!.call("finalize_block", await call(w.outsider)), "UNAUTHORIZED", /not an executor/));
    it("refuses an expired request", async () =>
      rejects(w.clients[0]!.call("finalize_block", await call(w.executor, request(1n))), "UNAUTHORIZED", /expired/));

    it("seals the height on a majority (sent to a follower), after which it takes no more writes", async () => {
      const { seal } = finalizeResult.parse(await w.clients[1]!.call("finalize_block", await call(w.executor)));
      const parsed = parseMessage("Seal", seal.seal);
      const count = (await w.nodes[0]!.store.blockState(ROLLUP, 0)).count;
      expect(parsed.txCount).to.equal(count);
      // Certified: the leader and at least one follower signed this very seal in view 0.
      const signers = verifySealCertificate(
        w.domain,
        seal,
        w.members.map((m) => m.address),
      );
      expect(signers).to.include(w.members[0]!.address);
      await rejects(
        w.clients[0]!.call("send_raw_transaction", { rollupId: "7", height: "0", rawTx: "0xdeadbeef04" }),
        "HEIGHT_SEALED",
      );
      const height = (await w.clients[2]!.call("get_block_height", { rollupId: "7" })) as { openHeight: string };
      expect(height.openHeight).to.equal("1");
      // Every receipt ever returned is in the sealed tree at its index, with PRE and POST proofs agreeing.
      for (const r of receipts) {
        const post = (await w.clients[2]!.call("get_post_merkle_proof", {
          rollupId: "7",
          height: "0",
          index: r.commitment.txIndex,
        })) as { leafHash: string; encRoot: string; proof: string[] };
        expect(post.encRoot).to.equal(parsed.encRoot);
        expect(post.leafHash).to.equal(hashLeaf(r.commitment.encTxHash));
        expect(verifyProof(parsed.encRoot, post.leafHash, r.commitment.txIndex, post.proof)).to.equal(true);
        expect(preAndPostAgree(r.commitment.txIndex, r.preProof, post.proof)).to.equal(true);
      }
    });
  });
});
