import { expect } from "chai";
import { RpcCallError } from "../../sequencer/rpc/client";
import { NodeStore } from "../../sequencer/node/storage/store";
import { ROLLUP, deployWorld, rejects, startMember, stopMember, teardown, type ClusterWorld } from "./cluster-harness";

/** Fast failover for tests: heartbeats every 100 ms, a silent leader is replaced after 600-900 ms. */
const FAST = { timeouts: { peerRequestMs: 8_000, heartbeatIntervalMs: 100, leaderTimeoutMs: 600 } };
const R = ROLLUP.toString();
const raw = (label: string): string => `0x${Buffer.from(label).toString("hex")}`;

async function until(what: string, check: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * An honest member never signs two leaves at one (height, index), whatever views it goes through: the
 * entries it signed that a view change drops are recorded durably, and it refuses to sign there again
 * (docs/ordering.md, "No honest member is slashable").
 */
describe("sequencer cluster: one signed leaf per index, across views (3 nodes, loopback)", function () {
  this.timeout(180_000);
  let w: ClusterWorld;

  before(async () => {
    w = await deployWorld([]);
    for (let i = 0; i < 3; i++) await startMember(w, i, FAST);
  });
  after(() => teardown(w));

  it("records durably the entry a leader signed that a later view dropped", async () => {
    // Member 0 leads height 0 in view 0. Alone, it signs index 0 but no majority stores it.
    await stopMember(w, 1);
    await stopMember(w, 2);
    await rejects(
      w.clients[0]!.call("send_raw_transaction", { rollupId: R, height: "0", rawTx: raw("alone") }),
      "UNAVAILABLE",
    );
    const signedAlone = await w.nodes[0]!.store.getEntries(ROLLUP, 0);
    expect(signedAlone).to.have.length(1);
    await stopMember(w, 0);
    // The others move to view 1 (member 1 leads) and put another transaction at index 0.
    await startMember(w, 1, FAST);
    await startMember(w, 2, FAST);
    await until("a write in view 1", async () => {
      const r = (await w.clients[1]!.call("send_raw_transaction", {
        rollupId: R,
        height: "0",
        rawTx: raw("view one"),
      })) as { viewNumber: number };
      return r.viewNumber >= 1;
    });
    // Member 0 comes back, learns the later view's log and drops its own entry: the record stays.
    await startMember(w, 0, FAST);
    await until(
      "member 0 installs the later view's log",
      async () => (await w.nodes[0]!.store.signedDroppedIndices(ROLLUP, 0)).length > 0,
    );
    expect(await w.nodes[0]!.store.signedDroppedIndices(ROLLUP, 0)).to.deep.equal([0]);
    expect((await w.nodes[0]!.store.getEntries(ROLLUP, 0))[0]!.encTxHash).to.not.equal(signedAlone[0]!.encTxHash);
  });

  it("refuses to sign at an index it signed in an earlier view, and still takes the indices below it", async () => {
    // Height 3 is led by member 0 in view 0. Its store says it once signed index 1 of height 3 elsewhere.
    await stopMember(w, 0);
    const store = await NodeStore.open(w.dirs[0]!);
    await store.applyHeightWrites(ROLLUP, 3, [
      {
        type: "install",
        view: 0,
        normalView: 0,
        keep: 0,
        entries: [],
        seal: undefined,
        viewCertificate: undefined,
        signedDropped: [1],
      },
    ]);
    await store.close();
    await startMember(w, 0, FAST);
    const client = w.clients[0]!;
    // Restarted, it recovers height 3 (it holds a record there) before it orders again.
    let first: { commitment: { txIndex: number } } | undefined;
    await until("the first write after recovery", async () => {
      first = (await client.call("send_raw_transaction", { rollupId: R, height: "3", rawTx: raw("index 0") })) as {
        commitment: { txIndex: number };
      };
      return true;
    });
    if (first === undefined) throw new Error("no receipt");
    expect(first.commitment.txIndex).to.equal(0);
    let refused: unknown;
    try {
      await client.call("send_raw_transaction", { rollupId: R, height: "3", rawTx: raw("index 1") });
    } catch (error) {
      refused = error;
    }
    expect(refused).to.be.instanceOf(RpcCallError);
    expect((refused as RpcCallError).errorName).to.equal("WRONG_HEIGHT");
    expect((refused as RpcCallError).message).to.match(/signed another entry at index 1 in an earlier view/);
    expect(await w.nodes[0]!.store.getEntries(ROLLUP, 3)).to.have.length(1);
  });
});
