/**
 * The node's own block metrics. The registry they live on comes from common/metrics.ts (every role
 * has one); the RPC server's metrics are in rpc/metrics.ts and the ordering ones in ordering-metrics.ts.
 */
import { execFileSync } from "node:child_process";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

export interface BlockMetrics {
  /** Seconds from the start of building (round secret in hand) to the block stored, by role. */
  readonly buildSeconds: Histogram<"role">;
  /** Seconds spent obtaining the round secret, by path (reveals or the key generators' round secret). */
  readonly secretSeconds: Histogram<"path">;
  readonly blocksFinalized: Counter<"role">;
  readonly invalidSlots: Counter<"reason">;
  readonly vsmTaskFailures: Counter<"cause">;
  /** BlockBuilt messages a follower refused, by error name. */
  readonly blocksRefused: Counter<"error">;
}

export function createBlockMetrics(registry: Registry): BlockMetrics {
  return {
    buildSeconds: new Histogram({
      name: "veil_block_build_seconds",
      help: "Decrypt-and-build time of a block (leader: to the answer; follower: the rebuild), by role",
      labelNames: ["role"] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    secretSeconds: new Histogram({
      name: "veil_round_secret_seconds",
      help: "Time to obtain a round secret from the key generators, by path",
      labelNames: ["path"] as const,
      buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 120],
      registers: [registry],
    }),
    blocksFinalized: new Counter({
      name: "veil_blocks_finalized_total",
      help: "Blocks built and stored, by role (leader or follower)",
      labelNames: ["role"] as const,
      registers: [registry],
    }),
    invalidSlots: new Counter({
      name: "veil_block_invalid_slots_total",
      help: "Slots of blocks built by this node as leader that are invalid, by reason",
      labelNames: ["reason"] as const,
      registers: [registry],
    }),
    vsmTaskFailures: new Counter({
      name: "veil_vsm_task_failures_total",
      help: "VSM createNewTask attempts that failed, by cause (conflict: a task with another commitment)",
      labelNames: ["cause"] as const,
      registers: [registry],
    }),
    blocksRefused: new Counter({
      name: "veil_block_built_refused_total",
      help: "BlockBuilt messages this node refused as a follower, by error name",
      labelNames: ["error"] as const,
      registers: [registry],
    }),
  };
}

let commit: string | null | undefined;

/**
 * The commit this code was built from: `VEIL_BUILD_COMMIT` if set (a packaged build), else what git says of
 * the checkout it runs from, else undefined. Asked once per process.
 */
export function buildCommit(): string | undefined {
  if (commit === undefined) {
    commit = process.env.VEIL_BUILD_COMMIT ?? null;
    if (commit === null) {
      try {
        const out = execFileSync("git", ["rev-parse", "--short=12", "HEAD"], {
          cwd: __dirname,
          timeout: 2_000,
          stdio: ["ignore", "pipe", "ignore"],
        });
        commit = out.toString().trim() || null;
      } catch {
        commit = null; // not a checkout, or no git
      }
    }
  }
  return commit ?? undefined;
}

/** `veil_build_info{version, commit}` = 1 (the registry adds the node's address as `node`). */
export function registerBuildInfo(registry: Registry, version: string, commitId = buildCommit()): void {
  const info = new Gauge({
    name: "veil_build_info",
    help: "1, labelled with the version and the commit (when known) of the code the node runs",
    labelNames: ["version", "commit"] as const,
    registers: [registry],
  });
  info.set(commitId === undefined ? { version } : { version, commit: commitId }, 1);
}
