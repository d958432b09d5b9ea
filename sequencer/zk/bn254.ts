/**
 * BN254 (alt_bn128) for Groth16 verification: a warm single-threaded ffjavascript curve, strict
 * decoding of snarkjs-style points, and membership checks for G1 and G2.
 *
 * ffjavascript's own `isValid` only checks the curve equation. That is enough for G1 (cofactor 1)
 * but not for G2, whose twist has a huge cofactor: points of the twist outside the order-r subgroup
 * break the bilinearity that both single and batched verification rely on, so every G2 input goes
 * through `isInG2` below.
 */
import { getCurveFromName } from "ffjavascript";

/** A field or group element as ffjavascript stores it: little-endian Montgomery form in wasm memory. */
export type Buf = Uint8Array;

interface WasmField {
  readonly n8: number;
  readonly one: Buf;
  readonly zero: Buf;
  add(a: Buf, b: Buf): Buf;
  mul(a: Buf, b: Buf): Buf;
  neg(a: Buf): Buf;
  eq(a: Buf, b: Buf): boolean;
  exp(a: Buf, e: bigint): Buf;
  isSquare(a: Buf): boolean;
  sqrt(a: Buf): Buf;
}

interface WasmGroup {
  readonly g: Buf;
  readonly zero: Buf;
  readonly b: Buf;
  add(a: Buf, b: Buf): Buf;
  neg(a: Buf): Buf;
  eq(a: Buf, b: Buf): boolean;
  isZero(a: Buf): boolean;
  isValid(a: Buf): boolean;
  timesScalar(a: Buf, s: bigint): Buf;
  toAffine(a: Buf): Buf;
  toJacobian(a: Buf): Buf;
  fromObject(v: readonly unknown[]): Buf;
  toObject(a: Buf): unknown[];
}

/** The part of ffjavascript's BN254 engine that verification uses. */
export interface Bn254Curve {
  readonly q: bigint;
  readonly r: bigint;
  readonly F1: WasmField & { fromObject(v: bigint): Buf };
  readonly F2: WasmField & { fromObject(v: readonly [bigint, bigint]): Buf };
  readonly F12: WasmField;
  readonly G1: WasmGroup;
  readonly G2: WasmGroup;
  prepareG1(p: Buf): Buf;
  prepareG2(q: Buf): Buf;
  millerLoop(preparedP: Buf, preparedQ: Buf): Buf;
  finalExponentiation(f: Buf): Buf;
  terminate(): Promise<void>;
}

/** Base field modulus q of BN254. */
export const BN254_Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583n;
/** Order r of G1, G2 and GT, also the scalar field of the circuits (public signals live below it). */
export const BN254_R = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
/** The BN parameter x (p and r are polynomials in it). */
const BN_X = 4965661367192848881n;
/** ψ acts on G2 as multiplication by 6x² (El Housni, Guillevic, Piellard, ePrint 2022/352). */
const PSI_EIGENVALUE = 6n * BN_X * BN_X;

let curvePromise: Promise<Bn254Curve> | undefined;

/**
 * The process's (or worker thread's) single-threaded BN254 engine, built once. Single-threaded on
 * purpose: the multi-threaded build spawns its own workers, which cannot run inside worker threads.
 */
export function bn254(): Promise<Bn254Curve> {
  curvePromise ??= getCurveFromName("bn128", { singleThread: true }).then((c) => c as unknown as Bn254Curve);
  return curvePromise;
}

const DECIMAL = /^(0|[1-9][0-9]{0,77})$/;

/** A canonical decimal integer below `modulus`, or undefined (no hex, signs, spaces or reductions). */
export function parseCanonical(value: unknown, modulus: bigint): bigint | undefined {
  if (typeof value === "bigint") return value >= 0n && value < modulus ? value : undefined;
  if (typeof value !== "string" || !DECIMAL.test(value)) return undefined;
  const n = BigInt(value);
  return n < modulus ? n : undefined;
}

/** Reads the optional projective z of a snarkjs point: absent or exactly one (affine). */
function isAffineMarker(z: unknown, one: unknown): boolean {
  return z === undefined || JSON.stringify(z) === JSON.stringify(one);
}

/** Parses a G1 point `[x, y]` or `[x, y, "1"]`; undefined unless it is a non-identity point of G1. */
export function parseG1(curve: Bn254Curve, value: unknown): Buf | undefined {
  if (!Array.isArray(value) || value.length < 2 || value.length > 3) return undefined;
  if (!isAffineMarker(value[2], "1")) return undefined;
  const x = parseCanonical(value[0], BN254_Q);
  const y = parseCanonical(value[1], BN254_Q);
  if (x === undefined || y === undefined) return undefined;
  const p = curve.G1.fromObject([x, y, 1n]);
  // (0, 0) is ffjavascript's encoding of the identity, which isValid accepts; G1 has cofactor 1,
  // so a point on the curve is in the group.
  if (curve.G1.isZero(p) || !curve.G1.isValid(p)) return undefined;
  return p;
}

function parseF2(value: unknown, modulus: bigint): readonly [bigint, bigint] | undefined {
  if (!Array.isArray(value) || value.length !== 2) return undefined;
  const c0 = parseCanonical(value[0], modulus);
  const c1 = parseCanonical(value[1], modulus);
  return c0 === undefined || c1 === undefined ? undefined : [c0, c1];
}

/** Parses a G2 point `[[x0,x1],[y0,y1]]` (optionally `,["1","0"]`); undefined unless it is in G2 and not the identity. */
export function parseG2(curve: Bn254Curve, value: unknown): Buf | undefined {
  if (!Array.isArray(value) || value.length < 2 || value.length > 3) return undefined;
  if (!isAffineMarker(value[2], ["1", "0"])) return undefined;
  const x = parseF2(value[0], BN254_Q);
  const y = parseF2(value[1], BN254_Q);
  if (x === undefined || y === undefined) return undefined;
  const p = curve.G2.fromObject([x, y, [1n, 0n]]);
  if (curve.G2.isZero(p) || !curve.G2.isValid(p) || !isInG2(curve, p)) return undefined;
  return p;
}

interface PsiConstants {
  readonly cx: Buf;
  readonly cy: Buf;
}
const psiConstants = new WeakMap<Bn254Curve, PsiConstants>();

/** ξ^((q−1)/3) and ξ^((q−1)/2) with ξ = 9 + u, the non-residue that defines the sextic twist. */
function psiConstantsOf(curve: Bn254Curve): PsiConstants {
  let k = psiConstants.get(curve);
  if (k === undefined) {
    const xi = curve.F2.fromObject([9n, 1n]);
    k = { cx: curve.F2.exp(xi, (BN254_Q - 1n) / 3n), cy: curve.F2.exp(xi, (BN254_Q - 1n) / 2n) };
    psiConstants.set(curve, k);
  }
  return k;
}

/** Conjugation in F_q² = F_q[u]: (c0 + c1·u) ↦ (c0 − c1·u), which is the q-power Frobenius there. */
function conjugate(curve: Bn254Curve, a: Buf): Buf {
  const n = curve.F1.n8;
  const out = new Uint8Array(2 * n);
  out.set(a.subarray(0, n), 0);
  out.set(curve.F1.neg(a.subarray(n, 2 * n)), n);
  return out;
}

/** ψ = untwist ∘ Frobenius ∘ twist on an affine point of the twist (Galbraith and Scott). */
export function psi(curve: Bn254Curve, affine: Buf): Buf {
  const n2 = curve.F2.n8;
  const { cx, cy } = psiConstantsOf(curve);
  const out = new Uint8Array(2 * n2);
  out.set(curve.F2.mul(conjugate(curve, affine.subarray(0, n2)), cx), 0);
  out.set(curve.F2.mul(conjugate(curve, affine.subarray(n2, 2 * n2)), cy), n2);
  return out;
}

/**
 * Membership of a twist point in G2: ψ(P) = [6x²]P holds exactly on G2 for BN254 (ePrint 2022/352),
 * a 126-bit scalar multiplication instead of the 254-bit [r]P = O.
 */
export function isInG2(curve: Bn254Curve, point: Buf): boolean {
  const affine = curve.G2.toAffine(point);
  return curve.G2.eq(curve.G2.timesScalar(affine, PSI_EIGENVALUE), psi(curve, affine));
}
