/**
 * The Poseidon permutation over the BN254 scalar field, computed exactly as circomlib's
 * `PoseidonEx` template does (its optimised form: sparse matrices in the partial rounds), with the
 * constants read from circomlib's own `poseidon_constants.circom`. Sharing the constants file and
 * the round structure with the circuit means that TypeScript and circuit cannot drift apart.
 *
 * Speed matters here (a node decrypts a whole block at once), so reductions are lazy: products
 * are summed unreduced and reduced once per output.
 */
import { readFileSync } from "node:fs";
import { FIELD } from "./babyjub";

const N_ROUNDS_F = 8;
/** Full rounds of every width (half before, half after the partial rounds). */
export const POSEIDON_FULL_ROUNDS = N_ROUNDS_F;
const N_ROUNDS_P = [56, 57, 56, 60, 60, 63, 64, 63, 60, 66, 60, 65, 70, 60, 64, 68] as const;
/** Largest state width circomlib has constants for (Poseidon of 16 inputs). */
export const MAX_WIDTH = 17;

export interface PoseidonConstants {
  readonly t: number;
  readonly nRoundsP: number;
  readonly C: readonly bigint[];
  readonly S: readonly bigint[];
  /** M[j][i] and P[j][i] as circomlib indexes them (row j multiplies input j). */
  readonly M: readonly (readonly bigint[])[];
  readonly P: readonly (readonly bigint[])[];
}

let constantsSource: string | undefined;
const constantsByWidth = new Map<number, PoseidonConstants>();

/** The hex constants of `function NAME(t)` for one width t, in file order. */
function extract(name: string, t: number): bigint[] {
  constantsSource ??= readFileSync(require.resolve("circomlib/circuits/poseidon_constants.circom"), "utf8");
  const start = constantsSource.indexOf(`function ${name}(t)`);
  if (start < 0) throw new Error(`circomlib constants: ${name} not found`);
  const nextFunction = constantsSource.indexOf("function ", start + 1);
  const body = constantsSource.slice(start, nextFunction < 0 ? undefined : nextFunction);
  const branch = new RegExp(`t\\s*==\\s*${t}\\s*\\)`).exec(body);
  if (!branch) throw new Error(`circomlib constants: ${name} has no branch for t=${t}`);
  const after = body.slice(branch.index + branch[0].length);
  const end = after.search(/\}\s*else/);
  const block = end < 0 ? after : after.slice(0, end);
  return (block.match(/0x[0-9a-fA-F]+/g) ?? []).map((h) => BigInt(h));
}

function square(flat: bigint[], t: number, what: string): bigint[][] {
  if (flat.length !== t * t) throw new Error(`circomlib constants: ${what} has ${flat.length} entries, want ${t * t}`);
  return Array.from({ length: t }, (_, j) => flat.slice(j * t, (j + 1) * t));
}

/** circomlib's optimised constants (C, S, M, P) for state width t, read once per width. */
export function poseidonConstants(t: number): PoseidonConstants {
  let c = constantsByWidth.get(t);
  if (c) return c;
  if (!Number.isInteger(t) || t < 2 || t > MAX_WIDTH)
    throw new Error(`Poseidon width ${t} out of range 2..${MAX_WIDTH}`);
  const nRoundsP = N_ROUNDS_P[t - 2]!;
  const C = extract("POSEIDON_C", t);
  const S = extract("POSEIDON_S", t);
  if (C.length !== t * N_ROUNDS_F + nRoundsP) throw new Error(`circomlib constants: C has ${C.length} entries`);
  if (S.length !== nRoundsP * (2 * t - 1)) throw new Error(`circomlib constants: S has ${S.length} entries`);
  c = { t, nRoundsP, C, S, M: square(extract("POSEIDON_M", t), t, "M"), P: square(extract("POSEIDON_P", t), t, "P") };
  constantsByWidth.set(t, c);
  return c;
}

/** x^5 mod p, the S-box (x may exceed p by a small multiple: the first squaring reduces it). */
function sbox(x: bigint): bigint {
  const x2 = (x * x) % FIELD;
  const x4 = (x2 * x2) % FIELD;
  return (x4 * x) % FIELD;
}

/** out[i] = Σ_j m[j][i]·state[j] (circomlib's Mix), one reduction per output. */
function mix(state: bigint[], m: readonly (readonly bigint[])[]): bigint[] {
  const t = state.length;
  const out = new Array<bigint>(t);
  for (let i = 0; i < t; i++) {
    let acc = 0n;
    for (let j = 0; j < t; j++) acc += m[j]![i]! * state[j]!;
    out[i] = acc % FIELD;
  }
  return out;
}

/**
 * The full Poseidon permutation of a state of width t = state.length (2..17), returning the whole
 * output state: circomlib's `PoseidonEx(t - 1, t)` with `initialState = state[0]`.
 */
export function poseidonPermutation(state: readonly bigint[]): bigint[] {
  const { t, nRoundsP, C, S, M, P } = poseidonConstants(state.length);
  const half = N_ROUNDS_F / 2;
  // Values below a small multiple of p are fine as S-box inputs: its first squaring reduces them.
  let s = state.map((x, i) => {
    if (x < 0n || x >= FIELD) throw new Error("Poseidon input is not a field element");
    return x + C[i]!;
  });
  // First half of the full rounds; the last of them mixes with P, which prepares the sparse rounds.
  for (let r = 0; r < half; r++) {
    s = s.map((x, j) => sbox(x) + C[(r + 1) * t + j]!);
    s = mix(s, r === half - 1 ? P : M);
  }
  // Partial rounds: S-box on the first element only, then a sparse matrix (first row and column).
  const pOffset = (half + 1) * t;
  const w = 2 * t - 1;
  const rest = s.slice(1); // kept unreduced between rounds
  let first = s[0]!;
  for (let r = 0; r < nRoundsP; r++) {
    const x0 = sbox(first) + C[pOffset + r]!;
    const base = w * r;
    let acc = S[base]! * x0;
    for (let i = 1; i < t; i++) acc += S[base + i]! * rest[i - 1]!;
    for (let i = 1; i < t; i++) rest[i - 1] = rest[i - 1]! + x0 * S[base + t + i - 1]!;
    first = acc % FIELD;
  }
  s = [first, ...rest.map((x) => x % FIELD)];
  // Second half of the full rounds; the very last one has no round constant after its S-box.
  const fOffset = pOffset + nRoundsP;
  for (let r = 0; r < half - 1; r++) {
    s = s.map((x, j) => sbox(x) + C[fOffset + r * t + j]!);
    s = mix(s, M);
  }
  return mix(s.map(sbox), M);
}

/** circomlib's `Poseidon(n)` (1 ≤ n ≤ 16): the first element of the permutation of (0, inputs). */
export function poseidonHash(inputs: readonly bigint[]): bigint {
  if (inputs.length < 1 || inputs.length > MAX_WIDTH - 1) {
    throw new Error(`Poseidon takes 1..${MAX_WIDTH - 1} inputs, got ${inputs.length}`);
  }
  return poseidonPermutation([0n, ...inputs])[0]!;
}

/**
 * Hash of a fixed-length vector of any length ≥ 1: Poseidon of the first (up to) 16 elements, then
 * for each further group of up to 15 elements, Poseidon of (previous hash, group). The circuit
 * template `PoseidonChain(n)` computes the same. Lengths are fixed by the protocol, so the chaining
 * needs no padding.
 */
export function poseidonChain(inputs: readonly bigint[]): bigint {
  if (inputs.length === 0) throw new Error("poseidonChain of no inputs");
  let acc = poseidonHash(inputs.slice(0, MAX_WIDTH - 1));
  for (let i = MAX_WIDTH - 1; i < inputs.length; i += MAX_WIDTH - 2) {
    acc = poseidonHash([acc, ...inputs.slice(i, i + MAX_WIDTH - 2)]);
  }
  return acc;
}
