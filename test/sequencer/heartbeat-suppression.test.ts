import { expect } from "chai";
import { ROLLUP, deployWorld, startMember, teardown, type ClusterWorld } from "./cluster-harness";

/**
 * The leader timeout is 15 heartbeats, and the load lasts longer than two timeouts: a follower that did not
 * count replication as a sign of life would depose the leader during it. (At 600 ms, a machine busy with
 * other processes starved all three in-process nodes long enough to change the view.)
 */
const FAST = { timeouts: { peerRequestMs: 8_000, heartbeatIntervalMs: 100, leaderTimeoutMs: 1_500 } };
const LOAD_MS = 3_500;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe("heartbeats: skipped while the leader replicates, resumed when it stops", function () {
  this.timeout(120_000);
  let w: ClusterWorld;
  let seq = 0;
  const raw = (): string => `0x${Buffer.from(`hb ${seq++}`).toString("hex")}`;
  const send = (): Promise<unknown> =>
    w.clients[0]!.call("send_raw_transaction", { rollupId: "7", height: "0", rawTx: raw() });

  /** Heartbeats follower `i` has taken so far (its replica message counter). */
  async function heartbeatsAt(i: number): Promise<number> {
    const metric = w.nodes[i]!.metricsRegistry.getSingleMetric("veil_replica_messages_total");
    const values = (await metric!.get()).values;
    return values
      .filter((v) => v.labels.type === "heartbeat" && v.labels.direction === "in")
      .reduce((sum, v) => sum + v.value, 0);
  }

  before(async () => {
    w = await deployWorld([]);
    for (let i = 0; i < 3; i++) await startMember(w, i, FAST);
    await send(); // member 0 leads height 0; the followers now watch it
  });
  after(() => teardown(w));

  it("a loaded leader sends fewer heartbeats than an idle one, and no follower ever times out", async () => {
    const idleStart = await heartbeatsAt(1);
    await sleep(1_500);
    const idle = (await heartbeatsAt(1)) - idleStart;
    expect(idle, "an idle leader heartbeats").to.be.greaterThan(3);

    const loadStart = await heartbeatsAt(1);
    const end = Date.now() + LOAD_MS;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (Date.now() < end) await send();
      }),
    );
    // Per 1.5 s, as the idle count.
    const loaded = (((await heartbeatsAt(1)) - loadStart) * 1_500) / LOAD_MS;
    expect(loaded, `heartbeats under load (${loaded}) vs idle (${idle}) per 1.5 s`).to.be.lessThan(idle);

    // Replication stopped: heartbeats must resume, or the followers would depose a live leader.
    const after = await heartbeatsAt(1);
    await sleep(1_500);
    expect((await heartbeatsAt(1)) - after, "heartbeats resume when replication stops").to.be.greaterThan(3);
    for (let i = 0; i < 3; i++) {
      expect(await w.nodes[i]!.sequencer!.viewStateOf(ROLLUP, 0)).to.deep.equal({ view: 0, normalView: 0 });
    }
  });
});
