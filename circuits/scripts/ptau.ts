import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import path from "node:path";
import { getCurveFromName } from "ffjavascript";
import * as snarkjs from "snarkjs";
import { BUILD_DIR } from "../manifest";
import { snarkjsLogger, step, timed } from "./log";

/**
 * Entropy of the development powers of tau. It is public on purpose: whoever knows it can forge
 * proofs for every circuit set up against the resulting file. Development and tests only.
 */
const DEV_ENTROPY = "veil development powers of tau: known entropy, NOT a trusted setup ceremony";

/** Environment variable naming a real ceremony file (prepared for phase 2) to use instead. */
export const PTAU_ENV = "VEIL_PTAU";

const WARNING = [
  "****************************************************************************************",
  "* DEVELOPMENT POWERS OF TAU: generated here from public, known entropy.                *",
  "* Anyone can forge Groth16 proofs for circuits set up against it. This is NOT a        *",
  `* ceremony. For production set ${PTAU_ENV}=/path/to/a prepared ceremony file            *`,
  "* (for example a Perpetual Powers of Tau file of power >= 14).                         *",
  "****************************************************************************************",
].join("\n");

/**
 * Returns the path of a phase-2-prepared powers-of-tau file of at least `power`, generating the
 * development one into the build cache the first time (minutes: progress is printed).
 */
export async function ensurePtau(power: number): Promise<string> {
  const external = process.env[PTAU_ENV];
  if (external) {
    const file = path.resolve(external);
    if (!existsSync(file)) throw new Error(`${PTAU_ENV}=${external}: no such file`);
    step(`using the powers of tau from ${PTAU_ENV}: ${file}`);
    return file;
  }

  const dir = path.join(BUILD_DIR, "ptau");
  const final = path.join(dir, `dev_pot${power}_final.ptau`);
  process.stdout.write(`${WARNING}\n`);
  if (existsSync(final)) {
    step(`powers of tau 2^${power} found in the cache: ${path.relative(process.cwd(), final)}`);
    return final;
  }

  mkdirSync(dir, { recursive: true });
  const fresh = path.join(dir, `dev_pot${power}_0000.ptau.tmp`);
  const contributed = path.join(dir, `dev_pot${power}_0001.ptau.tmp`);
  const prepared = `${final}.tmp`;
  step(`generating the development powers of tau 2^${power} (a few minutes on 2 cores, done once)`);
  const curve = await getCurveFromName("bn128");
  try {
    await timed("powers of tau: new", () =>
      snarkjs.powersOfTau.newAccumulator(curve, power, fresh, snarkjsLogger("ptau new")),
    );
  } finally {
    await curve.terminate();
  }
  await timed("powers of tau: contribute", () =>
    snarkjs.powersOfTau.contribute(fresh, contributed, "veil-dev", DEV_ENTROPY, snarkjsLogger("ptau contribute")),
  );
  await timed("powers of tau: prepare phase 2", () =>
    snarkjs.powersOfTau.preparePhase2(contributed, prepared, snarkjsLogger("ptau prepare")),
  );
  // Only a complete file gets the final name, so an interrupted run never leaves a bad cache.
  renameSync(prepared, final);
  rmSync(fresh, { force: true });
  rmSync(contributed, { force: true });
  return final;
}
