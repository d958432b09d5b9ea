/**
 * Benchmark output: one JSON line per figure on stdout, e.g.
 * {"metric":"prove_ms","value":812,"unit":"ms","runs":5,"machine":"2 cores"}.
 * Progress goes to stderr so that stdout stays machine-readable.
 */
import os from "node:os";

export type Unit = "ms" | "us" | "s" | "per_s" | "gas" | "count" | "bytes" | "ratio" | "percent";

const MACHINE = `${os.cpus().length} cores, ${os.cpus()[0]?.model.trim() ?? "unknown cpu"}, node ${process.version}`;

export function emit(metric: string, value: number, unit: Unit, extra: Record<string, unknown> = {}): void {
  const rounded = Number.isInteger(value) ? value : Number(value.toPrecision(6));
  process.stdout.write(`${JSON.stringify({ metric, value: rounded, unit, ...extra, machine: MACHINE })}\n`);
}

export function progress(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error("median of no values");
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The p-th percentile (0..100) by nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new Error("percentile of no values");
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/** Runs `fn` `runs` times (after `warmup` unmeasured runs) and returns each duration in ms. */
export async function timeRuns(runs: number, fn: () => unknown, warmup = 1): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    await fn();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return times;
}
