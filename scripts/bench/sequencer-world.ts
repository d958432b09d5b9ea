/**
 * The sequencer benchmarks' deterministic world: a devnet with a fixed seed, a cached TEST-ONLY
 * time-lock modulus and key-generator databases kept under build/bench/, so that every run has the
 * same round key and the proven encrypted transactions are made once and reused.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { encryptionKeyResult, type EncryptedSubmissionJson } from "../../sequencer/api/wire";
import type { Point } from "../../sequencer/crypto/babyjub";
import { loadBigMath } from "../../sequencer/crypto/timelock/bigmath";
import { generateTestOnlyModulus } from "../../sequencer/crypto/timelock/test-modulus";
import { Devnet, type DevnetOptions } from "../devnet";
import { progress } from "./report";
import { encryptedFixtures } from "./tx-fixtures";

/**
 * The bench world's state (time-lock modulus, key-generator databases, proven transactions). The
 * version segment changes whenever stored formats change (v2: signed key-generator contributions), so
 * a stale world is never reused.
 */
export const BENCH_DIR = path.join(__dirname, "..", "..", "build", "bench", "v2");

/** The TEST-ONLY time-lock modulus of the bench world, made once and kept, so the world repeats. */
async function benchModulus(): Promise<bigint> {
  const file = path.join(BENCH_DIR, "world.json");
  if (existsSync(file)) return BigInt((JSON.parse(readFileSync(file, "utf8")) as { modulus: string }).modulus);
  const N = generateTestOnlyModulus(await loadBigMath(), 1024).N;
  writeFileSync(file, JSON.stringify({ modulus: `0x${N.toString(16)}` }));
  return N;
}

/** Starts the bench world's devnet (3 node processes, 2 key generators, hardhat L1). */
export async function startBenchDevnet(extra: Partial<DevnetOptions> = {}): Promise<Devnet> {
  mkdirSync(BENCH_DIR, { recursive: true });
  const workDir = mkdtempSync(path.join(os.tmpdir(), "veil-bench-"));
  progress(`starting the devnet (work folder ${workDir})`);
  return Devnet.start({
    workDir,
    keepWorkDir: false,
    seed: "veil-bench",
    modulus: await benchModulus(),
    keygenDbDirs: [0, 1].map((i) => path.join(BENCH_DIR, `keygen-${i}`)),
    logLevel: "warn",
    ...extra,
    // The bench saturates the nodes from one address on purpose: a limit it never reaches, still on so
    // that its cost is in the figures (the devnet's own limit would measure the limit).
    nodeConfig: { rpc: { rateLimit: { ratePerSecond: 1e6, burst: 1e6 } }, ...extra.nodeConfig },
  });
}

/** The round key of height 0 as node 0 serves it, and `count` transactions proven for it (cached). */
export async function benchFixtures(
  devnet: Devnet,
  count: number,
): Promise<{ roundKey: Point; txs: EncryptedSubmissionJson[] }> {
  const key = encryptionKeyResult.parse(
    await devnet.nodes[0]!.client.call("get_encryption_key", { rollupId: "7", height: "0" }),
  );
  progress(`encrypted pool: ${count} transactions (cached under build/bench/ once proven)`);
  let last = 0;
  const txs = await encryptedFixtures({ rollupId: 7n, height: 0n, roundKey: key.publicKey }, count, {
    cacheDir: BENCH_DIR,
    onProgress: (done, total) => {
      if (performance.now() - last > 2_000 || done === total) {
        last = performance.now();
        progress(`proving: ${done}/${total}`);
      }
    },
  });
  return { roundKey: key.publicKey, txs };
}
