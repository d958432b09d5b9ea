/**
 * Wesolowski's prover (wesolowski.ts) on a worker thread, so that the event loop stays free while
 * it runs for about 2T modular squarings: first y = x^(2^T) mod N (phase "square"), then
 * π = x^⌊2^T/q⌋ (phase "prove") for the challenge prime q of (N, x, y, T). The result is the same
 * as `repeatedSquaring` followed by `proveExponentiation`, bit for bit.
 *
 * The prove phase never builds the T-bit quotient ⌊2^T/q⌋: it divides 2^T by q bit by bit, most
 * significant first, one chunk of k bits at a time. With r = 2^done mod q (the remainder so far),
 * the next k quotient bits are B = ⌊r·2^k/q⌋ and the remainder becomes r·2^k mod q; the proof so
 * far becomes π^(2^k) · x^B, done by a fixed-window exponentiation inside GMP (bigmath.ts:
 * `windowedPower`). The state after each chunk is small (r, π and y), so it can be checkpointed.
 *
 * Checkpoints: the worker reports its state after every chunk; the main thread writes it to
 * `checkpointPath` (atomically: `<path>.tmp`, fsync, rename) when at least `checkpointEveryMs` have
 * passed since the previous write, and once more when the run fails or is aborted (the worker is
 * terminated first, so that last write holds the last state the worker reported; if that write
 * fails the periodic checkpoint on disk stays valid). A later call with the same path, N, x and T
 * resumes from it; on success the file is deleted.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import { Worker } from "node:worker_threads";
import { z } from "zod";
import { loadBigMath, type BigMath } from "./bigmath";
import { repeatedSquaring } from "./solver";
import { challengePrime, proveExponentiation, verifyExponentiation } from "./wesolowski";
import { workerEntry } from "../../common/worker-entry";

export type ProverPhase = "square" | "prove";

export interface ProverProgress {
  readonly phase: ProverPhase;
  /** Squarings done (phase "square") or quotient bits done (phase "prove"), out of `total` = T. */
  readonly done: number;
  readonly total: number;
}

export interface ProverOptions {
  /**
   * Called when each phase starts (with `done` = where it starts: 0, or the checkpoint's position
   * when resuming) and after every chunk. An exception thrown here fails the proof.
   */
  onProgress?: (progress: ProverProgress) => void;
  /** Aborting terminates the worker, keeps (and updates) the checkpoint, and rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Where to save and resume from; without it nothing is saved. */
  checkpointPath?: string;
  /** Minimum time between two checkpoint writes while running (default 10 000 ms; 0 writes after every chunk). */
  checkpointEveryMs?: number;
  /** Squarings (or quotient bits) per chunk, default 8192 (about 50 ms on RSA-2048). */
  chunk?: number;
}

const DEFAULT_CHUNK = 8192;
const DEFAULT_CHECKPOINT_EVERY_MS = 10_000;

/** The `format` field of every checkpoint this module writes. */
export const PROVER_CHECKPOINT_FORMAT = "veil/timelock/prover-checkpoint/v1";

// ---- Messages between the main thread and prover-worker.ts (structured clone keeps bigints). ----

const count = z.number().int().nonnegative();

/** Where a run stands: enough to continue from. Phase "prove": r = 2^done mod q, pi = x^⌊2^done/q⌋ mod N. */
export const proverStateSchema = z.discriminatedUnion("phase", [
  z.object({ phase: z.literal("square"), done: count, value: z.bigint() }),
  z.object({ phase: z.literal("prove"), done: count, y: z.bigint(), r: z.bigint(), pi: z.bigint() }),
]);
export type ProverState = z.infer<typeof proverStateSchema>;

/** The worker's `workerData`. */
export const proverJobSchema = z.object({
  N: z.bigint(),
  x: z.bigint(),
  T: z.number().int().positive(),
  chunk: z.number().int().positive(),
  start: proverStateSchema,
});
export type ProverJob = z.infer<typeof proverJobSchema>;

/** What the worker posts: its state at the start of each phase and after every chunk, then the result. */
export const proverMessageSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("progress"), state: proverStateSchema }),
  z.object({ type: z.literal("result"), y: z.bigint(), proof: z.bigint() }),
]);
export type ProverMessage = z.infer<typeof proverMessageSchema>;

// ---- Checkpoint file. ----

const hexInteger = z.string().regex(/^[0-9a-f]+$/, "expected lower-case hexadecimal");
const checkpointJob = {
  format: z.literal(PROVER_CHECKPOINT_FORMAT),
  N: hexInteger,
  x: hexInteger,
  T: z.number().int().positive(),
  done: count,
};
const checkpointSchema = z.discriminatedUnion("phase", [
  z.strictObject({ ...checkpointJob, phase: z.literal("square"), value: hexInteger }),
  z.strictObject({ ...checkpointJob, phase: z.literal("prove"), y: hexInteger, r: hexInteger, pi: hexInteger }),
]);
type Checkpoint = z.infer<typeof checkpointSchema>;

const hex = (v: bigint): string => v.toString(16);
const fromHex = (s: string): bigint => BigInt(`0x${s}`);

function toCheckpoint(N: bigint, x: bigint, T: number, state: ProverState): Checkpoint {
  const job = { format: PROVER_CHECKPOINT_FORMAT, N: hex(N), x: hex(x), T, done: state.done } as const;
  return state.phase === "square"
    ? { ...job, phase: "square", value: hex(state.value) }
    : { ...job, phase: "prove", y: hex(state.y), r: hex(state.r), pi: hex(state.pi) };
}

/**
 * The state saved at `file` for the job (N, x, T), or undefined when there is no file. Throws when
 * the file belongs to another job or is corrupt (unreadable, malformed or inconsistent).
 */
async function readCheckpoint(
  math: BigMath,
  file: string,
  N: bigint,
  x: bigint,
  T: number,
): Promise<ProverState | undefined> {
  let text: string;
  try {
    text = await fs.readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  const corrupt = (why: string): Error =>
    new Error(`prover checkpoint ${file} is corrupt (${why}); delete it to start over`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw corrupt(`not JSON: ${(error as Error).message}`);
  }
  const format = (json as { format?: unknown } | null)?.format;
  if (typeof format === "string" && format !== PROVER_CHECKPOINT_FORMAT) {
    throw new Error(`prover checkpoint ${file} has format ${format}; this version reads ${PROVER_CHECKPOINT_FORMAT}`);
  }
  const parsed = checkpointSchema.safeParse(json);
  if (!parsed.success) throw corrupt(z.prettifyError(parsed.error).replace(/\n/g, "; "));
  const saved = parsed.data;

  const differ = [
    fromHex(saved.N) !== N ? "N differs" : undefined,
    fromHex(saved.x) !== x ? "x differs" : undefined,
    saved.T !== T ? `T is ${saved.T} there, ${T} here` : undefined,
  ].filter((what) => what !== undefined);
  if (differ.length > 0) {
    throw new Error(
      `prover checkpoint ${file} belongs to another job (${differ.join("; ")}); delete it or use another checkpoint path`,
    );
  }
  if (saved.done > T) throw corrupt(`done ${saved.done} exceeds T ${T}`);
  const inRange = (v: bigint): boolean => v >= 1n && v < N;
  if (saved.phase === "square") {
    const value = fromHex(saved.value);
    if (!inRange(value)) throw corrupt("value is not in [1, N)");
    return { phase: "square", done: saved.done, value };
  }
  const [y, r, pi] = [fromHex(saved.y), fromHex(saved.r), fromHex(saved.pi)];
  if (!inRange(y) || math.gcd(y, N) !== 1n) throw corrupt("y is not a unit mod N");
  if (!inRange(pi)) throw corrupt("pi is not in [1, N)");
  const q = challengePrime(math, N, x, y, T);
  if (r !== math.modPow(2n, BigInt(saved.done), q)) throw corrupt("r is not 2^done mod q");
  return { phase: "prove", done: saved.done, y, r, pi };
}

/** Writes `contents` to `file` atomically: a temporary file beside it, fsync, rename, then (best effort) fsync of the directory. */
async function writeAtomically(file: string, contents: string): Promise<void> {
  const temporary = `${file}.tmp`;
  const handle = await fs.open(temporary, "w");
  try {
    await handle.writeFile(contents, "utf8");
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(temporary, file);
  try {
    const dir = await fs.open(path.dirname(file), "r");
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  } catch {
    // Some platforms cannot fsync a directory; the rename itself is already atomic.
  }
}

const sameState = (a: ProverState, b: ProverState): boolean => a.phase === b.phase && a.done === b.done;

/** Keeps the latest state the worker reported and writes it, one write at a time. */
class CheckpointWriter {
  private latest: ProverState;
  private written: ProverState;
  private lastWriteAt = Date.now();
  private pending: Promise<void> | undefined;
  private failure: Error | undefined;

  constructor(
    private readonly file: string,
    private readonly job: { readonly N: bigint; readonly x: bigint; readonly T: number },
    private readonly everyMs: number,
    start: ProverState,
  ) {
    this.latest = start;
    this.written = start;
  }

  /** Records a new state; starts a write if none is running and the interval has passed. Throws a failed write's error. */
  update(state: ProverState): void {
    this.throwIfFailed();
    this.latest = state;
    if (this.pending === undefined && Date.now() - this.lastWriteAt >= this.everyMs) this.startWrite();
  }

  /** Waits for the running write; then writes the latest state if it has not been written yet. */
  async flush(): Promise<void> {
    await this.idle();
    this.throwIfFailed();
    if (!sameState(this.latest, this.written)) {
      this.startWrite();
      await this.idle();
      this.throwIfFailed();
    }
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  /** Waits for the running write, if any (never throws). */
  async idle(): Promise<void> {
    while (this.pending !== undefined) await this.pending;
  }

  private startWrite(): void {
    const state = this.latest;
    this.lastWriteAt = Date.now();
    const json = `${JSON.stringify(toCheckpoint(this.job.N, this.job.x, this.job.T, state), null, 2)}\n`;
    this.pending = writeAtomically(this.file, json).then(
      () => {
        this.written = state;
        this.pending = undefined;
      },
      (error: unknown) => {
        this.failure = new Error(`cannot write prover checkpoint ${this.file}: ${(error as Error).message}`, {
          cause: error,
        });
        this.pending = undefined;
      },
    );
  }
}

/** Runs the job on a fresh worker thread; the worker is terminated before this settles, whatever happens. */
async function runWorker(
  job: ProverJob,
  options: ProverOptions,
  checkpoint: CheckpointWriter | undefined,
): Promise<{ y: bigint; proof: bigint }> {
  const { signal, onProgress } = options;
  const { filename, execArgv } = workerEntry(__filename, "prover-worker");
  const worker = new Worker(filename, { execArgv, workerData: job satisfies ProverJob });
  let onAbort: (() => void) | undefined;
  try {
    return await new Promise<{ y: bigint; proof: bigint }>((resolve, reject) => {
      let settled = false;
      const settle = (finish: () => void): void => {
        if (settled) return;
        settled = true;
        finish();
      };
      // Rejects with whatever went wrong as is, including the caller's abort reason (which need not be an Error).
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
      const fail = (error: unknown): void => settle(() => reject(error));
      onAbort = () => fail(signal?.reason);
      signal?.addEventListener("abort", onAbort, { once: true });
      worker.on("message", (raw: unknown) => {
        if (settled) return;
        try {
          const message = proverMessageSchema.parse(raw);
          if (message.type === "result") {
            settle(() => resolve({ y: message.y, proof: message.proof }));
            return;
          }
          const { state } = message;
          checkpoint?.update(state);
          onProgress?.({ phase: state.phase, done: state.done, total: job.T });
        } catch (error) {
          fail(error);
        }
      });
      worker.on("error", (error) => fail(error));
      worker.on("exit", (code) => fail(new Error(`prover worker exited with code ${code} before finishing`)));
    });
  } catch (error) {
    await worker.terminate();
    // Keep the last reported state; if this write fails, the checkpoint on disk is still a valid older one.
    await checkpoint?.flush().catch(() => undefined);
    throw error;
  } finally {
    if (onAbort !== undefined) signal?.removeEventListener("abort", onAbort);
    await worker.terminate();
    await checkpoint?.idle();
  }
}

/** y = x^(2^T) mod N and Wesolowski's π for it, computed on a worker thread. */
export async function proveExponentiationOffThread(
  N: bigint,
  x: bigint,
  T: number,
  options: ProverOptions = {},
): Promise<{ y: bigint; proof: bigint }> {
  const { signal, checkpointPath } = options;
  const chunk = options.chunk ?? DEFAULT_CHUNK;
  const everyMs = options.checkpointEveryMs ?? DEFAULT_CHECKPOINT_EVERY_MS;
  if (!Number.isSafeInteger(T) || T < 1) throw new RangeError("T must be a positive safe integer");
  if (!Number.isSafeInteger(chunk) || chunk < 1) throw new RangeError("chunk must be a positive integer");
  if (!(everyMs >= 0)) throw new RangeError("checkpointEveryMs must be a non-negative number");
  if (N <= 1n) throw new RangeError("modulus must exceed 1");
  if (x <= 0n || x >= N) throw new RangeError("base is not in [1, N)");
  signal?.throwIfAborted();

  const math = await loadBigMath();
  if (math.gcd(x, N) !== 1n) throw new RangeError("base is not a unit mod N");
  const resumed = checkpointPath === undefined ? undefined : await readCheckpoint(math, checkpointPath, N, x, T);
  const start: ProverState = resumed ?? { phase: "square", done: 0, value: x };
  signal?.throwIfAborted();

  const writer =
    checkpointPath === undefined ? undefined : new CheckpointWriter(checkpointPath, { N, x, T }, everyMs, start);
  const result = await runWorker({ N, x, T, chunk, start }, options, writer);
  if (!verifyExponentiation(math, N, x, result.y, T, result.proof)) {
    throw new Error(
      resumed === undefined
        ? "the prover worker returned a proof that does not verify"
        : `the proof resumed from ${checkpointPath} does not verify: the checkpoint was wrong; delete it to start over`,
    );
  }
  if (checkpointPath !== undefined) {
    await fs.rm(checkpointPath, { force: true });
    await fs.rm(`${checkpointPath}.tmp`, { force: true });
  }
  return result;
}

/** Up to this T the work runs in place: a worker's start-up (0.3–1 s here) costs more than 2T squarings. */
export const IN_PLACE_MAX_SQUARINGS = 1 << 15;

/**
 * y = x^(2^T) mod N with its proof, wherever it is cheapest: in place for development-sized T (no
 * checkpoint, the event loop yields between chunks of squarings), on a worker thread with checkpoints
 * otherwise. Every caller that must produce a proof (rollup setup, the slow-path solver) goes through here.
 */
export async function squareAndProve(
  N: bigint,
  x: bigint,
  T: number,
  options: ProverOptions = {},
): Promise<{ y: bigint; proof: bigint }> {
  if (!Number.isSafeInteger(T) || T < 1 || T > IN_PLACE_MAX_SQUARINGS) {
    return proveExponentiationOffThread(N, x, T, options);
  }
  const { onProgress, signal, chunk } = options;
  const math = await loadBigMath();
  const y = await repeatedSquaring(math, N, x, T, {
    ...(signal === undefined ? {} : { signal }),
    ...(chunk === undefined ? {} : { chunk }),
    onProgress: (done, total) => onProgress?.({ phase: "square", done, total }),
  });
  const proof = proveExponentiation(math, N, x, y, T);
  onProgress?.({ phase: "prove", done: T, total: T });
  return { y, proof };
}
