/**
 * Child processes the devnet starts: output appended to a log file, stopped with SIGTERM then SIGKILL
 * after a grace period, and killed with SIGKILL when the parent exits for any reason, so that a failing
 * test or an interrupted benchmark never leaves orphans behind.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, mkdirSync, openSync } from "node:fs";
import path from "node:path";

/** Every child still running, across all devnets of this process. */
const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' handlers must be synchronous: SIGKILL is all we can still do here.
  process.on("exit", () => {
    for (const child of running) child.kill("SIGKILL");
  });
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    // Without a listener the default action would end the parent before the 'exit' hook could run.
    if (process.listenerCount(signal) === 0) process.once(signal, () => process.exit(signal === "SIGINT" ? 130 : 143));
  }
}

export interface SpawnSpec {
  /** A short name for logs and errors, e.g. "node-1". */
  readonly name: string;
  /** Arguments to the Node.js binary (script and its arguments). */
  readonly args: readonly string[];
  readonly cwd: string;
  /** The file stdout and stderr are appended to (created with its folder). */
  readonly logFile: string;
  readonly env?: NodeJS.ProcessEnv;
}

export type ExitStatus = { readonly code: number | null; readonly signal: NodeJS.Signals | null };

/** One running child process; `stop` and `kill` are idempotent and resolve once it has exited. */
export class ManagedProcess {
  private readonly exited: Promise<ExitStatus>;
  private status: ExitStatus | undefined;

  private constructor(
    readonly spec: SpawnSpec,
    private readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        running.delete(child);
        this.status = { code, signal };
        resolve(this.status);
      });
    });
  }

  static start(spec: SpawnSpec): ManagedProcess {
    installExitHook();
    mkdirSync(path.dirname(spec.logFile), { recursive: true });
    const fd = openSync(spec.logFile, "a");
    try {
      const child = spawn(process.execPath, [...spec.args], {
        cwd: spec.cwd,
        env: spec.env ?? process.env,
        stdio: ["ignore", fd, fd],
      });
      running.add(child);
      return new ManagedProcess(spec, child);
    } finally {
      closeSync(fd); // the child holds its own copy of the descriptor
    }
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Undefined while the process runs. */
  get exitStatus(): ExitStatus | undefined {
    return this.status;
  }

  get isRunning(): boolean {
    return this.status === undefined;
  }

  /** Resolves when the process exits (however it ends). */
  waitForExit(): Promise<ExitStatus> {
    return this.exited;
  }

  /** SIGKILL: the crash the durability promises are about. */
  async kill(): Promise<ExitStatus> {
    if (this.isRunning) this.child.kill("SIGKILL");
    return this.exited;
  }

  /** SIGTERM (graceful shutdown), then SIGKILL if it has not exited after `graceMs`. */
  async stop(graceMs = 5_000): Promise<ExitStatus> {
    if (!this.isRunning) return this.exited;
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}
