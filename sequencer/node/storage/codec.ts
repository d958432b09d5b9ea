/**
 * How the store lays out keys and values.
 *
 * Keys are binary and fixed-width big-endian, so LevelDB's bytewise order is the numeric order:
 * a range read over one block returns its entries by ascending index. Block states have their own
 * prefix so that counting blocks never walks the entries.
 *
 *   block state  'S' | rollupId u256 | height u64                        -> { status, count }
 *   entry        'B' | rollupId u256 | height u64 | 0x01 | index u32     -> Entry (node/entry.ts)
 *   seal         'B' | rollupId u256 | height u64 | 0x02                 -> SealRecord
 *   built block  'B' | rollupId u256 | height u64 | 0x03                 -> BuiltBlockRecord
 *   dedup        'D' | rollupId u256 | encTxHash bytes32                 -> { height, index }
 *   node meta    'M' | name (utf8)                                       -> any JSON
 *
 * Values are JSON in which bigints and byte arrays survive a round trip: they are written as the
 * single-key objects {"$big": "<decimal>"} and {"$bytes": "0x<hex>"} (those shapes are reserved).
 */
export const PREFIX = { block: 0x42, dedup: 0x44, meta: 0x4d, state: 0x53 } as const;
export const BLOCK_KIND = {
  entry: 0x01,
  seal: 0x02,
  built: 0x03,
  signedSeal: 0x04,
  certificate: 0x05,
  /** An order commitment this member signed whose entry a view change removed from its log. */
  signedLeaf: 0x06,
  /** The certificate of the latest view installed with one: a majority's ViewChange votes. */
  viewCertificate: 0x07,
} as const;

const U256_MAX = 2n ** 256n - 1n;
export const MAX_INDEX = 2 ** 32 - 1;

export function assertUint256(value: bigint, what: string): void {
  if (value < 0n || value > U256_MAX) throw new RangeError(`${what} must be a uint256, got ${value}`);
}

export function assertHeight(height: number): void {
  if (!Number.isSafeInteger(height) || height < 0)
    throw new RangeError(`height must be a non-negative safe integer, got ${height}`);
}

export function assertIndex(index: number): void {
  if (!Number.isInteger(index) || index < 0 || index > MAX_INDEX) {
    throw new RangeError(`index must be an integer in [0, 2^32), got ${index}`);
  }
}

function u256(value: bigint): Buffer {
  return Buffer.from(value.toString(16).padStart(64, "0"), "hex");
}

function u64(value: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(value));
  return b;
}

function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value);
  return b;
}

function rollupHeight(prefix: number, rollupId: bigint, height: number): Buffer {
  assertUint256(rollupId, "rollupId");
  assertHeight(height);
  return Buffer.concat([Buffer.of(prefix), u256(rollupId), u64(height)]);
}

export function blockPrefix(rollupId: bigint, height: number): Buffer {
  return rollupHeight(PREFIX.block, rollupId, height);
}

export function stateKey(rollupId: bigint, height: number): Buffer {
  return rollupHeight(PREFIX.state, rollupId, height);
}

export function blockKey(
  rollupId: bigint,
  height: number,
  kind: Exclude<keyof typeof BLOCK_KIND, "entry" | "signedLeaf">,
): Buffer {
  return Buffer.concat([blockPrefix(rollupId, height), Buffer.of(BLOCK_KIND[kind])]);
}

export function entryKey(rollupId: bigint, height: number, index: number): Buffer {
  return indexedKey(rollupId, height, "entry", index);
}

/** The key of an indexed record of a block: an entry, or a dropped entry this member had signed. */
export function indexedKey(rollupId: bigint, height: number, kind: "entry" | "signedLeaf", index: number): Buffer {
  assertIndex(index);
  return Buffer.concat([blockPrefix(rollupId, height), Buffer.of(BLOCK_KIND[kind]), u32(index)]);
}

/** Decodes the (rollupId, height) of a block-scoped or state key. */
export function parseRollupHeight(key: Uint8Array): { rollupId: bigint; height: number } {
  const b = Buffer.from(key.buffer, key.byteOffset, key.byteLength);
  return { rollupId: BigInt(`0x${b.subarray(1, 33).toString("hex")}`), height: Number(b.readBigUInt64BE(33)) };
}

export function dedupKey(rollupId: bigint, encTxHash: string): Buffer {
  assertUint256(rollupId, "rollupId");
  if (!/^0x[0-9a-fA-F]{64}$/.test(encTxHash))
    throw new RangeError(`encTxHash must be 32 bytes of hex, got ${encTxHash}`);
  return Buffer.concat([Buffer.of(PREFIX.dedup), u256(rollupId), Buffer.from(encTxHash.slice(2), "hex")]);
}

export function metaKey(name: string): Buffer {
  return Buffer.concat([Buffer.of(PREFIX.meta), Buffer.from(name, "utf8")]);
}

/** The smallest key strictly greater than every key that starts with `prefix`. */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.subarray(0, i + 1);
    }
  }
  throw new RangeError("prefix has no upper bound");
}

/** JSON values as the store keeps them: plain JSON plus bigints and byte arrays. */
export type StoredValue =
  | string
  | number
  | boolean
  | null
  | bigint
  | Uint8Array
  | readonly StoredValue[]
  | { readonly [key: string]: StoredValue };

export function encodeValue(value: unknown): string {
  return JSON.stringify(value, function (this: Record<string, unknown>, key: string, v: unknown) {
    // `this[key]` is the value before toJSON, which Buffer (a Uint8Array) would otherwise apply.
    const original = this[key];
    if (typeof original === "bigint") return { $big: original.toString() };
    if (original instanceof Uint8Array) return { $bytes: `0x${Buffer.from(original).toString("hex")}` };
    return v;
  });
}

export function decodeValue<T>(text: string): T {
  return JSON.parse(text, (_key, v: unknown) => {
    if (typeof v === "object" && v !== null && !Array.isArray(v)) {
      const keys = Object.keys(v);
      if (keys.length === 1) {
        const record = v as Record<string, unknown>;
        if (typeof record.$big === "string") return BigInt(record.$big);
        if (typeof record.$bytes === "string") return new Uint8Array(Buffer.from(record.$bytes.slice(2), "hex"));
      }
    }
    return v;
  }) as T;
}
