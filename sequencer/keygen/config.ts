/**
 * The key generator's configuration: a YAML or JSON file, overridden field by field by environment
 * variables named `VEIL_KEYGEN__<SECTION>__<FIELD>` (e.g. `VEIL_KEYGEN__RPC__PORT`), validated with
 * zod. The `KEYGEN` segment keeps these apart from the node's `VEIL_<SECTION>__<FIELD>` variables, so
 * a node and a key generator can share one environment. Errors name the field; the signing key is
 * never echoed.
 */
import { z } from "zod";
import {
  address,
  boolean,
  httpUrl,
  int,
  l1Contracts,
  listFromEnv,
  logSection,
  positiveId,
  rpcServerSection,
  signingKey,
} from "../config/fields";
import { ENV_PREFIXES, loadConfigWith, parseConfigWith } from "../config/layered";

export const keygenConfigSchema = z.strictObject({
  keygen: z.strictObject({
    /** The generator's secp256k1 key: its address is its identity in the registry's committee. */
    signingKey: signingKey(),
  }),
  /** The rollups this generator serves (it must be in each one's on-chain committee). */
  rollups: listFromEnv(z.array(positiveId("a rollup id"))).refine((ids) => ids.length > 0, {
    error: "serve at least one rollup",
  }),
  /** Where the other committee members answer JSON-RPC; the registry says who is in a committee. */
  committee: listFromEnv(z.array(z.strictObject({ address, url: httpUrl }))).default([]),
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
  rpc: rpcServerSection({
    port: 8560,
    maxBodyBytes: { max: 16 * 1024 * 1024, default: 256 * 1024 },
    maxBatchSize: { max: 1_000, default: 20 },
    rateLimit: { ratePerSecond: 200, burst: 400 },
  }),
  storage: z.strictObject({ path: z.string().min(1) }),
  l1: z.strictObject({
    rpcUrl: httpUrl,
    contracts: l1Contracts,
  }),
  timeouts: z
    .strictObject({
      peerRequestMs: int(1, 600_000).default(3_000),
      shutdownGraceMs: int(0, 600_000).default(5_000),
    })
    .prefault({}),
  log: logSection,
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
