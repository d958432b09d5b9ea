/**
 * Builds every circuit of circuits/manifest.ts: circom → r1cs + wasm, Groth16 setup against the
 * powers of tau, verification key, and a Solidity verifier in contracts/generated/.
 *
 * Incremental: each step records a hash of its inputs next to its outputs and is skipped when
 * the hash is unchanged, so a second run takes seconds.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import * as snarkjs from "snarkjs";
import { CIRCUITS, PTAU_POWER, REPO_ROOT, circuitArtifacts, type CircuitSpec } from "../manifest";
import { snarkjsLogger, step, timed } from "./log";
import { ensurePtau } from "./ptau";

/** Entropy of the development phase-2 contribution: public, like the development powers of tau. */
const DEV_ZKEY_ENTROPY = "veil development groth16 phase 2: known entropy, NOT a ceremony";
const CIRCOM_FLAGS = ["--r1cs", "--wasm", "--sym", "--O2"];

function sha256(...parts: (string | Buffer)[]): string {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest("hex");
}

function hashFile(file: string): string {
  return sha256(readFileSync(file));
}

/**
 * Every .circom file a production circuit may include: our templates and entry points, and
 * circomlib's (by its version). Test-only mains in circuits/test/ are not part of any build.
 */
function circuitSourcesHash(): string {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir).sort()) {
      const full = path.join(dir, entry);
      if (statSync(full).isDirectory()) walk(full);
      else if (entry.endsWith(".circom")) files.push(full);
    }
  };
  walk(path.join(REPO_ROOT, "circuits", "src"));
  walk(path.join(REPO_ROOT, "circuits", "main"));
  const circomlib = JSON.parse(readFileSync(require.resolve("circomlib/package.json"), "utf8")) as { version: string };
  const circom2 = JSON.parse(readFileSync(require.resolve("circom2/package.json"), "utf8")) as { version: string };
  return sha256(
    `circomlib@${circomlib.version} circom2@${circom2.version} ${CIRCOM_FLAGS.join(" ")}`,
    ...files.map((f) => `${path.relative(REPO_ROOT, f)}:${hashFile(f)}`),
  );
}

/** A step's stamp: the hash of its inputs, stored beside its outputs. */
function upToDate(stampFile: string, inputsHash: string, outputs: string[]): boolean {
  if (!existsSync(stampFile) || outputs.some((o) => !existsSync(o))) return false;
  return readFileSync(stampFile, "utf8").trim() === inputsHash;
}

function runCircom(mainFile: string, outDir: string): Promise<void> {
  const cli = require.resolve("circom2/cli.js");
  const args = [cli, mainFile, ...CIRCOM_FLAGS, "-l", path.join(REPO_ROOT, "node_modules"), "-o", outDir];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    child.on("error", reject);
    child.on("exit", (code) => {
      if (code === 0) {
        const summary = output
          .split("\n")
          .filter((l) => /constraints|wires|inputs|outputs/.test(l))
          .map((l) => l.trim())
          .join("; ");
        step(`  ${summary}`);
        resolve();
      } else reject(new Error(`circom failed on ${mainFile} (exit ${code}):\n${output}`));
    });
  });
}

async function buildCircuit(spec: CircuitSpec, ptau: string, ptauHash: string): Promise<void> {
  const art = circuitArtifacts(spec.name);
  mkdirSync(art.dir, { recursive: true });

  // 1. circom → r1cs + wasm
  const compileHash = sha256(spec.main, circuitSourcesHash());
  const compileStamp = path.join(art.dir, "compile.stamp");
  if (upToDate(compileStamp, compileHash, [art.r1cs, art.wasm])) {
    step(`${spec.name}: r1cs and wasm up to date`);
  } else {
    step(`${spec.name}: compiling ${spec.main}`);
    await timed(`${spec.name}: compile`, () => runCircom(path.join(REPO_ROOT, spec.main), art.dir));
    writeFileSync(compileStamp, compileHash);
  }

  // 2. Groth16 setup (phase 2 with a development contribution) → zkey + verification key
  const setupHash = sha256(hashFile(art.r1cs), ptauHash, DEV_ZKEY_ENTROPY);
  const setupStamp = path.join(art.dir, "setup.stamp");
  if (upToDate(setupStamp, setupHash, [art.zkey, art.vkey])) {
    step(`${spec.name}: zkey up to date`);
  } else {
    const zkey0 = `${art.zkey}.0.tmp`;
    await timed(`${spec.name}: groth16 setup`, () =>
      snarkjs.zKey.newZKey(art.r1cs, ptau, zkey0, snarkjsLogger(`${spec.name} setup`)),
    );
    await timed(`${spec.name}: phase 2 contribution`, () =>
      snarkjs.zKey.contribute(zkey0, art.zkey, "veil-dev", DEV_ZKEY_ENTROPY, snarkjsLogger(`${spec.name} contribute`)),
    );
    const vkey: unknown = await snarkjs.zKey.exportVerificationKey(art.zkey);
    writeFileSync(art.vkey, JSON.stringify(vkey, null, 2));
    writeFileSync(setupStamp, setupHash);
  }

  // 3. Solidity verifier, renamed so that every circuit's verifier has its own contract name
  const verifierHash = sha256(hashFile(art.zkey), spec.verifierContract);
  const verifierStamp = path.join(art.dir, "verifier.stamp");
  if (upToDate(verifierStamp, verifierHash, [art.verifierSol])) {
    step(`${spec.name}: ${path.relative(REPO_ROOT, art.verifierSol)} up to date`);
  } else {
    const template = readFileSync(
      path.join(REPO_ROOT, "node_modules", "snarkjs", "templates", "verifier_groth16.sol.ejs"),
      "utf8",
    );
    const source = (await snarkjs.zKey.exportSolidityVerifier(art.zkey, { groth16: template })) as string;
    if (!source.includes("contract Groth16Verifier")) throw new Error("unexpected snarkjs verifier template");
    const header =
      `// GENERATED by circuits/scripts/build.ts from circuit "${spec.name}": do not edit, rebuild instead.\n` +
      `// The verification key inside comes from a development setup with known entropy, not a ceremony.\n`;
    mkdirSync(path.dirname(art.verifierSol), { recursive: true });
    writeFileSync(
      art.verifierSol,
      header + source.replace("contract Groth16Verifier", `contract ${spec.verifierContract}`),
    );
    writeFileSync(verifierStamp, verifierHash);
    step(`${spec.name}: wrote ${path.relative(REPO_ROOT, art.verifierSol)}`);
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const ptau = await ensurePtau(PTAU_POWER);
  const ptauHash = sha256(ptau, String(statSync(ptau).size), String(statSync(ptau).mtimeMs));
  for (const spec of CIRCUITS) await buildCircuit(spec, ptau, ptauHash);
  step(`all circuits built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

main()
  .then(() => process.exit(0))
  .catch((err: unknown) => {
    process.stderr.write(
      `[circuits] build failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  });
