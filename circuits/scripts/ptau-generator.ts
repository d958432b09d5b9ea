import type { Bn128, WasmTaskStep } from "./ptau-curve";

export type GroupName = "G1" | "G2";

/** Points per worker task: small enough to balance both cores and report progress, large enough to amortise. */
const POINTS_PER_TASK = 512;

/** 2^256 mod r: ffjavascript keeps scalars in Montgomery form x·2^256 mod r, 32 bytes little-endian. */
function montgomeryBytes(scalars: readonly bigint[], r: bigint): Uint8Array {
  const R = (1n << 256n) % r;
  const out = new Uint8Array(scalars.length * 32);
  scalars.forEach((s, i) => {
    let v = (s * R) % r;
    for (let b = 0; b < 32; b++) {
      out[i * 32 + b] = Number(v & 0xffn);
      v >>= 8n;
    }
  });
  return out;
}

/**
 * Computes s_i·G for every scalar (G the group's generator) on the curve's wasm worker pool and returns
 * the points affine, in the Montgomery little-endian form snarkjs writes into ptau files.
 */
export async function multiplyGenerator(
  curve: Bn128,
  group: GroupName,
  scalars: readonly bigint[],
): Promise<Uint8Array> {
  const G = curve[group];
  const prefix = group === "G1" ? "g1m" : "g2m";
  const affineSize = G.F.n8 * 2;
  const jacobianSize = G.F.n8 * 3;
  const encoded = montgomeryBytes(scalars, curve.r);
  const tasks: Promise<Uint8Array[]>[] = [];
  for (let start = 0; start < scalars.length; start += POINTS_PER_TASK) {
    const n = Math.min(POINTS_PER_TASK, scalars.length - start);
    const task: WasmTaskStep[] = [
      { cmd: "ALLOCSET", var: 0, buff: G.oneAffine },
      { cmd: "ALLOCSET", var: 1, buff: encoded.slice(start * 32, (start + n) * 32) },
      { cmd: "ALLOC", var: 2, len: n * jacobianSize },
    ];
    for (let i = 0; i < n; i++) {
      task.push({
        cmd: "CALL",
        fnName: `${prefix}_timesFrAffine`,
        params: [{ var: 0 }, { var: 1, offset: i * 32 }, { var: 2, offset: i * jacobianSize }],
      });
    }
    // One field inversion for the whole chunk, in place (the output is smaller than the input).
    task.push({ cmd: "CALL", fnName: `${prefix}_batchToAffine`, params: [{ var: 2 }, { val: n }, { var: 2 }] });
    task.push({ cmd: "GET", out: 0, var: 2, len: n * affineSize });
    tasks.push(curve.tm.queueAction(task));
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
