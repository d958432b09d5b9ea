/**
 * The key generator's configuration: a YAML or JSON file, overridden field by field by environment
 * variables named `VEIL_KEYGEN__<SECTION>__<FIELD>` (e.g. `VEIL_KEYGEN__RPC__PORT`), validated with
 * zod. The `KEYGEN` segment keeps these apart from the node's `VEIL_<SECTION>__<FIELD>` variables, so
 * a node and a key generator can share one environment. Errors name the field; the signing key is
 * never echoed.
 */
import { getAddress, isAddress } from "ethers";
import { readFileSync } from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { z } from "zod";
import { ConfigError, envVarPath } from "../node/config";
import { Secret } from "../node/secret";

const number = (schema: z.ZodNumber) =>
  z.preprocess((v) => (typeof v === "string" && /^\s*-?\d+(\.\d+)?\s*$/.test(v) ? Number(v) : v), schema);
const int = (min: number, max: number) => number(z.number().int().min(min).max(max));
const boolean = z.preprocess((v) => (v === "true" ? true : v === "false" ? false : v), z.boolean());
const httpUrl = z.url({ protocol: /^https?$/, error: "expected an http(s) URL" });
const address = z
  .string()
  .refine((v) => isAddress(v), { error: "expected a 20-byte hex address" })
  .transform((v) => getAddress(v));
const uint64 = z
  .union([z.string().regex(/^(0|[1-9]\d*|0x[0-9a-fA-F]+)$/), z.number().int().nonnegative()])
  .transform((v) => BigInt(v))
  .refine((v) => v > 0n && v < 1n << 64n, { error: "expected a rollup id in [1, 2^64)" });

const SECP256K1_ORDER = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const signingKey = z
  .string()
  .regex(/^0x[0-9a-fA-F]{64}$/, { error: "expected a 32-byte hex private key", abort: true })
  .refine((v) => BigInt(v) > 0n && BigInt(v) < SECP256K1_ORDER, { error: "not a valid secp256k1 private key" })
  .transform((v) => new Secret(v));

/** Lists arrive from the environment as JSON (`[{"address":...,"url":...}]`) or comma-separated. */
const list = <T extends z.ZodType>(item: T) =>
  z.preprocess((v) => {
    if (typeof v !== "string") return v;
    const text = v.trim();
    if (text.startsWith("[")) {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        return v;
      }
    }
    return text
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== "");
  }, z.array(item));

export const keygenConfigSchema = z.strictObject({
  keygen: z.strictObject({
    /** The generator's secp256k1 key: its address is its identity in the registry's committee. */
    signingKey,
  }),
  /** The rollups this generator serves (it must be in each one's on-chain committee). */
  rollups: list(uint64).refine((ids) => ids.length > 0, { error: "serve at least one rollup" }),
  /** Where the other committee members answer JSON-RPC; the registry says who is in a committee. */
  committee: list(z.strictObject({ address, url: httpUrl })).default([]),
  schedule: z
    .strictObject({
      /** Heights from the first unsealed one for which round keys are published. */
      lookahead: int(0, 1_000).default(4),
      /** First height to publish when no seal was seen yet. */
      startHeight: int(0, Number.MAX_SAFE_INTEGER).default(1),
      /** How often the publisher checks that every height of the window has its round key. */
      tickMs: int(10, 600_000).default(1_000),
      /** After this long, a round key is aggregated without the contributions still missing. */
      aggregationTimeoutMs: int(0, 3_600_000).default(10_000),
    })
    .prefault({}),
  solver: z
    .strictObject({
      /** After a seal, collect the committee's reveals and, if one is missing, solve the puzzle. */
      enabled: boolean.default(true),
      /** How long to wait for the other members' reveals before solving. */
      revealTimeoutMs: int(0, 600_000).default(5_000),
    })
    .prefault({}),
  rpc: z
    .strictObject({
      host: z.string().min(1).default("127.0.0.1"),
      port: int(0, 65_535).default(8560),
      maxBodyBytes: int(1_024, 16 * 1024 * 1024).default(256 * 1024),
      maxBatchSize: int(1, 1_000).default(20),
      requestTimeoutMs: int(100, 600_000).default(30_000),
      rateLimit: z
        .strictObject({
          enabled: boolean.default(true),
          ratePerSecond: number(z.number().positive()).default(200),
          burst: int(1, 1_000_000).default(400),
        })
        .prefault({}),
    })
    .prefault({}),
  storage: z.strictObject({ path: z.string().min(1) }),
  l1: z.strictObject({
    rpcUrl: httpUrl,
    contracts: z.strictObject({ clusterRegistry: address, validationServiceManager: address }),
  }),
  timeouts: z
    .strictObject({
      peerRequestMs: int(1, 600_000).default(3_000),
      shutdownGraceMs: int(0, 600_000).default(5_000),
    })
    .prefault({}),
  log: z
    .strictObject({
      level: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    })
    .prefault({}),
});

export type KeygenConfig = z.infer<typeof keygenConfigSchema>;
export type KeygenConfigInput = z.input<typeof keygenConfigSchema>;

function readFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new ConfigError(`config file ${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? "error"})`);
  }
  const json = path.extname(file).toLowerCase() === ".json";
  let parsed: unknown;
  try {
    parsed = json ? JSON.parse(text) : YAML.parse(text);
  } catch (error) {
    throw new ConfigError(`config file ${file}: not valid ${json ? "JSON" : "YAML"}: ${(error as Error).message}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new ConfigError(`config file ${file}: the top level must be a mapping of sections`);
  }
  return parsed as Record<string, unknown>;
}

/** Writes `VEIL_KEYGEN__*` variables into `raw`; returns which variable set which field. */
function applyEnv(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): Map<string, string> {
  const sources = new Map<string, string>();
  for (const [variable, value] of Object.entries(env)) {
    const full = envVarPath(variable);
    if (full === undefined || full[0] !== "keygen" || full.length < 2 || value === undefined) continue;
    // VEIL_KEYGEN__KEYGEN__SIGNING_KEY sets keygen.signingKey; VEIL_KEYGEN__RPC__PORT sets rpc.port.
    const fieldPath = full.slice(1);
    let node = raw;
    for (const key of fieldPath.slice(0, -1)) {
      const next = Object.hasOwn(node, key) ? node[key] : undefined;
      if (typeof next !== "object" || next === null || Array.isArray(next)) node[key] = {};
      node = node[key] as Record<string, unknown>;
    }
    node[fieldPath[fieldPath.length - 1]!] = value;
    sources.set(fieldPath.join("."), variable);
  }
  return sources;
}

/** Parses an already-assembled config object (tests, embedding). */
export function parseKeygenConfig(raw: unknown, describeSource: (field: string) => string = () => ""): KeygenConfig {
  const result = keygenConfigSchema.safeParse(raw);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const field = issue.path.map(String).join(".") || "(top level)";
    const problem =
      issue.code === "unrecognized_keys"
        ? `unknown field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${k}"`).join(", ")}`
        : issue.code === "invalid_type" && /received undefined$/.test(issue.message)
          ? "required"
          : issue.message;
    const source = describeSource(field);
    return `  ${field}: ${problem}${source === "" ? "" : ` (${source})`}`;
  });
  throw new ConfigError(`invalid key generator configuration:\n${lines.join("\n")}`);
}

/** Loads the file (if any), applies the environment, validates. Throws ConfigError naming each bad field. */
export function loadKeygenConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env): KeygenConfig {
  const raw = file === undefined ? {} : readFile(file);
  const fromEnv = applyEnv(raw, env);
  return parseKeygenConfig(raw, (field) => {
    for (const [set, variable] of fromEnv) if (field === set || field.startsWith(`${set}.`)) return `from ${variable}`;
    return file === undefined ? "not set" : `in ${file}`;
  });
}
