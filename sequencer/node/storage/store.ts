/**
 * The node's durable store on LevelDB (classic-level). A height's replica state has one write path,
 * `applyHeightWrites` (node/host/durable.ts); the block pipeline adds the built block with `finalize`.
 * Every write is an atomic batch with `sync: true`: when a method resolves, its effect is on disk and
 * survives kill -9 or power loss, so the caller may acknowledge it. Writes to one rollup are serialised
 * in-process (LevelDB holds an exclusive lock on its directory, so this process is the only writer), so a
 * write's read of the block state and its update of it are atomic.
 */
import { ClassicLevel } from "classic-level";
import { mkdirSync } from "node:fs";
import type { BuiltBlockWire } from "../../api/wire";
import type { SealResultJson } from "../../chain/certificate";
import { RpcError, veilError } from "../../rpc/errors";
import {
  BLOCK_KIND,
  PREFIX,
  blockKey,
  blockPrefix,
  decodeValue,
  dedupKey,
  encodeValue,
  entryKey,
  indexedKey,
  metaKey,
  parseRollupHeight,
  prefixEnd,
  stateKey,
  type StoredValue,
} from "./codec";
import type { Entry } from "../entry";

export type BlockStatus = "open" | "sealed" | "finalized";

export interface BlockState {
  readonly status: BlockStatus;
  /** Number of entries, which occupy indices 0 .. count-1 without gaps. */
  readonly count: number;
}

/** The leader's seal of a height as stored: its final size and encrypted-tx root, and the signed seal. */
export interface SealRecord {
  readonly txCount: number;
  readonly encRoot: string;
  readonly seal: SealResultJson;
}

/** The record of a signed seal: its count and root next to it, as `getSeal`'s readers use them. */
export function sealRecordOf(seal: SealResultJson): SealRecord {
  return { txCount: seal.seal.txCount, encRoot: seal.seal.encRoot, seal };
}

/** The decrypted, built block of a finalized height as stored (block/build.ts builds it, block-pipeline.ts stores it). */
export interface BuiltBlockRecord {
  readonly rawRoot: string;
  readonly block: {
    /** The block as `get_raw_transaction_list` answers it. */
    readonly built: BuiltBlockWire;
    /** The round secret that opened it (0x-hex), sent on with the block to the followers. */
    readonly roundSecret: string;
  };
}

/** A height's view (VR's view number) and the last view it operated normally in. */
export interface ViewState {
  readonly view: number;
  readonly normalView: number;
}

/**
 * One durable write of a height's replica (replica/types.ts `Write`), in the store's own forms: entries as
 * stored, seals as SealRecords, certificates as their JSON. `applyHeightWrites` commits a step's writes in
 * one synced batch.
 */
export type HeightWrite =
  | { readonly type: "append"; readonly firstIndex: number; readonly entries: readonly Entry[] }
  | { readonly type: "view"; readonly view: number; readonly normalView: number }
  | {
      readonly type: "install";
      readonly view: number;
      readonly normalView: number;
      readonly keep: number;
      readonly entries: readonly Entry[];
      readonly seal: SealRecord | undefined;
      readonly viewCertificate: StoredValue | undefined;
      /** Indices at which this member signed an entry the install drops (it never signs there again). */
      readonly signedDropped: readonly number[];
    }
  | { readonly type: "seal"; readonly seal: SealRecord }
  | { readonly type: "seal-signed"; readonly seal: SignedSealRecord }
  /** The height's seal certificate: decided here (its block is built, or fetched, by the block pipeline). */
  | { readonly type: "decided" | "built"; readonly certificate: StoredValue };

/** The seal this member signed last for a height (it never signs another in that view). */
export interface SignedSealRecord {
  readonly txCount: number;
  readonly encRoot: string;
  readonly inboxBlock: number;
  readonly viewNumber: number;
  readonly epoch: number;
}

export interface StoreStats {
  readonly entries: number;
  readonly blocks: Readonly<Record<BlockStatus, number>>;
}

type Db = ClassicLevel<Buffer, string>;
type BatchOp = { type: "put"; key: Buffer; value: string } | { type: "del"; key: Buffer };

const EMPTY_BLOCK: BlockState = { status: "open", count: 0 };
const SYNC = { sync: true } as const;

export class NodeStore {
  private readonly locks = new Map<bigint, Promise<unknown>>();

  private constructor(
    private readonly db: Db,
    readonly location: string,
  ) {}

  /** Opens (creating if needed) the database in `location`; fails if another process holds it. */
  static async open(location: string): Promise<NodeStore> {
    mkdirSync(location, { recursive: true });
    const db: Db = new ClassicLevel<Buffer, string>(location, { keyEncoding: "buffer", valueEncoding: "utf8" });
    await db.open();
    return new NodeStore(db, location);
  }

  get isOpen(): boolean {
    return this.db.status === "open";
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.locks.values()]);
    await this.db.close();
  }

  // ---- entries ------------------------------------------------------------------------------------

  async getEntry(rollupId: bigint, height: number, index: number): Promise<Entry | undefined> {
    const value = await this.db.get(entryKey(rollupId, height, index));
    return value === undefined ? undefined : decodeValue<Entry>(value);
  }

  /** The entries of a block in index order, from `from` (inclusive) to `to` (exclusive). */
  async getEntries(rollupId: bigint, height: number, range: { from?: number; to?: number } = {}): Promise<Entry[]> {
    const prefix = Buffer.concat([blockPrefix(rollupId, height), Buffer.of(BLOCK_KIND.entry)]);
    const out: Entry[] = [];
    for await (const value of this.db.values({
      gte: entryKey(rollupId, height, range.from ?? 0),
      lt: range.to === undefined ? prefixEnd(prefix) : entryKey(rollupId, height, range.to),
    })) {
      out.push(decodeValue<Entry>(value));
    }
    return out;
  }

  /** Where a ciphertext was ordered in this rollup, if it was. */
  async findCiphertext(rollupId: bigint, encTxHash: string): Promise<{ height: number; index: number } | undefined> {
    const value = await this.db.get(dedupKey(rollupId, encTxHash));
    return value === undefined ? undefined : decodeValue<{ height: number; index: number }>(value);
  }

  // ---- block status -------------------------------------------------------------------------------

  /** A height never written to is open and empty. */
  async blockState(rollupId: bigint, height: number): Promise<BlockState> {
    const value = await this.db.get(stateKey(rollupId, height));
    return value === undefined ? EMPTY_BLOCK : decodeValue<BlockState>(value);
  }

  /** The seal that ends the height's log (a `seal` write, or an `install` with one). */
  async getSeal(rollupId: bigint, height: number): Promise<SealRecord | undefined> {
    const value = await this.db.get(blockKey(rollupId, height, "seal"));
    return value === undefined ? undefined : decodeValue<SealRecord>(value);
  }

  /** The seal this member signed last for the height (a `seal-signed` write). */
  async getSignedSeal(rollupId: bigint, height: number): Promise<SignedSealRecord | undefined> {
    const value = await this.db.get(blockKey(rollupId, height, "signedSeal"));
    return value === undefined ? undefined : decodeValue<SignedSealRecord>(value);
  }

  /** The indices of a height at which this member signed an entry that its log no longer holds, ascending. */
  async signedDroppedIndices(rollupId: bigint, height: number): Promise<number[]> {
    const prefix = Buffer.concat([blockPrefix(rollupId, height), Buffer.of(BLOCK_KIND.signedLeaf)]);
    const out: number[] = [];
    for await (const key of this.db.keys({ gte: prefix, lt: prefixEnd(prefix) })) {
      out.push(Buffer.from(key).readUInt32BE(prefix.length));
    }
    return out;
  }

  /** The height's seal certificate (a `decided` or `built` write): a majority's signatures on its seal. */
  async getCertificate(rollupId: bigint, height: number): Promise<StoredValue | undefined> {
    const value = await this.db.get(blockKey(rollupId, height, "certificate"));
    return value === undefined ? undefined : decodeValue<StoredValue>(value);
  }

  /** The certificate of the latest view this member installed for a height with one (views above 0). */
  async getViewCertificate(rollupId: bigint, height: number): Promise<StoredValue | undefined> {
    const value = await this.db.get(blockKey(rollupId, height, "viewCertificate"));
    return value === undefined ? undefined : decodeValue<StoredValue>(value);
  }

  /** Stores the built block of a sealed height and marks it finalized. */
  finalize(rollupId: bigint, height: number, built: BuiltBlockRecord): Promise<void> {
    return this.withLock(rollupId, async () => {
      const state = await this.blockState(rollupId, height);
      if (state.status === "open") throw veilError.outOfOrder(`height ${height} must be sealed before it is finalized`);
      if (state.status === "finalized")
        throw new RpcError("OUT_OF_ORDER", `out of order: height ${height} is already finalized`);
      await this.db.batch(
        [
          { type: "put", key: blockKey(rollupId, height, "built"), value: encodeValue(built) },
          this.putBlockState(rollupId, height, { status: "finalized", count: state.count }),
        ],
        SYNC,
      );
    });
  }

  async getBuiltBlock(rollupId: bigint, height: number): Promise<BuiltBlockRecord | undefined> {
    const value = await this.db.get(blockKey(rollupId, height, "built"));
    return value === undefined ? undefined : decodeValue<BuiltBlockRecord>(value);
  }

  // ---- node metadata ------------------------------------------------------------------------------

  /**
   * A height's view state: the view it is in and the last view in which it was in normal operation
   * (view === normalView means normal; view > normalView means a view change is in progress). A height
   * never written to is in view 0.
   */
  async getViewState(rollupId: bigint, height: number): Promise<ViewState> {
    const value = await this.db.get(metaKey(`vs:${rollupId}:${height}`));
    return value === undefined ? { view: 0, normalView: 0 } : decodeValue<ViewState>(value);
  }

  /** Every height with a persisted view state (a view change touched it), for resuming at start. */
  async viewStateHeights(): Promise<{ rollupId: bigint; height: number }[]> {
    const start = metaKey("vs:");
    const out: { rollupId: bigint; height: number }[] = [];
    for await (const key of this.db.keys({ gte: start, lt: prefixEnd(start) })) {
      const [rollupId, height] = key.subarray(start.length).toString("utf8").split(":");
      if (rollupId === undefined || height === undefined) continue;
      out.push({ rollupId: BigInt(rollupId), height: Number(height) });
    }
    return out;
  }

  /**
   * Commits the durable writes of one replica step, in order, as one atomic synced batch: when it resolves,
   * all of them survive a crash, and none does if it fails. The replica decided them already, so nothing
   * here refuses one for a protocol reason (that was the replica's job); only a finalized height, whose
   * log no replica writes any more, is left alone.
   */
  applyHeightWrites(rollupId: bigint, height: number, writes: readonly HeightWrite[]): Promise<void> {
    if (writes.length === 0) return Promise.resolve();
    return this.withLock(rollupId, async () => {
      let block = await this.blockState(rollupId, height);
      // A built height's log is final: only its decision (the certificate) may still be recorded.
      if (block.status === "finalized" && writes.some((w) => w.type !== "decided" && w.type !== "built")) {
        throw veilError.heightSealed(height);
      }
      const ops: BatchOp[] = [];
      // Entries and dedup records this batch writes or removes, so that a later write of the same batch sees
      // them (dedup records by lower-case hash, as their keys do not tell the case apart).
      const written = new Map<number, Entry | undefined>();
      const placed = new Map<string, { height: number; index: number } | undefined>();
      const entryAt = async (index: number): Promise<Entry | undefined> =>
        written.has(index) ? written.get(index) : this.getEntry(rollupId, height, index);
      const placedAt = async (encTxHash: string): Promise<{ height: number; index: number } | undefined> => {
        const hash = encTxHash.toLowerCase();
        return placed.has(hash) ? placed.get(hash) : this.findCiphertext(rollupId, encTxHash);
      };
      const putEntries = (firstIndex: number, entries: readonly Entry[]): void => {
        entries.forEach((e, i) => {
          const index = firstIndex + i;
          ops.push({ type: "put", key: entryKey(rollupId, height, index), value: encodeValue(e) });
          ops.push({ type: "put", key: dedupKey(rollupId, e.encTxHash), value: encodeValue({ height, index }) });
          written.set(index, e);
          placed.set(e.encTxHash.toLowerCase(), { height, index });
        });
      };
      for (const w of writes) {
        switch (w.type) {
          case "append":
            if (w.firstIndex > block.count) {
              throw new RangeError(`append at ${w.firstIndex} leaves a gap after ${block.count} entries`);
            }
            putEntries(w.firstIndex, w.entries);
            block = { status: block.status, count: Math.max(block.count, w.firstIndex + w.entries.length) };
            break;
          case "view":
            ops.push(...this.viewOps(rollupId, height, { view: w.view, normalView: w.normalView }));
            break;
          case "install": {
            for (let index = w.keep; index < block.count; index++) {
              const removed = await entryAt(index);
              ops.push({ type: "del", key: entryKey(rollupId, height, index) });
              if (removed !== undefined) {
                // Only the dedup record that points here: the same leaf may have moved to another index.
                const at = await placedAt(removed.encTxHash);
                if (at?.height === height && at.index === index) {
                  ops.push({ type: "del", key: dedupKey(rollupId, removed.encTxHash) });
                  placed.set(removed.encTxHash.toLowerCase(), undefined);
                }
              }
              written.set(index, undefined);
            }
            putEntries(w.keep, w.entries);
            const count = w.keep + w.entries.length;
            if (w.seal === undefined) ops.push({ type: "del", key: blockKey(rollupId, height, "seal") });
            else ops.push({ type: "put", key: blockKey(rollupId, height, "seal"), value: encodeValue(w.seal) });
            block = { status: w.seal === undefined ? "open" : "sealed", count };
            ops.push(...this.viewOps(rollupId, height, { view: w.view, normalView: w.normalView }));
            for (const index of w.signedDropped) {
              const key = indexedKey(rollupId, height, "signedLeaf", index);
              ops.push({ type: "put", key, value: encodeValue({ index }) });
            }
            if (w.viewCertificate !== undefined) {
              const key = blockKey(rollupId, height, "viewCertificate");
              ops.push({ type: "put", key, value: encodeValue(w.viewCertificate) });
            }
            break;
          }
          case "seal":
            ops.push({ type: "put", key: blockKey(rollupId, height, "seal"), value: encodeValue(w.seal) });
            block = { status: "sealed", count: block.count };
            break;
          case "seal-signed":
            ops.push({ type: "put", key: blockKey(rollupId, height, "signedSeal"), value: encodeValue(w.seal) });
            break;
          case "decided":
          case "built":
            ops.push({
              type: "put",
              key: blockKey(rollupId, height, "certificate"),
              value: encodeValue(w.certificate),
            });
            break;
        }
      }
      ops.push(this.putBlockState(rollupId, height, block));
      await this.db.batch(ops, SYNC);
    });
  }

  private viewOps(rollupId: bigint, height: number, state: ViewState): BatchOp[] {
    return [{ type: "put", key: metaKey(`vs:${rollupId}:${height}`), value: encodeValue(state) }];
  }

  /** The highest sealed (or finalized) height of a rollup, or undefined if none is sealed yet. */
  async highestSealedHeight(rollupId: bigint): Promise<number | undefined> {
    const start = stateKey(rollupId, 0);
    const end = prefixEnd(start.subarray(0, 33));
    for await (const [key, value] of this.db.iterator({ gte: start, lt: end, reverse: true })) {
      if (decodeValue<BlockState>(value).status !== "open") return parseRollupHeight(key).height;
    }
    return undefined;
  }

  /**
   * Every height this node holds state for whose block it has not built (open or sealed), or whose view a
   * view change moved: the heights a restarted node's replicas must recover.
   */
  async unfinishedHeights(): Promise<{ rollupId: bigint; height: number }[]> {
    const out = new Map<string, { rollupId: bigint; height: number }>();
    const start = Buffer.of(PREFIX.state);
    for await (const [key, value] of this.db.iterator({ gte: start, lt: prefixEnd(start) })) {
      if (decodeValue<BlockState>(value).status === "finalized") continue;
      const at = parseRollupHeight(key);
      out.set(`${at.rollupId}:${at.height}`, at);
    }
    for (const at of await this.viewStateHeights()) {
      const key = `${at.rollupId}:${at.height}`;
      if (!out.has(key) && (await this.blockState(at.rollupId, at.height)).status !== "finalized") out.set(key, at);
    }
    return [...out.values()];
  }

  /** The rollups this node holds any height of. */
  async rollupIds(): Promise<bigint[]> {
    const out = new Set<bigint>();
    const start = Buffer.of(PREFIX.state);
    for await (const key of this.db.keys({ gte: start, lt: prefixEnd(start) }))
      out.add(parseRollupHeight(key).rollupId);
    return [...out];
  }

  /** Counts from the block states (one small record per block, not one per entry). */
  async stats(): Promise<StoreStats> {
    const blocks: Record<BlockStatus, number> = { open: 0, sealed: 0, finalized: 0 };
    let entries = 0;
    const start = Buffer.of(PREFIX.state);
    for await (const value of this.db.values({ gte: start, lt: prefixEnd(start) })) {
      const state = decodeValue<BlockState>(value);
      blocks[state.status] += 1;
      entries += state.count;
    }
    return { entries, blocks };
  }

  // ---- internals ----------------------------------------------------------------------------------

  private putBlockState(rollupId: bigint, height: number, state: BlockState): BatchOp {
    return { type: "put", key: stateKey(rollupId, height), value: encodeValue(state) };
  }

  /** Runs `fn` after every earlier write of the same rollup has settled. */
  private withLock<T>(rollupId: bigint, fn: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(rollupId) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.locks.set(rollupId, settled);
    void settled.then(() => {
      if (this.locks.get(rollupId) === settled) this.locks.delete(rollupId);
    });
    return run;
  }
}
