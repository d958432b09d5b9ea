/**
 * Worker-thread side of `proveExponentiationOffThread` (prover.ts). It takes a job (N, x, T, chunk
 * and the state to start from) as `workerData`, posts its state at the start of each phase and
 * after every chunk, and finally posts y and π. Any exception ends the thread with an 'error'
 * event, which rejects the caller's promise. The main thread terminates it when it is no longer
 * wanted; nothing here needs to be cleaned up beyond the thread's own wasm memory.
 */
import { parentPort, workerData } from "node:worker_threads";
import { loadBigMath, MAX_WINDOW_BITS, type BigMath } from "./bigmath";
import { proverJobSchema, type ProverJob, type ProverMessage, type ProverState } from "./prover";
import { challengePrime } from "./wesolowski";

/**
 * Largest window used: 2^12 residues of 2048 bits (1 MB) stay in cache. Measured on RSA-2048 at
 * T = 2^20: w = 11 or 12 cost 7.1 µs per quotient bit, w = 13 7.3-7.7 µs (a 2 MB table), w = 8 7.5 µs.
 */
const PROVER_MAX_WINDOW_BITS = Math.min(12, MAX_WINDOW_BITS);

/**
 * The window w for about `bits` quotient bits: a table of 2^w powers costs 2^w multiplications,
 * and each window one more; w minimises bits/w + 2^w (12, the cap, for 2^20 bits; 3 for 64 bits).
 */
function windowBitsFor(bits: number): number {
  let best = 1;
  let bestCost = Number.POSITIVE_INFINITY;
  for (let w = 1; w <= PROVER_MAX_WINDOW_BITS; w++) {
    const cost = bits / w + 2 ** w;
    if (cost < bestCost) [best, bestCost] = [w, cost];
  }
  return best;
}

/** Phase "square": x^(2^done) → x^(2^T), in chunks. */
function square(
  math: BigMath,
  job: ProverJob,
  from: ProverState & { phase: "square" },
  post: (m: ProverMessage) => void,
): bigint {
  const squarer = math.squarer(job.N);
  try {
    squarer.set(from.value);
    for (let done = from.done; done < job.T;) {
      const step = Math.min(job.chunk, job.T - done);
      squarer.square(step);
      done += step;
      post({ type: "progress", state: { phase: "square", done, value: squarer.get() } });
    }
    return squarer.get();
  } finally {
    squarer.free();
  }
}

/** Phase "prove": long division of 2^T by q, k quotient bits B per chunk, π ← π^(2^k) · x^B. */
function prove(
  math: BigMath,
  job: ProverJob,
  from: ProverState & { phase: "prove" },
  post: (m: ProverMessage) => void,
): bigint {
  const q = challengePrime(math, job.N, job.x, from.y, job.T);
  const power = math.windowedPower(job.x, job.N, windowBitsFor(job.T - from.done));
  try {
    power.set(from.pi);
    let { done, r } = from;
    while (done < job.T) {
      const k = Math.min(job.chunk, job.T - done);
      const shifted = r << BigInt(k);
      const quotientBits = shifted / q; // < 2^k because r < q
      r = shifted % q;
      power.step(quotientBits, k);
      done += k;
      post({ type: "progress", state: { phase: "prove", done, y: from.y, r, pi: power.get() } });
    }
    return power.get();
  } finally {
    power.free();
  }
}

async function main(): Promise<void> {
  const port = parentPort;
  if (port === null) throw new Error("prover-worker must run on a worker thread");
  const job = proverJobSchema.parse(workerData);
  const post = (message: ProverMessage): void => port.postMessage(message);
  const math = await loadBigMath();

  let state = job.start;
  post({ type: "progress", state });
  if (state.phase === "square") {
    const y = square(math, job, state, post);
    state = { phase: "prove", done: 0, y, r: 1n, pi: 1n };
    post({ type: "progress", state });
  }
  const proof = prove(math, job, state, post);
  post({ type: "result", y: state.y, proof });
}

main().catch((error: unknown) => {
  // A plain Error with an own message and stack survives the trip to the main thread (a ZodError's
  // message does not). Rethrown outside the promise chain: the uncaught exception becomes the
  // Worker's 'error' event, which rejects the caller's promise.
  const failure = new Error(`prover worker failed: ${error instanceof Error ? error.message : String(error)}`);
  if (error instanceof Error && error.stack !== undefined) failure.stack = `${failure.message}\n${error.stack}`;
  process.nextTick(() => {
    throw failure;
  });
});
