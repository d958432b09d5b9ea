/**
 * A view change slower than the leader timeout. Every member reaches the others through an HTTP proxy
 * that holds each DoViewChange and StartView for longer than the (base) leader timeout, as a loaded
 * machine or a slow link does. With a timeout that is the same for every view, the members would start
 * the next view before any view change could finish; the timeout that doubles while the height has no
 * normal view lets one finish.
 */
import { expect } from "chai";
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { OrderReceiptJson } from "../../sequencer/api/wire";
import { ROLLUP, deployWorld, startMember, stopMember, teardown, type ClusterWorld } from "./cluster-harness";

const BASE_TIMEOUT_MS = 600;
/** Longer than the largest randomised base timeout (1.5 x 600 ms). */
const DELAY_MS = 1_500;
/** The replica messages held: the second half of a view change (a log to the new leader, its new view). */
const DELAYED = new Set(["do-view-change", "start-view"]);
const raw = (t: string): string => `0x${Buffer.from(t).toString("hex")}`;

/** A forwarding proxy to `target` that holds the view-change messages for DELAY_MS; counts what it held. */
async function delayingProxy(target: string): Promise<{ url: string; held: () => number; close: () => Promise<void> }> {
  let held = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      void (async () => {
        const body = Buffer.concat(chunks);
        let types: unknown[] = [];
        try {
          const call = JSON.parse(body.toString("utf8")) as {
            method?: unknown;
            params?: { payload?: { messages?: { type?: unknown }[] } };
          };
          if (call.method === "cluster_replica") types = (call.params?.payload?.messages ?? []).map((m) => m.type);
        } catch {
          types = [];
        }
        if (types.some((t) => typeof t === "string" && DELAYED.has(t))) {
          held += 1;
          await new Promise((r) => setTimeout(r, DELAY_MS));
        }
        try {
          const answer = await fetch(`${target}${req.url ?? "/"}`, {
            method: req.method ?? "GET",
            headers: { "content-type": "application/json" },
            ...(req.method === "POST" ? { body } : {}),
          });
          res.writeHead(answer.status, { "content-type": "application/json" }).end(await answer.text());
        } catch {
          res.writeHead(502).end(); // the target is down
        }
      })();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    held: () => held,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

describe("a view change slower than the leader timeout (members behind delaying proxies)", function () {
  this.timeout(300_000);
  let w: ClusterWorld;
  let proxies: Awaited<ReturnType<typeof delayingProxy>>[] = [];

  before(async () => {
    w = await deployWorld([]);
    proxies = await Promise.all(w.ports.map((p) => delayingProxy(`http://127.0.0.1:${p}`)));
    for (let i = 0; i < 3; i++) {
      await startMember(w, i, {
        cluster: { id: w.clusterId.toString(), peers: proxies.filter((_, j) => j !== i).map((p) => p.url) },
        timeouts: { peerRequestMs: 8_000, heartbeatIntervalMs: 100, leaderTimeoutMs: BASE_TIMEOUT_MS },
      });
    }
  });
  after(async () => {
    await teardown(w);
    await Promise.all(proxies.map((p) => p.close()));
  });

  it("converges on one normal view and orders again, keeping every earlier receipt", async () => {
    const before: OrderReceiptJson[] = [];
    for (let i = 0; i < 20; i++) {
      before.push(
        (await w.clients[0]!.call("send_raw_transaction", {
          rollupId: "7",
          height: "0",
          rawTx: raw(`before ${i}`),
        })) as OrderReceiptJson,
      );
    }
    expect(w.nodes[0]!.sequencer!.leaderOf(0, 0)).to.equal(w.nodes[0]!.nodeAddress);
    await stopMember(w, 0);

    const start = Date.now();
    let receipt: OrderReceiptJson | undefined;
    while (receipt === undefined && Date.now() - start < 60_000) {
      for (const i of [1, 2]) {
        try {
          receipt = (await w.clients[i]!.call("send_raw_transaction", {
            rollupId: "7",
            height: "0",
            rawTx: raw(`after ${Date.now()} ${i}`),
          })) as OrderReceiptJson;
          break;
        } catch {
          /* no normal view yet */
        }
      }
      if (receipt === undefined) await new Promise((r) => setTimeout(r, 200));
    }
    const states = await Promise.all([1, 2].map((i) => w.nodes[i]!.sequencer!.viewStateOf(ROLLUP, 0)));
    expect(receipt, `no receipt within 60 s; view states ${JSON.stringify(states)}`).to.not.equal(undefined);
    const elapsedMs = Date.now() - start;
    expect(
      proxies.reduce((n, p) => n + p.held(), 0),
      "no view-change message was delayed",
    ).to.be.above(0);
    expect(receipt!.viewNumber).to.be.at.least(1);
    // An earlier attempt may have been stored without its answer arriving (e.g. a forward that timed out).
    expect(receipt!.commitment.txIndex).to.be.at.least(before.length);
    for (const i of [1, 2]) {
      for (const r of [...before, receipt!]) {
        const e = await w.nodes[i]!.sequencer!.entry(ROLLUP, 0, r.commitment.txIndex);
        expect(e.orderCommitment.signature).to.equal(r.signature);
      }
    }
    if (process.env.DEBUG_FAILOVER) console.log({ elapsedMs, states });
  });
});
