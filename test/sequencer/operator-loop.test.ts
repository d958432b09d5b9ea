import { expect } from "chai";
import { ethers } from "hardhat";
import type { Wallet } from "ethers";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { finalizeParams, uint64, type FinalizeResultWire } from "../../sequencer/api/wire";
import { recoverSigner } from "../../sequencer/chain/eip712";
import { Health } from "../../sequencer/common/health";
import { createRegistry } from "../../sequencer/common/metrics";
import { L2, prepareL2 } from "../../sequencer/operator/l2";
import { createOperatorMetrics } from "../../sequencer/operator/metrics";
import { Operator } from "../../sequencer/operator/operator";
import { SequencerClient } from "../../sequencer/operator/sequencer-client";
import { registryClusterMembers } from "../../sequencer/operator/start";
import { readState, writeState } from "../../sequencer/operator/state";
import { InvalidFinalizeAnswer } from "../../sequencer/operator/verify";
import { veilError } from "../../sequencer/rpc/errors";
import { MethodRegistry } from "../../sequencer/rpc/registry";
import { RpcServer } from "../../sequencer/rpc/server";
import { freePort } from "../../scripts/devnet/net";
import { devAccounts, signedTransfer, slotsOf, startHardhatNode, type HardhatChild } from "./operator-fixture";
import { OPERATOR_ROLLUP, deployOperatorWorld, signedAnswer, type OperatorWorld } from "./operator-world";

/**
 * The operator's loop against a real L2 and real L1 schedule. The cluster's side is a JSON-RPC server
 * that checks the executor's FinalizeRequest signature and answers blocks signed as the leader signs
 * them (the in-process cluster runs the same answer once the block pipeline serves it).
 */
describe("rollup operator: the loop (finalize, verify, execute, persist, resume)", function () {
  this.timeout(180_000);
  let w: OperatorWorld;
  let node: HardhatChild;
  let l2: L2;
  let server: RpcServer;
  let url: string;
  let dir: string;
  const blocks = new Map<bigint, () => Promise<FinalizeResultWire>>();
  const calls: bigint[] = [];
  const [alice, bob] = devAccounts(2);

  before(async () => {
    [w, node] = await Promise.all([deployOperatorWorld(), startHardhatNode("l2")]);
    l2 = new L2(node.url);
    await prepareL2(l2);
    dir = mkdtempSync(path.join(os.tmpdir(), "veil-operator-loop-"));
    const methods = new MethodRegistry();
    methods.register("finalize_block", {
      params: finalizeParams,
      handler: async ({ request, signature }) => {
        if (recoverSigner(w.domain, "FinalizeRequest", request, signature) !== w.executor.address) {
          throw veilError.unauthorized("not the executor");
        }
        calls.push(request.height);
        const make = blocks.get(request.height);
        if (make === undefined) throw veilError.notFound(`height ${request.height}`);
        return make();
      },
    });
    methods.register("get_block_height", {
      params: { rollupId: uint64 },
      handler: () => ({ rollupId: OPERATOR_ROLLUP.toString(), openHeight: "3", maxHeight: "7" }),
    });
    const log = pino({ level: "silent" });
    server = new RpcServer({
      methods,
      log,
      metricsRegistry: createRegistry({ processMetrics: false }),
      health: new Health(),
      maxBodyBytes: 1 << 20,
      maxBatchSize: 4,
      requestTimeoutMs: 10_000,
    });
    url = (await server.listen(0, "127.0.0.1")).url;
  });
  after(async () => {
    await server?.close(100);
    await node?.process.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  const makeOperator = async (stateFile: string, urls: string[] = [url]) => {
    const metricsRegistry = createRegistry({ processMetrics: false });
    const metrics = createOperatorMetrics(metricsRegistry);
    const log = pino({ level: "silent" });
    const operator = new Operator({
      rollupId: OPERATOR_ROLLUP,
      stateFile,
      blockTimeMs: 100,
      retryDelayMs: 50,
      requestDeadlineSeconds: 60,
      sequencer: new SequencerClient(urls, w.executor, w.domain, 5_000, log),
      l2,
      domain: w.domain,
      cluster: registryClusterMembers(ethers.provider, await w.registry.getAddress()),
      metrics,
      log,
    });
    await operator.init();
    return { operator, metrics };
  };
  const counter = async (m: { get(): Promise<{ values: { value: number }[] }> }) =>
    (await m.get()).values[0]?.value ?? 0;

  it("starts at the cluster's open height and executes one L2 block per height, empty ones included", async () => {
    const raws = [await signedTransfer(alice!, 0), null, await signedTransfer(bob!, 0)];
    const slots3 = slotsOf(raws);
    blocks.set(3n, () => signedAnswer(w, 3n, slots3));
    blocks.set(4n, () => signedAnswer(w, 4n, []));
    const file = path.join(dir, "a", "state.json");
    const { operator, metrics } = await makeOperator(file);
    expect(operator.current!.nextHeight).to.equal(3n);
    const head = await l2.head();
    const r3 = await operator.step();
    expect(r3.execution.l2Block).to.equal(head + 1);
    expect(r3.invalid).to.equal(1);
    expect((await l2.block(head + 1))!.transactions).to.deep.equal(r3.execution.accepted);
    const r4 = await operator.step();
    expect(r4.execution.l2Block).to.equal(head + 2);
    expect((await l2.block(head + 2))!.transactions).to.deep.equal([]);
    expect(readState(file)).to.deep.include({ nextHeight: 5n });
    expect(await counter(metrics.blocksExecuted)).to.equal(2);
    expect(await counter(metrics.txsExecuted)).to.equal(2);
    expect(await counter(metrics.txsInvalid)).to.equal(1);

    // A restart resumes from the state file, not from the cluster's open height.
    const again = await makeOperator(file);
    expect(again.operator.current!.nextHeight).to.equal(5n);
  });

  it("never executes an answer that fails verification, and retries the same height", async () => {
    const notLeader = async (): Promise<Wallet> => {
      const { leader } = await w.registry.leaderOfRollup(OPERATOR_ROLLUP, 5n, 0);
      return w.members.find((m) => m.address !== leader)!;
    };
    const slots = slotsOf([await signedTransfer(alice!, 1)]);
    blocks.set(5n, async () => signedAnswer(w, 5n, slots, { signer: await notLeader() }));
    const file = path.join(dir, "a", "state.json");
    const { operator, metrics } = await makeOperator(file);
    const head = await l2.head();
    let error: unknown;
    try {
      await operator.step();
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(InvalidFinalizeAnswer);
    expect(await counter(metrics.rejectedAnswers)).to.equal(1);
    expect(await l2.head()).to.equal(head);
    expect(await l2.pendingTransactions()).to.deep.equal([]);
    expect(readState(file)!.nextHeight).to.equal(5n);
    blocks.set(5n, () => signedAnswer(w, 5n, slots)); // the honest answer on the retry
    expect((await operator.step()).height).to.equal(5n);
    expect(readState(file)!.nextHeight).to.equal(6n);
  });

  it("after a crash between mining and saving, finalizes again but does not execute twice", async () => {
    const slots = slotsOf([await signedTransfer(bob!, 1)]);
    blocks.set(6n, () => signedAnswer(w, 6n, slots));
    const file = path.join(dir, "a", "state.json");
    const before = readState(file)!;
    const { operator } = await makeOperator(file);
    const head = await l2.head();
    await operator.step();
    // What the file held when the process died: height 6 in flight, its L2 block already mined.
    writeState(file, { ...before, inFlight: { height: 6n, l2HeadBefore: head } });
    const restarted = await makeOperator(file);
    const report = await restarted.operator.step();
    expect(report.execution.recovered).to.equal(true);
    expect(report.execution.l2Block).to.equal(head + 1);
    expect(await l2.head()).to.equal(head + 1);
    expect(readState(file)!.nextHeight).to.equal(7n);
    expect(readState(file)!.inFlight).to.equal(undefined);
  });

  it("moves to the next sequencer node when one does not answer", async () => {
    blocks.set(7n, () => signedAnswer(w, 7n, []));
    const dead = `http://127.0.0.1:${await freePort()}`;
    const { operator } = await makeOperator(path.join(dir, "a", "state.json"), [dead, url]);
    calls.length = 0;
    expect((await operator.step()).height).to.equal(7n);
    expect(calls).to.deep.equal([7n]);
  });

  it("runs every block time until stopped, counting order mismatches loudly", async () => {
    for (const h of [8n, 9n, 10n, 11n]) blocks.set(h, () => signedAnswer(w, h, []));
    const file = path.join(dir, "a", "state.json");
    const { operator, metrics } = await makeOperator(file);
    // A transaction sent to the L2 around the operator lands in the next block: a mismatch.
    await l2.rpc.call("eth_sendRawTransaction", [await signedTransfer(alice!, 2)]);
    const running = operator.run();
    const deadline = Date.now() + 20_000;
    while (readState(file)!.nextHeight < 11n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    operator.stop();
    await running;
    expect(readState(file)!.nextHeight >= 11n).to.equal(true);
    expect(await counter(metrics.orderMismatches)).to.equal(1);
    expect(operator.status()).to.deep.include({ orderMismatches: 1 });
  });
});
