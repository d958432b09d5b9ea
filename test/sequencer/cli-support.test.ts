import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { InvalidArgumentError } from "commander";
import fc from "fast-check";
import { positiveInt } from "../../sequencer/cli-support/args";
import { FORCED_EXIT_CODE } from "../../sequencer/cli-support/shutdown";

const CHILD = path.join(__dirname, "cli-shutdown.child.ts");

interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

interface Child {
  process: ChildProcess;
  output: () => string;
  /** Resolves once the output matches `pattern`; rejects if the child exits first. */
  waitFor: (pattern: RegExp) => Promise<void>;
  exited: Promise<ExitStatus>;
  /** Resolves when the child exits; rejects if it is still running after CHILD_WAIT_MS. */
  exit: () => Promise<ExitStatus>;
}

/** How long a child may take to print what is awaited or to exit; past that the test fails instead of hanging. */
const CHILD_WAIT_MS = 20_000;

function startChild(mode: string): Child {
  const child = spawn(process.execPath, ["--import", "tsx", CHILD, mode], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const listeners = new Set<() => void>();
  const onData = (d: Buffer): void => {
    out += d.toString();
    for (const listener of listeners) listener();
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  const exited = new Promise<ExitStatus>((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  const exit = (): Promise<ExitStatus> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`still running after ${CHILD_WAIT_MS} ms: ${out}`)),
        CHILD_WAIT_MS,
      );
      void exited.then((result) => {
        clearTimeout(timer);
        resolve(result);
      });
    });
  const waitFor = (pattern: RegExp): Promise<void> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no ${String(pattern)} after ${CHILD_WAIT_MS} ms: ${out}`)),
        CHILD_WAIT_MS,
      );
      const check = (): void => {
        if (!pattern.test(out)) return;
        listeners.delete(check);
        clearTimeout(timer);
        resolve();
      };
      listeners.add(check);
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`child exited before ${String(pattern)}: ${out}`));
      });
      check();
    });
  return { process: child, output: () => out, waitFor, exited, exit };
}

/** The child's JSON log lines, skipping the plain "ready" marker. */
function logLines(output: string): { msg?: string; signal?: string; err?: { message?: string } }[] {
  return output
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as { msg?: string; signal?: string; err?: { message?: string } });
}

describe("stopOnSignals (the start commands' shutdown)", () => {
  const running: ChildProcess[] = [];
  afterEach(() => {
    for (const child of running.splice(0))
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });

  async function started(mode: string): Promise<Child> {
    const child = startChild(mode);
    running.push(child.process);
    await child.waitFor(/^ready$/m);
    return child;
  }

  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    it(`on ${signal} waits for stop(), flushes the log and exits 0`, async () => {
      const child = await started("ok");
      child.process.kill(signal);
      const { code } = await child.exit();
      expect(code, child.output()).to.equal(0);
      const msgs = logLines(child.output());
      expect(msgs.find((l) => l.msg === "shutting down")?.signal).to.equal(signal);
      expect(msgs.map((l) => l.msg)).to.include("service stopped");
    });
  }

  it("exits 1 and logs the reason when stop() fails", async () => {
    const child = await started("fail");
    child.process.kill("SIGTERM");
    const { code } = await child.exit();
    expect(code, child.output()).to.equal(1);
    const failure = logLines(child.output()).find((l) => l.msg === "shutdown failed");
    expect(failure?.err?.message).to.equal("the store refused to close");
    expect(logLines(child.output()).map((l) => l.msg)).to.not.include("service stopped");
  });

  it("keeps waiting for a stop() that has not finished, and exits 130 at once on a second signal", async () => {
    const child = await started("hang");
    child.process.kill("SIGTERM");
    await child.waitFor(/"msg":"shutting down"/);
    // The first signal alone does not end a hung stop.
    const early = await Promise.race([
      child.exited,
      new Promise<"running">((r) => setTimeout(() => r("running"), 500)),
    ]);
    expect(early, child.output()).to.equal("running");
    child.process.kill("SIGINT");
    const { code } = await child.exit();
    expect(code, child.output()).to.equal(FORCED_EXIT_CODE);
    expect(FORCED_EXIT_CODE).to.equal(130);
  });
});

describe("positiveInt (option value parser)", () => {
  it("reads every positive safe integer back from its decimal text", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), (n) => {
        expect(positiveInt(String(n))).to.equal(n);
      }),
    );
  });

  it("rejects zero, negatives, fractions and non-numbers as a usage error", () => {
    const rejected = fc.oneof(
      fc.integer({ min: -1_000_000, max: 0 }).map(String),
      fc.double({ noNaN: true, noInteger: true }).map(String),
      fc.constantFrom("", "abc", "5ms", "NaN", "Infinity", "0x"),
    );
    fc.assert(
      fc.property(rejected, (text) => {
        expect(() => positiveInt(text)).to.throw(InvalidArgumentError, "expected a positive integer");
      }),
    );
  });
});
