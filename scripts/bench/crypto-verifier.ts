/**
 * Verification benchmark: single verification with a warm curve, the plain-snarkjs ceiling on the
 * worker pool (one pairing check per proof) and batched throughput on the same pool, measured in
 * alternating rounds of the same run so that both see the same machine load.
 *
 * Uses the tx_validity circuit when its artifacts exist and prove, else poseidon_commitment; the
 * circuit is recorded in every JSON line. Run alone: `npx tsx scripts/bench/crypto-verifier.ts`.
 */
import { existsSync } from "node:fs";
import os from "node:os";
import { circuitArtifacts } from "../../circuits/manifest";
import { prepareKey, parseProof, verifyParsed } from "../../sequencer/zk/batch-verify";
import { bn254 } from "../../sequencer/zk/bn254";
import { prove, verificationKey, type Groth16Proof, type PublicSignals } from "../../sequencer/zk/groth16";
import { MicroBatcher } from "../../sequencer/zk/micro-batcher";
import { Groth16VerifierPool, type VerifyItem } from "../../sequencer/zk/verifier";
import { emit, median, percentile, progress, timeRuns } from "./report";

const DISTINCT_PROOFS = Number(process.env.BENCH_PROOFS ?? 8);
const BATCH_ITEMS = Number(process.env.BENCH_ITEMS ?? 512);
const SNARKJS_ITEMS = 128;
const ROUNDS = 3;
const THREADS = 2;

interface Workload {
  readonly circuit: string;
  readonly proofs: readonly VerifyItem[];
}

function hasArtifacts(circuit: string): boolean {
  try {
    const a = circuitArtifacts(circuit);
    return [a.wasm, a.zkey, a.vkey].every((f) => existsSync(f));
  } catch {
    return false;
  }
}

async function txValidityProofs(): Promise<VerifyItem[]> {
  const [{ encryptTransaction, rollupId, blockHeight }, { proveTxValidity }, { mulBase, randomScalar }] =
    await Promise.all([
      import("../../sequencer/crypto/encryption"),
      import("../../sequencer/zk/prover"),
      import("../../sequencer/crypto/babyjub"),
    ]);
  const roundKey = mulBase(randomScalar());
  const out: VerifyItem[] = [];
  for (let i = 0; i < DISTINCT_PROOFS; i++) {
    const tx = new TextEncoder().encode(`bench transaction ${i} `.repeat(8));
    const enc = encryptTransaction(tx, { rollupId: rollupId(1), height: blockHeight(100 + i), roundKey });
    out.push(await proveTxValidity(enc));
  }
  return out;
}

async function poseidonProofs(): Promise<VerifyItem[]> {
  const out: VerifyItem[] = [];
  for (let i = 0; i < DISTINCT_PROOFS; i++)
    out.push(await prove("poseidon_commitment", { message: [BigInt(i), 1n, 2n, 3n] }));
  return out;
}

/** Proofs of the tx-validity circuit if it is built and its proofs verify, else of poseidon_commitment. */
async function workload(): Promise<Workload> {
  if (hasArtifacts("tx_validity")) {
    try {
      progress(`proving ${DISTINCT_PROOFS} tx_validity proofs`);
      const proofs = await txValidityProofs();
      const curve = await bn254();
      const key = prepareKey(curve, verificationKey("tx_validity"));
      const ok = verifyParsed(
        curve,
        key,
        proofs.map((p) => parseProof(curve, key, p.proof, p.publicSignals)),
      );
      if (ok.every(Boolean)) return { circuit: "tx_validity", proofs };
      progress("tx_validity proofs do not verify against its key (build in progress?); using poseidon_commitment");
    } catch (err) {
      progress(`tx_validity unavailable (${String(err)}); using poseidon_commitment`);
    }
  }
  progress(`proving ${DISTINCT_PROOFS} poseidon_commitment proofs`);
  return { circuit: "poseidon_commitment", proofs: await poseidonProofs() };
}

function cycle(proofs: readonly VerifyItem[], n: number): VerifyItem[] {
  return Array.from({ length: n }, (_, i) => proofs[i % proofs.length]!);
}

async function rate(n: number, run: () => Promise<boolean[]>): Promise<number> {
  const start = process.hrtime.bigint();
  const verdicts = await run();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (verdicts.length !== n || !verdicts.every(Boolean))
    throw new Error("an honest proof failed to verify in the benchmark");
  return n / seconds;
}

export async function runVerifierBench(): Promise<void> {
  const { circuit, proofs } = await workload();
  const vkey = verificationKey(circuit);
  const machine = { circuit, cores: os.availableParallelism() };

  // Single verification, warm curve, this thread: ours (r = 1, three Miller loops) and snarkjs's.
  const curve = await bn254();
  const key = prepareKey(curve, vkey);
  let next = 0;
  const ours = await timeRuns(30, () => {
    const p = proofs[next++ % proofs.length]!;
    const [ok] = verifyParsed(curve, key, [parseProof(curve, key, p.proof, p.publicSignals)]);
    if (!ok) throw new Error("honest proof rejected");
  });
  emit("verify_single_warm_ms", median(ours), "ms", {
    ...machine,
    runs: ours.length,
    implementation: "veil batch-verify, one proof",
  });
  // Proving left snarkjs's multi-threaded curve on globalThis: release its threads before loading
  // snarkjs here (loading may reset the global), then lend snarkjs the warm single-threaded curve so
  // that both single-verification figures use the same engine.
  const shared = globalThis as { curve_bn128?: { terminate(): Promise<void> } | null };
  await shared.curve_bn128?.terminate();
  const snarkjs = await import("snarkjs");
  shared.curve_bn128 = curve;
  const theirs = await timeRuns(30, async () => {
    const p = proofs[next++ % proofs.length]!;
    if (!(await snarkjs.groth16.verify(vkey, p.publicSignals as PublicSignals, p.proof as Groth16Proof))) {
      throw new Error("honest proof rejected by snarkjs");
    }
  });
  emit("verify_single_warm_snarkjs_ms", median(theirs), "ms", {
    ...machine,
    runs: theirs.length,
    implementation: "snarkjs groth16.verify, single-threaded curve",
  });

  const pool = new Groth16VerifierPool(vkey, { threads: THREADS, maxTaskSize: 64 });
  try {
    await pool.ready();
    const batchItems = cycle(proofs, BATCH_ITEMS);
    const snarkItems = cycle(proofs, SNARKJS_ITEMS);
    await pool.verifyBatch(cycle(proofs, 32)); // warm the JIT on both threads
    await pool.verifyEachWithSnarkjs(cycle(proofs, 8));
    const batched: number[] = [];
    const plain: number[] = [];
    const micro: number[] = [];
    const latencies: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      progress(`verification round ${round}/${ROUNDS}`);
      plain.push(await rate(SNARKJS_ITEMS, () => pool.verifyEachWithSnarkjs(snarkItems)));
      batched.push(await rate(BATCH_ITEMS, () => pool.verifyBatch(batchItems)));
      const batcher = new MicroBatcher(pool, { maxItems: 64, maxDelayMs: 3 });
      micro.push(
        await rate(BATCH_ITEMS, () =>
          Promise.all(
            batchItems.map(async (it) => {
              const t0 = process.hrtime.bigint();
              const ok = await batcher.verify(it.proof, it.publicSignals);
              latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
              return ok;
            }),
          ),
        ),
      );
      await batcher.close();
    }
    const common = { ...machine, threads: THREADS, rounds: ROUNDS };
    emit("verify_throughput_snarkjs_2workers_per_s", median(plain), "per_s", {
      ...common,
      proofs_per_round: SNARKJS_ITEMS,
      implementation: "snarkjs groth16.verify, one pairing check per proof",
    });
    emit("verify_throughput_batched_2workers_per_s", median(batched), "per_s", {
      ...common,
      proofs_per_round: BATCH_ITEMS,
      task_size: 64,
      target: 300,
    });
    emit("verify_throughput_microbatched_2workers_per_s", median(micro), "per_s", {
      ...common,
      proofs_per_round: BATCH_ITEMS,
      max_items: 64,
      max_delay_ms: 3,
    });
    emit("verify_microbatched_latency_p50_ms", median(latencies), "ms", {
      ...common,
      note: `${BATCH_ITEMS} requests submitted at once`,
    });
    emit("verify_batched_speedup_over_snarkjs", median(batched) / median(plain), "ratio", common);

    // Cost of finding bad proofs: a batch of 64 with one bad proof, on one thread, vs all honest.
    const honest64 = cycle(proofs, 64).map((p) => parseProof(curve, key, p.proof, p.publicSignals));
    const oneBad = [...honest64];
    const victim = proofs[0]!;
    oneBad[37] = parseProof(
      curve,
      key,
      victim.proof,
      (victim.publicSignals as string[]).map((s, i) => (i === 0 ? (BigInt(s) + 1n).toString() : s)),
    );
    const clean = await timeRuns(3, () => verifyParsed(curve, key, honest64));
    const dirty = await timeRuns(3, () => {
      const v = verifyParsed(curve, key, oneBad);
      if (v.filter((x) => !x).length !== 1 || v[37] !== false)
        throw new Error("bisection did not isolate the bad proof");
    });
    emit("verify_batch64_all_honest_ms", median(clean), "ms", { ...machine, threads: 1 });
    emit("verify_batch64_one_bad_ms", median(dirty), "ms", {
      ...machine,
      threads: 1,
      note: "includes bisection to the bad proof",
    });
    emit("verify_batched_per_proof_one_thread_ms", median(clean) / 64, "ms", { ...machine, threads: 1 });
    const p99 = percentile(latencies, 99);
    progress(`micro-batched latency p99 ${p99.toFixed(1)} ms`);
  } finally {
    await pool.close();
  }
}

if (require.main === module) {
  runVerifierBench().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
