/**
 * Pre-generated valid encrypted transactions for the multi-process tests and the sequencer benchmark:
 * encrypted to a round key and proven with the real tx-validity prover, in parallel child processes
 * (one per core: witness generation is single-threaded), and cached on disk keyed by everything a
 * proof depends on (rollup, height, round key, the circuit's verification key), so later runs skip it.
 *
 * Run as a child: `node --require tsx/cjs tx-fixtures.ts --worker <spec.json> <out.json>`.
 */
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { z } from "zod";
import { encryptedSubmission, encryptedSubmissionToJson, type EncryptedSubmissionJson } from "../../sequencer/api/wire";
import { blockHeight, encryptTransaction, rollupId as asRollupId } from "../../sequencer/crypto/encryption";
import type { Point } from "../../sequencer/crypto/babyjub";
import { verificationKey } from "../../sequencer/zk/groth16";
import { TX_VALIDITY_CIRCUIT, proveTxValidity } from "../../sequencer/zk/prover";

export interface FixtureTarget {
  readonly rollupId: bigint;
  readonly height: bigint;
  /** PK_h as the node serves it (get_encryption_key's publicKey). */
  readonly roundKey: Point;
}

const workerSpec = z.object({
  rollupId: z.string(),
  height: z.string(),
  roundKey: z.tuple([z.string(), z.string()]),
  first: z.number().int().nonnegative(),
  count: z.number().int().nonnegative(),
});
type WorkerSpec = z.infer<typeof workerSpec>;

/** A distinct plaintext per index: roughly the size of a signed Ethereum transfer. */
function plaintextFor(index: number): Uint8Array {
  return Buffer.concat([Buffer.from(`veil bench tx ${index} `), randomBytes(96)]);
}

async function proveRange(spec: WorkerSpec): Promise<EncryptedSubmissionJson[]> {
  const roundKey: Point = [BigInt(spec.roundKey[0]), BigInt(spec.roundKey[1])];
  const out: EncryptedSubmissionJson[] = [];
  for (let i = spec.first; i < spec.first + spec.count; i++) {
    const enc = encryptTransaction(plaintextFor(i), {
      rollupId: asRollupId(BigInt(spec.rollupId)),
      height: blockHeight(BigInt(spec.height)),
      roundKey,
    });
    const { proof } = await proveTxValidity(enc);
    out.push(
      encryptedSubmissionToJson(
        encryptedSubmission.parse({
          tx: encryptedJson(enc.encrypted),
          txCommitment: enc.txCommitment.toString(),
          proof,
        }),
      ),
    );
    process.stderr.write(`proved ${i}\n`);
  }
  return out;
}

function encryptedJson(tx: ReturnType<typeof encryptTransaction>["encrypted"]): unknown {
  return {
    rollupId: tx.rollupId.toString(),
    height: tx.height.toString(),
    ephemeralKey: tx.ephemeralKey.map(String),
    nonce: tx.nonce.toString(),
    ciphertext: tx.ciphertext.map(String),
  };
}

/** The cache file name: a hash of everything that makes a proof valid for this target. */
export function fixtureCacheKey(target: FixtureTarget): string {
  const vk = JSON.stringify(verificationKey(TX_VALIDITY_CIRCUIT));
  return createHash("sha256")
    .update(JSON.stringify([target.rollupId.toString(), target.height.toString(), target.roundKey.map(String)]))
    .update(vk)
    .digest("hex")
    .slice(0, 24);
}

export interface FixtureOptions {
  /** Folder of cache files; default `build/bench`. */
  readonly cacheDir?: string;
  /** Parallel prover processes; default one per core. */
  readonly workers?: number;
  readonly onProgress?: (done: number, total: number) => void;
}

/**
 * `count` valid encrypted submissions for `target`, from the cache when it holds enough, otherwise
 * proving the missing ones (and extending the cache).
 */
export async function encryptedFixtures(
  target: FixtureTarget,
  count: number,
  options: FixtureOptions = {},
): Promise<EncryptedSubmissionJson[]> {
  const cacheDir = options.cacheDir ?? path.join(__dirname, "..", "..", "build", "bench");
  mkdirSync(cacheDir, { recursive: true });
  const file = path.join(cacheDir, `encrypted-txs-${fixtureCacheKey(target)}.json`);
  const cached = existsSync(file)
    ? z
        .array(encryptedSubmission)
        .parse(JSON.parse(readFileSync(file, "utf8")))
        .map(encryptedSubmissionToJson)
    : [];
  if (cached.length >= count) return cached.slice(0, count);
  const missing = count - cached.length;
  const workers = Math.max(1, Math.min(options.workers ?? os.availableParallelism(), missing));
  const per = Math.ceil(missing / workers);
  let done = 0;
  const parts = await Promise.all(
    Array.from({ length: workers }, (_, w) => {
      const first = cached.length + w * per;
      const n = Math.max(0, Math.min(per, count - first));
      const spec: WorkerSpec = {
        rollupId: target.rollupId.toString(),
        height: target.height.toString(),
        roundKey: [target.roundKey[0].toString(), target.roundKey[1].toString()],
        first,
        count: n,
      };
      return runWorker(spec, path.join(cacheDir, `.part-${process.pid}-${w}`), () => {
        done += 1;
        options.onProgress?.(done, missing);
      });
    }),
  );
  const all = [...cached, ...parts.flat()];
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(all));
  renameSync(tmp, file);
  return all.slice(0, count);
}

function runWorker(spec: WorkerSpec, base: string, onProof: () => void): Promise<EncryptedSubmissionJson[]> {
  if (spec.count === 0) return Promise.resolve([]);
  writeFileSync(`${base}.spec.json`, JSON.stringify(spec));
  const child = spawn(
    process.execPath,
    ["--require", require.resolve("tsx/cjs"), __filename, "--worker", `${base}.spec.json`, `${base}.out.json`],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  child.stderr.setEncoding("utf8");
  let errorText = "";
  child.stderr.on("data", (chunk: string) => {
    for (const line of chunk.split("\n")) {
      if (line.startsWith("proved ")) onProof();
      else if (line.trim() !== "") errorText = `${errorText}${line}\n`.slice(-4_000);
    }
  });
  const killOnExit = (): void => void child.kill("SIGKILL");
  process.once("exit", killOnExit);
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => {
      process.removeListener("exit", killOnExit);
      try {
        if (code !== 0) throw new Error(`prover process exited with ${code}: ${errorText}`);
        resolve(
          z
            .array(encryptedSubmission)
            .parse(JSON.parse(readFileSync(`${base}.out.json`, "utf8")))
            .map(encryptedSubmissionToJson),
        );
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      } finally {
        rmSync(`${base}.spec.json`, { force: true });
        rmSync(`${base}.out.json`, { force: true });
      }
    });
  });
}

async function workerMain(specFile: string, outFile: string): Promise<void> {
  const spec = workerSpec.parse(JSON.parse(readFileSync(specFile, "utf8")));
  const out = await proveRange(spec);
  writeFileSync(outFile, JSON.stringify(out));
  const curve = (globalThis as { curve_bn128?: { terminate(): Promise<void> } }).curve_bn128;
  if (curve) await curve.terminate();
}

if (require.main === module && process.argv[2] === "--worker") {
  workerMain(process.argv[3]!, process.argv[4]!).catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}
