/**
 * The encrypting RPC's configuration: a YAML or JSON file, overridden field by field by environment
 * variables `VEIL_PROXY__<SECTION>__<FIELD>` (SCREAMING_SNAKE_CASE segments, e.g. `VEIL_PROXY__L2__RPC_URL`,
 * `VEIL_PROXY__ROLLUP_ID`), validated with zod. Errors name the field and where its value came from.
 */
import { z } from "zod";
import { boolean, httpUrl, int, l1Contracts, logSection, proxyAddress, signingKey, uint64 } from "../config/fields";
import { ENV_PREFIXES, envFieldPath, loadConfigWith } from "../config/layered";

// Only unsigned integers are read from the environment's strings; "-1" or "1.5" is refused as a string.
const unsignedInt = (min: number, max: number) => int(min, max, "unsigned-integer");
/** Rollup and chain ids: decimal only; 0 is refused where it means nothing (the rollup id). */
const decimalUint64 = uint64({
  hex: false,
  min: 0n,
  formatError: "expected a decimal integer",
  rangeError: "must fit uint64",
});

export const proxyConfigSchema = z.strictObject({
  /** The wallets' endpoint (Ethereum JSON-RPC), as every role names its own server. */
  rpc: z
    .strictObject({
      host: z.string().min(1).default("127.0.0.1"),
      port: unsignedInt(0, 65_535).default(8547),
      /** Largest HTTP body accepted (a batch of requests). */
      maxBodyBytes: unsignedInt(1_024, 64 * 1024 * 1024).default(1024 * 1024),
    })
    .prefault({}),
  /** The rollup this endpoint serves; its L2 chain id is the rollup id unless `l2.chainId` says otherwise. */
  rollupId: decimalUint64.refine((v) => v > 0n, "must be non-zero"),
  l2: z.strictObject({
    rpcUrl: httpUrl,
    chainId: decimalUint64.optional(),
    timeoutMs: unsignedInt(100, 600_000).default(30_000),
  }),
  /** A Veil sequencer node (any member: followers forward to the leader). */
  node: z.strictObject({
    url: httpUrl,
    timeoutMs: unsignedInt(100, 600_000).default(30_000),
    /** The local IP address the connections to the node leave from (a multi-homed host; default: the OS's choice). */
    localAddress: proxyAddress.refine((v) => !v.includes("/"), "expected an IP address").optional(),
  }),
  l1: z.strictObject({
    rpcUrl: httpUrl,
    contracts: l1Contracts,
    /** The deployment's first block (deployments/<network>.json): the search for block commitments starts there. */
    deployBlock: unsignedInt(0, Number.MAX_SAFE_INTEGER).default(0),
  }),
  sequencing: z
    .strictObject({
      /** The rollup's block time: with the measured proving time it sets the look-ahead. */
      blockTimeMs: unsignedInt(100, 3_600_000).default(2_000),
      /** Key generators that must have contributed to a round key (default: the whole committee). */
      minContributors: unsignedInt(1, 1024).optional(),
      maxAttempts: unsignedInt(1, 20).default(3),
    })
    .prefault({}),
  /** What a transaction must pass before it is proven (docs/sdk.md, "Pre-checks"). */
  precheck: z
    .strictObject({
      /** How far beyond the sender's next nonce a transaction may be; 0 refuses every gap. */
      nonceWindow: unsignedInt(0, 1_024).default(0),
      /** The most gas one transaction may ask for, besides the L2's block gas limit (EIP-7825: 2^24). */
      maxTxGas: unsignedInt(21_000, Number.MAX_SAFE_INTEGER).default(16_777_216),
    })
    .prefault({}),
  /** Transactions ordered through this endpoint and not executed yet. */
  pending: z
    .strictObject({
      /** After this long an unexecuted transaction stops counting (the rollup skipped it at execution). */
      maxAgeMs: unsignedInt(1_000, 86_400_000).default(300_000),
    })
    .prefault({}),
  /**
   * The fallback around a sequencer that refuses or ignores this endpoint's transactions: after
   * `afterFailures` such sends, the transaction is forced through the L1 inbox, `l1Key` paying the inbox fee
   * and the gas (docs/forced-inclusion.md, "Clients"). Off by default: it spends L1 funds.
   */
  force: z
    .strictObject({
      enabled: boolean.default(false),
      afterFailures: unsignedInt(1, 100).default(3),
      retryDelayMs: unsignedInt(0, 60_000).default(500),
      l1Key: signingKey().optional(),
    })
    .prefault({})
    .refine((f) => !f.enabled || f.l1Key !== undefined, {
      error: "force.enabled needs force.l1Key (the L1 key that pays the inbox fee)",
      path: ["l1Key"],
    }),
  log: logSection,
});

export type ProxyConfig = z.output<typeof proxyConfigSchema>;

/** Maps `VEIL_PROXY__L2__RPC_URL` to ["l2", "rpcUrl"]; other variables to undefined. */
export const proxyEnvPath = (name: string): string[] | undefined => envFieldPath(ENV_PREFIXES.proxy, name);

/** Loads the file (if any), applies the `VEIL_PROXY__*` variables, validates. Throws ConfigError listing every bad field. */
export function loadProxyConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env): ProxyConfig {
  return loadConfigWith(proxyConfigSchema, { file, env, prefix: ENV_PREFIXES.proxy, what: "encrypting-RPC" });
}

/** The L2 chain id transactions must carry. */
export const l2ChainIdOf = (config: ProxyConfig): bigint => config.l2.chainId ?? config.rollupId;
