/**
 * Configuration shared by every Veil process (node, key generator, encrypting RPC): a YAML or JSON
 * file, overridden field by field by environment variables `<PREFIX><SECTION>__<FIELD>` (segments in
 * SCREAMING_SNAKE_CASE, `__` between levels), validated with a zod schema. Errors name every bad
 * field and where its value came from (a variable, the file, or not set).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import YAML from "yaml";
import type { z } from "zod";

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** Every process's variable prefix: `VEIL_<ROLE>__`, then the field's path. */
export const ENV_PREFIXES = {
  node: "VEIL_NODE__",
  keygen: "VEIL_KEYGEN__",
  proxy: "VEIL_PROXY__",
  validator: "VEIL_VALIDATOR__",
  operator: "VEIL_OPERATOR__",
} as const;

const SEGMENT = /^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/;

/** Maps `<prefix>RPC__RATE_LIMIT__BURST` to ["rpc", "rateLimit", "burst"]; other variables to undefined. */
export function envFieldPath(prefix: string, name: string): string[] | undefined {
  if (!name.startsWith(prefix)) return undefined;
  const segments = name.slice(prefix.length).split("__");
  if (segments.some((s) => !SEGMENT.test(s))) return undefined;
  return segments.map((s) => s.toLowerCase().replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase()));
}

/**
 * Veil variables no role reads: a structured `VEIL_…__…` name under no role's prefix (a typo, or the node's
 * pre-0.1 `VEIL_RPC__PORT` spelling), or one under `prefix` whose segments are not SCREAMING_SNAKE_CASE.
 * Either would otherwise be ignored in silence, and the process would run on a value nobody chose.
 */
export function strayVariables(prefix: string, env: NodeJS.ProcessEnv): string[] {
  const prefixes = Object.values(ENV_PREFIXES) as string[];
  return Object.keys(env).filter((name) => {
    if (!name.startsWith("VEIL_") || !name.includes("__")) return false;
    if (name.startsWith(prefix)) return envFieldPath(prefix, name) === undefined;
    return !prefixes.some((p) => name.startsWith(p));
  });
}

/** Reads a YAML or JSON (by extension) config file whose top level is a mapping of sections. */
export function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new ConfigError(`config file ${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? "error"})`);
  }
  const kind = path.extname(file).toLowerCase() === ".json" ? "JSON" : "YAML";
  let parsed: unknown;
  try {
    parsed = kind === "JSON" ? JSON.parse(text) : YAML.parse(text);
  } catch (error) {
    throw new ConfigError(`config file ${file}: not valid ${kind}: ${(error as Error).message.split("\n")[0]}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new ConfigError(`config file ${file}: the top level must be a mapping of sections`);
  }
  return parsed as Record<string, unknown>;
}

interface Override {
  readonly variable: string;
  readonly path: readonly string[];
}

/** Writes the prefixed variables into `raw` (creating sections as needed); returns which set what. */
function applyEnv(raw: Record<string, unknown>, prefix: string, env: NodeJS.ProcessEnv): Override[] {
  const applied: Override[] = [];
  for (const [variable, value] of Object.entries(env)) {
    const fieldPath = envFieldPath(prefix, variable);
    if (fieldPath === undefined || value === undefined) continue;
    let node = raw;
    for (const key of fieldPath.slice(0, -1)) {
      const next = Object.hasOwn(node, key) ? node[key] : undefined;
      if (typeof next !== "object" || next === null || Array.isArray(next)) node[key] = {};
      node = node[key] as Record<string, unknown>;
    }
    node[fieldPath[fieldPath.length - 1]!] = value;
    applied.push({ variable, path: fieldPath });
  }
  return applied;
}

/**
 * Validates an assembled config object. `sourceOf` says where a field's value came from, for the
 * error message. Throws ConfigError listing every bad field as `path: problem (source)`.
 */
export function parseConfigWith<S extends z.ZodType>(
  schema: S,
  raw: unknown,
  what: string,
  sourceOf: (fieldPath: readonly string[]) => string = () => "not set",
): z.output<S> {
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const fieldPath = issue.path.map(String);
    const keys = issue.code === "unrecognized_keys" ? issue.keys.map((k) => [...fieldPath, k]) : [fieldPath];
    const where = fieldPath.length === 0 ? "(top level)" : fieldPath.join(".");
    const problem =
      issue.code === "unrecognized_keys"
        ? `unknown field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${k}"`).join(", ")}`
        : issue.code === "invalid_type" && /received undefined$/.test(issue.message)
          ? "required"
          : issue.message;
    return `  ${where}: ${problem} (${sourceOf(keys[0] ?? fieldPath)})`;
  });
  throw new ConfigError(`invalid ${what} configuration:\n${lines.join("\n")}`);
}

/** Loads the file (if any), applies the environment variables under `prefix`, validates with `schema`. */
export function loadConfigWith<S extends z.ZodType>(
  schema: S,
  options: { file: string | undefined; env: NodeJS.ProcessEnv; prefix: string; what: string },
): z.output<S> {
  const stray = strayVariables(options.prefix, options.env);
  if (stray.length > 0) {
    const roles = Object.values(ENV_PREFIXES).join(", ");
    throw new ConfigError(
      `${stray.join(", ")}: not a Veil configuration variable. They are <PREFIX><SECTION>__<FIELD> in SCREAMING_SNAKE_CASE, the prefix one of ${roles} (docs/config.md)`,
    );
  }
  const raw = options.file === undefined ? {} : readConfigFile(options.file);
  const overrides = applyEnv(raw, options.prefix, options.env);
  return parseConfigWith(schema, raw, options.what, (fieldPath) => {
    const fromEnv = overrides.find((o) => fieldPath.slice(0, o.path.length).every((seg, i) => o.path[i] === seg));
    if (fromEnv !== undefined) return `from ${fromEnv.variable}`;
    return options.file === undefined ? "not set" : `in ${options.file}`;
  });
}
