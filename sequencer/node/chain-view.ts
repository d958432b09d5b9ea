/**
 * What the node knows of L1: the cluster's ordered members (the leader schedule) and, per rollup, its
 * config, key-generator committee and executors. Read through TypeChain and cached; the schedule is
 * refreshed periodically, so `leaderOf` is computed locally with the registry's own formula.
 */
import { getAddress } from "ethers";
import type { ClusterRegistry } from "../../typechain-types";

export interface RollupInfo {
  readonly rollupId: bigint;
  readonly clusterId: bigint;
  readonly maxTxsPerBlock: number;
  readonly timeLockSquarings: number;
  readonly timeLockModulus: bigint;
  readonly keyGenerators: readonly string[];
}

/** How long a rollup lookup (found or not) is trusted before it is read again. */
const ROLLUP_TTL_MS = 10_000;

export class ChainView {
  private members: readonly string[] = [];
  private readonly rollups = new Map<bigint, { at: number; info: RollupInfo | undefined }>();

  constructor(
    readonly registry: ClusterRegistry,
    readonly clusterId: bigint,
  ) {}

  /** Reads the member list; throws when the cluster has none (a node cannot serve an empty cluster). */
  async refresh(): Promise<void> {
    const members = (await this.registry.membersOf(this.clusterId)).map((m) => getAddress(m));
    if (members.length === 0) throw new Error(`cluster ${this.clusterId} has no members in the registry`);
    this.members = members;
  }

  get memberList(): readonly string[] {
    return this.members;
  }

  get size(): number {
    return this.members.length;
  }

  /** Votes needed for a majority of the cluster, the leader included. */
  get majority(): number {
    return Math.floor(this.members.length / 2) + 1;
  }

  isMember(address: string): boolean {
    const a = address.toLowerCase();
    return this.members.some((m) => m.toLowerCase() === a);
  }

  /** ClusterRegistry.leaderOf: members[(height + view) % n]. */
  leaderOf(height: number, view: number): string {
    const n = this.members.length;
    if (n === 0) throw new Error("the member list is not loaded");
    return this.members[Number((BigInt(height) + BigInt(view)) % BigInt(n))]!;
  }

  /** The rollup's config if it is registered and served by this cluster, otherwise undefined. */
  async rollup(rollupId: bigint): Promise<RollupInfo | undefined> {
    const cached = this.rollups.get(rollupId);
    if (cached !== undefined && performance.now() - cached.at < ROLLUP_TTL_MS) return cached.info;
    let info: RollupInfo | undefined;
    if (rollupId > 0n && rollupId < 1n << 64n) {
      try {
        const [owner, config] = await this.registry.rollupInfo(rollupId);
        if (BigInt(owner) !== 0n && config.clusterId === this.clusterId) {
          const keyGenerators = (await this.registry.keyGeneratorsOf(rollupId)).map((g) => getAddress(g));
          info = {
            rollupId,
            clusterId: config.clusterId,
            maxTxsPerBlock: Number(config.maxTxsPerBlock),
            timeLockSquarings: Number(config.timeLockSquarings),
            timeLockModulus: BigInt(config.timeLockModulus),
            keyGenerators,
          };
        }
      } catch {
        info = undefined; // reverts with UnknownRollup
      }
    }
    this.rollups.set(rollupId, { at: performance.now(), info });
    return info;
  }

  isExecutor(rollupId: bigint, account: string): Promise<boolean> {
    return this.registry.isExecutor(rollupId, account);
  }
}
