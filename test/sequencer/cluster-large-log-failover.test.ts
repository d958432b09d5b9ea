/**
 * A view change carries the height's whole log in one cluster message. These tests fill a height beyond
 * the public body limit (1 MiB) and check that the cluster still changes view (members talk on
 * /cluster with its own limit), and that the leader refuses entries once the log would outgrow that
 * limit, so that no height can reach a size at which it could never change view.
 */
import { expect } from "chai";
import { entryBytes, logBytesBudget } from "../../sequencer/node/cluster/message-size";
import type { OrderReceiptJson } from "../../sequencer/api/wire";
import { RpcCallError, type RpcClient } from "../../sequencer/rpc/client";
import { UploadPermits } from "../../sequencer/node/cluster/upload-permit";
import { CLUSTER_PATH, UPLOAD_PERMIT_HEADER } from "../../sequencer/rpc/server";
import { ROLLUP, deployWorld, startMember, stopMember, teardown, type ClusterWorld } from "./cluster-harness";

const TIMEOUTS = { peerRequestMs: 8_000, heartbeatIntervalMs: 100, leaderTimeoutMs: 2_000 };
const PUBLIC_LIMIT = 1024 * 1024;
const raw = (t: string): string => `0x${Buffer.from(t).toString("hex")}`;

/** Sends `count` raw transactions of height 0 in rounds of 100; returns the receipts and the refusals. */
async function fill(
  client: RpcClient,
  tag: string,
  count: number,
): Promise<{ receipts: OrderReceiptJson[]; refusals: RpcCallError[] }> {
  const receipts: OrderReceiptJson[] = [];
  const refusals: RpcCallError[] = [];
  for (let b = 0; b < count; b += 100) {
    const out = await Promise.allSettled(
      Array.from({ length: Math.min(100, count - b) }, (_, i) =>
        client.call("send_raw_transaction", { rollupId: "7", height: "0", rawTx: raw(`${tag} ${b + i}`) }),
      ),
    );
    for (const r of out) {
      if (r.status === "fulfilled") receipts.push(r.value as OrderReceiptJson);
      else if (r.reason instanceof RpcCallError) refusals.push(r.reason);
      else throw r.reason;
    }
  }
  return { receipts, refusals };
}

/** Sends fresh transactions through `client` until one is ordered; the receipt, or undefined after `ms`. */
async function firstReceipt(client: RpcClient, ms: number): Promise<OrderReceiptJson | undefined> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try {
      return (await client.call("send_raw_transaction", {
        rollupId: "7",
        height: "0",
        rawTx: raw(`after ${Date.now()} ${Math.random()}`),
      })) as OrderReceiptJson;
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return undefined;
}

describe("failover of a height whose log is larger than the public body limit", function () {
  this.timeout(300_000);
  let w: ClusterWorld;
  before(async () => {
    w = await deployWorld([]);
    for (let i = 0; i < 3; i++) await startMember(w, i, { timeouts: TIMEOUTS });
  });
  after(() => teardown(w));

  it("after the leader of a 1,500-entry height (over 1 MiB of log) stops, the next view keeps every entry and orders again", async () => {
    const { receipts, refusals } = await fill(w.clients[0]!, "fill", 1_500);
    expect(refusals.map((e) => e.message)).to.deep.equal([]);
    const logBytes = (await w.nodes[0]!.store.getEntries(ROLLUP, 0)).reduce<number>(
      (s, e) => s + JSON.stringify(e).length,
      0,
    );
    expect(logBytes, "the log must not fit the public limit, or this test shows nothing").to.be.above(PUBLIC_LIMIT);

    await stopMember(w, 0);
    const start = Date.now();
    const receipt = await firstReceipt(w.clients[1]!, 60_000);
    const states = await Promise.all([1, 2].map((i) => w.nodes[i]!.sequencer!.viewStateOf(ROLLUP, 0)));
    expect(receipt, `no receipt after ${Date.now() - start} ms; view states ${JSON.stringify(states)}`).to.not.equal(
      undefined,
    );
    expect(receipt!.viewNumber).to.be.at.least(1);
    expect(receipt!.commitment.txIndex).to.equal(receipts.length);
    for (const i of [1, 2]) {
      for (const r of [receipts[0]!, receipts[receipts.length - 1]!]) {
        const e = await w.nodes[i]!.sequencer!.entry(ROLLUP, 0, r.commitment.txIndex);
        expect(e.orderCommitment.signature).to.equal(r.signature);
      }
    }
  });

  it("the public path still refuses a body over its limit; the cluster path reads it only with a member's permit, and serves nothing else", async () => {
    const url = w.nodes[1]!.address.url;
    const big = JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "send_raw_transaction",
      params: { rollupId: "7", height: "0", rawTx: raw("y".repeat(PUBLIC_LIMIT)) },
    });
    expect((await fetch(`${url}/`, { method: "POST", body: big })).status).to.equal(413);
    const unread = await fetch(`${url}${CLUSTER_PATH}`, { method: "POST", body: big });
    expect(unread.status).to.equal(413);
    const permits = new UploadPermits({
      wallet: w.members[0]!,
      domain: w.domain,
      clusterId: w.clusterId,
      isMember: () => true,
    });
    const headers = { [UPLOAD_PERMIT_HEADER]: permits.issue(Buffer.byteLength(big)) };
    const onCluster = (await (await fetch(`${url}${CLUSTER_PATH}`, { method: "POST", body: big, headers })).json()) as {
      error: { code: number };
    };
    expect(onCluster.error.code).to.equal(-32601);
  });
});

describe("a leader admits no entry that would make a log too large for one cluster message", function () {
  this.timeout(300_000);
  let w: ClusterWorld;
  const CLUSTER_LIMIT = 1024 * 1024; // the smallest allowed: about 600 raw entries fit
  before(async () => {
    w = await deployWorld([]);
    for (let i = 0; i < 3; i++) {
      await startMember(w, i, {
        timeouts: TIMEOUTS,
        rpc: { port: w.ports[i], rateLimit: { enabled: false }, clusterMaxBodyBytes: CLUSTER_LIMIT },
      });
    }
  });
  after(() => teardown(w));

  it("refuses with 'the block is full' once the log reaches the budget, and the full log still changes view", async () => {
    const { receipts, refusals } = await fill(w.clients[0]!, "fill", 900);
    expect(receipts.length).to.be.within(300, 899);
    expect(refusals.length).to.equal(900 - receipts.length);
    for (const e of refusals) {
      expect(e.errorName).to.equal("WRONG_HEIGHT");
      expect(e.message).to.match(/the block is full/);
    }
    const entries = await w.nodes[0]!.store.getEntries(ROLLUP, 0);
    expect(entries.length).to.equal(receipts.length);

    await stopMember(w, 0);
    const start = Date.now();
    // The full height takes no more entries, so the new view shows itself as a normal view with the whole log.
    let states: { view: number; normalView: number }[] = [];
    while (Date.now() - start < 60_000) {
      states = await Promise.all([1, 2].map((i) => w.nodes[i]!.sequencer!.viewStateOf(ROLLUP, 0)));
      if (states.every((s) => s.view >= 1 && s.view === s.normalView && s.view === states[0]!.view)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(
      states.every((s) => s.view >= 1 && s.view === s.normalView),
      JSON.stringify(states),
    ).to.equal(true);
    for (const i of [1, 2]) {
      expect((await w.nodes[i]!.sequencer!.block(ROLLUP, 0)).count).to.equal(receipts.length);
    }
    // Whoever leads now refuses more for the same reason, once the log weighs what a view change can carry.
    // (It may take a few first: it weighs the entries it received exactly, where the first leader used an
    // upper bound for the entries it signed.)
    const leader = [1, 2].find((i) => w.nodes[i]!.sequencer!.leaderOf(0, states[0]!.view) === w.nodes[i]!.nodeAddress);
    expect(leader).to.not.equal(undefined);
    const more = await fill(w.clients[leader!]!, "more", 200);
    expect(more.refusals.length, "the new leader fills up too").to.be.greaterThan(0);
    for (const e of more.refusals) expect(e.message).to.match(/the block is full/);
    const log = await w.nodes[leader!]!.store.getEntries(ROLLUP, 0);
    expect(log.reduce((sum, e) => sum + entryBytes(e), 0)).to.be.at.most(logBytesBudget(CLUSTER_LIMIT));
  });
});
