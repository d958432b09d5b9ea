import { expect } from "chai";
import fc from "fast-check";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { VEIL_ERRORS, type RpcError } from "../../sequencer/rpc/errors";
import { decodeValue, encodeValue, entryKey, type StoredValue } from "../../sequencer/node/storage/codec";
import {
  NodeStore,
  sealRecordOf,
  type BuiltBlockRecord,
  type HeightWrite,
  type SealRecord,
} from "../../sequencer/node/storage/store";
import type { Entry } from "../../sequencer/node/entry";
import { storedEntry } from "./entry-fixture";

const ROLLUP = 7n;

/** Entry n of a height: leaf data n, and n as its bytes. */
function entry(n: number): Entry {
  const encTxHash = `0x${n.toString(16).padStart(64, "0")}`;
  const rawTx = `0x${n.toString(16).padStart(8, "0")}`;
  return storedEntry({ rollupId: ROLLUP, height: 0, index: n, encTxHash, rawTx });
}

/** A signed seal of `height` of the right shape (the store keeps it as it is). */
function sealOf(height: number, txCount: number, encRoot: string): SealRecord {
  return sealRecordOf({
    seal: {
      rollupId: ROLLUP.toString(),
      height: String(height),
      txCount,
      encRoot,
      inboxBlock: "0",
      viewNumber: 3,
      epoch: 0,
    },
    signature: `0x${"be".repeat(65)}`,
    leader: `0x${"11".repeat(20)}`,
  });
}

/** A seal certificate of the right shape (the store keeps it as it is). */
const CERTIFICATE: StoredValue = { seal: { viewNumber: 3 }, signatures: [`0x${"be".repeat(65)}`] };

type Install = Extract<HeightWrite, { type: "install" }>;

/** A view change's install of `entries` after the first `keep`, in `view`, with nothing else recorded. */
function install(keep: number, entries: readonly Entry[], view = 1, extra: Partial<Install> = {}): Install {
  return {
    type: "install",
    view,
    normalView: view,
    keep,
    entries,
    seal: undefined,
    viewCertificate: undefined,
    signedDropped: [],
    ...extra,
  };
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
          inboxBlock: "0",
          forcedCount: 0,
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

  /** Appends `entries` at `firstIndex` in one step's batch (the replica's `append` write). */
  function append(rollup: bigint, height: number, firstIndex: number, entries: readonly Entry[]): Promise<void> {
    return store.applyHeightWrites(rollup, height, [{ type: "append", firstIndex, entries }]);
  }

  it("appends entries at consecutive indices and reads them back in index order", async () => {
    for (let i = 0; i < 200; i++) await append(ROLLUP, 5, i, [entry(i)]);
    const batch = Array.from({ length: 100 }, (_, k) => entry(200 + k));
    await append(ROLLUP, 5, 200, batch);
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
    // Hex case does not make a different ciphertext.
    const upper = `0x${entry(42).encTxHash.slice(2).toUpperCase()}`;
    expect(await store.findCiphertext(ROLLUP, upper)).to.deep.equal({ height: 5, index: 42 });
  });

  it("keeps rollups and heights apart", async () => {
    await append(ROLLUP, 1, 0, [entry(1)]);
    await append(ROLLUP, 2, 0, [entry(2)]);
    await append(ROLLUP + 1n, 1, 0, [entry(2)]);
    expect(await store.getEntries(ROLLUP, 1)).to.deep.equal([entry(1)]);
    expect(await store.getEntries(ROLLUP, 2)).to.deep.equal([entry(2)]);
    expect(await store.getEntries(ROLLUP + 1n, 1)).to.deep.equal([entry(2)]);
    expect(await store.getEntries(ROLLUP, 3)).to.deep.equal([]);
    // Another rollup may carry the same ciphertext: each rollup knows its own place for it.
    expect(await store.findCiphertext(ROLLUP, entry(2).encTxHash)).to.deep.equal({ height: 2, index: 0 });
    expect(await store.findCiphertext(ROLLUP + 1n, entry(2).encTxHash)).to.deep.equal({ height: 1, index: 0 });
    expect(await store.rollupIds()).to.have.members([ROLLUP, ROLLUP + 1n]);
  });

  it("serialises concurrent batches of a rollup, so that none of them is lost", async () => {
    // Each batch reads the block state and writes it back: run unserialised, the appends would overwrite
    // each other's count. The block pipeline writes a certificate concurrently with the replica's steps.
    await Promise.all([
      ...Array.from({ length: 8 }, (_, i) => append(ROLLUP, 1, i, [entry(i)])),
      store.applyHeightWrites(ROLLUP, 1, [{ type: "decided", certificate: CERTIFICATE }]),
      store.applyHeightWrites(ROLLUP, 1, [{ type: "view", view: 2, normalView: 2 }]),
    ]);
    expect(await store.blockState(ROLLUP, 1)).to.deep.equal({ status: "open", count: 8 });
    expect(await store.getEntries(ROLLUP, 1)).to.deep.equal(Array.from({ length: 8 }, (_, i) => entry(i)));
    expect(await store.getCertificate(ROLLUP, 1)).to.deep.equal(CERTIFICATE);
    expect(await store.getViewState(ROLLUP, 1)).to.deep.equal({ view: 2, normalView: 2 });
  });

  it("refuses an append that would leave a gap, and then writes nothing of its batch", async () => {
    await append(ROLLUP, 1, 0, [entry(0)]);
    const batch: HeightWrite[] = [
      { type: "append", firstIndex: 1, entries: [entry(1)] },
      { type: "view", view: 2, normalView: 2 },
      { type: "append", firstIndex: 3, entries: [entry(3)] },
    ];
    try {
      await store.applyHeightWrites(ROLLUP, 1, batch);
      expect.fail("an append past the end must be refused");
    } catch (error) {
      expect(error).to.be.instanceOf(RangeError);
    }
    expect(await store.blockState(ROLLUP, 1)).to.deep.equal({ status: "open", count: 1 });
    expect(await store.getEntries(ROLLUP, 1)).to.deep.equal([entry(0)]);
    expect(await store.findCiphertext(ROLLUP, entry(1).encTxHash)).to.equal(undefined);
    expect(await store.getViewState(ROLLUP, 1)).to.deep.equal({ view: 0, normalView: 0 });
  });

  it("moves a block open → sealed → finalized, after which only its certificate may still be written", async () => {
    await append(ROLLUP, 4, 0, [entry(0), entry(1)]);
    await rejectsWith(store.finalize(ROLLUP, 4, builtOf(4, [])), VEIL_ERRORS.OUT_OF_ORDER);
    const seal = sealOf(4, 2, "0x01");
    await store.applyHeightWrites(ROLLUP, 4, [{ type: "seal", seal }]);
    expect(await store.getSeal(ROLLUP, 4)).to.deep.equal(seal);
    expect(await store.blockState(ROLLUP, 4)).to.deep.equal({ status: "sealed", count: 2 });
    await store.applyHeightWrites(ROLLUP, 4, [{ type: "decided", certificate: CERTIFICATE }]);
    const built = builtOf(4, ["0x01", "0x02"]);
    await store.finalize(ROLLUP, 4, built);
    expect(await store.getBuiltBlock(ROLLUP, 4)).to.deep.equal(built);
    expect(await store.blockState(ROLLUP, 4)).to.deep.equal({ status: "finalized", count: 2 });
    await rejectsWith(store.finalize(ROLLUP, 4, built), VEIL_ERRORS.OUT_OF_ORDER);
    // A built height's log is final: no replica write may touch it any more, but its decision.
    await rejectsWith(append(ROLLUP, 4, 2, [entry(2)]), VEIL_ERRORS.HEIGHT_SEALED);
    await rejectsWith(store.applyHeightWrites(ROLLUP, 4, [install(0, [])]), VEIL_ERRORS.HEIGHT_SEALED);
    await rejectsWith(
      store.applyHeightWrites(ROLLUP, 4, [{ type: "view", view: 5, normalView: 5 }]),
      VEIL_ERRORS.HEIGHT_SEALED,
    );
    const later: StoredValue = { ...CERTIFICATE, seal: { viewNumber: 4 } };
    await store.applyHeightWrites(ROLLUP, 4, [{ type: "built", certificate: later }]);
    expect(await store.getCertificate(ROLLUP, 4)).to.deep.equal(later);
    expect(await store.getEntries(ROLLUP, 4)).to.deep.equal([entry(0), entry(1)]);
    expect(await store.blockState(ROLLUP, 4)).to.deep.equal({ status: "finalized", count: 2 });
    // An empty block can be sealed too.
    await store.applyHeightWrites(ROLLUP, 5, [{ type: "seal", seal: sealOf(5, 0, "0x00") }]);
    expect(await store.stats()).to.deep.equal({ entries: 2, blocks: { open: 0, sealed: 1, finalized: 1 } });
    expect(await store.highestSealedHeight(ROLLUP)).to.equal(5);
    expect(await store.unfinishedHeights()).to.deep.equal([{ rollupId: ROLLUP, height: 5 }]);
  });

  it("truncates the log in a view change's install and frees the dropped indices and ciphertexts", async () => {
    await append(ROLLUP, 1, 0, [entry(0), entry(1), entry(2), entry(3)]);
    await store.applyHeightWrites(ROLLUP, 1, [install(2, [])]);
    expect(await store.getEntries(ROLLUP, 1)).to.deep.equal([entry(0), entry(1)]);
    expect(await store.blockState(ROLLUP, 1)).to.deep.equal({ status: "open", count: 2 });
    expect(await store.getEntry(ROLLUP, 1, 2)).to.equal(undefined);
    expect(await store.findCiphertext(ROLLUP, entry(2).encTxHash)).to.equal(undefined);
    expect(await store.findCiphertext(ROLLUP, entry(3).encTxHash)).to.equal(undefined);
    expect(await store.getViewState(ROLLUP, 1)).to.deep.equal({ view: 1, normalView: 1 });
    await append(ROLLUP, 1, 2, [entry(3)]);
    expect(await store.getEntry(ROLLUP, 1, 2)).to.deep.equal(entry(3));
    expect(await store.findCiphertext(ROLLUP, entry(3).encTxHash)).to.deep.equal({ height: 1, index: 2 });
  });

  it("replaces a log's suffix in an install, keeping a leaf that moved to another index findable", async () => {
    await append(ROLLUP, 1, 0, [entry(0), entry(1), entry(2)]);
    // The view's log holds entry 2 one place earlier, and a new entry after it.
    await store.applyHeightWrites(ROLLUP, 1, [install(1, [entry(2), entry(9)], 3)]);
    expect(await store.getEntries(ROLLUP, 1)).to.deep.equal([entry(0), entry(2), entry(9)]);
    expect(await store.findCiphertext(ROLLUP, entry(1).encTxHash)).to.equal(undefined);
    expect(await store.findCiphertext(ROLLUP, entry(2).encTxHash)).to.deep.equal({ height: 1, index: 1 });
    expect(await store.findCiphertext(ROLLUP, entry(9).encTxHash)).to.deep.equal({ height: 1, index: 2 });
  });

  it("seals and unseals a log in an install, and records the view's certificate with it", async () => {
    await append(ROLLUP, 2, 0, [entry(0), entry(1)]);
    const seal = sealOf(2, 3, "0x03");
    const viewCertificate: StoredValue = { viewNumber: 1, signatures: [] };
    await store.applyHeightWrites(ROLLUP, 2, [install(2, [entry(2)], 1, { seal, viewCertificate })]);
    expect(await store.blockState(ROLLUP, 2)).to.deep.equal({ status: "sealed", count: 3 });
    expect(await store.getSeal(ROLLUP, 2)).to.deep.equal(seal);
    expect(await store.getViewCertificate(ROLLUP, 2)).to.deep.equal(viewCertificate);
    // A later view settled on a log that only a minority had sealed: its seal goes, the certificate stays.
    await store.applyHeightWrites(ROLLUP, 2, [install(1, [], 2)]);
    expect(await store.blockState(ROLLUP, 2)).to.deep.equal({ status: "open", count: 1 });
    expect(await store.getSeal(ROLLUP, 2)).to.equal(undefined);
    expect(await store.getViewCertificate(ROLLUP, 2)).to.deep.equal(viewCertificate);
  });

  it("applies a step's writes in order: a later write of the batch sees what an earlier one wrote", async () => {
    await store.applyHeightWrites(ROLLUP, 3, [
      { type: "append", firstIndex: 0, entries: [entry(0), entry(1), entry(2)] },
      install(1, [entry(7)], 1),
      { type: "append", firstIndex: 2, entries: [entry(8)] },
      install(2, [], 2),
    ]);
    expect(await store.getEntries(ROLLUP, 3)).to.deep.equal([entry(0), entry(7)]);
    expect(await store.blockState(ROLLUP, 3)).to.deep.equal({ status: "open", count: 2 });
    expect(await store.getViewState(ROLLUP, 3)).to.deep.equal({ view: 2, normalView: 2 });
    // No dedup record is left behind for an entry the same batch wrote and then dropped.
    for (const n of [1, 2, 8]) expect(await store.findCiphertext(ROLLUP, entry(n).encTxHash)).to.equal(undefined);
    expect(await store.findCiphertext(ROLLUP, entry(7).encTxHash)).to.deep.equal({ height: 3, index: 1 });
  });

  it("records a height's view state from view and install writes", async () => {
    expect(await store.getViewState(ROLLUP, 3)).to.deep.equal({ view: 0, normalView: 0 });
    await store.applyHeightWrites(ROLLUP, 3, [{ type: "view", view: 3, normalView: 2 }]);
    expect(await store.getViewState(ROLLUP, 3)).to.deep.equal({ view: 3, normalView: 2 });
    expect(await store.getViewState(ROLLUP, 4)).to.deep.equal({ view: 0, normalView: 0 });
    // A height with only a view state is one a restarted node must recover.
    expect(await store.unfinishedHeights()).to.deep.equal([{ rollupId: ROLLUP, height: 3 }]);
    await store.applyHeightWrites(ROLLUP, 3, [install(0, [entry(0)], 4)]);
    expect(await store.getViewState(ROLLUP, 3)).to.deep.equal({ view: 4, normalView: 4 });
  });

  it("keeps the indices this member signed that an install dropped, through later installs", async () => {
    await append(ROLLUP, 6, 0, [entry(0), entry(1), entry(2), entry(3)]);
    await store.applyHeightWrites(ROLLUP, 6, [install(1, [entry(5)], 1, { signedDropped: [1, 3] })]);
    expect(await store.signedDroppedIndices(ROLLUP, 6)).to.deep.equal([1, 3]);
    await store.applyHeightWrites(ROLLUP, 6, [install(0, [], 2, { signedDropped: [0] })]);
    expect(await store.signedDroppedIndices(ROLLUP, 6)).to.deep.equal([0, 1, 3]);
    expect(await store.signedDroppedIndices(ROLLUP, 7)).to.deep.equal([]);
  });

  it("records the seal this member signed last for a height", async () => {
    expect(await store.getSignedSeal(ROLLUP, 2)).to.equal(undefined);
    const signed = { txCount: 2, encRoot: `0x${"0a".repeat(32)}`, inboxBlock: 17, viewNumber: 1, epoch: 0 };
    await store.applyHeightWrites(ROLLUP, 2, [{ type: "seal-signed", seal: signed }]);
    expect(await store.getSignedSeal(ROLLUP, 2)).to.deep.equal(signed);
    // Signing is not sealing: the log stays open until a seal of the leader is stored.
    expect(await store.blockState(ROLLUP, 2)).to.deep.equal({ status: "open", count: 0 });
  });

  it("keeps everything across close and reopen, and refuses a second opener of the same directory", async () => {
    const seal = sealOf(9, 2, "0x02");
    const signed = { txCount: 2, encRoot: `0x${"02".repeat(32)}`, inboxBlock: 0, viewNumber: 4, epoch: 0 };
    await store.applyHeightWrites(ROLLUP, 9, [
      { type: "append", firstIndex: 0, entries: [entry(0), entry(1), entry(2)] },
      install(2, [entry(3)], 4, { signedDropped: [2] }),
      { type: "seal-signed", seal: signed },
      { type: "seal", seal },
      { type: "decided", certificate: CERTIFICATE },
    ]);
    try {
      await NodeStore.open(dir);
      expect.fail("a second opener must be refused");
    } catch (error) {
      expect((error as { code?: string }).code).to.equal("LEVEL_DATABASE_NOT_OPEN");
    }
    await store.close();
    store = await NodeStore.open(dir);
    expect(await store.getEntries(ROLLUP, 9)).to.deep.equal([entry(0), entry(1), entry(3)]);
    expect(await store.blockState(ROLLUP, 9)).to.deep.equal({ status: "sealed", count: 3 });
    expect(await store.getViewState(ROLLUP, 9)).to.deep.equal({ view: 4, normalView: 4 });
    expect(await store.getSeal(ROLLUP, 9)).to.deep.equal(seal);
    expect(await store.getSignedSeal(ROLLUP, 9)).to.deep.equal(signed);
    expect(await store.getCertificate(ROLLUP, 9)).to.deep.equal(CERTIFICATE);
    expect(await store.signedDroppedIndices(ROLLUP, 9)).to.deep.equal([2]);
    expect(await store.findCiphertext(ROLLUP, entry(3).encTxHash)).to.deep.equal({ height: 9, index: 2 });
  });

  it("matches a model of a log under random appends and installs", async () => {
    // An op appends a fresh transaction at the end, or installs a log that keeps a prefix and then holds some
    // of the dropped entries in another order (moved leaves) and fresh ones: one replica step at a time.
    const op = fc.record({
      height: fc.integer({ min: 0, max: 2 }),
      install: fc.boolean(),
      keep: fc.nat(),
      moved: fc.array(fc.nat(), { maxLength: 3 }),
      fresh: fc.integer({ min: 0, max: 2 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 25 }), async (ops) => {
        const rollup = BigInt(Math.floor(Math.random() * 2 ** 40)) + 1000n; // a fresh rollup per run
        const model = new Map<number, number[]>();
        let next = 0;
        const fresh = (): number => next++;
        for (const o of ops) {
          const log = model.get(o.height) ?? [];
          if (!o.install) {
            const tx = fresh();
            await append(rollup, o.height, log.length, [entry(tx)]);
            model.set(o.height, [...log, tx]);
            continue;
          }
          const keep = log.length === 0 ? 0 : o.keep % (log.length + 1);
          const dropped = log.slice(keep);
          const moved = dropped.length === 0 ? [] : [...new Set(o.moved.map((k) => dropped[k % dropped.length]!))];
          const suffix = [...moved, ...Array.from({ length: o.fresh }, fresh)];
          const entries = suffix.map((t) => entry(t));
          await store.applyHeightWrites(rollup, o.height, [install(keep, entries)]);
          model.set(o.height, [...log.slice(0, keep), ...suffix]);
        }
        for (const [height, txs] of model) {
          expect(await store.getEntries(rollup, height)).to.deep.equal(txs.map((t) => entry(t)));
          expect(await store.blockState(rollup, height)).to.deep.equal({ status: "open", count: txs.length });
        }
        // Every transaction ever written is found where the model holds it, or nowhere once dropped.
        for (let tx = 0; tx < next; tx++) {
          const at = [...model].flatMap(([height, txs]) =>
            txs.includes(tx) ? [{ height, index: txs.indexOf(tx) }] : [],
          );
          expect(await store.findCiphertext(rollup, entry(tx).encTxHash)).to.deep.equal(at[0]);
        }
      }),
      { numRuns: 30 },
    );
  });
});
