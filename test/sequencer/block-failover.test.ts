import { certifyView, viewCertificateToJson } from "../../sequencer/chain/certificate";
import { expect } from "chai";
import { Wallet, keccak256 } from "ethers";
import { finalizeResult, orderReceipt, type FinalizeResultJson } from "../../sequencer/api/wire";
import { signMessage } from "../../sequencer/chain/eip712";
import { ValidationServiceManager__factory } from "../../typechain-types";
import { NodeStore } from "../../sequencer/node/storage/store";
import { signedTransfer } from "./operator-fixture";
import {
  ROLLUP,
  deployWorld,
  sendReplica,
  startMember,
  stopMember,
  teardown,
  until,
  type ClusterWorld,
} from "./cluster-harness";

/** Fast failover: heartbeats every 100 ms, a silent leader is replaced after 600-900 ms. */
const FAST = { timeouts: { peerRequestMs: 8_000, heartbeatIntervalMs: 100, leaderTimeoutMs: 600 } };
const R = ROLLUP.toString();

/** `count` valid signed transfers of one fresh sender, nonces 0, 1, ... (chain id unchecked by these nodes). */
function signedTransfers(count: number): Promise<string[]> {
  const sender = Wallet.createRandom();
  return Promise.all(Array.from({ length: count }, (_, nonce) => signedTransfer(sender, nonce)));
}

describe("block pipeline under failover: the leader dies between the seal and the block (3 nodes)", function () {
  this.timeout(300_000);
  let w: ClusterWorld;

  before(async () => {
    w = await deployWorld([0, 1, 2]);
    for (let i = 0; i < 3; i++) await startMember(w, i, FAST);
  });
  after(() => teardown(w));

  const finalizeVia = async (member: number, height: number): Promise<FinalizeResultJson> => {
    const deadline = BigInt(Math.floor(Date.now() / 1000) + 600);
    const request = { rollupId: ROLLUP, height: BigInt(height), deadline };
    return finalizeResult.parse(
      await w.clients[member]!.call("finalize_block", {
        request: { rollupId: R, height: String(height), deadline: deadline.toString() },
        signature: await signMessage(w.executor, w.domain, "FinalizeRequest", request),
      }),
    );
  };

  /**
   * What a validator reads of a member: the sealed entries of `height` (the first ten). A validator retries
   * while the member has not caught up yet (a read never makes it ask anyone: it catches up on its own).
   */
  const sealedEntriesVia = (member: number, height: number) =>
    until(
      `the sealed entries of height ${height} on member ${member}`,
      async () =>
        (await w.clients[member]!.call("get_sealed_entries", {
          rollupId: R,
          height: String(height),
          from: 0,
          count: 10,
        })) as {
          txCount: number;
          encRoot: string;
          entries: unknown[];
        },
    );

  it("a retried finalize_block reaches the next view's leader, whose block holds every acknowledged transaction", async () => {
    const raws = await signedTransfers(5);
    const receipts = [];
    for (const rawTx of raws) {
      receipts.push(
        orderReceipt.parse(await w.clients[0]!.call("send_raw_transaction", { rollupId: R, height: "0", rawTx })),
      );
    }
    // The leader (member 0 leads height 0 in view 0) seals on a majority, then dies before building the block.
    await w.nodes[0]!.sequencer!.seal(ROLLUP, 0);
    await stopMember(w, 0);

    // The rollup operator's loop: a follower cannot reach the dead leader, suspects it, the followers move
    // to view 1, and a later attempt is forwarded to (or served by) the new leader.
    let answer: FinalizeResultJson | undefined;
    const failures: string[] = [];
    const deadline = Date.now() + 60_000;
    while (answer === undefined && Date.now() < deadline) {
      try {
        answer = await finalizeVia(2, 0);
      } catch (error) {
        failures.push((error as Error).message);
        await new Promise((r) => setTimeout(r, 300));
      }
    }
    expect(answer, `no block within 60 s; answers: ${failures.slice(-3).join(" | ")}`).to.not.equal(undefined);
    const block = answer!.block;
    expect(failures.length, "the first attempts meet the dead leader").to.be.greaterThan(0);
    expect(block.viewNumber).to.be.greaterThan(0);
    expect(block.leader).to.not.equal(w.members[0]!.address);
    // The dead leader's seal content is kept (same count and root) and certified again in the new leader's
    // view, the view the block commitment is signed in.
    const deadSeal = (await w.nodes[1]!.store.getSeal(ROLLUP, 0))!;
    expect(answer!.seal.seal.viewNumber, "certified in the view the block was built in").to.equal(block.viewNumber);
    expect(answer!.seal.seal.txCount).to.equal(deadSeal.txCount);
    expect(answer!.seal.seal.encRoot).to.equal(deadSeal.encRoot.toLowerCase());

    // Every acknowledged transaction is in the block at its committed index.
    expect(block.commitment.txCount).to.equal(receipts.length);
    for (const r of receipts) {
      const slot = block.transactions[r.commitment.txIndex]!;
      expect(slot.status).to.equal("valid");
      expect(slot.encTxHash).to.equal(r.commitment.encTxHash);
      if (slot.status === "valid") expect(slot.txHash).to.equal(keccak256(raws[r.commitment.txIndex]!));
    }
    // The VSM task exists, created by the new leader in its view.
    const vsm = ValidationServiceManager__factory.connect(w.domain.verifyingContract, w.registry.runner);
    const task = await vsm.getTask(block.taskId);
    expect(task.commitmentHash).to.equal(block.commitmentHash);
    expect(task.leader).to.equal(block.leader);
  });

  it("a member that was down while a height was sealed and built serves its sealed entries once restarted, and leaves the height alone", async () => {
    await startMember(w, 0, FAST); // back after the first case: members 0 and 1 form the majority now
    await stopMember(w, 2);
    const raws = await signedTransfers(3);
    for (const rawTx of raws) await w.clients[1]!.call("send_raw_transaction", { rollupId: R, height: "1", rawTx });
    const { block } = await finalizeVia(1, 1); // member 1 leads height 1 in view 0
    expect(block.commitment.txCount).to.equal(raws.length);

    // Restarted, member 2 holds nothing of height 1: a validator reading it must not wait for it to lead.
    await startMember(w, 2, FAST);
    const answer = await sealedEntriesVia(2, 1);
    expect(answer.txCount).to.equal(raws.length);
    expect(answer.encRoot).to.equal(block.commitment.encRoot);
    expect(answer.entries).to.have.length(raws.length);

    // The peers said the block is built: the height needs no leader, so member 2 does not start a view
    // change that the members who built it would ignore (several leader timeouts pass).
    await new Promise((resolve) => setTimeout(resolve, 4 * 900));
    expect(await w.nodes[2]!.sequencer!.viewOf(ROLLUP, 1)).to.equal(0);
  });

  it("a member restarted in a view change of a height the others built still learns its seal, and stops there", async () => {
    await stopMember(w, 1);
    const raws = await signedTransfers(2);
    for (const rawTx of raws) await w.clients[2]!.call("send_raw_transaction", { rollupId: R, height: "2", rawTx });
    const { block } = await finalizeVia(2, 2); // member 2 leads height 2 in view 0
    // Member 1 went down in the middle of a view change of height 2 (view 5, last normal in 0): restarted,
    // it goes on with view changes that the members who built the block ignore.
    const store = await NodeStore.open(w.dirs[1]!);
    await store.applyHeightWrites(ROLLUP, 2, [{ type: "view", view: 5, normalView: 0 }]);
    await store.close();
    await startMember(w, 1, FAST);

    const answer = await sealedEntriesVia(1, 2);
    expect(answer.txCount).to.equal(raws.length);
    expect(answer.encRoot).to.equal(block.commitment.encRoot);
    const { view, normalView } = await w.nodes[1]!.sequencer!.viewStateOf(ROLLUP, 2);
    expect(view).to.be.at.least(5); // views never go back
    expect(normalView).to.equal(0); // the log's own normal view: a later view change ranks it as it was
    await new Promise((resolve) => setTimeout(resolve, 4 * 900));
    expect(await w.nodes[1]!.sequencer!.viewOf(ROLLUP, 2)).to.equal(view);
  });

  it("a StartView of a later view cannot reopen a height its receiver built", async () => {
    // Member 2 built height 2 (the case above); member 0 leads view 7 of height 2 (leaderOf = (2 + 7) % 3).
    const entries = await w.nodes[2]!.store.getEntries(ROLLUP, 2);
    const certificate = viewCertificateToJson(
      await certifyView(w.members.slice(0, 2), w.domain, {
        rollupId: ROLLUP,
        height: 2n,
        viewNumber: 7,
        epoch: w.epoch,
      }),
    );
    const before = await w.clients[2]!.call("get_block", { rollupId: R, height: "2" });
    // A StartView of view 7 that drops the last entry: a built height's replica takes no log any more.
    await sendReplica(w, 0, 2, 2, [{ type: "start-view", view: 7, certificate, entries: entries.slice(0, -1) }]);
    expect(await w.clients[2]!.call("get_block", { rollupId: R, height: "2" })).to.deep.equal(before);
    expect(await w.nodes[2]!.sequencer!.viewOf(ROLLUP, 2)).to.equal(0);
  });
});
