/**
 * Idempotent sends (issue 15): an ordered transaction gets its receipt, never an error and never a second
 * ordering. On a cluster of three in-process nodes: `get_order_commitment` by leaf (encTxHash), and a
 * VeilClient that talks to a node through a link that loses, delays, duplicates or refuses its sends.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { keccak256 } from "ethers";
import { finalizeResult, orderReceipt, type OrderReceiptJson } from "../../sequencer/api/wire";
import { signMessage } from "../../sequencer/chain/eip712";
import { RpcCallError, RpcClient } from "../../sequencer/rpc/client";
import { VEIL_ERRORS } from "../../sequencer/rpc/errors";
import { ContractChainView } from "../../sequencer/sdk/chain";
import { VeilClient, type ResubmitOptions } from "../../sequencer/sdk/client";
import { ForcedInclusionInbox__factory } from "../../typechain-types";
import type { LookupOptions } from "../../sequencer/sdk/settle";
import { Link, errorAnswer, type Answer } from "./lossy-link";
import { ROLLUP, deployWorld, rejects, startMember, teardown, until, type ClusterWorld } from "./cluster-harness";

/** No view change in this suite: proving in this process must not look like a dead leader. */
const QUIET = { timeouts: { peerRequestMs: 5_000, heartbeatIntervalMs: 200, leaderTimeoutMs: 600_000 } };
const R = ROLLUP.toString();

describe("idempotent sends: receipts by leaf, and a client whose answer is lost", function () {
  this.timeout(600_000);
  let w: ClusterWorld;
  let chain: ContractChainView;
  let link: Link;
  let linkUrl: string;

  before(async () => {
    w = await deployWorld([0, 1, 2]);
    for (let i = 0; i < 3; i++) await startMember(w, i, QUIET);
    chain = await ContractChainView.connect(ethers.provider, {
      registry: await w.registry.getAddress(),
      validationServiceManager: w.domain.verifyingContract,
    });
    link = new Link(`http://127.0.0.1:${w.ports[0]}`);
    linkUrl = await link.listen();
  });
  after(async () => {
    await link?.close();
    await teardown(w);
  });
  beforeEach(() => link.reset());

  const lookup = (i: number, params: Record<string, unknown>) => w.clients[i]!.call("get_order_commitment", params);
  const txCount = async (height: number): Promise<number> =>
    ((await w.clients[0]!.call("get_block", { rollupId: R, height })) as { txCount: number }).txCount;

  /** A client of node 0 through the link; targets height 1 while height 0 is open (a fast prover, slow blocks). */
  const client = (o: { timeoutMs?: number; lookups?: LookupOptions; resubmit?: ResubmitOptions } = {}) =>
    new VeilClient({
      node: new RpcClient(linkUrl, { timeoutMs: o.timeoutMs ?? 20_000 }),
      chain,
      rollupId: ROLLUP,
      lookAhead: { blockTimeMs: 1_000_000, initialProvingMs: 1 },
      resubmit: o.resubmit ?? { delayMs: 20 },
      ...(o.lookups === undefined ? {} : { lookups: o.lookups }),
    });
  let sends = 0;
  const transfer = (): Uint8Array => new TextEncoder().encode(`idempotent transfer #${++sends}`);

  /** Where each submitted leaf is ordered at height 1, on the leader's store (undefined: nowhere). */
  const placed = (leaves: readonly string[]) =>
    Promise.all(
      leaves.map(async (l) => {
        const at = await w.nodes[1]!.store.findCiphertext(ROLLUP, l);
        return at?.height === 1 ? at.index : undefined;
      }),
    );

  describe("get_order_commitment by encTxHash", () => {
    /** Node i's record of what it holds and does: none of it may change on a read. */
    async function state(i: number) {
      const node = w.nodes[i]!;
      const metrics = await node.metricsRegistry.getMetricsAsJSON();
      const total = (name: string, match: (labels: Record<string, unknown>) => boolean = () => true) =>
        (metrics.find((m) => m.name === name)?.values ?? [])
          .filter((v) => match(v.labels))
          .reduce((a, v) => a + v.value, 0);
      return {
        liveHeights: total("veil_live_heights"),
        viewChanges: total("veil_view_changes_total"),
        sent: total("veil_replica_messages_total", (l) => l.direction === "out"),
        stats: await node.store.stats(),
        views: await node.store.viewStateHeights(),
      };
    }

    it("a lookup by leaf is a pure read: no replica loaded, nothing stored, nothing sent, on any height", async () => {
      const before = await Promise.all([0, 1, 2].map(state));
      for (const s of before) expect(s.liveHeights, JSON.stringify(s)).to.equal(0);
      for (let i = 0; i < 3; i++) {
        for (const height of ["0", "1", "5", "64", "1000000000", String(Number.MAX_SAFE_INTEGER)]) {
          await rejects(lookup(i, { rollupId: R, height, encTxHash: `0x${"5a".repeat(32)}` }), "NOT_FOUND");
        }
        await rejects(lookup(i, { rollupId: "8", height: "0", encTxHash: `0x${"5a".repeat(32)}` }), "UNKNOWN_ROLLUP");
      }
      await new Promise((r) => setTimeout(r, 1_000)); // a timer or a heartbeat a read had started would show
      expect(await Promise.all([0, 1, 2].map(state))).to.deep.equal(before);
    });

    it("answers the receipt of an ordered leaf, on the leader and on every follower, as the send answered it", async () => {
      const rawTx = "0x1d3e9071";
      const answer = await w.clients[0]!.call("send_raw_transaction", { rollupId: R, height: "0", rawTx });
      const { txIndex } = orderReceipt.parse(answer).commitment;
      expect(await lookup(0, { rollupId: R, height: "0", index: txIndex })).to.deep.equal(answer);
      const leaf = keccak256(rawTx);
      for (const i of [0, 1, 2]) {
        const found = await until(`node ${i}'s copy`, () => lookup(i, { rollupId: R, height: "0", encTxHash: leaf }));
        expect(found, `node ${i}`).to.deep.equal(answer);
      }
      const upper = `0x${leaf.slice(2).toUpperCase()}`;
      expect(await lookup(2, { rollupId: R, height: 0, encTxHash: upper })).to.deep.equal(answer);
    });

    it("answers NOT_FOUND for a leaf never ordered, and for one ordered at another height", async () => {
      const rawTx = "0x1d3e9072";
      await w.clients[1]!.call("send_raw_transaction", { rollupId: R, height: "0", rawTx });
      await rejects(lookup(0, { rollupId: R, height: "0", encTxHash: keccak256("0x00") }), "NOT_FOUND", /at height 0/);
      await rejects(lookup(0, { rollupId: R, height: "1", encTxHash: keccak256(rawTx) }), "NOT_FOUND");
    });

    it("refuses both index and encTxHash, neither, and a malformed encTxHash, with INVALID_PARAMS", async () => {
      const leaf = keccak256("0x1d3e9071");
      await rejects(
        lookup(0, { rollupId: R, height: "0", index: 0, encTxHash: leaf }),
        "INVALID_PARAMS",
        /exactly one of index and encTxHash/,
      );
      await rejects(lookup(1, { rollupId: R, height: "0" }), "INVALID_PARAMS", /exactly one of index and encTxHash/);
      await rejects(lookup(2, { rollupId: R, height: "0", encTxHash: "0x1234" }), "INVALID_PARAMS", /encTxHash/);
      const e = await rejects(lookup(0, { rollupId: R, height: "0" }), "INVALID_PARAMS");
      expect(e.code).to.equal(-32602);
    });
  });

  describe("VeilClient.sendOrForce: the fallback to the L1 inbox", () => {
    const inboxOf = async () => ForcedInclusionInbox__factory.connect(await chain.vsm.inbox(), ethers.provider);
    const entriesAt = async (height: bigint): Promise<bigint> => (await inboxOf()).entryCount(ROLLUP, height);

    it("forces after the refusals that count, submitting the same ciphertext each time, for the farthest keyed height", async () => {
      link.plan = (request) =>
        Promise.resolve(errorAnswer(request.id, VEIL_ERRORS.UNAUTHORIZED, "unauthorized: this node refuses you"));
      const [, payer] = await ethers.getSigners();
      const counted: number[] = [];
      const c = client();
      const delivery = await c.sendOrForce(transfer(), payer!, {
        afterFailures: 2,
        retryDelayMs: 10,
        onFailure: (_error, failures) => counted.push(failures),
      });
      if (delivery.kind !== "forced") throw new Error("expected the transaction to be forced");
      expect(counted).to.deep.equal([1, 2]);
      expect(delivery.failures.map((e) => (e as RpcCallError).errorName)).to.deep.equal([
        "UNAUTHORIZED",
        "UNAUTHORIZED",
      ]);
      expect(link.submitted, "one encryption, submitted twice").to.have.length(2);
      expect(link.submitted[1]).to.equal(link.submitted[0]);
      expect(link.forwarded, "the node never saw it").to.equal(0);
      expect(delivery.forced.height).to.equal(await c.farthestKeyedHeight());
      expect(delivery.forced.encTxHash, "forced as a new encryption for its own height").to.not.equal(
        link.submitted[0],
      );
      const entry = await (await inboxOf()).entryAt(ROLLUP, delivery.forced.height, delivery.forced.index);
      expect(entry.postedBlock).to.equal(delivery.forced.postedBlock);
    });

    it("orders as send does when the sequencer takes it after a refusal: nothing is posted", async () => {
      let refusals = 1;
      link.plan = (request, forward) =>
        refusals-- > 0 ? Promise.resolve(errorAnswer(request.id, VEIL_ERRORS.RATE_LIMITED, "rate limited")) : forward();
      const [, payer] = await ethers.getSigners();
      const c = client();
      const before = await entriesAt(await c.farthestKeyedHeight());
      const delivery = await c.sendOrForce(transfer(), payer!, { afterFailures: 2, retryDelayMs: 10 });
      expect(delivery.kind).to.equal("ordered");
      expect(link.forwarded).to.equal(1);
      expect(await entriesAt(await c.farthestKeyedHeight())).to.equal(before);
    });

    it("does not force what the inbox would refuse as well: INVALID_PROOF is thrown at once", async () => {
      link.plan = (request) => Promise.resolve(errorAnswer(request.id, VEIL_ERRORS.INVALID_PROOF, "invalid proof"));
      const [, payer] = await ethers.getSigners();
      const c = client();
      const before = await entriesAt(await c.farthestKeyedHeight());
      const error = await c.sendOrForce(transfer(), payer!, { afterFailures: 3, retryDelayMs: 10 }).then(
        () => expect.fail("a refused proof was delivered"),
        (e: unknown) => e,
      );
      expect((error as RpcCallError).errorName).to.equal("INVALID_PROOF");
      expect(link.submitted).to.have.length(1);
      expect(await entriesAt(await c.farthestKeyedHeight())).to.equal(before);
    });
  });

  describe("VeilClient.send when the answer leaves open whether the transaction was ordered", () => {
    it("a send the leader ordered but whose answer came back UPSTREAM_TIMEOUT gets its verified receipt, ordered once", async () => {
      let answered: OrderReceiptJson | undefined;
      link.plan = async (request, forward) => {
        // Ordered by the first send, its copies refused as DUPLICATE_CIPHERTEXT; every answer is lost.
        const answer = await forward();
        answered ??= answer.result as OrderReceiptJson;
        return errorAnswer(request.id, VEIL_ERRORS.UPSTREAM_TIMEOUT, "the leader did not answer within 2000 ms");
      };
      const count = await txCount(1);
      const sent = await client().send(transfer());
      expect(answered, "the node ordered it").to.not.equal(undefined);
      expect(sent.height).to.equal(1n);
      expect(sent.encTxHash).to.equal(answered!.commitment.encTxHash);
      expect(sent.receipt.commitment.txIndex).to.equal(answered!.commitment.txIndex);
      expect(sent.receipt.signature).to.equal(answered!.signature.toLowerCase());
      expect(link.submitted, "sent again as it was, never encrypted again").to.have.length(4);
      expect(new Set(link.submitted)).to.deep.equal(new Set([sent.encTxHash]));
      expect(link.count("get_order_commitment")).to.be.at.least(1);
      expect(await txCount(1)).to.equal(count + 1);
    });

    it("a send whose answer outlives the client's time limit gets its receipt by lookup, ordered once", async () => {
      link.plan = async (_request, forward) => {
        await forward();
        return "hold"; // the answer never comes: the client's call times out
      };
      const count = await txCount(1);
      const sent = await client({ timeoutMs: 4_000, resubmit: { attempts: 2, delayMs: 20 } }).send(transfer());
      // Sent again after the timeout, as it was: the copy is answered DUPLICATE_CIPHERTEXT, then looked up.
      expect(link.submitted).to.have.length(2);
      expect(new Set(link.submitted)).to.deep.equal(new Set([sent.encTxHash]));
      expect(await placed(link.submitted.slice(0, 1))).to.deep.equal([sent.receipt.commitment.txIndex]);
      expect(await txCount(1)).to.equal(count + 1);
    });

    it("a copy of the send that the node refuses as DUPLICATE_CIPHERTEXT gets the receipt of the first copy", async () => {
      let again: Answer | undefined;
      link.plan = async (_request, forward) => {
        await forward(); // ordered, answer lost; a retrying middlebox sends the same bytes again
        return (again = await forward());
      };
      const count = await txCount(1);
      const sent = await client().send(transfer());
      expect(link.forwarded, "the node got the same submission twice").to.equal(2);
      expect(again?.error?.code, "the node's answer to the copy").to.equal(VEIL_ERRORS.DUPLICATE_CIPHERTEXT);
      expect(link.submitted, "the client sent it once").to.have.length(1);
      expect(sent.encTxHash).to.equal(link.submitted[0]);
      expect(await placed(link.submitted)).to.deep.equal([sent.receipt.commitment.txIndex]);
      expect(await txCount(1)).to.equal(count + 1);
    });

    it("HEIGHT_SEALED for a send that was ordered all the same: its receipt, not a new encryption", async () => {
      link.plan = async (request, forward) => {
        await forward();
        return errorAnswer(request.id, VEIL_ERRORS.HEIGHT_SEALED, "height 1 is already sealed");
      };
      const count = await txCount(1);
      const sent = await client().send(transfer());
      expect(link.submitted, "never encrypted again").to.have.length(1);
      expect(sent.encTxHash).to.equal(link.submitted[0]);
      expect(await txCount(1)).to.equal(count + 1);
    });

    // HEIGHT_SEALED for a send that was not ordered is proven only once the node has the height sealed, which
    // would end this suite's height 1; sdk-settle.test.ts has that case against a scripted node.
    it("WRONG_HEIGHT for a send that was not ordered: encrypted again and sent, as before", async () => {
      let refused = false;
      link.plan = async (request, forward) => {
        if (refused) return forward();
        refused = true;
        return errorAnswer(request.id, VEIL_ERRORS.WRONG_HEIGHT, "height 1 is not accepted: the block is full");
      };
      const count = await txCount(1);
      const sent = await client().send(transfer());
      expect(link.submitted).to.have.length(2);
      expect(link.submitted[1]).to.not.equal(link.submitted[0]);
      expect(sent.encTxHash).to.equal(link.submitted[1]);
      const [first, second] = await placed(link.submitted);
      expect(first, "the refused ciphertext is ordered nowhere").to.equal(undefined);
      expect(second).to.equal(sent.receipt.commitment.txIndex);
      expect(await txCount(1)).to.equal(count + 1);
    });

    it("NOT_LEADER while the view changes: the same ciphertext is sent again and ordered once", async () => {
      const refusals = [VEIL_ERRORS.NOT_LEADER, VEIL_ERRORS.UNAVAILABLE];
      link.plan = (request, forward) => {
        const code = refusals.shift();
        return code === undefined ? forward() : Promise.resolve(errorAnswer(request.id, code, "the view is changing"));
      };
      const count = await txCount(1);
      const sent = await client().send(transfer());
      expect(link.submitted, "one encryption, sent three times").to.have.length(3);
      expect(new Set(link.submitted)).to.deep.equal(new Set([sent.encTxHash]));
      expect(link.forwarded, "the node saw it once").to.equal(1);
      expect(await placed(link.submitted.slice(0, 1))).to.deep.equal([sent.receipt.commitment.txIndex]);
      expect(await txCount(1)).to.equal(count + 1);
    });

    it("a refusal of the transaction itself is never sent again", async () => {
      link.plan = (request) => Promise.resolve(errorAnswer(request.id, VEIL_ERRORS.INVALID_PROOF, "invalid proof"));
      const error = await client()
        .send(transfer())
        .then(
          () => expect.fail("a refused transaction got a receipt"),
          (e: unknown) => e,
        );
      expect((error as RpcCallError).errorName).to.equal("INVALID_PROOF");
      expect(link.submitted).to.have.length(1);
    });

    it("a send that was not ordered fails with the node's original error after the bounded lookups", async () => {
      const message = "unavailable: the leader 0x0 is unreachable";
      link.plan = (request) => Promise.resolve(errorAnswer(request.id, VEIL_ERRORS.UNAVAILABLE, message));
      const count = await txCount(1);
      const error = await client({ lookups: { attempts: 3, delayMs: 20 }, resubmit: { attempts: 2, delayMs: 20 } })
        .send(transfer())
        .then(
          () => expect.fail("a transaction that was not ordered got a receipt"),
          (e: unknown) => e,
        );
      expect(error).to.be.instanceOf(RpcCallError);
      expect((error as RpcCallError).errorName).to.equal("UNAVAILABLE");
      expect((error as RpcCallError).message).to.equal(message);
      expect(link.count("get_order_commitment"), "looked up, a bounded number of times").to.equal(3);
      expect(link.forwarded, "the node never saw it").to.equal(0);
      expect(link.submitted, "sent twice as it was").to.have.length(2);
      expect(link.submitted[1]).to.equal(link.submitted[0]);
      expect(await placed(link.submitted.slice(0, 1))).to.deep.equal([undefined]);
      expect(await txCount(1)).to.equal(count);
    });

    // Last: it seals heights 0 and 1.
    it("a send missing from a height that is sealed meanwhile fails at once with the original error", async () => {
      const seal = async (height: bigint) => {
        const request = { rollupId: ROLLUP, height, deadline: BigInt(Math.floor(Date.now() / 1000) + 600) };
        finalizeResult.parse(
          await w.clients[0]!.call("finalize_block", {
            request: { rollupId: R, height: height.toString(), deadline: request.deadline.toString() },
            signature: await signMessage(w.executor, w.domain, "FinalizeRequest", request),
          }),
        );
      };
      let answeredAt = 0;
      link.plan = async (request) => {
        // Not ordered; the height is sealed without it (on the node the client asks, too) before the answer.
        await seal(0n);
        await seal(1n);
        await until("node 0's seal of height 1", async () => (await w.nodes[0]!.store.getSeal(ROLLUP, 1)) ?? undefined);
        answeredAt = performance.now();
        return errorAnswer(request.id, VEIL_ERRORS.UPSTREAM_TIMEOUT, "the leader did not answer within 2000 ms");
      };
      // Not sent again: this case is about the lookups that follow the last answer.
      const error = await client({ lookups: { attempts: 8, delayMs: 1_000 }, resubmit: { attempts: 1 } })
        .send(transfer())
        .then(
          () => expect.fail("a transaction that was not ordered got a receipt"),
          (e: unknown) => e,
        );
      expect((error as RpcCallError).errorName).to.equal("UPSTREAM_TIMEOUT");
      expect(link.count("get_block"), "the height's status, read once").to.equal(1);
      expect(performance.now() - answeredAt, "no wait for a second round of lookups").to.be.below(1_000);
      expect(link.count("get_order_commitment")).to.be.below(8);
      expect(await placed(link.submitted)).to.deep.equal([undefined]);
    });
  });
});
