/**
 * The node's configuration: a YAML or JSON file, overridden field by field by environment variables
 * named `VEIL_<SECTION>__<FIELD>` (segments in SCREAMING_SNAKE_CASE, `__` between levels, e.g.
 * `VEIL_NODE__RPC__PORT`, `VEIL_NODE__L1__CONTRACTS__CLUSTER_REGISTRY`), validated with zod into a typed config.
 * Errors name the field and where its value came from; they never echo the signing key.
 */
import { z } from "zod";
import {
  httpUrl,
  int,
  l1Contracts,
  listFromEnv,
  logSection,
  numberFromEnv,
  proxyAddress,
  rateLimitSection,
  rpcServerSection,
  signingKey,
} from "../config/fields";
import { ConfigError, ENV_PREFIXES, envFieldPath, loadConfigWith } from "../config/layered";

export { ConfigError };

const UINT256 = /^(0x[0-9a-fA-F]{1,64}|\d{1,78})$/;
const uint256 = z
  .union([z.string(), z.number()])
  .refine((v) => (typeof v === "number" ? Number.isSafeInteger(v) && v >= 0 : UINT256.test(v)), {
    error: "expected a non-negative integer (decimal or 0x hex)",
    abort: true,
  })
  .transform((v) => BigInt(v))
  .refine((v) => v < 2n ** 256n, { error: "does not fit in 256 bits" });

export const configSchema = z.strictObject({
  node: z.strictObject({
    /** The node's secp256k1 key: it signs order commitments, seals and cluster messages. */
    signingKey: signingKey("expected a 32-byte hex private key (0x followed by 64 hex digits)"),
  }),
  cluster: z.strictObject({
    /** The cluster's id in ClusterRegistry (uint256). */
    id: uint256,
    /** Other members' JSON-RPC URLs (until discovery from the registry replaces them). */
    peers: listFromEnv(z.array(httpUrl), { json: false }).default([]),
  }),
  rpc: rpcServerSection({
    port: 8550,
    maxBodyBytes: { max: 64 * 1024 * 1024, default: 1024 * 1024 },
    maxBatchSize: { max: 10_000, default: 100 },
    rateLimit: { ratePerSecond: 500, burst: 1_000 },
  })
    .unwrap()
    .extend({
      /**
       * Body limit of the members' path (`/cluster`, cluster_* methods only). A view change and state
       * transfer carry a height's whole log in one message, and the leader admits no entry that would
       * make the log outgrow this limit (docs/ordering.md, "Message size"): every member needs the same value.
       */
      clusterMaxBodyBytes: int(1024 * 1024, 256 * 1024 * 1024).default(64 * 1024 * 1024),
      /**
       * Per-client bucket of `/cluster`, apart from `rateLimit` so that members' messages never compete
       * with public calls from their address. A member sends one message at a time to each peer, so
       * it stays far below this; what it bounds is envelope checks (hashing, signature recovery) for
       * anyone else who reaches the path.
       */
      clusterRateLimit: rateLimitSection({ ratePerSecond: 5_000, burst: 10_000 }),
    })
    .prefault({}),
  storage: z.strictObject({
    /** Directory of the node's LevelDB database; created if missing. */
    path: z.string().min(1),
  }),
  l1: z.strictObject({
    rpcUrl: httpUrl,
    contracts: l1Contracts,
    /** The forced-inclusion cut of this node's seals, and how far another's may be to sign it (inbox-cut.ts). */
    inbox: z
      .strictObject({
        confirmations: int(1, 1_000).default(2),
        maxLagBlocks: int(0, 100_000).default(8),
      })
      .prefault({}),
  }),
  limits: z
    .strictObject({
      maxCiphertextBytes: int(32, 16 * 1024 * 1024).default(64 * 1024),
      maxTxPerBlock: int(1, 2 ** 32 - 1).default(100_000),
      maxLookaheadHeights: int(0, 1_000_000).default(64),
    })
    .prefault({}),
  timeouts: z
    .strictObject({
      peerRequestMs: int(1, 600_000).default(2_000),
      l1RequestMs: int(1, 600_000).default(10_000),
      heartbeatIntervalMs: int(1, 600_000).default(100),
      leaderTimeoutMs: int(1, 600_000).default(400),
      shutdownGraceMs: int(0, 600_000).default(5_000),
    })
    .prefault({}),
  ordering: z
    .strictObject({
      /**
       * Share of replicated encrypted entries a follower checks completely: leaf recomputed from the
       * ciphertext and proof re-verified (1: all of them). The others keep the leaf their leader signed
       * (docs/ordering.md, "What a follower's unrecomputed leaf trusts").
       */
      followerProofSampleRate: numberFromEnv(z.number().min(0).max(1)).default(0.05),
      /**
       * Share of replicated entries whose own OrderCommitment signature a follower recovers on the
       * append path (the leader's envelope signature covers every entry; see docs/ordering-performance.md).
       * View changes and recovery always check every entry's signature.
       */
      followerSignatureSampleRate: numberFromEnv(z.number().min(0).max(1)).default(0.05),
    })
    .prefault({}),
  keyGenerator: z
    .strictObject({
      /** JSON-RPC URL of the key-generator service (serves get_round_key). */
      url: httpUrl.optional(),
      /**
       * More key generators to ask for reveals and round secrets; the committee's URLs are also learnt
       * from `get_committee` of every configured one.
       */
      urls: listFromEnv(z.array(httpUrl), { json: false }).default([]),
      /** How long each generator has to answer `reveal_share`. */
      revealTimeoutMs: int(1, 600_000).default(5_000),
      /** How long to wait for the round secret (a generator's solver may be running) before giving up. */
      secretWaitMs: int(0, 3_600_000).default(120_000),
    })
    .prefault({}),
  blocks: z
    .strictObject({
      /**
       * L2 chain id per rollup (decimal rollup id → chain id): transactions signed for another chain are
       * invalid slots. Validators must use the same map, or their rawRoot differs.
       */
      chainIds: z.record(z.string().regex(/^[0-9]{1,20}$/), uint256).default({}),
      /** Worker threads that decrypt large blocks (started on the first block that needs them). */
      decryptThreads: int(1, 64).default(2),
    })
    .prefault({}),
  health: z
    .strictObject({
      /**
       * Readiness fails while this node's highest sealed height of a rollup is more than this many heights
       * behind the highest one enough other members say they sealed (docs/node.md, "Health").
       */
      maxLagHeights: int(0, 1_000_000).default(4),
    })
    .prefault({}),
  /**
   * Switches that make this node misbehave on purpose, for tests and the demo of forced inclusion. The node
   * refuses to start with any of them on a chain other than a development chain (DEVELOPMENT_CHAIN_IDS).
   */
  testing: z
    .strictObject({
      /**
       * Client addresses or CIDR blocks (as the rate limiter names them: the TCP peer, or X-Forwarded-For from a trusted
       * proxy) whose submissions this node refuses with UNAUTHORIZED, whether it leads their height or would
       * forward them: a leader that censors a sender by the only thing it sees of them, the network.
       */
      censorClients: listFromEnv(z.array(proxyAddress), { json: false }).default([]),
    })
    .prefault({}),
  log: logSection,
});

/** Hardhat's and Anvil's chain id: the only L1 on which a node accepts the `testing` switches. */
export const DEVELOPMENT_CHAIN_IDS: ReadonlySet<bigint> = new Set([31_337n]);

export type NodeConfig = z.infer<typeof configSchema>;

/** Maps `VEIL_NODE__RPC__RATE_LIMIT__BURST` to ["rpc", "rateLimit", "burst"]; other variables to undefined. */
export const envVarPath = (name: string): string[] | undefined => envFieldPath(ENV_PREFIXES.node, name);

/**
 * Loads and validates the configuration. `file` may be omitted to configure from the environment
 * alone. Throws ConfigError listing every bad field as `path: problem (source)`.
 */
export function loadConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env): NodeConfig {
  return loadConfigWith(configSchema, { file, env, prefix: ENV_PREFIXES.node, what: "node" });
}
