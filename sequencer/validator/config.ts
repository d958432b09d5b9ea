/**
 * The validator's configuration: a YAML or JSON file, overridden field by field by environment
 * variables named `VEIL_VALIDATOR__<SECTION>__<FIELD>` (e.g. `VEIL_VALIDATOR__POLL__INTERVAL_MS`),
 * validated with zod through the shared layered loader. Errors name the field and its source; the
 * operator key is never echoed.
 */
import { getAddress, isAddress } from "ethers";
import { z } from "zod";
import { ENV_PREFIXES, loadConfigWith, parseConfigWith } from "../config/layered";
import { Secret } from "../node/secret";

// Environment variables are strings: numbers, booleans and lists are converted before validation.
const number = (schema: z.ZodNumber) =>
  z.preprocess((v) => (typeof v === "string" && /^\s*-?\d+(\.\d+)?\s*$/.test(v) ? Number(v) : v), schema);
const int = (min: number, max: number) => number(z.number().int().min(min).max(max));
const boolean = z.preprocess((v) => (v === "true" ? true : v === "false" ? false : v), z.boolean());
const httpUrl = z.url({ protocol: /^https?$/, error: "expected an http(s) URL" });
const address = z
  .string()
  .refine((v) => isAddress(v), { error: "expected a 20-byte hex address" })
  .transform((v) => getAddress(v));
/** A positive integer below 2^64 given as a decimal or 0x-hex string or a safe integer (rollup and chain ids). */
const uint64 = (what: string) =>
  z
    .union([z.string().regex(/^(0|[1-9]\d*|0x[0-9a-fA-F]+)$/), z.number().int().nonnegative()], {
      error: `expected ${what} as a decimal or 0x-hex integer`,
    })
    .transform((v) => BigInt(v))
    .refine((v) => v > 0n && v < 1n << 64n, { error: `expected ${what} in [1, 2^64)` });

const SECP256K1_ORDER = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const signingKey = z
  .string()
  .regex(/^0x[0-9a-fA-F]{64}$/, { error: "expected a 32-byte hex private key", abort: true })
  .refine((v) => BigInt(v) > 0n && BigInt(v) < SECP256K1_ORDER, { error: "not a valid secp256k1 private key" })
  .transform((v) => new Secret(v));

/** Lists arrive from the environment as JSON (`[...]`) or comma-separated. */
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

export const validatorConfigSchema = z.strictObject({
  validator: z.strictObject({
    /** The operator's secp256k1 key: it signs OperatorResponses and pays for respondToTask. */
    signingKey,
  }),
  l1: z.strictObject({
    rpcUrl: httpUrl,
    /** The L1 chain id of the EIP-712 domain; asked from the L1 when not set. */
    chainId: uint64("a chain id").optional(),
    contracts: z.strictObject({ clusterRegistry: address, validationServiceManager: address }),
  }),
  /** This operator's own sequencer node (a cluster member): the replicated entries come from it. */
  node: z.strictObject({ url: httpUrl }),
  /** Key generators asked, in order, for a sealed round's secret. */
  keyGenerators: list(httpUrl).refine((urls) => urls.length > 0, { error: "list at least one key generator" }),
  /** Other validators' JSON-RPC URLs: their `get_task_response` votes are aggregated with this one's. */
  peers: list(httpUrl).default([]),
  /** The L2 chain id of each rollup, checked when decoding its transactions; rollups not listed skip the check. */
  rollups: list(z.strictObject({ rollupId: uint64("a rollup id"), chainId: uint64("a chain id") }))
    .default([])
    .refine((rs) => new Set(rs.map((r) => r.rollupId)).size === rs.length, { error: "a rollup is listed twice" }),
  rpc: z
    .strictObject({
      host: z.string().min(1).default("127.0.0.1"),
      port: int(0, 65_535).default(8570),
      maxBodyBytes: int(1_024, 16 * 1024 * 1024).default(64 * 1024),
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
  /** The vote store (JSON lines, fsynced): the one answer this operator gave to each task. */
  storage: z.strictObject({ votesPath: z.string().min(1) }),
  poll: z
    .strictObject({
      /** Pause between the end of one poll and the start of the next (polls never overlap). */
      intervalMs: int(10, 3_600_000).default(2_000),
      /** First L1 block scanned for TaskCreated (the VSM's deployment block is enough). */
      fromBlock: int(0, Number.MAX_SAFE_INTEGER).default(0),
      /** Most L1 blocks per TaskCreated log query (providers cap the range of eth_getLogs). */
      maxBlockRange: int(1, 1_000_000).default(2_000),
    })
    .prefault({}),
  timeouts: z
    .strictObject({
      /** Calls to the node, the key generators and the peers. */
      requestMs: int(1, 600_000).default(10_000),
      shutdownGraceMs: int(0, 600_000).default(5_000),
    })
    .prefault({}),
  log: z
    .strictObject({
      level: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    })
    .prefault({}),
});

export type ValidatorConfig = z.infer<typeof validatorConfigSchema>;
export type ValidatorConfigInput = z.input<typeof validatorConfigSchema>;

/** Parses an already-assembled config object (tests, embedding). Throws ConfigError naming each bad field. */
export function parseValidatorConfig(raw: unknown): ValidatorConfig {
  return parseConfigWith(validatorConfigSchema, raw, "validator");
}

/** Loads the file (if any), applies the `VEIL_VALIDATOR__*` variables, validates. Throws ConfigError naming each bad field. */
export function loadValidatorConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env): ValidatorConfig {
  return loadConfigWith(validatorConfigSchema, { file, env, prefix: ENV_PREFIXES.validator, what: "validator" });
}

/** The L2 chain id of each configured rollup, as the Validator takes it. */
export const chainIdsOf = (config: ValidatorConfig): ReadonlyMap<bigint, bigint> =>
  new Map(config.rollups.map((r) => [r.rollupId, r.chainId]));
