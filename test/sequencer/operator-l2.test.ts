import { expect } from "chai";
import fc from "fast-check";
import { Wallet } from "ethers";
import { L2, L2SetupError, executeBlock, prepareL2 } from "../../sequencer/operator/l2";
import {
  L2_CHAIN_ID,
  devAccounts,
  signedTransfer,
  slotsOf,
  startHardhatNode,
  type HardhatChild,
} from "./operator-fixture";

describe("rollup operator: execution on a Hardhat L2", function () {
  this.timeout(180_000);
  let node: HardhatChild;
  let l2: L2;
  const senders = devAccounts(4);
  const nonces = new Map<string, number>();
  const next = (w: Wallet): number => {
    const n = nonces.get(w.address) ?? 0;
    nonces.set(w.address, n + 1);
    return n;
  };

  before(async () => {
    node = await startHardhatNode("l2");
    l2 = new L2(node.url);
  });
  after(async () => {
    await node?.process.kill();
  });

  it("prepares the L2: mining off, FIFO order proven by a probe that leaves no trace", async () => {
    const head = await l2.head();
    const info = await prepareL2(l2);
    expect(info.chainId).to.equal(L2_CHAIN_ID);
    expect(info.head).to.equal(head);
    expect(await l2.pendingTransactions()).to.deep.equal([]);
    const raw = await signedTransfer(senders[0]!, 0);
    await l2.rpc.call("eth_sendRawTransaction", [raw]);
    await new Promise((r) => setTimeout(r, 300));
    expect(await l2.head()).to.equal(head); // not mined by itself
    await l2.drop((await l2.pendingTransactions())[0]!);
  });

  it("executes several senders' transactions in index order, even when later ones pay more", async () => {
    const [a, b, c] = senders;
    const raws = [
      await signedTransfer(a!, next(a!), { tip: 1n }),
      null,
      await signedTransfer(b!, next(b!), { tip: 5_000_000_000n }),
      await signedTransfer(a!, next(a!), { tip: 9_000_000_000n }),
      await signedTransfer(c!, next(c!), { tip: 2n }),
      null,
      await signedTransfer(b!, next(b!), { tip: 7_000_000_000n }),
    ];
    const slots = slotsOf(raws);
    const head = await l2.head();
    const result = await executeBlock(l2, slots, head);
    const valid = slots.filter((s) => s.status === "valid").map((s) => (s.status === "valid" ? s.txHash : ""));
    expect(result.mismatch).to.equal(undefined);
    expect(result.skipped).to.deep.equal([]);
    expect(result.l2Block).to.equal(head + 1);
    expect(result.accepted).to.deep.equal(valid);
    expect((await l2.block(head + 1))!.transactions).to.deep.equal(valid);
    expect(await l2.head()).to.equal(head + 1);
  });

  it("keeps the committed order for random interleavings of senders (property)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat({ max: 3 }), { minLength: 1, maxLength: 8 }), async (picks) => {
        const raws = [];
        for (const p of picks) {
          const w = senders[p]!;
          raws.push(await signedTransfer(w, next(w), { tip: BigInt(1 + ((p * 7919) % 13)) * 1_000_000n }));
        }
        const slots = slotsOf(raws);
        const head = await l2.head();
        const result = await executeBlock(l2, slots, head);
        expect(result.mismatch).to.equal(undefined);
        expect((await l2.block(head + 1))!.transactions).to.deep.equal(
          slots.map((s) => (s.status === "valid" ? s.txHash : "")),
        );
      }),
      { numRuns: 6 },
    );
  });

  it("skips what the L2 refuses or cannot execute in order (no funds, nonce gap, replay) and reports why", async () => {
    const [a, b] = senders;
    const pauper = Wallet.createRandom();
    const okFirst = await signedTransfer(a!, next(a!));
    const replay = okFirst; // the same transaction twice: its nonce is used by then
    const broke = await signedTransfer(pauper, 0);
    const gap = await signedTransfer(b!, (nonces.get(b!.address) ?? 0) + 5);
    const okLast = await signedTransfer(b!, next(b!));
    const slots = slotsOf([okFirst, broke, gap, replay, okLast]);
    const head = await l2.head();
    const result = await executeBlock(l2, slots, head);
    expect(result.mismatch).to.equal(undefined);
    expect(result.accepted).to.deep.equal([slots[0], slots[4]].map((s) => (s!.status === "valid" ? s!.txHash : "")));
    expect(result.skipped.map((s) => s.index)).to.deep.equal([1, 2, 3]);
    expect(result.skipped[0]!.reason).to.match(/fund/i);
    expect(result.skipped[1]!.reason).to.match(
      /nonce 5 is not the sender's next nonce 0|nonce \d+ is not the sender's next/,
    );
    expect(result.skipped[2]!.reason).to.match(/nonce/);
    expect(await l2.pendingTransactions()).to.deep.equal([]);
  });

  it("skips a transaction an earlier L2 block already holds (ordered again at a later height) instead of halting", async () => {
    const [a] = senders;
    const once = await signedTransfer(a!, next(a!));
    const first = await executeBlock(l2, slotsOf([once]), await l2.head());
    expect(first.accepted).to.have.length(1);
    const again = await executeBlock(l2, slotsOf([once]), await l2.head());
    expect(again.mismatch).to.equal(undefined);
    expect(again.accepted).to.deep.equal([]);
    expect(again.skipped.map((s) => s.index)).to.deep.equal([0]);
    expect(again.skipped[0]!.reason).to.match(/nonce|known|already/i);
  });

  it("mines exactly one empty L2 block for an empty sequencer block", async () => {
    const head = await l2.head();
    const result = await executeBlock(l2, [], head);
    expect(result.l2Block).to.equal(head + 1);
    expect(result.accepted).to.deep.equal([]);
    expect(result.mismatch).to.equal(undefined);
    expect((await l2.block(head + 1))!.transactions).to.deep.equal([]);
    expect(await l2.head()).to.equal(head + 1);
  });

  it("reports an order mismatch when the L2 block holds a transaction sent around the operator", async () => {
    const [a, , , d] = senders;
    const intruder = await signedTransfer(d!, next(d!), { tip: 1n });
    await l2.rpc.call("eth_sendRawTransaction", [intruder]);
    const slots = slotsOf([await signedTransfer(a!, next(a!))]);
    const head = await l2.head();
    const result = await executeBlock(l2, slots, head);
    expect(result.mismatch).to.not.equal(undefined);
    expect(result.mismatch!.expected).to.deep.equal([slots[0]!.status === "valid" ? slots[0]!.txHash : ""]);
    expect(result.mismatch!.actual).to.have.length(2);
    expect(result.mismatch!.actual[1]).to.equal(result.mismatch!.expected[0]);
  });

  it("after a restart, checks the block an earlier attempt mined instead of sending again", async () => {
    const [a, b] = senders;
    const slots = slotsOf([await signedTransfer(a!, next(a!)), null, await signedTransfer(b!, next(b!))]);
    const head = await l2.head();
    const first = await executeBlock(l2, slots, head);
    expect(first.recovered).to.equal(false);
    const again = await executeBlock(l2, slots, head);
    expect(again.recovered).to.equal(true);
    expect(again.l2Block).to.equal(head + 1);
    expect(again.accepted).to.deep.equal(first.accepted);
    expect(again.mismatch).to.equal(undefined);
    expect(await l2.head()).to.equal(head + 1);
    // A recovered block whose order differs from the slots is still a mismatch.
    const reversed = [slots[2]!, slots[0]!].map((s, index) => ({ ...s, index }));
    expect((await executeBlock(l2, reversed, head)).mismatch).to.not.equal(undefined);
  });

  it("drops an interrupted attempt's leftovers before sending the height again", async () => {
    const [c] = [senders[2]!];
    const raw = await signedTransfer(c, next(c));
    await l2.rpc.call("eth_sendRawTransaction", [raw]); // sent by an attempt that died before mining
    const slots = slotsOf([raw]);
    const head = await l2.head();
    const result = await executeBlock(l2, slots, head);
    expect(result.mismatch).to.equal(undefined);
    expect(result.accepted).to.have.length(1);
    expect((await l2.block(head + 1))!.transactions).to.deep.equal(result.accepted);
  });

  it("refuses a Hardhat node that orders its mempool by fee", async () => {
    const priority = await startHardhatNode("default");
    try {
      const other = new L2(priority.url);
      let error: unknown;
      try {
        await prepareL2(other);
      } catch (e) {
        error = e;
      }
      expect(error).to.be.instanceOf(L2SetupError);
      expect((error as Error).message).to.match(/orders its mempool by fee/);
      expect(await other.pendingTransactions()).to.deep.equal([]);
    } finally {
      await priority.process.kill();
    }
  });
});
