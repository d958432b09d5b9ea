import type { BnCurve } from "ffjavascript";

/** A BN254 group as ffjavascript's wasm curve exposes it (points are Uint8Arrays in Montgomery form). */
export interface WasmGroup {
  /** The generator, affine, Montgomery little-endian (LEM) coordinates. */
  readonly oneAffine: Uint8Array;
  /** Base field of the group's coordinates: `n8` bytes per coordinate (F2 for G2). */
  readonly F: { readonly n8: number };
  timesFr(point: Uint8Array, scalar: Uint8Array): Uint8Array;
  /** Multiplies by a plain (not Montgomery) integer. */
  timesScalar(point: Uint8Array, scalar: bigint): Uint8Array;
  toAffine(point: Uint8Array): Uint8Array;
  toRprLEM(buffer: Uint8Array, offset: number, point: Uint8Array): void;
  /** Big-endian x‖y, the form snarkjs hashes for challenges and public keys. */
  toUncompressed(point: Uint8Array): Uint8Array;
  /** A uniformly random point drawn from `rng` (snarkjs's public-key base points). */
  fromRng(rng: unknown): Uint8Array;
  /** LEM points → compressed / uncompressed encodings, on the worker pool. */
  batchLEMtoC(points: Uint8Array): Promise<Uint8Array>;
  batchLEMtoU(points: Uint8Array): Promise<Uint8Array>;
}

/** One step of a task run by ffjavascript's wasm worker pool (the curve's thread manager). */
export type WasmTaskStep =
  | { cmd: "ALLOCSET"; var: number; buff: Uint8Array }
  | { cmd: "ALLOC"; var: number; len: number }
  | { cmd: "CALL"; fnName: string; params: Array<{ var: number; offset?: number } | { val: number }> }
  | { cmd: "GET"; out: number; var: number; len: number };

/** The parts of ffjavascript's bn128 curve that the fast powers-of-tau code uses. */
export interface Bn128 {
  /** Order of G1/G2, the scalar field modulus r. */
  readonly r: bigint;
  /** Modulus of the base field. */
  readonly q: bigint;
  readonly G1: WasmGroup;
  readonly G2: WasmGroup;
  readonly Fr: {
    /** Roots of unity: `w[k]` generates the subgroup of order 2^k. */
    readonly w: readonly Uint8Array[];
    fromRng(rng: unknown): Uint8Array;
    toObject(element: Uint8Array): bigint;
  };
  readonly tm: {
    readonly concurrency: number;
    queueAction(task: WasmTaskStep[]): Promise<Uint8Array[]>;
  };
}

/** Views ffjavascript's untyped curve object through the typed surface above. */
export function asBn128(curve: BnCurve): Bn128 {
  const { r, G1, G2, Fr, tm } = curve;
  if (typeof r !== "bigint" || !G1 || !G2 || !Fr || !tm) throw new Error("not an ffjavascript bn128 curve");
  return curve as unknown as Bn128;
}
