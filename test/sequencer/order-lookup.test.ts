import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { receiptByLeaf } from "../../sequencer/node/order-lookup";
import type { Entry } from "../../sequencer/node/entry";
import type { StoredValue } from "../../sequencer/node/storage/codec";
import { NodeStore } from "../../sequencer/node/storage/store";
import { RpcError } from "../../sequencer/rpc/errors";
import { storedEntry } from "./entry-fixture";

const ROLLUP = 7n;
const HEIGHT = 3;
const leaf = (n: number): string => `0x${n.toString(16).padStart(64, "0")}`;

/** The entry of `leaf(n)` at `index`, its receipt signed in `view`. */
function entry(n: number, index: number, view = 0): Entry {
  const e = storedEntry({ rollupId: ROLLUP, height: HEIGHT, index, encTxHash: leaf(n), rawTx: `0x0${n}` });
  const receipt = e.orderCommitment;
  return {
    ...e,
    orderCommitment: { ...receipt, viewNumber: view, commitment: { ...receipt.commitment, viewNumber: view } },
  };
}

/** A view certificate as the store keeps it: a majority's ViewChange signatures for (HEIGHT, view). */
function viewCertificate(view: number): StoredValue {
  return {
    view: { rollupId: ROLLUP.toString(), height: String(HEIGHT), viewNumber: view, epoch: 0 },
    signatures: [`0x${"ab".repeat(65)}`, `0x${"cd".repeat(65)}`],
  };
}

async function notFound(p: Promise<unknown>): Promise<void> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).to.be.instanceOf(RpcError);
  expect((error as RpcError).errorName).to.equal("NOT_FOUND");
}

/** Every entry of these tests is known to be held by a majority, except where a test says otherwise. */
const ALL = (): boolean => true;
const below =
  (count: number) =>
  (index: number): boolean =>
    index < count;

describe("get_order_commitment by leaf (order-lookup.ts): the receipt of an ordered transaction, found by its encTxHash", () => {
  let dir: string;
  let store: NodeStore;

  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "veil-order-lookup-"));
    store = await NodeStore.open(dir);
    const entries = [entry(1, 0), entry(2, 1), entry(3, 2)];
    await store.applyHeightWrites(ROLLUP, HEIGHT, [{ type: "append", firstIndex: 0, entries }]);
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("answers the receipt stored for the leaf at its height, whatever the case of the hex", async () => {
    expect(await receiptByLeaf(store, ROLLUP, HEIGHT, leaf(2), ALL)).to.deep.equal(entry(2, 1).orderCommitment);
    const upper = `0x${leaf(0xabc).slice(2).toUpperCase()}`;
    await store.applyHeightWrites(ROLLUP, HEIGHT, [{ type: "append", firstIndex: 3, entries: [entry(0xabc, 3)] }]);
    expect((await receiptByLeaf(store, ROLLUP, HEIGHT, upper, ALL)).commitment.txIndex).to.equal(3);
  });

  it("answers NOT_FOUND for an entry this member does not know a majority holds, until it does", async () => {
    // A leader's entry at index 2 that no follower acknowledged yet could still be dropped by a view change.
    await notFound(receiptByLeaf(store, ROLLUP, HEIGHT, leaf(3), below(2)));
    await notFound(receiptByLeaf(store, ROLLUP, HEIGHT, leaf(1), below(0)));
    expect((await receiptByLeaf(store, ROLLUP, HEIGHT, leaf(3), below(3))).commitment.txIndex).to.equal(2);
  });

  it("answers NOT_FOUND for a leaf never ordered, one ordered at another height, and another rollup", async () => {
    await notFound(receiptByLeaf(store, ROLLUP, HEIGHT, leaf(99), ALL));
    await notFound(receiptByLeaf(store, ROLLUP, HEIGHT + 1, leaf(2), ALL));
    await notFound(receiptByLeaf(store, ROLLUP, HEIGHT - 1, leaf(2), ALL));
    await notFound(receiptByLeaf(store, ROLLUP + 1n, HEIGHT, leaf(2), ALL));
  });

  it("answers the receipt at the leaf's current index after a view change moved it, and none for a dropped leaf", async () => {
    // View 1 keeps index 0, drops leaf 2 and puts leaf 3 at index 1 with the new leader's receipt.
    await store.applyHeightWrites(ROLLUP, HEIGHT, [
      {
        type: "install",
        view: 1,
        normalView: 1,
        keep: 1,
        entries: [entry(3, 1, 1)],
        seal: undefined,
        viewCertificate: viewCertificate(1),
        signedDropped: [],
      },
    ]);
    const moved = await receiptByLeaf(store, ROLLUP, HEIGHT, leaf(3), ALL);
    expect(moved.commitment.txIndex).to.equal(1);
    expect(moved.viewNumber).to.equal(1);
    await notFound(receiptByLeaf(store, ROLLUP, HEIGHT, leaf(2), ALL));
    expect(await receiptByLeaf(store, ROLLUP, HEIGHT, leaf(1), ALL)).to.deep.equal(entry(1, 0).orderCommitment);
  });

  it("attaches the view certificate held for the height to a receipt of that view, as the leader answers it", async () => {
    await store.applyHeightWrites(ROLLUP, HEIGHT, [
      {
        type: "install",
        view: 1,
        normalView: 1,
        keep: 3,
        entries: [],
        seal: undefined,
        viewCertificate: viewCertificate(1),
        signedDropped: [],
      },
      { type: "append", firstIndex: 3, entries: [entry(4, 3, 1)] },
    ]);
    const receipt = await receiptByLeaf(store, ROLLUP, HEIGHT, leaf(4), ALL);
    expect(receipt).to.deep.equal({ ...entry(4, 3, 1).orderCommitment, viewCertificate: viewCertificate(1) });
    // A view-0 receipt needs no certificate and gets none.
    expect(await receiptByLeaf(store, ROLLUP, HEIGHT, leaf(1), ALL)).to.not.have.property("viewCertificate");
  });

  it("answers a receipt of an earlier view as stored, without the certificate of a later view", async () => {
    await store.applyHeightWrites(ROLLUP, HEIGHT, [
      { type: "append", firstIndex: 3, entries: [entry(4, 3, 1)] },
      {
        type: "install",
        view: 2,
        normalView: 2,
        keep: 4,
        entries: [],
        seal: undefined,
        viewCertificate: viewCertificate(2),
        signedDropped: [],
      },
    ]);
    expect(await receiptByLeaf(store, ROLLUP, HEIGHT, leaf(4), ALL)).to.deep.equal(entry(4, 3, 1).orderCommitment);
  });

  it("writes nothing: the store's records are the same after any number of lookups", async () => {
    const before = { stats: await store.stats(), views: await store.viewStateHeights() };
    for (const [height, n] of [
      [HEIGHT, 2],
      [HEIGHT, 99],
      [HEIGHT + 1, 2],
      [1_000_000, 5],
    ] as const) {
      await receiptByLeaf(store, ROLLUP, height, leaf(n), ALL).catch(() => undefined);
    }
    expect({ stats: await store.stats(), views: await store.viewStateHeights() }).to.deep.equal(before);
    expect(await store.rollupIds()).to.deep.equal([ROLLUP]);
  });
});
