/**
 * Validators against a deployed VSM on Hardhat's in-process chain (4 staked operators, quorum 66.67%):
 * tasks created by the registry's leader with a signed BlockCommitment; entries served over JSON-RPC in
 * the node's wire format (real encryptions, real tree); round secrets from real key-generator reveals.
 */
import { expect } from "chai";
import { mine } from "@nomicfoundation/hardhat-network-helpers";
import { ethers } from "hardhat";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { getBytes, parseEther, Wallet } from "ethers";
import { z } from "zod";
import { buildBlock, type SealedEntry } from "../../sequencer/block";
import { structHash, type BlockCommitment } from "../../sequencer/chain/eip712";
import { blockHeight, encryptTransaction, rollupId, type EncryptionResult } from "../../sequencer/crypto/encryption";
import {
  aggregateRoundKey,
  createContribution,
  revealShare,
  roundKeyToJson,
  secretFromReveals,
  type RoundKey,
} from "../../sequencer/crypto/roundkey";
import { loadBigMath } from "../../sequencer/crypto/timelock/bigmath";
import { setupTimelock, type TimelockParams } from "../../sequencer/crypto/timelock/params";
import { generateTestOnlyModulus } from "../../sequencer/crypto/timelock/test-modulus";
import { roundSecretToJson } from "../../sequencer/keygen/round-secret";
import { Health } from "../../sequencer/common/health";
import { createRegistry } from "../../sequencer/common/metrics";
import { RpcClient } from "../../sequencer/rpc/client";
import { veilError } from "../../sequencer/rpc/errors";
import { MethodRegistry } from "../../sequencer/rpc/registry";
import { RpcServer } from "../../sequencer/rpc/server";
import { Validator } from "../../sequencer/validator/validator";
import { forcedSubmission, InboxReader } from "../../sequencer/chain/inbox";
import { mulBase, randomScalar, type Point } from "../../sequencer/crypto/babyjub";
import { proveTxValidity } from "../../sequencer/zk/prover";
import { VoteStore } from "../../sequencer/validator/votes";
import { ROLLUP_ID, createTask, leaderSigner, world, type World } from "../contracts/fixture";
import { ContractChainView } from "../../sequencer/sdk/chain";
import { forcedVerdict } from "../../sequencer/sdk/force";

const silent = pino({ level: "silent" });
const PENDING = 1n;
const VALIDATED = 2n;
const REJECTED = 3n;

interface Round {
  key: RoundKey;
  secretKey: bigint;
  secretJson: ReturnType<typeof roundSecretToJson>;
  entries: SealedEntry[];
  wire: unknown[];
}

const u = (v: bigint): string => v.toString();

function wireOf(r: EncryptionResult): unknown {
  const t = r.encrypted;
  return {
    kind: "encrypted",
    submission: {
      tx: {
        rollupId: u(t.rollupId),
        height: u(t.height),
        ephemeralKey: [u(t.ephemeralKey[0]), u(t.ephemeralKey[1])],
        nonce: u(t.nonce),
        ciphertext: t.ciphertext.map(u),
      },
      txCommitment: u(r.txCommitment),
      // The node stores the submission's proof; block building does not look at it.
      proof: {
        pi_a: ["1", "2", "1"],
        pi_b: [
          ["1", "0"],
          ["2", "0"],
          ["1", "0"],
        ],
        pi_c: ["1", "2", "1"],
        protocol: "groth16",
        curve: "bn128",
      },
    },
  };
}

async function serve(methods: MethodRegistry): Promise<{ server: RpcServer; url: string }> {
  const server = new RpcServer({
    methods,
    log: silent,
    metricsRegistry: createRegistry({ processMetrics: false }),
    health: new Health(),
    maxBodyBytes: 4_000_000,
    maxBatchSize: 1_000,
    requestTimeoutMs: 10_000,
  });
  const { url } = await server.listen(0, "127.0.0.1");
  return { server, url };
}

describe("validators", function () {
  this.timeout(300_000);
  let w: World;
  let params: TimelockParams;
  const rounds = new Map<bigint, Round>();
  const servers: RpcServer[] = [];
  let validators: Validator[];
  let tmp: string;
  const sender = new Wallet(`0x${"33".repeat(32)}`);

  async function makeRound(height: bigint): Promise<Round> {
    const made = [];
    for (const g of w.keyGenerators) made.push(await createContribution(params, { rollupId: ROLLUP_ID, height }, g));
    const { key } = await aggregateRoundKey(
      params,
      { rollupId: ROLLUP_ID, height },
      made.map((m) => m.contribution),
    );
    const reveals = made.map((m) => revealShare(m.contribution, m.secret));
    const secretKey = secretFromReveals(key, reveals);
    const entries: SealedEntry[] = [];
    const wire: unknown[] = [];
    for (let i = 0; i < 5; i++) {
      const raw = await sender.signTransaction({
        type: 2,
        chainId: ROLLUP_ID,
        nonce: Number(height) * 10 + i,
        to: `0x${"44".repeat(20)}`,
        value: parseEther("0.001"),
        gasLimit: 21_000n,
        maxFeePerGas: 10n ** 9n,
        maxPriorityFeePerGas: 10n ** 9n,
      });
      if (i === 2) {
        entries.push({ kind: "raw", rawTx: raw });
        wire.push({ kind: "raw", rawTx: raw });
        continue;
      }
      // Slot 3 carries garbage: it must stay, marked invalid, in both roots.
      const bytes = i === 3 ? new Uint8Array([1, 2, 3, 4]) : getBytes(raw);
      const r = encryptTransaction(bytes, {
        rollupId: rollupId(ROLLUP_ID),
        height: blockHeight(height),
        roundKey: key.publicKey,
      });
      entries.push({ kind: "encrypted", tx: r.encrypted, txCommitment: r.txCommitment });
      wire.push(wireOf(r));
    }
    const round = {
      key,
      secretKey,
      secretJson: roundSecretToJson({ secretKey, evidence: { kind: "reveals", reveals } }),
      entries,
      wire,
    };
    rounds.set(height, round);
    return round;
  }

  const roundOf = (height: bigint): Round => {
    const r = rounds.get(height);
    if (r === undefined) throw veilError.notFound(`height ${height}`);
    return r;
  };

  /** The honest block of `height`, with the forced entries due at `inboxBlock` (none by default). */
  async function honestCommitment(height: bigint, inboxBlock = 0n): Promise<BlockCommitment> {
    const r = roundOf(height);
    const block = await buildBlock({
      rollupId: ROLLUP_ID,
      height,
      entries: r.entries,
      forced: { inboxBlock, entries: await new InboxReader(w.inbox).dueAt(ROLLUP_ID, height, inboxBlock) },
      roundKey: r.key.publicKey,
      secretKey: r.secretKey,
      viewNumber: 0,
      chainId: ROLLUP_ID,
    });
    expect(block.slots.slice(0, 5).map((s) => s.status)).to.deep.equal(["valid", "valid", "valid", "invalid", "valid"]);
    return block.commitment;
  }

  const pollAll = async (): Promise<void> => {
    for (const v of validators) await v.poll();
  };

  before(async () => {
    w = await world();
    params = await setupTimelock({ N: generateTestOnlyModulus(await loadBigMath(), 1024).N, T: 64 });
    tmp = mkdtempSync(path.join(os.tmpdir(), "veil-validator-"));

    const ref = { rollupId: z.string(), height: z.string() };
    const node = new MethodRegistry()
      .register("get_block", {
        params: ref,
        handler: ({ rollupId: id, height }) => {
          const r = roundOf(BigInt(height));
          return { rollupId: id, height, status: "sealed", txCount: r.entries.length, encRoot: `0x${"00".repeat(32)}` };
        },
      })
      .register("get_encrypted_transaction", {
        params: { ...ref, index: z.number().int() },
        handler: ({ height, index }) => {
          const e = roundOf(BigInt(height)).wire[index];
          if (e === undefined) throw veilError.notFound(`index ${index}`);
          return e;
        },
      })
      .register("get_encryption_key", {
        params: ref,
        handler: ({ rollupId: id, height }) => {
          const r = roundOf(BigInt(height));
          // The validator reads only the public key; the contributions are there for clients to re-verify it.
          return {
            rollupId: id,
            height,
            publicKey: r.key.publicKey.map(u),
            roundKey: roundKeyToJson(r.key),
            contributions: [],
          };
        },
      });
    const keygen = new MethodRegistry().register("get_round_secret", {
      params: ref,
      handler: ({ height }) => {
        const r = roundOf(BigInt(height));
        return { roundKey: roundKeyToJson(r.key), ...r.secretJson };
      },
    });
    const nodeServer = await serve(node);
    const keygenServer = await serve(keygen);
    servers.push(nodeServer.server, keygenServer.server);

    const methods = w.operators.map(() => new MethodRegistry());
    const urls: string[] = [];
    for (const m of methods) {
      const s = await serve(m);
      servers.push(s.server);
      urls.push(s.url);
    }
    const fromBlock = await w.vsm.runner!.provider!.getBlockNumber();
    validators = w.operators.map((op, i) => {
      const v = new Validator({
        signer: op,
        vsm: w.vsm.connect(op),
        domain: w.domain,
        node: new RpcClient(nodeServer.url),
        keyGenerators: [new RpcClient(keygenServer.url)],
        peers: urls.filter((_, j) => j !== i).map((url) => new RpcClient(url)),
        chainIds: new Map([[ROLLUP_ID, ROLLUP_ID]]),
        inbox: new InboxReader(w.inbox),
        votes: new VoteStore(path.join(tmp, `votes-${i}.jsonl`)),
        log: silent,
        metrics: createRegistry({ processMetrics: false }),
        fromBlock,
      });
      v.registerMethods(methods[i]!);
      return v;
    });
  });

  after(async () => {
    await Promise.all(servers.map((s) => s.close(100)));
    rmSync(tmp, { recursive: true, force: true });
  });

  it("approves an honest block commitment and the aggregate reaches quorum on-chain", async () => {
    await makeRound(40n);
    const taskId = await createTask(w, await honestCommitment(40n));
    expect((await w.vsm.getTask(taskId)).status).to.equal(PENDING);
    await pollAll();
    expect((await w.vsm.getTask(taskId)).status).to.equal(VALIDATED);
    const commitment = await honestCommitment(40n);
    const forged = { taskId, leader: "", viewNumber: 0, commitmentHash: taskId, commitment };
    expect(await validators[0]!.check(forged)).to.have.property("approve", false);
    // A commitment of another view than the task's (its certificate's) is no commitment of that task.
    const otherView = { ...forged, viewNumber: 1, commitmentHash: structHash("BlockCommitment", commitment) };
    expect(await validators[0]!.check(otherView)).to.deep.equal({
      approve: false,
      reason: "the commitment names view 0, the task's view is 1",
    });
  });

  it("rejects a commitment whose rawRoot was not built from the released key", async () => {
    await makeRound(41n);
    const honest = await honestCommitment(41n);
    const taskId = await createTask(w, { ...honest, rawRoot: honest.encRoot });
    await pollAll();
    expect((await w.vsm.getTask(taskId)).status).to.equal(REJECTED);
  });

  it("rejects a commitment whose encRoot differs from the sealed entries", async () => {
    await makeRound(42n);
    const honest = await honestCommitment(42n);
    const taskId = await createTask(w, { ...honest, encRoot: honest.rawRoot });
    await pollAll();
    expect((await w.vsm.getTask(taskId)).status).to.equal(REJECTED);
  });

  it("rejects a commitment with another txCount", async () => {
    await makeRound(43n);
    const honest = await honestCommitment(43n);
    const taskId = await createTask(w, { ...honest, txCount: honest.txCount - 1 });
    await pollAll();
    expect((await w.vsm.getTask(taskId)).status).to.equal(REJECTED);
  });

  /** The block of height 47 that left its due entry out, for the last test to slash. */
  let omission: { cut: bigint } | undefined;

  describe("forced-inclusion entries", () => {
    /** A transfer of `nonce` for `height`, encrypted to `roundKey` and proven: an inbox submission. */
    async function proven(height: bigint, nonce: number, roundKey = roundOf(height).key.publicKey) {
      const raw = await sender.signTransaction({
        type: 2,
        chainId: ROLLUP_ID,
        nonce,
        to: `0x${"55".repeat(20)}`,
        value: parseEther("0.001"),
        gasLimit: 21_000n,
        maxFeePerGas: 10n ** 9n,
        maxPriorityFeePerGas: 10n ** 9n,
      });
      const enc = encryptTransaction(getBytes(raw), {
        rollupId: rollupId(ROLLUP_ID),
        height: blockHeight(height),
        roundKey,
      });
      const { proof } = await proveTxValidity(enc);
      return forcedSubmission({ tx: enc.encrypted, txCommitment: enc.txCommitment, roundKey, proof });
    }

    /** Posts `submission` to the inbox with its fee; the L1 block it landed in. */
    async function post(submission: Awaited<ReturnType<typeof proven>>): Promise<bigint> {
      const fee = await w.inbox.submissionFee();
      const receipt = await (await w.inbox.connect(w.outsider).submit(submission, { value: fee })).wait();
      return BigInt(receipt!.blockNumber);
    }

    /** Posts a transfer of `nonce` for `height` to the inbox, proven against `roundKey`; its L1 block. */
    const force = async (height: bigint, nonce: number, roundKey?: Point): Promise<bigint> =>
      post(await proven(height, nonce, roundKey));

    it("approves a block holding the due entries after its sealed ones, one of them skipped for its wrong key", async () => {
      await makeRound(46n);
      await force(46n, 900);
      const cut = await force(46n, 901, mulBase(randomScalar()));
      await force(46n, 902); // posted after the cut: not due
      const honest = await honestCommitment(46n, cut);
      expect(honest).to.include({ txCount: 5, inboxBlock: cut, forcedCount: 2 });
      const taskId = await createTask(w, honest);
      await pollAll();
      expect((await w.vsm.getTask(taskId)).status).to.equal(VALIDATED);
    });

    it("rejects a block that leaves a due entry out, or counts one posted after its cut", async () => {
      await makeRound(47n);
      const cut = await force(47n, 910);
      omission = { cut };
      await force(47n, 911);
      const honest = await honestCommitment(47n, cut);
      expect(honest.forcedCount).to.equal(1);
      const omitting = { ...honest, forcedCount: 0, rawRoot: (await honestCommitment(47n, 0n)).rawRoot };
      const taskId = await createTask(w, omitting);
      const task = { taskId, leader: "", viewNumber: 0, commitmentHash: structHash("BlockCommitment", omitting) };
      expect(await validators[0]!.check({ ...task, commitment: omitting })).to.deep.equal({
        approve: false,
        reason: `forcedCount 0, 1 entries due at inbox block ${cut}`,
      });
      await pollAll();
      expect((await w.vsm.getTask(taskId)).status).to.equal(REJECTED);
      // Counting the later entry (posted after the cut) is refused the same way.
      const padded = { ...honest, forcedCount: 2 };
      expect(
        await validators[0]!.check({
          ...task,
          commitmentHash: structHash("BlockCommitment", padded),
          commitment: padded,
        }),
      ).to.deep.equal({ approve: false, reason: `forcedCount 2, 1 entries due at inbox block ${cut}` });
    });

    it("builds and validates a block with 100 forced entries due at its height", async () => {
      await makeRound(48n);
      // Ten proven transfers posted ten times each: the inbox takes copies (each pays its fee) and the block
      // gives every copy its slot, decrypted like the others (the rollup refuses the repeats by nonce). Proving
      // a hundred distinct transfers would take minutes here; the block, the reader and the validators do the
      // same work for a copy as for an original.
      const submissions = [];
      for (let i = 0; i < 10; i++) submissions.push(await proven(48n, 920 + i));
      let cut = 0n;
      for (let copy = 0; copy < 10; copy++) for (const s of submissions) cut = await post(s);
      await mine(); // the cut must be in the past
      expect(await w.inbox.entryCount(ROLLUP_ID, 48n)).to.equal(100n);
      const honest = await honestCommitment(48n, cut);
      expect(honest).to.include({ txCount: 5, inboxBlock: cut, forcedCount: 100 });
      const taskId = await createTask(w, honest);
      await pollAll();
      expect((await w.vsm.getTask(taskId)).status).to.equal(VALIDATED);
    });

    // Last of the file (mocha runs a suite's own tests before its nested suites'): it takes a member's bond,
    // which ends its seat in the leader schedule.
    it("slashes the signer of the block that left a due entry out, with the signature read back from L1", async () => {
      if (omission === undefined) throw new Error("the omission test did not run");
      const { cut } = omission;
      const chain = await ContractChainView.connect(ethers.provider, {
        registry: await w.registry.getAddress(),
        validationServiceManager: await w.vsm.getAddress(),
      });
      const verdict = forcedVerdict({ postedBlock: cut, index: 0 }, await chain.committedBlock(ROLLUP_ID, 47n));
      if (verdict.status !== "omitted") throw new Error(`expected an omission, got ${verdict.status}`);
      expect((await w.vsm.getTask(await w.vsm.taskIdOf(ROLLUP_ID, 47n))).status).to.equal(REJECTED);
      const leader = leaderSigner(w, 47n);
      const { revealFrom } = await chain.claimForcedInclusionOmission(
        w.outsider,
        verdict.block.commitment,
        verdict.block.signature!,
      );
      await mine(Math.max(0, revealFrom - 1 - (await ethers.provider.getBlockNumber())));
      await (
        await chain.slashForcedInclusionOmission(w.outsider, verdict.block.commitment, verdict.block.signature!)
      ).wait();
      expect((await w.registry.memberInfo(w.clusterId, leader.address)).bond).to.equal(0n);
    });
  });

  it("votes again on a rejected task replaced by a later view's, and the replacement is validated", async () => {
    await makeRound(45n);
    const honest = await honestCommitment(45n);
    const taskId = await createTask(w, { ...honest, rawRoot: honest.encRoot });
    await pollAll();
    expect((await w.vsm.getTask(taskId)).status).to.equal(REJECTED);
    // The leader of view 1 took the height over and posts the honest block with its own certificate.
    await createTask(w, { ...honest, viewNumber: 1 });
    expect((await w.vsm.getTask(taskId)).status).to.equal(PENDING);
    await pollAll();
    expect((await w.vsm.getTask(taskId)).status).to.equal(VALIDATED);
  });

  it("never votes twice on a task: the recorded vote survives a restart and wins over a new answer", async () => {
    const file = path.join(tmp, "votes-0.jsonl");
    const taskId = (await w.vsm.taskIdOf(ROLLUP_ID, 41n)).toLowerCase();
    const first = new VoteStore(file).get(taskId);
    expect(first).to.include({ approve: false });
    const reopened = new VoteStore(file);
    const again = reopened.record({
      ...first!,
      approve: true,
      signature: `0x${"ab".repeat(65)}`,
      reason: "changed my mind",
    });
    expect(again).to.deep.equal(first);
    expect(new VoteStore(file).get(taskId)).to.deep.equal(first);
  });

  it("leaves a task unvoted while the round secret is not released, and votes once it is", async () => {
    await makeRound(44n);
    const honest = await honestCommitment(44n);
    const saved = rounds.get(44n)!;
    rounds.set(44n, { ...saved, secretJson: { ...saved.secretJson, secretKey: "0x01" } });
    const taskId = await createTask(w, honest);
    await pollAll();
    expect((await w.vsm.getTask(taskId)).status).to.equal(PENDING);
    rounds.set(44n, saved);
    await pollAll();
    expect((await w.vsm.getTask(taskId)).status).to.equal(VALIDATED);
  });
});
