/**
 * `tsx sequencer/sim/fingerprint.ts [from] [count]`: a SHA-256 of every seed's SimResult (seeds from..from+count-1
 * and the regression seeds), one line per seed and a total. Optimisations of the simulator must leave it
 * unchanged: the same seed must give the same run, byte for byte.
 */
import { createHash } from "node:crypto";
import { SimWorld } from "./world";

const EXTRA_SEEDS = [1002074, 1002188, 4242];

function main(): void {
  const from = Number(process.argv[2] ?? 1);
  const count = Number(process.argv[3] ?? 300);
  const seeds = [...Array.from({ length: count }, (_, i) => from + i), ...EXTRA_SEEDS];
  const total = createHash("sha256");
  const started = performance.now();
  for (const seed of seeds) {
    const json = JSON.stringify(new SimWorld(seed).run());
    const hash = createHash("sha256").update(json).digest("hex");
    total.update(hash);
    process.stdout.write(`${seed} ${hash}\n`);
  }
  process.stdout.write(`total ${total.digest("hex")}\n`);
  process.stderr.write(
    `fingerprint: ${seeds.length} seeds in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
  );
}

main();
