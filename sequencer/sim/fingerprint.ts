/**
 * `tsx sequencer/sim/fingerprint.ts [from] [count] [workers]`: a SHA-256 of every seed's SimResult (seeds
 * from..from+count-1, default 1..300, and the regression seeds), one line per seed and a total.
 * Optimisations of the simulator must leave it unchanged: the same seed must give the same run, byte for
 * byte, on one thread or split across workers.
 */
import { createHash } from "node:crypto";
import { runSeedsOnWorkers } from "./campaign";
import type { SimResult } from "./world";

const EXTRA_SEEDS = [1002074, 1002188, 4242];

async function main(): Promise<void> {
  const from = Number(process.argv[2] ?? 1);
  const count = Number(process.argv[3] ?? 300);
  const workers = Number(process.argv[4] ?? 1);
  const started = performance.now();
  const results = new Map<number, SimResult>();
  await runSeedsOnWorkers(from, count, workers, (r) => results.set(r.seed, r));
  for (const seed of EXTRA_SEEDS) await runSeedsOnWorkers(seed, 1, 1, (r) => results.set(r.seed, r));
  const total = createHash("sha256");
  for (const seed of [...Array.from({ length: count }, (_, i) => from + i), ...EXTRA_SEEDS]) {
    const hash = createHash("sha256")
      .update(JSON.stringify(results.get(seed)))
      .digest("hex");
    total.update(hash);
    process.stdout.write(`${seed} ${hash}\n`);
  }
  process.stdout.write(`total ${total.digest("hex")}\n`);
  process.stderr.write(
    `fingerprint: ${results.size} seeds in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
  );
}

void main();
