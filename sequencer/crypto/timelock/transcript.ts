/**
 * Fiat–Shamir transcripts: SHA-256 over a domain tag and labelled, length-prefixed items, so that
 * no two different statements encode to the same bytes. Everything a proof depends on goes in.
 */
import { createHash } from "node:crypto";

const u32 = (n: number): Buffer => {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(n);
  return out;
};

/** Minimal big-endian bytes of a non-negative integer (zero is the empty string). */
export function intToBytes(x: bigint): Buffer {
  if (x < 0n) throw new RangeError("transcript integers must be non-negative");
  if (x === 0n) return Buffer.alloc(0);
  const hex = x.toString(16);
  return Buffer.from(hex.length % 2 === 1 ? `0${hex}` : hex, "hex");
}

export class Transcript {
  private readonly parts: Buffer[] = [];

  constructor(domain: string) {
    this.bytes("domain", Buffer.from(domain, "utf8"));
  }

  bytes(label: string, data: Uint8Array): this {
    const name = Buffer.from(label, "utf8");
    this.parts.push(u32(name.length), name, u32(data.length), Buffer.from(data));
    return this;
  }

  int(label: string, x: bigint): this {
    return this.bytes(label, intToBytes(x));
  }

  ints(label: string, xs: readonly bigint[]): this {
    this.int(`${label}.length`, BigInt(xs.length));
    xs.forEach((x, i) => this.int(`${label}[${i}]`, x));
    return this;
  }

  /** SHA-256 of the transcript followed by a counter block (used to expand output). */
  digest(counter = 0): Buffer {
    const hash = createHash("sha256");
    for (const part of this.parts) hash.update(part);
    hash.update(u32(counter));
    return hash.digest();
  }

  /** A uniformly distributed integer of `bits` bits (counter-mode expansion of the digest). */
  integer(bits: number): bigint {
    const blocks: Buffer[] = [];
    for (let i = 0; blocks.length * 256 < bits; i++) blocks.push(this.digest(i));
    const all = BigInt(`0x${Buffer.concat(blocks).toString("hex")}`);
    return all & ((1n << BigInt(bits)) - 1n);
  }
}
