/**
 * BN254 scalar-field arithmetic (the BabyJubJub base field) in WebAssembly: Montgomery
 * multiplication from wasmcurves (the field code snarkjs itself runs on), built once per thread with
 * wasmbuilder and driven from TypeScript through pointers into the module's memory. A multiplication
 * costs about 80 ns here against about 250 ns for BigInt `a * b % p`, which is what block decryption
 * (thousands of scalar multiplications and Poseidon permutations) spends its time on.
 *
 * Values in memory are in Montgomery form; `write` and `read` convert.
 */
import { FIELD } from "./babyjub";

/* eslint-disable @typescript-eslint/no-require-imports */
const { ModuleBuilder } = require("wasmbuilder") as { ModuleBuilder: new () => WasmModuleBuilder };
const buildF1m = require("wasmcurves/src/build_f1m.js") as (
  module: WasmModuleBuilder,
  q: bigint,
  prefix: string,
) => void;
/* eslint-enable @typescript-eslint/no-require-imports */

/** The part of the WebAssembly JS API used here (the project's TypeScript lib has no DOM types). */
interface WebAssemblyApi {
  Memory: new (descriptor: { initial: number }) => { buffer: ArrayBuffer };
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
const WA = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

interface WasmModuleBuilder {
  setMemory(pages: number): void;
  build(): Uint8Array;
}

/** Pointer-based field operations; every argument is the byte offset of a 32-byte element. */
export interface FieldOps {
  mul(a: number, b: number, r: number): void;
  square(a: number, r: number): void;
  add(a: number, b: number, r: number): void;
  sub(a: number, b: number, r: number): void;
  copy(a: number, r: number): void;
  inverse(a: number, r: number): void;
  isZero(a: number): number;
  eq(a: number, b: number): number;
}

const N8 = 32;
const PAGES = 64; // 4 MiB: constants of every Poseidon width plus scratch space, with room to spare

export class WasmField {
  readonly ops: FieldOps;
  private readonly u32: Uint32Array;
  private readonly toMontgomery: (a: number, r: number) => void;
  private readonly fromMontgomery: (a: number, r: number) => void;
  private free: number;
  private readonly scratch: number;

  constructor() {
    const builder = new ModuleBuilder();
    builder.setMemory(PAGES);
    buildF1m(builder, FIELD, "frm");
    const memory = new WA.Memory({ initial: PAGES });
    const instance = new WA.Instance(new WA.Module(builder.build()), { env: { memory } });
    const e = instance.exports as Record<string, (...args: number[]) => number>;
    const fn = (name: string): ((...args: number[]) => number) => {
      const f = e[`frm_${name}`];
      if (typeof f !== "function") throw new Error(`wasmcurves field lacks frm_${name}`);
      return f;
    };
    this.ops = {
      mul: fn("mul"),
      square: fn("square"),
      add: fn("add"),
      sub: fn("sub"),
      copy: fn("copy"),
      inverse: fn("inverse"),
      isZero: fn("isZero"),
      eq: fn("eq"),
    };
    this.toMontgomery = fn("toMontgomery");
    this.fromMontgomery = fn("fromMontgomery");
    this.u32 = new Uint32Array(memory.buffer);
    // wasmcurves keeps its free-memory pointer in the first word; allocate above it, and move it.
    this.free = (this.u32[0]! + 63) & ~63;
    this.scratch = this.alloc(1);
  }

  /** Reserves `count` consecutive field elements; returns the pointer of the first. */
  alloc(count: number): number {
    const p = this.free;
    this.free += count * N8;
    if (this.free > PAGES * 65536) throw new Error("wasm field memory exhausted");
    this.u32[0] = this.free;
    return p;
  }

  /** Stores v (reduced mod p) at p in Montgomery form. */
  write(p: number, v: bigint): void {
    let x = v % FIELD;
    if (x < 0n) x += FIELD;
    const base = p >>> 2;
    for (let i = 0; i < 8; i++) {
      this.u32[base + i] = Number(x & 0xffffffffn);
      x >>= 32n;
    }
    this.toMontgomery(p, p);
  }

  /** The canonical value of the element at p. */
  read(p: number): bigint {
    this.fromMontgomery(p, this.scratch);
    const base = this.scratch >>> 2;
    let x = 0n;
    for (let i = 7; i >= 0; i--) x = (x << 32n) | BigInt(this.u32[base + i]!);
    return x;
  }
}

let shared: WasmField | undefined;

/** The field of this thread (built on first use, about a millisecond). */
export function wasmField(): WasmField {
  shared ??= new WasmField();
  return shared;
}
