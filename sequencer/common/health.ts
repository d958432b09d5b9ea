/**
 * Liveness and readiness of any Veil process (node, key generator, validator, operator). Liveness
 * means the process answers at all; readiness means every registered check passes and the process is
 * not shutting down, so a load balancer may send it traffic.
 */
export interface CheckResult {
  readonly ok: boolean;
  readonly detail?: string;
}

export type ReadinessCheck = () => CheckResult | Promise<CheckResult>;

export interface HealthReport {
  readonly live: true;
  readonly ready: boolean;
  readonly checks: Readonly<Record<string, CheckResult>>;
}

/** A check that has not answered within this time counts as failed, so /health never hangs. */
const CHECK_TIMEOUT_MS = 1_000;

export class Health {
  private readonly checks = new Map<string, ReadinessCheck>();
  private shuttingDown = false;

  addReadinessCheck(name: string, check: ReadinessCheck): this {
    if (this.checks.has(name)) throw new Error(`readiness check "${name}" is already registered`);
    this.checks.set(name, check);
    return this;
  }

  /** From now on the process reports not ready (it is draining before it stops). */
  markShuttingDown(): void {
    this.shuttingDown = true;
  }

  async report(): Promise<HealthReport> {
    const entries = await Promise.all(
      [...this.checks.entries()].map(async ([name, check]) => [name, await runCheck(check)] as const),
    );
    const checks: Record<string, CheckResult> = Object.fromEntries(entries);
    checks.shutdown = this.shuttingDown ? { ok: false, detail: "shutting down" } : { ok: true };
    return { live: true, ready: Object.values(checks).every((c) => c.ok), checks };
  }
}

async function runCheck(check: ReadinessCheck): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<CheckResult>((resolve) => {
    timer = setTimeout(
      () => resolve({ ok: false, detail: `no answer within ${CHECK_TIMEOUT_MS} ms` }),
      CHECK_TIMEOUT_MS,
    );
  });
  try {
    return await Promise.race([Promise.resolve().then(check), timeout]);
  } catch (error) {
    return { ok: false, detail: error instanceof Error ? error.message : String(error) };
  } finally {
    clearTimeout(timer);
  }
}
