/**
 * `npm run simulate`: runs seeds of the deterministic cluster simulator (docs/simulator.md).
 *   --seed S      one seed, printed in full (replays a failure exactly)
 *   --seeds N     N seeds from --from (default: 1), a campaign; progress on stderr
 *   --workers W   split the campaign across W worker threads (default: 1, this thread)
 * Exits 1 when any seed breaks an invariant, printing how to replay it.
 */
import { Command, InvalidArgumentError } from "commander";
import { runSeeds, runSeedsOnWorkers } from "./campaign";
import { SimWorld } from "./world";

export { runSeeds };

const integer = (value: string): number => {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError("expected a non-negative integer");
  return n;
};

const positive = (value: string): number => {
  const n = integer(value);
  if (n < 1) throw new InvalidArgumentError("expected a positive integer");
  return n;
};

async function main(): Promise<void> {
  const program = new Command("simulate")
    .description("run the deterministic cluster simulator over seeds; a failing seed replays exactly")
    .option("--seed <n>", "run this one seed and print its result", integer)
    .option("--seeds <n>", "how many seeds to run", integer, 200)
    .option("--from <n>", "the first seed of the campaign", integer, 1)
    .option("--workers <n>", "worker threads to split the campaign across", positive, 1)
    .parse();
  const options = program.opts<{ seed?: number; seeds: number; from: number; workers: number }>();
  if (options.seed !== undefined) {
    const result = new SimWorld(options.seed).run();
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    process.exitCode = result.ok ? 0 : 1;
    return;
  }
  const started = performance.now();
  let steps = 0;
  let lastReport = started;
  const failures = await runSeedsOnWorkers(options.from, options.seeds, options.workers, (r, done) => {
    steps += r.steps;
    if (!r.ok)
      process.stderr.write(`seed ${r.seed} FAILED: ${r.violation}\n  replay: npm run simulate -- --seed ${r.seed}\n`);
    const now = performance.now();
    if (now - lastReport > 5_000 || done === options.seeds) {
      lastReport = now;
      process.stderr.write(`simulate: ${done}/${options.seeds} seeds, ${Math.round((now - started) / 1000)} s\n`);
    }
  });
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(
    `${JSON.stringify({ metric: "simulate_seeds", value: options.seeds, unit: "count", from: options.from, failures: failures.map((f) => f.seed), steps, seconds: Math.round(seconds * 10) / 10 })}\n`,
  );
  process.exitCode = failures.length === 0 ? 0 : 1;
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`simulate: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 2;
  });
}
