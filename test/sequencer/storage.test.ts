import { expect } from "chai";
import fc from "fast-check";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { VEIL_ERRORS, type RpcError } from "../../sequencer/rpc/errors";
import { decodeValue, encodeValue, entryKey } from "../../sequencer/node/storage/codec";
import { NodeStore, sealRecordOf, type BuiltBlockRecord, type SealRecord } from "../../sequencer/node/storage/store";
import type { Entry } from "../../sequencer/node/entry";
import { storedEntry } from "./entry-fixture";

const ROLLUP = 7n;

/** Entry n of a height: leaf data n, and n as its bytes. */
function entry(n: number, extra: Partial<Entry> = {}): Entry {
  const encTxHash = `0x${n.toString(16).padStart(64, "0")}`;
  const rawTx = `0x${n.toString(16).padStart(8, "0")}`;
  return { ...storedEntry({ rollupId: ROLLUP, height: 0, index: n, encTxHash, rawTx }), ...extra };
}

/** A signed seal of `height` of the right shape (the store reads only its count and root). */
function sealOf(height: number, txCount: number, encRoot: string): SealRecord {
  return sealRecordOf({
    seal: { rollupId: ROLLUP.toString(), height: String(height), txCount, encRoot, viewNumber: 3, epoch: 0 },
    signature: `0x${"be".repeat(65)}`,
    leader: `0x${"11".repeat(20)}`,
  });
}

/** A built block of `height` of the right shape (the store reads none of it). */
function builtOf(height: number, rawTxs: readonly string[]): BuiltBlockRecord {
  const hash = (n: number): string => `0x${n.toString(16).padStart(64, "0")}`;
  return {
    rawRoot: hash(2),
    block: {
      built: {
        commitment: {
          rollupId: ROLLUP.toString(),
          height: String(height),
          txCount: rawTxs.length,
          encRoot: hash(1),
          rawRoot: hash(2),
          viewNumber: 3,
        },
        commitmentHash: hash(3),
        viewNumber: 3,
        leader: `0x${"11".repeat(20)}`,
        signature: `0x${"be".repeat(65)}`,
        taskId: hash(4),
        transactions: rawTxs.map((rawTx, index) => ({
          index,
          status: "valid",
          encTxHash: hash(index),
          rawTx,
          txHash: hash(index),
        })),
      },
      roundSecret: "0x2a",
    },
  };
}

async function rejectsWith(promise: Promise<unknown>, code: number): Promise<RpcError> {
  try {
    await promise;
  } catch (error) {
    expect((error as RpcError).code, (error as Error).message).to.equal(code);
    return error as RpcError;
  }
  throw new Error(`expected a rejection with code ${code}`);
}

describe("storage encoding", () => {
  it("round-trips bigints, byte arrays and nested JSON exactly", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(2n ** 300n), max: 2n ** 300n }),
        fc.uint8Array({ maxLength: 40 }),
        fc.jsonValue(),
        (big, bytes, json) => {
          const value = { big, bytes, json, list: [big, bytes] };
          const decoded = decodeValue<typeof value>(encodeValue(value));
          expect(decoded.big).to.equal(big);
          expect(Buffer.from(decoded.bytes).equals(Buffer.from(bytes))).to.equal(true);
          expect(decoded.json).to.deep.equal(JSON.parse(JSON.stringify(json)));
          expect(decoded.list[0]).to.equal(big);
        },
      ),
      { numRuns: 100 },
    );
  });

  it("orders entry keys bytewise as indices and heights order numerically", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        (i, j, h) => {
          const cmp = Buffer.compare(entryKey(ROLLUP, h, i), entryKey(ROLLUP, h, j));
          expect(Math.sign(cmp)).to.equal(Math.sign(i - j));
        },
      ),
    );
    expect(() => entryKey(ROLLUP, 1, 2 ** 32)).to.throw(RangeError);
    expect(() => entryKey(ROLLUP, -1, 0)).to.throw(RangeError);
    expect(() => entryKey(-1n, 1, 0)).to.throw(RangeError);
    expect(() => entryKey(2n ** 256n, 1, 0)).to.throw(RangeError);
  });
});

describe("NodeStore", () => {
  let dir: string;
  let store: NodeStore;

  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "veil-store-"));
    store = await NodeStore.open(dir);
  });
  afterEach(async () => {
    if (store.isOpen) await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("appends entries at consecutive indices and reads them back in index order", async () => {
    for (let i = 0; i < 300; i++) await store.appendEntry(ROLLUP, 5, i, entry(i));
    const all = await store.getEntries(ROLLUP, 5);
    expect(all).to.deep.equal(Array.from({ length: 300 }, (_, i) => entry(i)));
    expect(await store.getEntries(ROLLUP, 5, { from: 255, to: 258 })).to.deep.equal([
      entry(255),
      entry(256),
      entry(257),
    ]);
    expect(await store.getEntry(ROLLUP, 5, 299)).to.deep.equal(entry(299));
    expect(await store.getEntry(ROLLUP, 5, 300)).to.equal(undefined);
    expect(await store.blockState(ROLLUP, 5)).to.deep.equal({ status: "open", count: 300 });
    expect(await store.findCiphertext(ROLLUP, entry(42).encTxHash)).to.deep.equal({ height: 5, index: 42 });
  });

  it("keeps rollups and heights apart", async () => {
    await store.appendEntry(ROLLUP, 1, 0, entry(1));
    await store.appendEntry(ROLLUP, 2, 0, entry(2));
    await store.appendEntry(ROLLUP + 1n, 1, 0, entry(1));
    expect(await store.getEntries(ROLLUP, 1)).to.deep.equal([entry(1)]);
    expect(await store.getEntries(ROLLUP, 2)).to.deep.equal([entry(2)]);
    expect(await store.getEntries(ROLLUP + 1n, 1)).to.deep.equal([entry(1)]);
    expect(await store.getEntries(ROLLUP, 3)).to.deep.equal([]);
  });

  it("refuses an index that is taken, even under concurrent appends, and never holds two transactions at one index", async () => {
    await store.appendEntry(ROLLUP, 1, 0, entry(0));
    await rejectsWith(store.appendEntry(ROLLUP, 1, 0, entry(100)), VEIL_ERRORS.INDEX_TAKEN);
    const racers = await Promise.allSettled(
      Array.from({ length: 8 }, (_, k) => store.appendEntry(ROLLUP, 1, 1, entry(10 + k))),
    );
    expect(racers.filter((r) => r.status === "fulfilled")).to.have.length(1);
    for (const r of racers.filter((x): x is PromiseRejectedResult => x.status === "rejected")) {
      expect((r.reason as RpcError).code).to.equal(VEIL_ERRORS.INDEX_TAKEN);
    }
    expect(await store.blockState(ROLLUP, 1)).to.deep.equal({ status: "open", count: 2 });
    expect(await store.getEntries(ROLLUP, 1)).to.have.length(2);
  });

  it("refuses a gap, a duplicate ciphertext in the rollup or in the batch, and writes nothing then", async () => {
    await store.appendEntry(ROLLUP, 1, 0, entry(0));
    await rejectsWith(store.appendEntry(ROLLUP, 1, 2, entry(2)), VEIL_ERRORS.OUT_OF_ORDER);
    await rejectsWith(store.appendEntry(ROLLUP, 2, 0, entry(0)), VEIL_ERRORS.DUPLICATE_CIPHERTEXT);
    await rejectsWith(
      store.appendEntries(ROLLUP, 1, 1, [entry(1), entry(2), entry(1)]),
      VEIL_ERRORS.DUPLICATE_CIPHERTEXT,
    );
    // Hex case does not make a different ciphertext.
    await store.appendEntry(ROLLUP, 3, 0, entry(0xabc));
    const upper = entry(7, { encTxHash: `0x${entry(0xabc).encTxHash.slice(2).toUpperCase()}` });
    await rejectsWith(store.appendEntries(ROLLUP, 1, 1, [entry(3), upper]), VEIL_ERRORS.DUPLICATE_CIPHERTEXT);
    expect(await store.blockState(ROLLUP, 1)).to.deep.equal({ status: "open", count: 1 });
    expect(await store.findCiphertext(ROLLUP, entry(1).encTxHash)).to.equal(undefined);
    expect(await store.findCiphertext(ROLLUP, entry(3).encTxHash)).to.equal(undefined);
    // Another rollup may carry the same ciphertext hash.
    await store.appendEntry(ROLLUP + 1n, 1, 0, entry(0));
  });

  it("appends a batch atomically", async () => {
    await store.appendEntries(ROLLUP, 1, 0, [entry(0), entry(1), entry(2)]);
    expect(await store.blockState(ROLLUP, 1)).to.deep.equal({ status: "open", count: 3 });
    await rejectsWith(store.appendEntries(ROLLUP, 1, 2, [entry(9)]), VEIL_ERRORS.INDEX_TAKEN);
  });

  it("moves a block open → sealed → finalized and refuses appends and repeats after the seal", async () => {
    await store.appendEntries(ROLLUP, 4, 0, [entry(0), entry(1)]);
    await rejectsWith(store.finalize(ROLLUP, 4, builtOf(4, [])), VEIL_ERRORS.OUT_OF_ORDER);
    await rejectsWith(store.seal(ROLLUP, 4, sealOf(4, 3, "0x01")), VEIL_ERRORS.OUT_OF_ORDER);
    const seal = sealOf(4, 2, "0x01");
    await store.seal(ROLLUP, 4, seal);
    expect(await store.getSeal(ROLLUP, 4)).to.deep.equal(seal);
    expect(await store.blockState(ROLLUP, 4)).to.deep.equal({ status: "sealed", count: 2 });
    await rejectsWith(store.appendEntry(ROLLUP, 4, 2, entry(2)), VEIL_ERRORS.HEIGHT_SEALED);
    await rejectsWith(store.seal(ROLLUP, 4, seal), VEIL_ERRORS.HEIGHT_SEALED);
    await rejectsWith(store.truncate(ROLLUP, 4, 0), VEIL_ERRORS.HEIGHT_SEALED);
    const built = builtOf(4, ["0x01", "0x02"]);
    await store.finalize(ROLLUP, 4, built);
    expect(await store.getBuiltBlock(ROLLUP, 4)).to.deep.equal(built);
    expect(await store.blockState(ROLLUP, 4)).to.deep.equal({ status: "finalized", count: 2 });
    await rejectsWith(store.finalize(ROLLUP, 4, built), VEIL_ERRORS.OUT_OF_ORDER);
    // An empty block can be sealed too.
    await store.seal(ROLLUP, 5, sealOf(5, 0, "0x00"));
    expect(await store.stats()).to.deep.equal({ entries: 2, blocks: { open: 0, sealed: 1, finalized: 1 } });
  });

  it("truncates an open block's suffix and frees its indices and ciphertexts", async () => {
    await store.appendEntries(ROLLUP, 1, 0, [entry(0), entry(1), entry(2), entry(3)]);
    expect(await store.truncate(ROLLUP, 1, 2)).to.equal(2);
    expect(await store.truncate(ROLLUP, 1, 5)).to.equal(0);
    expect(await store.getEntries(ROLLUP, 1)).to.deep.equal([entry(0), entry(1)]);
    expect(await store.findCiphertext(ROLLUP, entry(3).encTxHash)).to.equal(undefined);
    await store.appendEntry(ROLLUP, 1, 2, entry(3));
    expect(await store.getEntry(ROLLUP, 1, 2)).to.deep.equal(entry(3));
  });

  it("keeps each height's view state monotonic", async () => {
    expect(await store.getViewState(ROLLUP, 3)).to.deep.equal({ view: 0, normalView: 0 });
    await store.setViewState(ROLLUP, 3, { view: 3, normalView: 2 });
    await store.setViewState(ROLLUP, 3, { view: 3, normalView: 2 });
    await rejectsWith(store.setViewState(ROLLUP, 3, { view: 2, normalView: 2 }), VEIL_ERRORS.OUT_OF_ORDER);
    expect(await store.getViewState(ROLLUP, 3)).to.deep.equal({ view: 3, normalView: 2 });
    expect(await store.getViewState(ROLLUP, 4)).to.deep.equal({ view: 0, normalView: 0 });
  });

  it("keeps everything across close and reopen, and refuses a second opener of the same directory", async () => {
    await store.appendEntries(ROLLUP, 9, 0, [entry(0), entry(1)]);
    await store.setViewState(ROLLUP, 9, { view: 4, normalView: 4 });
    try {
      await NodeStore.open(dir);
      expect.fail("a second opener must be refused");
    } catch (error) {
      expect((error as { code?: string }).code).to.equal("LEVEL_DATABASE_NOT_OPEN");
    }
    await store.close();
    store = await NodeStore.open(dir);
    expect(await store.getEntries(ROLLUP, 9)).to.deep.equal([entry(0), entry(1)]);
    expect(await store.getViewState(ROLLUP, 9)).to.deep.equal({ view: 4, normalView: 4 });
    await rejectsWith(store.appendEntry(ROLLUP, 9, 1, entry(5)), VEIL_ERRORS.INDEX_TAKEN);
  });

  it("matches a model of append semantics under random operation sequences", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 20 })),
          {
            maxLength: 25,
          },
        ),
        async (ops) => {
          const rollup = BigInt(Math.floor(Math.random() * 2 ** 40)) + 1000n; // a fresh rollup per run
          const model = new Map<number, number[]>();
          for (const [height, index, tx] of ops) {
            const block = model.get(height) ?? [];
            const expectOk = index === block.length && ![...model.values()].some((b) => b.includes(tx));
            const outcome = await store.appendEntry(rollup, height, index, entry(tx)).then(
              () => true,
              () => false,
            );
            expect(outcome).to.equal(expectOk);
            if (expectOk) model.set(height, [...block, tx]);
          }
          for (const [height, txs] of model) {
            expect(await store.getEntries(rollup, height)).to.deep.equal(txs.map((t) => entry(t)));
          }
        },
      ),
      { numRuns: 30 },
    );
  });
});
