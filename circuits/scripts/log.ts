/** Build-time progress output: one line per step, prefixed so it is easy to follow in CI logs. */
export function step(message: string): void {
  process.stdout.write(`[circuits] ${message}\n`);
}

/** A snarkjs-compatible logger that forwards its progress messages, throttled to one line per second. */
export function snarkjsLogger(prefix: string): {
  debug: (msg: string) => void;
  info: (msg: string) => void;
  warn: (msg: string) => void;
  error: (msg: string) => void;
} {
  let last = 0;
  const progress = (msg: string): void => {
    const now = Date.now();
    if (now - last >= 1000) {
      last = now;
      step(`${prefix}: ${msg}`);
    }
  };
  return {
    debug: progress,
    info: progress,
    warn: (msg) => step(`${prefix} warning: ${msg}`),
    error: (msg) => step(`${prefix} error: ${msg}`),
  };
}

/** Runs `work` and reports how long it took. */
export async function timed<T>(label: string, work: () => Promise<T>): Promise<T> {
  const start = Date.now();
  const result = await work();
  step(`${label} done in ${((Date.now() - start) / 1000).toFixed(1)} s`);
  return result;
}
