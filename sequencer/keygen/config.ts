/**
 * The key generator's configuration: a YAML or JSON file, overridden field by field by environment
 * variables named `VEIL_KEYGEN__<SECTION>__<FIELD>` (e.g. `VEIL_KEYGEN__RPC__PORT`), validated with
 * zod. The `KEYGEN` segment keeps these apart from the node's `VEIL_<SECTION>__<FIELD>` variables, so
 * a node and a key generator can share one environment. Errors name the field; the signing key is
 * never echoed.
 */
import { getAddress, isAddress } from "ethers";
import { z } from "zod";
import { ENV_PREFIXES, loadConfigWith, parseConfigWith } from "../config/layered";
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

/** Parses an already-assembled config object (tests, embedding). Throws ConfigError naming each bad field. */
export function parseKeygenConfig(raw: unknown): KeygenConfig {
  return parseConfigWith(keygenConfigSchema, raw, "key generator");
}

/** Loads the file (if any), applies the `VEIL_KEYGEN__*` variables, validates. Throws ConfigError naming each bad field. */
export function loadKeygenConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env): KeygenConfig {
  return loadConfigWith(keygenConfigSchema, { file, env, prefix: ENV_PREFIXES.keygen, what: "key generator" });
}
