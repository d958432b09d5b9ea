/**
 * Round keys and the time-lock puzzle: raw squaring rates mod RSA-2048 (Node BigInt and GMP),
 * the solver's rate against them, solve time for a small measured T, the configured T (the default
 * deployment's least T, from policy.ts) with the time it gives an attacker at 35M squarings/s and the
 * honest solver here, the start-up check of a published h at that T, Wesolowski prove/verify, and a
 * key generator's contribution prove/verify.
 */
import { init } from "gmp-wasm";
import { createContribution, verifyContribution } from "../../sequencer/crypto/roundkey";
import { loadBigMath } from "../../sequencer/crypto/timelock/bigmath";
import { RSA_2048_MODULUS } from "../../sequencer/crypto/timelock/modulus";
import {
  ASIC_SQUARINGS_PER_SECOND,
  hashToQuadraticResidue,
  setupTimelock,
  timelockParams,
} from "../../sequencer/crypto/timelock/params";
import {
  DEFAULT_DELAY_INPUTS,
  publicationToSealSeconds,
  timeLockSquaringsFor,
} from "../../sequencer/crypto/timelock/policy";
import { generateTestOnlyModulus, trapdoorTimelock } from "../../sequencer/crypto/timelock/test-modulus";
import { repeatedSquaring } from "../../sequencer/crypto/timelock/solver";
import { proveExponentiation, verifyExponentiation } from "../../sequencer/crypto/timelock/wesolowski";
import { emit, median, progress, timeRuns } from "./report";

const N = RSA_2048_MODULUS;
const RUNS = 5;
const SQUARINGS_PER_RUN = 100_000;
const SMALL_T = 1 << 18;

const rate = (squarings: number, ms: number): number => (squarings / ms) * 1000;

function bigintSquarings(x0: bigint): number {
  let x = x0;
  const start = performance.now();
  for (let i = 0; i < SQUARINGS_PER_RUN; i++) x = (x * x) % N;
  if (x === 0n) throw new Error("unreachable: keeps the loop observable");
  return performance.now() - start;
}

/**
 * Squarings per second of each engine. The runs are interleaved (one run of every engine per round)
 * so that load from other processes on this shared machine hits them alike and the ratios hold.
 */
async function squaringRates(x0: bigint): Promise<Record<"bigint" | "gmpMulMod" | "gmpPowm" | "solver", number>> {
  const math = await loadBigMath();
  const { binding: b } = await init();
  const reg = (hex: string): number => {
    const p = b.mpz_t();
    b.mpz_init(p);
    b.mpz_set_string(p, hex, 16);
    return p;
  };
  const [x, n, e] = [reg(x0.toString(16)), reg(N.toString(16)), reg((1n << BigInt(SQUARINGS_PER_RUN)).toString(16))];
  const times = { bigint: [] as number[], gmpMulMod: [] as number[], gmpPowm: [] as number[], solver: [] as number[] };
  for (let run = 0; run < RUNS; run++) {
    // BigInt last: its garbage (one fresh 2048-bit BigInt per step) is collected by V8's
    // background threads, which would otherwise slow whatever runs right after it.
    let start = performance.now();
    await repeatedSquaring(math, N, x0, SQUARINGS_PER_RUN);
    times.solver.push(performance.now() - start);
    start = performance.now();
    b.mpz_powm(x, x, e, n);
    times.gmpPowm.push(performance.now() - start);
    start = performance.now();
    for (let i = 0; i < SQUARINGS_PER_RUN; i++) {
      b.mpz_mul(x, x, x);
      b.mpz_mod(x, x, n);
    }
    times.gmpMulMod.push(performance.now() - start);
    times.bigint.push(bigintSquarings(x0));
  }
  for (const p of [x, n, e]) {
    b.mpz_clear(p);
    b.mpz_t_free(p);
  }
  return {
    bigint: rate(SQUARINGS_PER_RUN, median(times.bigint)),
    gmpMulMod: rate(SQUARINGS_PER_RUN, median(times.gmpMulMod)),
    gmpPowm: rate(SQUARINGS_PER_RUN, median(times.gmpPowm)),
    solver: rate(SQUARINGS_PER_RUN, median(times.solver)),
  };
}

/**
 * What a process pays at start for a rollup's published (N, T, h, hProof): `timelockParams` on fresh
 * parameters (no cache). RSA-2048's h at a production T costs an hour to make, so the production-size
 * case uses a 2048-bit modulus of our own, whose factors give a valid proof at any T in milliseconds:
 * the verifier does the same work for it as for RSA-2048 (same sizes; 2^T enters only mod a 256-bit prime).
 */
async function startupVerify(configuredT: number): Promise<void> {
  const math = await loadBigMath();
  progress("timelock: start-up check of a published (N, T, h, hProof) at the configured T (2048-bit modulus)");
  const modulus = generateTestOnlyModulus(math, 2048);
  let T = configuredT;
  const published = Array.from({ length: RUNS }, () => {
    const t = T++; // a new T per run: timelockParams caches per (N, T)
    return { N: modulus.N, T: t, ...trapdoorTimelock(math, modulus, t) };
  });
  let run = 0;
  const times = await timeRuns(RUNS, () => timelockParams(published[run++]!), 0);
  emit("timelock_startup_verify_published_h_ms", median(times), "ms", {
    T: configuredT,
    modulus_bits: 2048,
    runs: RUNS,
    target: "<= 100",
    includes: "Wesolowski check, hashing g and k, H = h^N mod N^2",
  });
}

export async function runTimelockBench(): Promise<void> {
  const math = await loadBigMath();
  const x = hashToQuadraticResidue(math, N, "bench base");

  progress("timelock: squaring rates mod RSA-2048 (BigInt, GMP, the solver)");
  const rates = await squaringRates(x);
  const extra = { modulus_bits: 2048, squarings: SQUARINGS_PER_RUN, runs: RUNS };
  emit("timelock_squarings_per_s_bigint", rates.bigint, "per_s", extra);
  emit("timelock_squarings_per_s_gmp_mulmod", rates.gmpMulMod, "per_s", extra);
  emit("timelock_squarings_per_s_gmp_powm", rates.gmpPowm, "per_s", extra);
  emit("timelock_solver_squarings_per_s", rates.solver, "per_s", { ...extra, engine: "gmp-wasm powm in chunks" });
  emit("timelock_solver_vs_bigint_rate", rates.solver / rates.bigint, "ratio", { target: ">= 0.9" });
  emit("timelock_solver_vs_gmp_powm_rate", rates.solver / rates.gmpPowm, "ratio", {
    note: "chunking, progress, cancellation",
  });

  progress(`timelock: solve on T = ${SMALL_T}`);
  const solveTimes = await timeRuns(3, () => repeatedSquaring(math, N, x, SMALL_T), 0);
  emit("timelock_solve_small_T_ms", median(solveTimes), "ms", { T: SMALL_T, runs: 3 });
  const solverRate = rate(SMALL_T, median(solveTimes));

  // The configured T: the default deployment's least T (DEFAULT_TIME_LOCK_POLICY), from the one sizing rule.
  const configuredT = timeLockSquaringsFor();
  const inputs = { ...DEFAULT_DELAY_INPUTS };
  emit("timelock_configured_T", configuredT, "count", {
    rule: "((lookahead + 1) * blockTime + viewChanges * leaderTimeout) * attackerRate",
    ...inputs,
  });
  emit("timelock_attacker_open_configured_T_s", configuredT / ASIC_SQUARINGS_PER_SECOND, "s", {
    T: configuredT,
    attacker_squarings_per_s: ASIC_SQUARINGS_PER_SECOND,
    publication_to_seal_s: publicationToSealSeconds(inputs),
  });
  emit("timelock_honest_solve_configured_T_projected_s", configuredT / solverRate, "s", {
    T: configuredT,
    solver_squarings_per_s: Math.round(solverRate),
    note: "projected from the measured solver rate on this machine; publishing a proof adds the prover's time",
  });

  await startupVerify(configuredT);

  progress(`timelock: Wesolowski proofs on T = ${SMALL_T}`);
  const y = await repeatedSquaring(math, N, x, SMALL_T);
  let pi = 0n;
  const proveTimes = await timeRuns(3, () => (pi = proveExponentiation(math, N, x, y, SMALL_T)), 0);
  emit("timelock_wesolowski_prove_ms", median(proveTimes), "ms", { T: SMALL_T, runs: 3 });
  const verifyTimes = await timeRuns(20, () => {
    if (!verifyExponentiation(math, N, x, y, SMALL_T, pi)) throw new Error("Wesolowski proof failed");
  });
  emit("timelock_wesolowski_verify_ms", median(verifyTimes), "ms", { T: SMALL_T, runs: 20 });

  progress("timelock: key generator contributions over RSA-2048");
  const params = await setupTimelock({ T: 1024 });
  const round = { rollupId: 1n, height: 1n };
  const generator = "0x1111111111111111111111111111111111111111";
  let contribution = (await createContribution(params, round, generator)).contribution;
  const contributionProve = await timeRuns(RUNS, async () => {
    contribution = (await createContribution(params, round, generator)).contribution;
  });
  emit("roundkey_contribution_prove_ms", median(contributionProve), "ms", { modulus_bits: 2048, runs: RUNS });
  const contributionVerify = await timeRuns(RUNS, async () => {
    if (!(await verifyContribution(params, contribution, round)).ok) throw new Error("contribution failed");
  });
  emit("roundkey_contribution_verify_ms", median(contributionVerify), "ms", { modulus_bits: 2048, runs: RUNS });
}

if (require.main === module) {
  runTimelockBench()
    .then(() => process.exit(0))
    .catch((err: unknown) => {
      console.error(err);
      process.exit(1);
    });
}
