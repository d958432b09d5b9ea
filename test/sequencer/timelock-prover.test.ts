import { expect } from "chai";
import fc from "fast-check";
import { existsSync, promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadBigMath, type BigMath } from "../../sequencer/crypto/timelock/bigmath";
import { RSA_2048_MODULUS } from "../../sequencer/crypto/timelock/modulus";
import {
  PROVER_CHECKPOINT_FORMAT,
  proveExponentiationOffThread,
  type ProverProgress,
} from "../../sequencer/crypto/timelock/prover";
import { repeatedSquaring } from "../../sequencer/crypto/timelock/solver";
import { generateTestOnlyModulus } from "../../sequencer/crypto/timelock/test-modulus";
import { proveExponentiation, verifyExponentiation } from "../../sequencer/crypto/timelock/wesolowski";

/** Worker threads (and their message ports) alive in this process. */
const threadResources = (): number =>
  process.getActiveResourcesInfo().filter((r) => r === "MessagePort" || r === "Worker").length;

/** The error `promise` rejects with (fails when it fulfils). */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  const fulfilled = Symbol("fulfilled");
  const outcome = await promise.then(
    () => fulfilled,
    (error: unknown) => error,
  );
  if (outcome === fulfilled) expect.fail("expected the promise to reject");
  return outcome;
}

/** Expects `promise` to reject with an Error (of `type`, if given) whose message matches `pattern`. */
async function expectRejection(
  promise: Promise<unknown>,
  pattern: RegExp,
  type: new (...args: never[]) => Error = Error,
): Promise<void> {
  const error = await rejection(promise);
  expect(error).to.be.instanceOf(type);
  expect((error as Error).message).to.match(pattern);
}

const exists = (file: string): Promise<boolean> =>
  fs.access(file).then(
    () => true,
    () => false,
  );

describe("off-thread Wesolowski prover", function () {
  this.timeout(60_000);
  let math: BigMath;
  let N: bigint; // TEST ONLY 1024-bit modulus: fast squarings
  let p: bigint;
  let dir: string;
  const x = 0xc0ffee_1234_5678_9abcn;

  /** What the main-thread path computes: repeatedSquaring, then proveExponentiation. */
  async function reference(n: bigint, base: bigint, T: number): Promise<{ y: bigint; proof: bigint }> {
    const y = await repeatedSquaring(math, n, base, T);
    return { y, proof: proveExponentiation(math, n, base, y, T) };
  }

  before(async () => {
    math = await loadBigMath();
    ({ N, p } = generateTestOnlyModulus(math, 1024));
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "veil-prover-"));
  });

  after(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  describe("windowedPower (GMP primitive)", () => {
    it("computes acc^(2^bits) · base^e for every window width, across window boundaries", () => {
      const base = 0x1234_5678_9abc_def0n;
      for (const w of [1, 3, 4, 7]) {
        const power = math.windowedPower(base, N, w);
        try {
          for (const bits of [0, 1, 5, 13, 64]) {
            const e = bits === 0 ? 0n : (0xfedc_ba98_7654_3210_0123_4567_89ab_cdefn >> BigInt(128 - bits)) | 1n;
            const acc = 0xabcdef_0123n + BigInt(bits);
            power.set(acc);
            power.step(e, bits);
            const expected = (math.modPow(acc, 1n << BigInt(bits), N) * math.modPow(base, e, N)) % N;
            expect(power.get(), `w=${w} bits=${bits}`).to.equal(expected);
          }
          expect(() => power.step(4n, 2)).to.throw(RangeError);
        } finally {
          power.free();
        }
        expect(() => power.get()).to.throw(/freed/);
      }
    });
  });

  describe("results", () => {
    it("equal repeatedSquaring + proveExponentiation and verify, whether T is a multiple of the chunk or not", async () => {
      const cases = [
        { T: 1, chunk: 1 },
        { T: 7, chunk: 3 },
        { T: 1000, chunk: 64 },
        { T: 4096, chunk: 1024 },
      ];
      // Two at a time: most of the cost is starting a worker.
      await Promise.all(
        cases.map(async ({ T, chunk }) => {
          const got = await proveExponentiationOffThread(N, x, T, { chunk });
          expect(got, `T=${T} chunk=${chunk}`).to.deep.equal(await reference(N, x, T));
          expect(verifyExponentiation(math, N, x, got.y, T, got.proof)).to.equal(true);
        }),
      );
    });

    it("equal the main-thread prover for any small T, chunk and base (property)", async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 300 }),
          fc.integer({ min: 1, max: 40 }),
          fc.bigInt({ min: 2n, max: N - 1n }),
          async (T, chunk, base) => {
            fc.pre(math.gcd(base, N) === 1n);
            const got = await proveExponentiationOffThread(N, base, T, { chunk });
            expect(got).to.deep.equal(await reference(N, base, T));
          },
        ),
        { numRuns: 4 },
      );
    });

    it("equal the main-thread prover on the RSA-2048 modulus", async () => {
      const T = 300;
      const got = await proveExponentiationOffThread(RSA_2048_MODULUS, x, T, { chunk: 64 });
      expect(got).to.deep.equal(await reference(RSA_2048_MODULUS, x, T));
    });

    it("refuses bad input before starting a worker", async () => {
      await expectRejection(proveExponentiationOffThread(N, x, 0), /T must be/, RangeError);
      await expectRejection(proveExponentiationOffThread(N, x, 1.5), /T must be/, RangeError);
      await expectRejection(proveExponentiationOffThread(N, 0n, 5), /not in \[1, N\)/, RangeError);
      await expectRejection(proveExponentiationOffThread(N, N, 5), /not in \[1, N\)/, RangeError);
      await expectRejection(proveExponentiationOffThread(N, p, 5), /not a unit/, RangeError);
      await expectRejection(proveExponentiationOffThread(N, x, 5, { chunk: 0 }), /chunk/, RangeError);
    });
  });

  describe("progress and responsiveness", () => {
    it("reports both phases in order, done rising chunk by chunk to the total", async () => {
      const T = 2500;
      const reports: ProverProgress[] = [];
      await proveExponentiationOffThread(N, x, T, { chunk: 1000, onProgress: (r) => reports.push(r) });
      expect(reports.map((r) => `${r.phase}:${r.done}/${r.total}`)).to.deep.equal([
        "square:0/2500",
        "square:1000/2500",
        "square:2000/2500",
        "square:2500/2500",
        "prove:0/2500",
        "prove:1000/2500",
        "prove:2000/2500",
        "prove:2500/2500",
      ]);
    });

    it("keeps the event loop responsive while proving (a 10 ms timer keeps ticking)", async () => {
      const T = 150_000;
      let last = performance.now();
      let maxGap = 0;
      let ticks = 0;
      const timer = setInterval(() => {
        const now = performance.now();
        maxGap = Math.max(maxGap, now - last);
        last = now;
        ticks++;
      }, 10);
      const started = performance.now();
      try {
        await proveExponentiationOffThread(N, x, T);
      } finally {
        clearInterval(timer);
      }
      const elapsed = performance.now() - started;
      // Proving on the event loop would stall it for the whole prove phase (about half of `elapsed`).
      expect(elapsed, "the proof should take long enough to tell").to.be.greaterThan(300);
      expect(maxGap, `max gap ${maxGap.toFixed(0)} ms of ${elapsed.toFixed(0)} ms`).to.be.lessThan(
        Math.min(250, elapsed / 4),
      );
      expect(ticks).to.be.greaterThan(elapsed / 10 / 4);
    });
  });

  describe("checkpoints", () => {
    const T = 40_000;
    const chunk = 500;
    let expected: { y: bigint; proof: bigint };

    before(async () => {
      expected = await reference(N, x, T);
    });

    /** Runs until the first report at or past `phase`/`at`, then aborts; returns that report and the rejection. */
    async function abortAt(
      file: string,
      phase: ProverProgress["phase"],
      at: number,
      checkpointEveryMs: number,
    ): Promise<{ last: ProverProgress; error: unknown; reason: Error; savedWhileRunning: boolean }> {
      const controller = new AbortController();
      const reason = new Error("stopped by the test");
      let last: ProverProgress | undefined;
      let savedWhileRunning = false;
      const error = await rejection(
        proveExponentiationOffThread(N, x, T, {
          chunk,
          checkpointPath: file,
          checkpointEveryMs,
          signal: controller.signal,
          onProgress: (report) => {
            if (controller.signal.aborted) return;
            last = report;
            savedWhileRunning ||= existsSync(file);
            if (report.phase === phase && report.done >= at) controller.abort(reason);
          },
        }),
      );
      expect(last, "no progress before the abort").to.not.equal(undefined);
      return { last: last!, error, reason, savedWhileRunning };
    }

    async function resume(file: string): Promise<{ first: ProverProgress; result: { y: bigint; proof: bigint } }> {
      let first: ProverProgress | undefined;
      const result = await proveExponentiationOffThread(N, x, T, {
        chunk,
        checkpointPath: file,
        checkpointEveryMs: 0,
        onProgress: (report) => {
          first ??= report;
        },
      });
      return { first: first!, result };
    }

    it("are kept on abort in the square phase, and the next call resumes from them to the same result", async () => {
      const file = path.join(dir, "square.json");
      const { last, error, reason, savedWhileRunning } = await abortAt(file, "square", 10_000, 0);
      expect(savedWhileRunning, "periodic checkpoint before the abort").to.equal(true);
      expect(error).to.equal(reason); // rejected with the signal's reason
      const saved = JSON.parse(await fs.readFile(file, "utf8")) as Record<string, unknown>;
      expect(saved).to.include({ format: PROVER_CHECKPOINT_FORMAT, T, phase: "square", done: last.done });
      expect(saved.N).to.equal(N.toString(16));
      expect(BigInt(`0x${saved.value as string}`)).to.equal(math.modPow(x, 1n << BigInt(last.done), N));

      const { first, result } = await resume(file);
      expect(first).to.deep.equal({ phase: "square", done: last.done, total: T });
      expect(result).to.deep.equal(expected);
      expect(await exists(file), "checkpoint deleted on success").to.equal(false);
      expect(await exists(`${file}.tmp`)).to.equal(false);
    });

    it("are written on abort in the prove phase even when the periodic interval has not passed, and resume there", async () => {
      const file = path.join(dir, "prove.json");
      const { last, error, reason, savedWhileRunning } = await abortAt(file, "prove", 20_000, 3_600_000);
      expect(savedWhileRunning, "no periodic checkpoint within the interval").to.equal(false);
      expect(error).to.equal(reason);
      const saved = JSON.parse(await fs.readFile(file, "utf8")) as Record<string, unknown>;
      expect(saved).to.include({ phase: "prove", done: last.done });
      expect(saved.y).to.equal(expected.y.toString(16));
      expect(Object.keys(saved).sort()).to.deep.equal(["N", "T", "done", "format", "phase", "pi", "r", "x", "y"]);

      const { first, result } = await resume(file);
      expect(first).to.deep.equal({ phase: "prove", done: last.done, total: T });
      expect(result).to.deep.equal(expected);
      expect(await exists(file)).to.equal(false);
    });

    /** A valid checkpoint of the job (N, x, T) after 5 squarings. */
    const squareCheckpoint = (): Record<string, unknown> => ({
      format: PROVER_CHECKPOINT_FORMAT,
      N: N.toString(16),
      x: x.toString(16),
      T,
      phase: "square",
      done: 5,
      value: math.modPow(x, 32n, N).toString(16),
    });

    it("of another job (N, x or T) are refused with an error naming the difference, and left alone", async () => {
      const file = path.join(dir, "other-job.json");
      const text = JSON.stringify(squareCheckpoint());
      await fs.writeFile(file, text);
      await expectRejection(
        proveExponentiationOffThread(N, x + 1n, T, { checkpointPath: file }),
        /belongs to another job \(x differs\)/,
      );
      await expectRejection(
        proveExponentiationOffThread(N, x, T + 1, { checkpointPath: file }),
        new RegExp(`belongs to another job \\(T is ${T} there, ${T + 1} here\\)`),
      );
      await expectRejection(
        proveExponentiationOffThread(RSA_2048_MODULUS, x, T, { checkpointPath: file }),
        /belongs to another job \(N differs\)/,
      );
      expect(await fs.readFile(file, "utf8")).to.equal(text);
    });

    it("that are corrupt are refused with a clear error rather than started over", async () => {
      const file = path.join(dir, "corrupt.json");
      const refuses = async (contents: string, pattern: RegExp): Promise<void> => {
        await fs.writeFile(file, contents);
        await expectRejection(proveExponentiationOffThread(N, x, T, { checkpointPath: file }), pattern);
        expect(await fs.readFile(file, "utf8")).to.equal(contents);
      };
      const valid = squareCheckpoint();
      await refuses("{ truncated", /corrupt \(not JSON/);
      await refuses("", /corrupt \(not JSON/);
      await refuses(JSON.stringify({ ...valid, value: undefined }), /corrupt.*value/);
      await refuses(JSON.stringify({ ...valid, done: -1 }), /corrupt.*done/);
      await refuses(JSON.stringify({ ...valid, value: "0xZZ" }), /corrupt.*hexadecimal/);
      await refuses(JSON.stringify({ ...valid, extra: 1 }), /corrupt.*extra/);
      await refuses(JSON.stringify({ ...valid, done: T + 1 }), /corrupt \(done 40001 exceeds T/);
      await refuses(JSON.stringify({ ...valid, value: "0" }), /corrupt \(value is not in \[1, N\)/);
      await refuses(JSON.stringify({ ...valid, format: "veil/timelock/prover-checkpoint/v9" }), /has format .*v9/);
      const { y } = expected;
      const prove = { ...valid, value: undefined, phase: "prove", done: 3, y: y.toString(16), pi: "1" };
      await refuses(JSON.stringify({ ...prove, r: "7" }), /corrupt \(r is not 2\^done mod q/);
    });

    it("that cannot be written fail the call with an error naming the path", async () => {
      const file = path.join(dir, "no-such-directory", "job.json");
      await expectRejection(
        proveExponentiationOffThread(N, x, T, { chunk, checkpointPath: file, checkpointEveryMs: 0 }),
        /cannot write prover checkpoint .*no-such-directory.*ENOENT/,
      );
    });

    it("with a wrong value make the call fail verification instead of returning a bad proof", async () => {
      const file = path.join(dir, "wrong-value.json");
      const small = 64;
      const wrong = { ...squareCheckpoint(), T: small, value: "2" };
      await fs.writeFile(file, JSON.stringify(wrong));
      await expectRejection(
        proveExponentiationOffThread(N, x, small, { checkpointPath: file }),
        /does not verify: the checkpoint was wrong/,
      );
    });
  });

  describe("threads", () => {
    it("leaves no worker thread behind after success, a failing progress callback, or an abort", async () => {
      const before = threadResources();
      await proveExponentiationOffThread(N, x, 10, { chunk: 3 });
      const oops = new Error("progress callback failed");
      const failed = proveExponentiationOffThread(N, x, 10, {
        onProgress: () => {
          throw oops;
        },
      });
      expect(await rejection(failed)).to.equal(oops);
      const controller = new AbortController();
      const running = proveExponentiationOffThread(N, x, 1_000_000, { signal: controller.signal });
      let during = 0;
      setTimeout(() => {
        during = threadResources();
        controller.abort();
      }, 300);
      expect(await rejection(running)).to.equal(controller.signal.reason);
      expect(during, "the probe sees a running worker").to.be.greaterThan(before);
      expect(threadResources()).to.equal(before);
    });
  });
});
