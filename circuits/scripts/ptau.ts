import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import path from "node:path";
import { getCurveFromName } from "ffjavascript";
import * as snarkjs from "snarkjs";
import { BUILD_DIR } from "../manifest";
import { snarkjsLogger, step, timed } from "./log";
import { asBn128 } from "./ptau-curve";
import { preparePhase2WithSecrets } from "./ptau-fast";
import { DEV_BEACON, deriveSecrets } from "./ptau-secrets";

/** Environment variable naming a real ceremony file (prepared for phase 2) to use instead. */
export const PTAU_ENV = "VEIL_PTAU";

/**
 * `VEIL_PTAU_PREPARE=snarkjs` prepares phase 2 with snarkjs's group FFTs (minutes) instead of from the
 * known secrets (about a minute); both write the same bytes.
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
  const prepared = `${final}.tmp`;
  await generateDevPtau(power, dir, prepared);
  // Only a complete file gets the final name, so an interrupted run never leaves a bad cache.
  renameSync(prepared, final);
  return final;
}

/**
 * Writes the development powers of tau of `power` to `output`: a fresh accumulator, one beacon
 * contribution whose beacon is derived from the public entropy, and the phase-2 Lagrange sections.
 */
export async function generateDevPtau(power: number, workDir: string, output: string): Promise<void> {
  const fresh = path.join(workDir, `dev_pot${power}_0000.ptau.tmp`);
  const contributed = path.join(workDir, `dev_pot${power}_0001.ptau.tmp`);
  const useSnarkjs = process.env[PTAU_PREPARE_ENV] === "snarkjs";
  step(
    `generating the development powers of tau 2^${power} ` +
      (useSnarkjs ? "(snarkjs prepare: minutes on 2 cores, done once)" : "(about a minute on 2 cores, done once)"),
  );
  const curve = await getCurveFromName("bn128");
  try {
    await timed("powers of tau: new", () =>
      snarkjs.powersOfTau.newAccumulator(curve, power, fresh, snarkjsLogger("ptau new")),
    );
    const accepted: unknown = await timed("powers of tau: beacon contribution", () =>
      (snarkjs.powersOfTau.beacon as (...args: unknown[]) => Promise<unknown>)(
        fresh,
        contributed,
        "veil-dev (public beacon: development only)",
        DEV_BEACON.hashHex,
        DEV_BEACON.iterationsExp,
        snarkjsLogger("ptau beacon"),
      ),
    );
    if (!accepted) throw new Error("snarkjs rejected the development beacon");
    if (useSnarkjs) {
      await timed("powers of tau: prepare phase 2 (snarkjs)", () =>
        snarkjs.powersOfTau.preparePhase2(contributed, output, snarkjsLogger("ptau prepare")),
      );
    } else {
      const secrets = deriveSecrets(asBn128(curve), DEV_BEACON);
      const progress = snarkjsLogger("ptau prepare").info;
      await timed("powers of tau: prepare phase 2 (from the known secrets)", () =>
        preparePhase2WithSecrets(asBn128(curve), contributed, output, secrets, progress),
      );
    }
  } finally {
    await curve.terminate();
    rmSync(fresh, { force: true });
    rmSync(contributed, { force: true });
  }
}
