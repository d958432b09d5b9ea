import { buildBn128, type BnCurve } from "ffjavascript";

/** Byte-sized comb windows: the table holds d·256^j·G for j < COMB_WINDOWS and d in 1..COMB_DIGITS. */
export const COMB_WINDOWS = 32;
export const COMB_DIGITS = 255;

/** Name of the wasm function added to the curve for a group prefix ("g1m" / "g2m"). */
export const combFunction = (prefix: string): string => `${prefix}_combMultiply`;

/** The parts of wasmbuilder's code builder used below (each method returns wasm bytecode). */
interface Code {
  getLocal(name: string): number[];
  setLocal(name: string, value: number[]): number[];
  i32_const(n: number): number[];
  i32_add(a: number[], b: number[]): number[];
  i32_sub(a: number[], b: number[]): number[];
  i32_mul(a: number[], b: number[]): number[];
  i32_eq(a: number[], b: number[]): number[];
  i32_ne(a: number[], b: number[]): number[];
  i32_load8_u(address: number[]): number[];
  call(fn: string, ...args: number[][]): number[];
  if(condition: number[], then: number[]): number[];
  block(code: number[]): number[];
  loop(...code: number[][]): number[];
  br_if(depth: number, condition: number[]): number[];
  br(depth: number): number[];
}
interface ModuleBuilder {
  addFunction(name: string): {
    addParam(name: string, type: "i32"): void;
    addLocal(name: string, type: "i32"): void;
    getCodeBuilder(): Code;
    addCode(...code: number[][]): void;
  };
  exportFunction(name: string): void;
}

/**
 * Adds `<prefix>_combMultiply(pTable, pScalars, n, pOut)`: for each of n plain 32-byte little-endian
 * scalars s, writes s·G (jacobian) as the sum of the affine table entries selected by the bytes of s.
 * One wasm call per batch, instead of one call per addition from JavaScript.
 */
function addCombMultiply(module: ModuleBuilder, prefix: string, affineSize: number, jacobianSize: number): void {
  const f = module.addFunction(combFunction(prefix));
  for (const p of ["pTable", "pScalars", "n", "pOut"]) f.addParam(p, "i32");
  for (const l of ["i", "j", "digit", "pScalar", "pPoint"]) f.addLocal(l, "i32");
  const c = f.getCodeBuilder();
  const entry = c.i32_add(
    c.getLocal("pTable"),
    c.i32_mul(
      c.i32_add(c.i32_mul(c.getLocal("j"), c.i32_const(COMB_DIGITS)), c.i32_sub(c.getLocal("digit"), c.i32_const(1))),
      c.i32_const(affineSize),
    ),
  );
  f.addCode(
    c.setLocal("pScalar", c.getLocal("pScalars")),
    c.setLocal("pPoint", c.getLocal("pOut")),
    c.setLocal("i", c.i32_const(0)),
    c.block(
      c.loop(
        c.br_if(1, c.i32_eq(c.getLocal("i"), c.getLocal("n"))),
        c.call(`${prefix}_zero`, c.getLocal("pPoint")),
        c.setLocal("j", c.i32_const(0)),
        c.block(
          c.loop(
            c.br_if(1, c.i32_eq(c.getLocal("j"), c.i32_const(COMB_WINDOWS))),
            c.setLocal("digit", c.i32_load8_u(c.i32_add(c.getLocal("pScalar"), c.getLocal("j")))),
            c.if(
              c.i32_ne(c.getLocal("digit"), c.i32_const(0)),
              c.call(`${prefix}_addMixed`, c.getLocal("pPoint"), entry, c.getLocal("pPoint")),
            ),
            c.setLocal("j", c.i32_add(c.getLocal("j"), c.i32_const(1))),
            c.br(0),
          ),
        ),
        c.setLocal("pScalar", c.i32_add(c.getLocal("pScalar"), c.i32_const(32))),
        c.setLocal("pPoint", c.i32_add(c.getLocal("pPoint"), c.i32_const(jacobianSize))),
        c.setLocal("i", c.i32_add(c.getLocal("i"), c.i32_const(1))),
        c.br(0),
      ),
    ),
  );
  module.exportFunction(combFunction(prefix));
}

type Global = { curve_bn128?: BnCurve | null };

/** A curve with the comb functions, and how to release it without disturbing snarkjs's shared curve. */
export interface CombCurve {
  readonly curve: BnCurve;
  close(): Promise<void>;
}

/**
 * Builds a multi-threaded bn128 curve whose wasm also has the comb functions. ffjavascript caches one
 * multi-threaded curve on globalThis (shared with snarkjs) and would hand that one back without our
 * functions, so the cached curve is set aside while ours is built, and put back when ours is closed.
 */
export async function openCombCurve(): Promise<CombCurve> {
  const g = globalThis as Global;
  const shared = g.curve_bn128;
  g.curve_bn128 = null;
  let curve: BnCurve;
  try {
    curve = await buildBn128(false, (module: unknown) => {
      addCombMultiply(module as ModuleBuilder, "g1m", 64, 96);
      addCombMultiply(module as ModuleBuilder, "g2m", 128, 192);
    });
  } finally {
    g.curve_bn128 = shared;
  }
  return {
    curve,
    close: async () => {
      await curve.terminate(); // also clears globalThis.curve_bn128 …
      g.curve_bn128 = shared; // … which was never ours: restore the shared curve.
    },
  };
}

/** Runs `work` with a curve from `openCombCurve`, closing it afterwards. */
export async function withCombCurve<T>(work: (curve: BnCurve) => Promise<T>): Promise<T> {
  const comb = await openCombCurve();
  try {
    return await work(comb.curve);
  } finally {
    await comb.close();
  }
}
