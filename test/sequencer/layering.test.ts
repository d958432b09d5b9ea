/**
 * The layering of sequencer/ (docs/node.md, "Layering"): the lower folders may import only the folders
 * below them, so that the roles (node, keygen, validator, operator, proxy) build on them and never the
 * other way round. Every import is read with TypeScript's own pre-processor (static, type-only,
 * re-exports, dynamic import() and require()), not found by a regular expression.
 */
import { expect } from "chai";
import fs from "node:fs";
import path from "node:path";
import ts from "typescript";

const REPO = path.resolve(__dirname, "../..");
const SEQUENCER = path.join(REPO, "sequencer");

/**
 * The restricted folders of sequencer/ and the other folders of sequencer/ each may import. npm
 * packages and Node's built-in modules are always allowed; so is the folder's own code.
 */
const LAYERS: Readonly<Record<string, readonly string[]>> = {
  // Logger, health, metrics registry, Secret: shared by every role, so it depends on none.
  common: [],
  // Encryption, Poseidon, round keys: block/ builds on it (block → crypto, never crypto → block).
  crypto: ["chain", "common"],
  // The JSON-RPC server and client every role serves and calls with.
  rpc: ["common"],
  // The pure per-height replica: only the Merkle tree of chain/; no I/O, no role.
  replica: ["chain"],
  // The simulator drives the replica and nothing of the node (it must test the replica, not a host); from
  // common/ only role-free helpers (starting its campaign's worker threads).
  sim: ["replica", "chain", "common"],
};

interface Violation {
  /** Relative to the repository root, e.g. sequencer/crypto/decrypt-pool.ts. */
  readonly file: string;
  readonly specifier: string;
  /** The folder of sequencer/ the import lands in, or "(outside sequencer/)". */
  readonly folder: string;
}

/** Where a relative import lands: the first path segment under sequencer/; undefined for a package. */
function folderOf(file: string, specifier: string): string | undefined {
  if (!specifier.startsWith(".")) return undefined;
  const target = path.relative(SEQUENCER, path.resolve(path.dirname(file), specifier));
  if (target.startsWith("..") || path.isAbsolute(target)) return "(outside sequencer/)";
  return target.split(path.sep)[0];
}

/** The imports of `source` (a file of sequencer/`layer`) that the layer may not make. */
function forbiddenImports(file: string, source: string, layer: string): Violation[] {
  const allowed = new Set([layer, ...(LAYERS[layer] ?? [])]);
  return ts
    .preProcessFile(source, true, true)
    .importedFiles.map((imported) => ({ specifier: imported.fileName, folder: folderOf(file, imported.fileName) }))
    .filter((i): i is { specifier: string; folder: string } => i.folder !== undefined && !allowed.has(i.folder))
    .map((i) => ({ file: path.relative(REPO, file).split(path.sep).join("/"), ...i }));
}

function sourceFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) return sourceFiles(full);
      return entry.name.endsWith(".ts") ? [full] : [];
    })
    .sort();
}

const describeViolation = (v: Violation): string => `${v.file} imports "${v.specifier}" (${v.folder})`;

/**
 * Value imports (not `import type`) of the names only common/ may use: pino's logger factory and
 * prom-client's registry, so that no role builds its own logger or registry beside the shared ones.
 */
function ownLoggerOrRegistry(file: string, source: string): string[] {
  const parsed = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const found: string[] = [];
  for (const statement of parsed.statements) {
    if (!ts.isImportDeclaration(statement) || !ts.isStringLiteral(statement.moduleSpecifier)) continue;
    const clause = statement.importClause;
    if (clause === undefined || clause.isTypeOnly) continue;
    const from = statement.moduleSpecifier.text;
    const named =
      clause.namedBindings !== undefined && ts.isNamedImports(clause.namedBindings)
        ? clause.namedBindings.elements.filter((e) => !e.isTypeOnly).map((e) => (e.propertyName ?? e.name).text)
        : [];
    const rel = path.relative(REPO, file).split(path.sep).join("/");
    if (from === "pino" && (clause.name !== undefined || named.includes("pino"))) found.push(`${rel}: pino`);
    for (const name of ["Registry", "collectDefaultMetrics"]) {
      if (from === "prom-client" && named.includes(name)) found.push(`${rel}: prom-client ${name}`);
    }
  }
  return found;
}

describe("layering of sequencer/ (which folder may import which)", () => {
  it("names the file and the import of a forbidden dependency, and lets packages and the folder's own files pass", () => {
    const file = path.join(SEQUENCER, "crypto", "example.ts");
    const source = [
      'import { openSlots } from "../block/open-slot";',
      'import type { Health } from "../node/health";',
      'export { RpcClient } from "../rpc/client";',
      'const lazy = () => import("../keygen/store");',
      'import { decryptBlock } from "./encryption";',
      'import { share } from "./timelock/share-proof";',
      'import { structHash } from "../chain/eip712";',
      'import { Secret } from "../common/secret";',
      'import { Piscina } from "piscina";',
      'import os from "node:os";',
      '// import { nothing } from "../node/comment";',
    ].join("\n");
    expect(forbiddenImports(file, source, "crypto").map(describeViolation)).to.deep.equal([
      'sequencer/crypto/example.ts imports "../block/open-slot" (block)',
      'sequencer/crypto/example.ts imports "../node/health" (node)',
      'sequencer/crypto/example.ts imports "../rpc/client" (rpc)',
      'sequencer/crypto/example.ts imports "../keygen/store" (keygen)',
    ]);
    expect(forbiddenImports(path.join(SEQUENCER, "common", "x.ts"), 'import "../../circuits/manifest";', "common"))
      .to.have.length(1)
      .and.to.have.nested.property("[0].folder", "(outside sequencer/)");
  });

  it("recognises a logger or registry of a role's own, and lets type-only imports pass", () => {
    const file = path.join(SEQUENCER, "keygen", "example.ts");
    const source = [
      'import pino from "pino";',
      'import { Counter, Registry } from "prom-client";',
      'import { collectDefaultMetrics as defaults } from "prom-client";',
      'import type { Logger } from "pino";',
      'import { type Registry as R, Gauge } from "prom-client";',
    ].join("\n");
    expect(ownLoggerOrRegistry(file, source)).to.deep.equal([
      "sequencer/keygen/example.ts: pino",
      "sequencer/keygen/example.ts: prom-client Registry",
      "sequencer/keygen/example.ts: prom-client collectDefaultMetrics",
    ]);
  });

  for (const [layer, allowed] of Object.entries(LAYERS)) {
    const others = allowed.length === 0 ? "nothing else of the code base" : `only ${allowed.join("/, ")}/`;
    it(`keeps sequencer/${layer}/ importing ${others} (no role folder)`, () => {
      const files = sourceFiles(path.join(SEQUENCER, layer));
      expect(files, `no source files under sequencer/${layer}/`).to.have.length.greaterThan(0);
      const found = files.flatMap((file) => forbiddenImports(file, fs.readFileSync(file, "utf8"), layer));
      const lines = found.map(describeViolation);
      expect(lines, `forbidden imports (docs/node.md, "Layering"):\n  ${lines.join("\n  ")}\n`).to.deep.equal([]);
    });
  }

  it("creates loggers and metrics registries only in sequencer/common/ (no role keeps its own copy)", () => {
    const found = sourceFiles(SEQUENCER)
      .filter((file) => !file.startsWith(path.join(SEQUENCER, "common") + path.sep))
      .flatMap((file) => ownLoggerOrRegistry(file, fs.readFileSync(file, "utf8")));
    expect(found, `use sequencer/common/ instead:\n  ${found.join("\n  ")}\n`).to.deep.equal([]);
  });
});
