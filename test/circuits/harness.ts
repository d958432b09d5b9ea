/**
 * Test harness for circom templates: compiles a test-only main from circuits/test/ with circom2
 * (--O2, like the production build) into build/test-circuits/, computes witnesses with the wasm, and
 * checks witnesses against the r1cs with snarkjs. `tamper` rewrites one signal of a witness file, so
 * that tests can show that the constraints (not only the witness generator) reject a wrong value.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import * as snarkjs from "snarkjs";
import { BUILD_DIR, REPO_ROOT } from "../../circuits/manifest";

const run = promisify(execFile);

export type CircuitInput = Record<string, bigint | bigint[] | string | string[]>;

export interface CompiledCircuit {
  readonly wasm: string;
  readonly r1cs: string;
  /** Signal name (e.g. "main.out[0]") → witness index, for the signals --O2 kept. */
  readonly signals: ReadonlyMap<string, number>;
  readonly dir: string;
}

function sourcesHash(main: string): string {
  const h = createHash("sha256");
  const src = path.join(REPO_ROOT, "circuits", "src");
  for (const f of readdirSync(src).sort()) h.update(f).update(readFileSync(path.join(src, f)));
  return h.update(readFileSync(main)).digest("hex");
}

/** Compiles circuits/test/<name>.circom once per change of the sources. */
export async function compileTestCircuit(name: string): Promise<CompiledCircuit> {
  const main = path.join(REPO_ROOT, "circuits", "test", `${name}.circom`);
  const dir = path.join(BUILD_DIR, "test-circuits", name);
  const r1cs = path.join(dir, `${name}.r1cs`);
  const wasm = path.join(dir, `${name}_js`, `${name}.wasm`);
  const sym = path.join(dir, `${name}.sym`);
  const stamp = path.join(dir, "compile.stamp");
  const hash = sourcesHash(main);
  if (!existsSync(stamp) || readFileSync(stamp, "utf8") !== hash || !existsSync(wasm)) {
    mkdirSync(dir, { recursive: true });
    const cli = require.resolve("circom2/cli.js");
    const args = [
      cli,
      main,
      "--r1cs",
      "--wasm",
      "--sym",
      "--O2",
      "-l",
      path.join(REPO_ROOT, "node_modules"),
      "-o",
      dir,
    ];
    await run(process.execPath, args, { cwd: REPO_ROOT, maxBuffer: 1 << 24 });
    writeFileSync(stamp, hash);
  }
  return { wasm, r1cs, signals: readSymbols(sym), dir };
}

/** Reads a circom .sym file: "label,witnessIndex,component,name" per line; index −1 = optimised away. */
export function readSymbols(symFile: string): Map<string, number> {
  const map = new Map<string, number>();
  for (const line of readFileSync(symFile, "utf8").split("\n")) {
    const [, index, , name] = line.split(",");
    if (name !== undefined && index !== undefined && Number(index) >= 0) map.set(name, Number(index));
  }
  return map;
}

let counter = 0;
let witnessDir: string | undefined;

/** Witness files go to one temporary folder per process, removed when the process exits. */
function witnessFile(): string {
  if (witnessDir === undefined) {
    const dir = mkdtempSync(path.join(os.tmpdir(), "veil-wtns-"));
    process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
    witnessDir = dir;
  }
  return path.join(witnessDir, `w${counter++}.wtns`);
}

/** Computes a witness file; rejects when an assertion of the circuit fails. */
export async function calculateWitness(circuit: { wasm: string }, input: CircuitInput): Promise<string> {
  const file = witnessFile();
  const stringified = Object.fromEntries(
    Object.entries(input).map(([k, v]) => [k, Array.isArray(v) ? v.map(String) : String(v)]),
  );
  await snarkjs.wtns.calculate(stringified, circuit.wasm, file);
  return file;
}

/** Whether the witness file satisfies every constraint of the r1cs. */
export async function satisfies(r1cs: string, wtns: string): Promise<boolean> {
  const silent = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };
  return (await snarkjs.wtns.check(r1cs, wtns, silent)) as boolean;
}

/** The witness as bigints (index 0 is the constant 1). */
export async function readWitness(wtns: string): Promise<bigint[]> {
  return ((await snarkjs.wtns.exportJson(wtns)) as unknown[]).map((v) => BigInt(v as bigint | string));
}

/** Copies a witness file with signal `index` replaced by `value` (wtns v2: header, section 1, section 2). */
export function tamper(wtns: string, index: number, value: bigint): string {
  const buf = Buffer.from(readFileSync(wtns));
  if (buf.toString("ascii", 0, 4) !== "wtns") throw new Error("not a wtns file");
  const n8 = buf.readUInt32LE(24);
  const valuesStart = 12 + 12 + (4 + n8 + 4) + 12;
  if (buf.readUInt32LE(valuesStart - 12) !== 2) throw new Error("unexpected wtns section order");
  const offset = valuesStart + index * n8;
  for (let i = 0, v = value; i < n8; i++, v >>= 8n) buf[offset + i] = Number(v & 0xffn);
  const out = witnessFile();
  writeFileSync(out, buf);
  return out;
}

/** Witness index of a named signal, failing loudly if --O2 removed it. */
export function signalIndex(circuit: { signals: ReadonlyMap<string, number> }, name: string): number {
  const index = circuit.signals.get(name);
  if (index === undefined) throw new Error(`signal ${name} not in the witness (optimised away?)`);
  return index;
}
