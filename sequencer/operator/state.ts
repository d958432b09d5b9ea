/**
 * The operator's progress, in one small JSON file replaced atomically: written to a temporary file in
 * the same directory, fsynced, renamed over the old one, and the directory fsynced. A crash at any
 * moment leaves either the old state or the new one, never a torn file. `inFlight` is written before
 * a height's transactions reach the L2, so that a restart can tell whether its block was mined.
 */
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  writeSync,
} from "node:fs";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { z } from "zod";

const height = z
  .string()
  .regex(/^(0|[1-9][0-9]*)$/)
  .transform((v) => BigInt(v));

const stateSchema = z.strictObject({
  version: z.literal(1),
  rollupId: height,
  /** The next sequencer height to finalize and execute. */
  nextHeight: height,
  /** A height whose transactions may have reached the L2; its block is the first after `l2HeadBefore`. */
  inFlight: z.strictObject({ height, l2HeadBefore: z.number().int().nonnegative() }).optional(),
  /** The last executed height and the L2 block that holds it. */
  last: z
    .strictObject({
      height,
      l2Block: z.number().int().nonnegative(),
      l2BlockHash: z.string(),
      executed: z.number().int().nonnegative(),
      skipped: z.number().int().nonnegative(),
    })
    .optional(),
});

export type OperatorState = z.output<typeof stateSchema>;

export class StateFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StateFileError";
  }
}

function toJson(state: OperatorState): string {
  return `${JSON.stringify(
    state,
    (_key, value: unknown) => (typeof value === "bigint" ? value.toString() : value),
    2,
  )}\n`;
}

/** Reads the state file; undefined when it does not exist. A file that does not parse is an error, never ignored. */
export function readState(file: string): OperatorState | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new StateFileError(
      `state file ${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? "error"})`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new StateFileError(`state file ${file}: not valid JSON`);
  }
  const parsed = stateSchema.safeParse(json);
  if (!parsed.success) {
    throw new StateFileError(
      `state file ${file}: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
    );
  }
  return parsed.data;
}

/** Replaces the state file atomically and durably (temp + fsync + rename + directory fsync). */
export function writeState(file: string, state: OperatorState): void {
  const dir = path.dirname(file);
  mkdirSync(dir, { recursive: true });
  const temp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  const fd = openSync(temp, "w", 0o600);
  try {
    writeSync(fd, toJson(state));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(temp, file);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
  const dirFd = openSync(dir, "r");
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}

/** Deletes temporary files a crash left behind (they never hold the state; the renamed file does). */
export function removeStaleTempFiles(file: string): number {
  const dir = path.dirname(file);
  const prefix = `.${path.basename(file)}.`;
  let removed = 0;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const name of names) {
    if (name.startsWith(prefix) && name.endsWith(".tmp")) {
      rmSync(path.join(dir, name), { force: true });
      removed += 1;
    }
  }
  return removed;
}
