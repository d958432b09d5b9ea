/** Veil's version: package.json's, read once (every process reports it in build info and status). */
import { readFileSync } from "node:fs";
import path from "node:path";

export const VERSION: string = (
  JSON.parse(readFileSync(path.join(__dirname, "..", "..", "package.json"), "utf8")) as { version: string }
).version;
