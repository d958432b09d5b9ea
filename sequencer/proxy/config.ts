/**
 * The encrypting RPC's configuration: a YAML or JSON file, overridden field by field by environment
 * variables `VEIL_PROXY__<SECTION>__<FIELD>` (SCREAMING_SNAKE_CASE segments, e.g. `VEIL_PROXY__L2__RPC_URL`,
 * `VEIL_PROXY__ROLLUP_ID`), validated with zod. Errors name the field and where its value came from.
 */
import { getAddress, isAddress } from "ethers";
import { readFileSync } from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { z } from "zod";

export class ProxyConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ProxyConfigError";
  }
}

const fromEnvNumber = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (typeof v === "string" && /^\s*\d+\s*$/.test(v) ? Number(v) : v), schema);
const int = (min: number, max: number) => fromEnvNumber(z.number().int().min(min).max(max));
const httpUrl = z.url({ protocol: /^https?$/, error: "expected an http(s) URL" });
const address = z
  .string()
  .refine((v) => isAddress(v), { error: "expected a 20-byte hex address" })
  .transform((v) => getAddress(v));
const uint64 = z
  .union([z.string().regex(/^(0|[1-9][0-9]*)$/, "expected a decimal integer"), z.number().int().nonnegative().safe()])
  .transform((v) => BigInt(v))
  .refine((v) => v < 1n << 64n, "must fit uint64");
const hexInteger = z
  .string()
  .regex(/^0x[0-9a-fA-F]+$/, "expected 0x-hex")
  .transform((v) => BigInt(v));

export const proxyConfigSchema = z.strictObject({
  listen: z
    .strictObject({
      host: z.string().min(1).default("127.0.0.1"),
      port: int(0, 65_535).default(8547),
      /** Largest HTTP body accepted (a batch of requests). */
      maxBodyBytes: int(1_024, 64 * 1024 * 1024).default(1024 * 1024),
    })
    .prefault({}),
  /** The rollup this endpoint serves; its L2 chain id is the rollup id unless `l2.chainId` says otherwise. */
  rollupId: uint64.refine((v) => v > 0n, "must be non-zero"),
  l2: z.strictObject({
    rpcUrl: httpUrl,
    chainId: uint64.optional(),
    timeoutMs: int(100, 600_000).default(30_000),
  }),
  /** A Veil sequencer node (any member: followers forward to the leader). */
  node: z.strictObject({
    rpcUrl: httpUrl,
    timeoutMs: int(100, 600_000).default(30_000),
  }),
  l1: z.strictObject({
    rpcUrl: httpUrl,
    registry: address,
    validationServiceManager: address,
    /** The deployment block, where the search for block commitments starts. */
    fromBlock: int(0, Number.MAX_SAFE_INTEGER).default(0),
  }),
  sequencing: z
    .strictObject({
      /** The rollup's block time: with the measured proving time it sets the look-ahead. */
      blockTimeMs: int(100, 3_600_000).default(2_000),
      /** Key generators that must have contributed to a round key (default: the whole committee). */
      minContributors: int(1, 1024).optional(),
      maxAttempts: int(1, 20).default(3),
    })
    .prefault({}),
  /** The rollup's published h = g^(2^T) and its proof; without them the proxy squares T times at start. */
  timelock: z.strictObject({ h: hexInteger, hProof: hexInteger }).optional(),
  log: z
    .strictObject({ level: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info") })
    .prefault({}),
});

export type ProxyConfig = z.output<typeof proxyConfigSchema>;

const ENV_PREFIX = "VEIL_PROXY__";

/** Maps `VEIL_PROXY__L2__RPC_URL` to ["l2", "rpcUrl"]; other variables to undefined. */
export function proxyEnvPath(name: string): string[] | undefined {
  if (!name.startsWith(ENV_PREFIX)) return undefined;
  const segments = name.slice(ENV_PREFIX.length).split("__");
  if (segments.some((s) => !/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/.test(s))) return undefined;
  return segments.map((s) => s.toLowerCase().replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase()));
}

function readFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new ProxyConfigError(
      `config file ${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? "error"})`,
    );
  }
  let parsed: unknown;
  try {
    parsed = path.extname(file).toLowerCase() === ".json" ? JSON.parse(text) : YAML.parse(text);
  } catch (error) {
    throw new ProxyConfigError(`config file ${file}: does not parse: ${(error as Error).message.split("\n")[0]}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new ProxyConfigError(`config file ${file}: the top level must be a mapping`);
  }
  return parsed as Record<string, unknown>;
}

/** Loads the file (if any), applies the environment, validates. Throws ProxyConfigError listing every bad field. */
export function loadProxyConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env): ProxyConfig {
  const raw = file === undefined ? {} : readFile(file);
  const fromEnv = new Map<string, string>();
  for (const [variable, value] of Object.entries(env)) {
    const fieldPath = proxyEnvPath(variable);
    if (fieldPath === undefined || value === undefined) continue;
    let node: Record<string, unknown> = raw;
    for (const key of fieldPath.slice(0, -1)) {
      const next = Object.hasOwn(node, key) ? node[key] : undefined;
      if (typeof next !== "object" || next === null || Array.isArray(next)) node[key] = {};
      node = node[key] as Record<string, unknown>;
    }
    node[fieldPath[fieldPath.length - 1]!] = value;
    fromEnv.set(fieldPath.join("."), variable);
  }
  const parsed = proxyConfigSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((issue) => {
    const field = issue.path.join(".") || "(top level)";
    const source = fromEnv.get(field) ?? file ?? "defaults";
    return `  ${field}: ${issue.message} (${source})`;
  });
  throw new ProxyConfigError(`invalid encrypting-RPC configuration:\n${lines.join("\n")}`);
}

/** The L2 chain id transactions must carry. */
export const l2ChainIdOf = (config: ProxyConfig): bigint => config.l2.chainId ?? config.rollupId;
