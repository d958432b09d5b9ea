import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import path from "node:path";
import { getCurveFromName, type BnCurve } from "ffjavascript";
import * as snarkjs from "snarkjs";
import { BUILD_DIR } from "../manifest";
import { snarkjsLogger, step, timed } from "./log";
import { writeBeaconPtau } from "./ptau-accumulator";
import { withCombCurve } from "./ptau-comb-curve";
import { asBn128 } from "./ptau-curve";
import { DEV_BEACON } from "./ptau-secrets";

/** Environment variable naming a real ceremony file (prepared for phase 2) to use instead. */
export const PTAU_ENV = "VEIL_PTAU";

/**
 * `VEIL_PTAU_PREPARE=snarkjs` generates the development file with snarkjs's own commands (minutes,
 * mostly the group FFTs of `prepare phase2`) instead of from the known secrets; both write the same bytes.
 */
export const PTAU_PREPARE_ENV = "VEIL_PTAU_PREPARE";

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
 * development one into the build cache the first time (under a minute on 2 cores; progress is printed).
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
  const prepared = `${final}.tmp`;
  await generateDevPtau(power, dir, prepared);
  // Only a complete file gets the final name, so an interrupted run never leaves a bad cache.
  renameSync(prepared, final);
  return final;
}

/** Name recorded for the development contribution in the file (section 7). */
const DEV_CONTRIBUTION_NAME = "veil-dev (public beacon: development only)";

/**
 * Writes the development powers of tau of `power` to `output`: what `snarkjs powersoftau new`, one
 * `beacon` contribution (the beacon derived from the public entropy) and `prepare phase2` produce.
 * By default it is computed directly from the beacon's known secrets (about a minute);
 * `VEIL_PTAU_PREPARE=snarkjs` runs those three snarkjs commands instead (minutes), with the same bytes.
 */
export async function generateDevPtau(power: number, workDir: string, output: string): Promise<void> {
  const useSnarkjs = process.env[PTAU_PREPARE_ENV] === "snarkjs";
  step(
    `generating the development powers of tau 2^${power} ` +
      (useSnarkjs
        ? "with snarkjs (minutes on 2 cores, done once)"
        : "from the public beacon (under a minute, done once)"),
  );
  if (useSnarkjs) {
    const curve = await getCurveFromName("bn128");
    try {
      await generateWithSnarkjs(curve, power, workDir, output);
    } finally {
      await curve.terminate();
    }
    return;
  }
  await withCombCurve((curve) =>
    timed("powers of tau: accumulator, contribution record and Lagrange sections", () =>
      writeBeaconPtau(asBn128(curve), power, DEV_BEACON, DEV_CONTRIBUTION_NAME, output, snarkjsLogger("ptau").info),
    ),
  );
}

async function generateWithSnarkjs(curve: BnCurve, power: number, workDir: string, output: string): Promise<void> {
  const fresh = path.join(workDir, `dev_pot${power}_0000.ptau.tmp`);
  const contributed = path.join(workDir, `dev_pot${power}_0001.ptau.tmp`);
  try {
    await timed("powers of tau: new", () =>
      snarkjs.powersOfTau.newAccumulator(curve, power, fresh, snarkjsLogger("ptau new")),
    );
    const accepted: unknown = await timed("powers of tau: beacon contribution", () =>
      (snarkjs.powersOfTau.beacon as (...args: unknown[]) => Promise<unknown>)(
        fresh,
        contributed,
        DEV_CONTRIBUTION_NAME,
        DEV_BEACON.hashHex,
        DEV_BEACON.iterationsExp,
        snarkjsLogger("ptau beacon"),
      ),
    );
    if (!accepted) throw new Error("snarkjs rejected the development beacon");
    await timed("powers of tau: prepare phase 2", () =>
      snarkjs.powersOfTau.preparePhase2(contributed, output, snarkjsLogger("ptau prepare")),
    );
  } finally {
    rmSync(fresh, { force: true });
    rmSync(contributed, { force: true });
  }
}
