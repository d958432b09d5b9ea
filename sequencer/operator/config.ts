/**
 * The rollup operator's configuration: a YAML or JSON file, overridden field by field by environment
 * variables named `VEIL_OPERATOR__<SECTION>__<FIELD>` (e.g. `VEIL_OPERATOR__L2__RPC_URL`), validated
 * with zod through the shared layered loader. Errors name the field and its source; the signing key
 * is never echoed.
 */
import { z } from "zod";
import { httpUrl, int, l1Contracts, listFromEnv, logSection, positiveId, signingKey } from "../config/fields";
import { ENV_PREFIXES, loadConfigWith, parseConfigWith } from "../config/layered";

export const operatorConfigSchema = z.strictObject({
  operator: z.strictObject({
    /** A registered executor of the rollup: it signs every FinalizeRequest. */
    signingKey: signingKey(),
    rollupId: positiveId("a rollup id"),
    /** Where progress is kept (written atomically); the operator resumes from it after a restart. */
    stateFile: z.string().min(1),
    /** One sequencer block, and one L2 block, per this many milliseconds. */
    blockTimeMs: int(100, 3_600_000).default(2_000),
    /** How long a FinalizeRequest signature stays valid (its EIP-712 deadline is now + this). */
    requestDeadlineSeconds: int(5, 86_400).default(120),
    /** The height to start from when there is no state file (default: the cluster's open height). */
    startHeight: int(0, Number.MAX_SAFE_INTEGER).optional(),
  }),
  sequencer: z.strictObject({
    /** Any members of the cluster: followers forward finalize_block to the leader. */
    urls: listFromEnv(z.array(httpUrl).min(1, { error: "list at least one sequencer node" })),
    /** One finalize_block may wait for the round key and the decryption of the whole block. */
    requestTimeoutMs: int(100, 600_000).default(60_000),
    /** Pause before the next attempt after every node failed. */
    retryDelayMs: int(10, 600_000).default(1_000),
  }),
  l2: z.strictObject({
    rpcUrl: httpUrl,
    requestTimeoutMs: int(100, 600_000).default(10_000),
  }),
  l1: z.strictObject({
    /** Read for the chain id (the EIP-712 domain) and the leader schedule. */
    rpcUrl: httpUrl,
    contracts: l1Contracts,
  }),
  rpc: z
    .strictObject({
      /** /health, /metrics and the operator_status JSON-RPC method. */
      host: z.string().min(1).default("127.0.0.1"),
      port: int(0, 65_535).default(8580),
    })
    .prefault({}),
  log: logSection,
});

export type OperatorConfig = z.infer<typeof operatorConfigSchema>;
export type OperatorConfigInput = z.input<typeof operatorConfigSchema>;

/** Parses an already-assembled config object (tests, embedding). Throws ConfigError naming each bad field. */
export function parseOperatorConfig(raw: unknown): OperatorConfig {
  return parseConfigWith(operatorConfigSchema, raw, "rollup operator");
}

/** Loads the file (if any), applies the `VEIL_OPERATOR__*` variables, validates. Throws ConfigError. */
export function loadOperatorConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env): OperatorConfig {
  return loadConfigWith(operatorConfigSchema, { file, env, prefix: ENV_PREFIXES.operator, what: "rollup operator" });
}
