/**
 * The hot path of decryption on WasmField: K = sk·R on BabyJubJub, the Poseidon decryption of the
 * ciphertext under K and the commitment of the result, with every intermediate value kept in wasm
 * memory. It computes exactly what sequencer/crypto/{babyjub,poseidon,poseidon-cipher}.ts compute
 * (the tests compare them); those remain the reference and the client-side code.
 */
import { FIELD } from "./babyjub";
import { wasmField, type WasmField } from "./field-wasm";
import { NONCE_LIMIT } from "./poseidon-cipher";
import { MAX_WIDTH, poseidonConstants, POSEIDON_FULL_ROUNDS } from "./poseidon";

const N8 = 32;
const A = 168700n;
const D = 168696n;

interface WasmPoseidon {
  readonly t: number;
  readonly nRoundsP: number;
  readonly C: number;
  readonly S: number;
  readonly M: number;
  readonly P: number;
  /** t scratch elements for Mix. */
  readonly tmp: number;
}

/** Per-thread state: the field, Poseidon constants per width, curve constants and scratch space. */
type Scratch = readonly [number, number, number, number, number, number, number, number];

class Engine {
  readonly f: WasmField;
  private readonly widths = new Map<number, WasmPoseidon>();
  private readonly x2: number;
  private readonly x4: number;
  readonly a: number;
  readonly d: number;
  /** Scratch elements for curve arithmetic. */
  readonly e: number;
  /** Addresses of the eight temporaries of point addition and doubling, computed once (hot path). */
  private readonly scratch: Scratch;

  constructor() {
    this.f = wasmField();
    this.x2 = this.f.alloc(1);
    this.x4 = this.f.alloc(1);
    this.a = this.f.alloc(1);
    this.d = this.f.alloc(1);
    this.f.write(this.a, A);
    this.f.write(this.d, D);
    this.e = this.f.alloc(16);
    this.scratch = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => this.e + i * N8) as unknown as Scratch;
  }

  poseidon(t: number): WasmPoseidon {
    let w = this.widths.get(t);
    if (w) return w;
    const k = poseidonConstants(t);
    const put = (values: readonly bigint[]): number => {
      const p = this.f.alloc(values.length);
      values.forEach((v, i) => this.f.write(p + i * N8, v));
      return p;
    };
    w = {
      t,
      nRoundsP: k.nRoundsP,
      C: put(k.C),
      S: put(k.S),
      M: put(k.M.flat()),
      P: put(k.P.flat()),
      tmp: this.f.alloc(t),
    };
    this.widths.set(t, w);
    return w;
  }

  /** x ← x^5. */
  private sbox(x: number): void {
    const o = this.f.ops;
    o.square(x, this.x2);
    o.square(this.x2, this.x4);
    o.mul(this.x4, x, x);
  }

  /** s ← m^T·s (circomlib's Mix: out[i] = Σ_j m[j][i]·s[j]). */
  private mix(w: WasmPoseidon, s: number, m: number): void {
    const o = this.f.ops;
    const t = w.t;
    for (let i = 0; i < t; i++) {
      const out = w.tmp + i * N8;
      o.mul(m + i * N8, s, out);
      for (let j = 1; j < t; j++) {
        o.mul(m + (j * t + i) * N8, s + j * N8, this.x2);
        o.add(out, this.x2, out);
      }
    }
    for (let i = 0; i < t; i++) o.copy(w.tmp + i * N8, s + i * N8);
  }

  /** Permutes the t elements at s in place: circomlib's PoseidonEx, optimised form. */
  permute(t: number, s: number): void {
    const w = this.poseidon(t);
    const o = this.f.ops;
    const half = POSEIDON_FULL_ROUNDS / 2;
    for (let i = 0; i < t; i++) o.add(s + i * N8, w.C + i * N8, s + i * N8);
    for (let r = 0; r < half; r++) {
      for (let j = 0; j < t; j++) {
        this.sbox(s + j * N8);
        o.add(s + j * N8, w.C + ((r + 1) * t + j) * N8, s + j * N8);
      }
      this.mix(w, s, r === half - 1 ? w.P : w.M);
    }
    const pOffset = (half + 1) * t;
    const width = 2 * t - 1;
    const acc = w.tmp;
    for (let r = 0; r < w.nRoundsP; r++) {
      this.sbox(s);
      o.add(s, w.C + (pOffset + r) * N8, s);
      const base = w.S + width * r * N8;
      o.mul(base, s, acc);
      for (let i = 1; i < t; i++) {
        o.mul(base + i * N8, s + i * N8, this.x2);
        o.add(acc, this.x2, acc);
      }
      for (let i = 1; i < t; i++) {
        o.mul(s, base + (t + i - 1) * N8, this.x2);
        o.add(s + i * N8, this.x2, s + i * N8);
      }
      o.copy(acc, s);
    }
    const fOffset = pOffset + w.nRoundsP;
    for (let r = 0; r < half - 1; r++) {
      for (let j = 0; j < t; j++) {
        this.sbox(s + j * N8);
        o.add(s + j * N8, w.C + (fOffset + r * t + j) * N8, s + j * N8);
      }
      this.mix(w, s, w.M);
    }
    for (let j = 0; j < t; j++) this.sbox(s + j * N8);
    this.mix(w, s, w.M);
  }

  /** r ← p + q in extended coordinates (X, Y, Z, T at 4 consecutive elements); r may alias p or q. */
  addExt(p: number, q: number, r: number): void {
    const o = this.f.ops;
    const [a, b, c, d, e, f, g, h] = this.scratch;
    o.mul(p, q, a);
    o.mul(p + N8, q + N8, b);
    o.mul(p + 3 * N8, q + 3 * N8, c);
    o.mul(c, this.d, c);
    o.mul(p + 2 * N8, q + 2 * N8, d);
    o.add(p, p + N8, e);
    o.add(q, q + N8, f);
    o.mul(e, f, e);
    o.sub(e, a, e);
    o.sub(e, b, e); // E
    o.sub(d, c, f); // F
    o.add(d, c, g); // G
    o.mul(a, this.a, h);
    o.sub(b, h, h); // H
    o.mul(e, f, r);
    o.mul(g, h, r + N8);
    o.mul(f, g, r + 2 * N8);
    o.mul(e, h, r + 3 * N8);
  }

  /** r ← 2p in extended coordinates; r may alias p. */
  doubleExt(p: number, r: number): void {
    const o = this.f.ops;
    const [a, b, c, d, e, f, g, h] = this.scratch;
    o.square(p, a);
    o.square(p + N8, b);
    o.square(p + 2 * N8, c);
    o.add(c, c, c);
    o.mul(a, this.a, d);
    o.add(p, p + N8, e);
    o.square(e, e);
    o.sub(e, a, e);
    o.sub(e, b, e); // E
    o.add(d, b, g); // G
    o.sub(g, c, f); // F
    o.sub(d, b, h); // H
    o.mul(e, f, r);
    o.mul(g, h, r + N8);
    o.mul(f, g, r + 2 * N8);
    o.mul(e, h, r + 3 * N8);
  }
}

let engine: Engine | undefined;
const getEngine = (): Engine => (engine ??= new Engine());

/** A scalar prepared once for many multiplications: its base-16 digits, most significant first. */
export interface PreparedScalar {
  readonly digits: readonly number[];
}

export function prepareScalar(k: bigint): PreparedScalar {
  if (k <= 0n) throw new Error("scalar must be positive");
  return { digits: [...k.toString(16)].map((c) => parseInt(c, 16)) };
}

/** Working memory of one decryption (allocated once per thread). */
class Workspace {
  readonly table: number; // 16 points × 4 coordinates
  readonly acc: number;
  readonly zInv: number;
  readonly key: number; // K.x, K.y
  readonly state: number; // cipher state, 4 elements
  readonly block: number; // 3 ciphertext elements
  readonly message: number; // decrypted elements
  readonly hash: number; // 17-element Poseidon state

  constructor(e: Engine, maxMessage: number) {
    const f = e.f;
    this.table = f.alloc(64);
    this.acc = f.alloc(4);
    this.zInv = f.alloc(1);
    this.key = f.alloc(2);
    this.state = f.alloc(4);
    this.block = f.alloc(3);
    this.message = f.alloc(maxMessage + 3);
    this.hash = f.alloc(17);
  }
}

let workspace: Workspace | undefined;
const WORKSPACE_MESSAGE = 64;

/** K = k·R into ws.key (affine, Montgomery form); R must be on the curve. */
function sharedKey(e: Engine, ws: Workspace, point: readonly [bigint, bigint], k: PreparedScalar): void {
  const f = e.f;
  const o = f.ops;
  // table[i] = i·R, extended coordinates; table[0] is the identity (0, 1, 1, 0).
  const t0 = ws.table;
  f.write(t0, 0n);
  f.write(t0 + N8, 1n);
  f.write(t0 + 2 * N8, 1n);
  f.write(t0 + 3 * N8, 0n);
  const t1 = ws.table + 4 * N8;
  f.write(t1, point[0]);
  f.write(t1 + N8, point[1]);
  f.write(t1 + 2 * N8, 1n);
  o.mul(t1, t1 + N8, t1 + 3 * N8);
  for (let i = 2; i < 16; i++) e.addExt(ws.table + (i - 1) * 4 * N8, t1, ws.table + i * 4 * N8);
  const [first, ...rest] = k.digits;
  for (let i = 0; i < 4; i++) o.copy(ws.table + (first! * 4 + i) * N8, ws.acc + i * N8);
  for (const digit of rest) {
    for (let i = 0; i < 4; i++) e.doubleExt(ws.acc, ws.acc);
    if (digit !== 0) e.addExt(ws.acc, ws.table + digit * 4 * N8, ws.acc);
  }
  o.inverse(ws.acc + 2 * N8, ws.zInv);
  o.mul(ws.acc, ws.zInv, ws.key);
  o.mul(ws.acc + N8, ws.zInv, ws.key + N8);
}

/** The message elements and their PoseidonChain, or why the ciphertext does not decrypt. */
export type WasmDecryption =
  | { readonly ok: true; readonly message: bigint[]; readonly commitment: bigint }
  | { readonly ok: false; readonly reason: string };

/**
 * K = k·R, Poseidon-decrypts `ciphertext` (of a `length`-element message, length ≤ 31) under K with
 * `nonce`, and hashes the message with PoseidonChain; all in wasm.
 */
export function decryptInWasm(
  point: readonly [bigint, bigint],
  k: PreparedScalar,
  nonce: bigint,
  ciphertext: readonly bigint[],
  length: number,
): WasmDecryption {
  const e = getEngine();
  const f = e.f;
  const o = f.ops;
  const ws = (workspace ??= new Workspace(e, WORKSPACE_MESSAGE));
  if (length < 1 || length > 31 || ciphertext.length !== 3 * Math.ceil(length / 3) + 1) {
    throw new Error("unsupported message length for wasm decryption");
  }
  if (nonce < 0n || nonce >= NONCE_LIMIT) throw new Error("cipher nonce must be in [0, 2^128)");
  sharedKey(e, ws, point, k);
  const s = ws.state;
  f.write(s, 0n);
  o.copy(ws.key, s + N8);
  o.copy(ws.key + N8, s + 2 * N8);
  f.write(s + 3 * N8, (nonce + BigInt(length) * NONCE_LIMIT) % FIELD);
  const blocks = (ciphertext.length - 1) / 3;
  for (let b = 0; b < blocks; b++) {
    e.permute(4, s);
    for (let j = 0; j < 3; j++) {
      const c = ws.block + j * N8;
      f.write(c, ciphertext[3 * b + j]!);
      o.sub(c, s + (j + 1) * N8, ws.message + (3 * b + j) * N8);
      o.copy(c, s + (j + 1) * N8);
    }
  }
  e.permute(4, s);
  f.write(ws.block, ciphertext[ciphertext.length - 1]!);
  if (!o.eq(ws.block, s + N8))
    return { ok: false, reason: "ciphertext does not authenticate under this key and nonce" };
  for (let i = length; i < 3 * blocks; i++) {
    if (!o.isZero(ws.message + i * N8)) return { ok: false, reason: "ciphertext padding is not zero" };
  }
  // PoseidonChain: Poseidon of the first ≤ 16, then Poseidon(previous, next ≤ 15).
  const h = ws.hash;
  const absorb = (start: number, count: number, previous: boolean): void => {
    const t = count + (previous ? 2 : 1);
    let at = 1;
    if (previous) {
      o.copy(h, h + N8); // the previous hash (out[0]) becomes the first input
      at = 2;
    }
    f.write(h, 0n);
    for (let i = 0; i < count; i++) o.copy(ws.message + (start + i) * N8, h + (at + i) * N8);
    e.permute(t, h);
  };
  absorb(0, Math.min(16, length), false);
  for (let i = 16; i < length; i += 15) absorb(i, Math.min(15, length - i), true);
  const message = Array.from({ length }, (_, i) => f.read(ws.message + i * N8));
  return { ok: true, message, commitment: f.read(h) };
}

/** The Poseidon permutation computed in wasm (poseidonChainWasm's step; tests compare it with poseidon.ts). */
export function poseidonPermutationWasm(state: readonly bigint[]): bigint[] {
  const e = getEngine();
  const s = (workspace ??= new Workspace(e, WORKSPACE_MESSAGE)).hash;
  if (state.length < 2 || state.length > 17) throw new Error("Poseidon width out of range 2..17");
  state.forEach((v, i) => e.f.write(s + i * N8, v));
  e.permute(state.length, s);
  return state.map((_, i) => e.f.read(s + i * N8));
}

/**
 * PoseidonChain (poseidon.ts) on the wasm permutation: Poseidon(first 16), then Poseidon(acc, next ≤ 15).
 * The wasm field reduces silently: the caller checks that every input is a field element.
 */
export function poseidonChainWasm(inputs: readonly bigint[]): bigint {
  if (inputs.length === 0) throw new Error("poseidonChain of no inputs");
  const first = MAX_WIDTH - 1;
  let acc = poseidonPermutationWasm([0n, ...inputs.slice(0, first)])[0]!;
  for (let i = first; i < inputs.length; i += first - 1) {
    acc = poseidonPermutationWasm([0n, acc, ...inputs.slice(i, i + first - 1)])[0]!;
  }
  return acc;
}

/** k·P computed in wasm (for tests and comparisons with babyjub.ts). */
export function scalarMulWasm(point: readonly [bigint, bigint], k: bigint): [bigint, bigint] {
  const e = getEngine();
  const ws = (workspace ??= new Workspace(e, WORKSPACE_MESSAGE));
  sharedKey(e, ws, point, prepareScalar(k));
  return [e.f.read(ws.key), e.f.read(ws.key + N8)];
}
