/** Modular arithmetic on bigints for the scalar field (small helpers, no dependencies). */
export function mod(a: bigint, m: bigint): bigint {
  const r = a % m;
  return r < 0n ? r + m : r;
}

export function powMod(base: bigint, exponent: bigint, m: bigint): bigint {
  let result = 1n;
  let b = mod(base, m);
  for (let e = exponent; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % m;
    b = (b * b) % m;
  }
  return result;
}

/** Inverse modulo a prime, by Fermat. */
export function invMod(a: bigint, p: bigint): bigint {
  if (mod(a, p) === 0n) throw new Error("zero has no inverse");
  return powMod(a, p - 2n, p);
}

/** Inverts every element with one field inversion (Montgomery's trick). */
export function batchInvert(values: readonly bigint[], p: bigint): bigint[] {
  const prefix: bigint[] = new Array<bigint>(values.length);
  let acc = 1n;
  values.forEach((v, i) => {
    prefix[i] = acc;
    acc = (acc * v) % p;
  });
  let inv = invMod(acc, p);
  const out: bigint[] = new Array<bigint>(values.length);
  for (let i = values.length - 1; i >= 0; i--) {
    out[i] = (inv * prefix[i]!) % p;
    inv = (inv * values[i]!) % p;
  }
  return out;
}

/**
 * The scalars that a group inverse FFT of [τ^0·G, …, τ^(n−1)·G] turns into, as snarkjs's
 * `prepare phase2` computes them: for the domain {ω^i} of size n, L_i(τ) = (τ^n − 1)/n · ω^i/(τ − ω^i).
 * `dropLast` is snarkjs's largest tauG1 domain (n = 2^(power+1)), where the input has only n − 1
 * powers and a zero last point: that term, τ^(n−1)·ω^i/n, is then missing from every output.
 */
export function lagrangeScalars(tau: bigint, n: number, omega: bigint, r: bigint, dropLast: boolean): bigint[] {
  const size = BigInt(n);
  const roots: bigint[] = new Array<bigint>(n);
  let w = 1n;
  for (let i = 0; i < n; i++) {
    roots[i] = w;
    w = (w * omega) % r;
  }
  if (w !== 1n || (n > 1 && powMod(omega, size / 2n, r) === 1n))
    throw new Error(`omega is not a primitive ${n}-th root`);
  const differences = roots.map((root) => mod(tau - root, r));
  if (differences.some((d) => d === 0n)) throw new Error("tau lies in the evaluation domain");
  const inverses = batchInvert(differences, r);
  const invN = invMod(size, r);
  const factor = (mod(powMod(tau, size, r) - 1n, r) * invN) % r;
  const missing = dropLast ? (powMod(tau, size - 1n, r) * invN) % r : 0n;
  return roots.map((root, i) => mod(((factor * root) % r) * inverses[i]! - missing * root, r));
}

/** τ^0·first, τ^1·first, …: the scalars of the geometric sections (tauG1, alphaTauG1, …). */
export function geometricScalars(first: bigint, ratio: bigint, count: number, r: bigint): bigint[] {
  const out: bigint[] = new Array<bigint>(count);
  let t = mod(first, r);
  for (let i = 0; i < count; i++) {
    out[i] = t;
    t = (t * ratio) % r;
  }
  return out;
}
