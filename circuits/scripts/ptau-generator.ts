import { COMB_DIGITS, COMB_WINDOWS, combFunction } from "./ptau-comb-curve";
import type { Bn128, WasmTaskStep } from "./ptau-curve";

export type GroupName = "G1" | "G2";

/** Points per worker task: small enough to balance both cores and report progress, large enough to amortise. */
const POINTS_PER_TASK = 2048;

/**
 * Fixed-base multiplication by a comb of byte-sized windows: the table holds d·256^j·G for every
 * window j < 32 and digit d in 1..255, so s·G is the sum of one table entry per non-zero byte of s
 * (at most 32 mixed additions instead of ~254 doublings and ~127 additions of a generic multiplication).
 */
const WINDOWS = COMB_WINDOWS;
const DIGITS = COMB_DIGITS;

const tableCache = new WeakMap<Bn128, Map<GroupName, Promise<Uint8Array>>>();

function prefixOf(group: GroupName): string {
  return group === "G1" ? "g1m" : "g2m";
}

/** Builds the comb table (affine, LEM) in one worker task: repeated additions of 256^j·G. */
function buildTable(curve: Bn128, group: GroupName): Promise<Uint8Array> {
  const G = curve[group];
  const prefix = prefixOf(group);
  const jacobianSize = G.F.n8 * 3;
  const affineSize = G.F.n8 * 2;
  const entry = (j: number, d: number): number => (j * DIGITS + d - 1) * jacobianSize;
  const task: WasmTaskStep[] = [
    { cmd: "ALLOCSET", var: 0, buff: G.oneAffine },
    { cmd: "ALLOC", var: 1, len: WINDOWS * DIGITS * jacobianSize },
    { cmd: "ALLOC", var: 2, len: jacobianSize },
    { cmd: "CALL", fnName: `${prefix}_toJacobian`, params: [{ var: 0 }, { var: 2 }] },
  ];
  for (let j = 0; j < WINDOWS; j++) {
    // var 2 holds B = 256^j·G; entries are B, 2B (a doubling: addition formulas exclude equal inputs), 3B, …
    task.push({ cmd: "CALL", fnName: `${prefix}_copy`, params: [{ var: 2 }, { var: 1, offset: entry(j, 1) }] });
    task.push({ cmd: "CALL", fnName: `${prefix}_double`, params: [{ var: 2 }, { var: 1, offset: entry(j, 2) }] });
    for (let d = 3; d <= DIGITS; d++) {
      task.push({
        cmd: "CALL",
        fnName: `${prefix}_add`,
        params: [{ var: 1, offset: entry(j, d - 1) }, { var: 2 }, { var: 1, offset: entry(j, d) }],
      });
    }
    for (let k = 0; k < 8; k++)
      task.push({ cmd: "CALL", fnName: `${prefix}_double`, params: [{ var: 2 }, { var: 2 }] });
  }
  task.push({
    cmd: "CALL",
    fnName: `${prefix}_batchToAffine`,
    params: [{ var: 1 }, { val: WINDOWS * DIGITS }, { var: 1 }],
  });
  task.push({ cmd: "GET", out: 0, var: 1, len: WINDOWS * DIGITS * affineSize });
  return curve.tm.queueAction(task).then(([table]) => {
    if (!table) throw new Error("worker task returned no table");
    return table;
  });
}

function combTable(curve: Bn128, group: GroupName): Promise<Uint8Array> {
  let perCurve = tableCache.get(curve);
  if (!perCurve) {
    perCurve = new Map();
    tableCache.set(curve, perCurve);
  }
  let table = perCurve.get(group);
  if (!table) {
    table = buildTable(curve, group);
    perCurve.set(group, table);
  }
  return table;
}

function scalarBytes(scalars: readonly bigint[], r: bigint): Uint8Array {
  const out = new Uint8Array(scalars.length * 32);
  scalars.forEach((scalar, i) => {
    if (scalar < 0n || scalar >= r) throw new Error("scalar out of range");
    let s = scalar;
    for (let b = 0; b < 32 && s > 0n; b++, s >>= 8n) out[i * 32 + b] = Number(s & 0xffn);
  });
  return out;
}

/**
 * Computes s_i·G for every scalar (G the group's generator) on the curve's wasm worker pool and returns
 * the points affine, in the Montgomery little-endian form snarkjs writes into ptau files. The curve must
 * come from `withCombCurve` (it carries the comb function).
 */
export async function multiplyGenerator(
  curve: Bn128,
  group: GroupName,
  scalars: readonly bigint[],
): Promise<Uint8Array> {
  const G = curve[group];
  const prefix = prefixOf(group);
  const affineSize = G.F.n8 * 2;
  const jacobianSize = G.F.n8 * 3;
  const table = await combTable(curve, group);
  const encoded = scalarBytes(scalars, curve.r);
  const tasks: Promise<Uint8Array[]>[] = [];
  for (let start = 0; start < scalars.length; start += POINTS_PER_TASK) {
    const n = Math.min(POINTS_PER_TASK, scalars.length - start);
    tasks.push(
      curve.tm.queueAction([
        { cmd: "ALLOCSET", var: 0, buff: table },
        { cmd: "ALLOCSET", var: 1, buff: encoded.slice(start * 32, (start + n) * 32) },
        { cmd: "ALLOC", var: 2, len: n * jacobianSize },
        { cmd: "CALL", fnName: combFunction(prefix), params: [{ var: 0 }, { var: 1 }, { val: n }, { var: 2 }] },
        // One field inversion for the whole chunk, in place (the output is smaller than the input).
        { cmd: "CALL", fnName: `${prefix}_batchToAffine`, params: [{ var: 2 }, { val: n }, { var: 2 }] },
        { cmd: "GET", out: 0, var: 2, len: n * affineSize },
      ]),
    );
  }
  const chunks = await Promise.all(tasks);
  const out = new Uint8Array(scalars.length * affineSize);
  let offset = 0;
  for (const [chunk] of chunks) {
    if (!chunk) throw new Error("worker task returned no output");
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}
