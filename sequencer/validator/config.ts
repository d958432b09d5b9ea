/**
 * The validator's configuration: a YAML or JSON file, overridden field by field by environment
 * variables named `VEIL_VALIDATOR__<SECTION>__<FIELD>` (e.g. `VEIL_VALIDATOR__POLL__INTERVAL_MS`),
 * validated with zod through the shared layered loader. Errors name the field and its source; the
 * operator key is never echoed.
 */
import { z } from "zod";
import {
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

/** Rollup and chain ids; a value of the wrong type is named as well as one out of range. */
const id = (what: string) => positiveId(what, `expected ${what} as a decimal or 0x-hex integer`);

export const validatorConfigSchema = z.strictObject({
  validator: z.strictObject({
    /** The operator's secp256k1 key: it signs OperatorResponses and pays for respondToTask. */
    signingKey: signingKey(),
  }),
  l1: z.strictObject({
    rpcUrl: httpUrl,
    /** The L1 chain id of the EIP-712 domain; asked from the L1 when not set. */
    chainId: id("a chain id").optional(),
    contracts: l1Contracts,
    /** The deployment's first block (deployments/<network>.json): the scan for TaskCreated starts there. */
    deployBlock: int(0, Number.MAX_SAFE_INTEGER).default(0),
  }),
  /** This operator's own sequencer node (a cluster member): the replicated entries come from it. */
  node: z.strictObject({ url: httpUrl }),
  /** Key generators asked, in order, for a sealed round's secret. */
  keyGenerators: listFromEnv(z.array(httpUrl)).refine((urls) => urls.length > 0, {
    error: "list at least one key generator",
  }),
  /** Other validators' JSON-RPC URLs: their `get_task_response` votes are aggregated with this one's. */
  peers: listFromEnv(z.array(httpUrl)).default([]),
  /** The L2 chain id of each rollup, checked when decoding its transactions; rollups not listed skip the check. */
  rollups: listFromEnv(z.array(z.strictObject({ rollupId: id("a rollup id"), chainId: id("a chain id") })))
    .default([])
    .refine((rs) => new Set(rs.map((r) => r.rollupId)).size === rs.length, { error: "a rollup is listed twice" }),
  rpc: rpcServerSection({
    port: 8570,
    maxBodyBytes: { max: 16 * 1024 * 1024, default: 64 * 1024 },
    maxBatchSize: { max: 1_000, default: 20 },
    rateLimit: { ratePerSecond: 200, burst: 400 },
  }),
  /** The vote store (JSON lines, fsynced): the one answer this operator gave to each task. */
  storage: z.strictObject({ votesPath: z.string().min(1) }),
  blocks: z
    .strictObject({
      /** Worker threads that decrypt and hash large blocks (started on the first block that needs them). */
      decryptThreads: int(1, 64).default(2),
    })
    .prefault({}),
  poll: z
    .strictObject({
      /** Pause between the end of one poll and the start of the next (polls never overlap). */
      intervalMs: int(10, 3_600_000).default(2_000),
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
  log: logSection,
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
