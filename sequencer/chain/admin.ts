/**
 * The on-chain set-up steps after a deployment, each from the account that must take it: a cluster owner
 * creates a cluster and approves the rollups it will serve, members join with their bond, a rollup owner
 * registers its rollup with its executors and key-generator committee, operators register with their stake.
 * The Hardhat tasks (tasks/) and the devnet (scripts/devnet/world.ts) both call these, so that a testnet and
 * the devnet are set up the same way.
 */
import type { ContractTransactionResponse } from "ethers";
import { getAddress } from "ethers";
import type { ClusterRegistry, ValidationServiceManager } from "../../typechain-types";
import type { TimelockParams } from "../crypto/timelock/params";
import { timelockConfigFields } from "./timelock-config";

/** Sends, waits for the receipt, and fails on a reverted or dropped transaction. */
async function mined(sent: Promise<ContractTransactionResponse>, what: string) {
  const receipt = await (await sent).wait();
  if (receipt === null || receipt.status !== 1) throw new Error(`${what}: the transaction failed`);
  return receipt;
}

/** Creates a cluster owned by the registry's runner; returns its id, read from ClusterCreated. */
export async function createCluster(
  registry: ClusterRegistry,
  options: { readonly minBond: bigint; readonly maxMembers: number },
): Promise<bigint> {
  const receipt = await mined(registry.createCluster(options.minBond, options.maxMembers), "createCluster");
  for (const log of receipt.logs) {
    const parsed = registry.interface.parseLog(log);
    if (parsed?.name === "ClusterCreated") return BigInt(parsed.args.clusterId as bigint);
  }
  throw new Error("createCluster: no ClusterCreated event in the receipt");
}

/** Joins `clusterId` with `bond` (default: the cluster's minimum bond); the seat applies from a later epoch. */
export async function joinCluster(registry: ClusterRegistry, clusterId: bigint, bond?: bigint): Promise<bigint> {
  const value = bond ?? (await registry.clusterInfo(clusterId)).minBond;
  await mined(registry.join(clusterId, { value }), `join cluster ${clusterId}`);
  return value;
}

/** The cluster owner's consent that `owner` may register `rollupId` on the cluster. */
export async function approveRollup(
  registry: ClusterRegistry,
  clusterId: bigint,
  rollupId: bigint,
  owner: string,
): Promise<void> {
  await mined(registry.approveRollup(clusterId, rollupId, getAddress(owner)), `approve rollup ${rollupId}`);
}

export interface RollupRegistration {
  readonly rollupId: bigint;
  readonly clusterId: bigint;
  /** The time-lock parameters from `setupTimelock` (N, T, h and its proof). */
  readonly timelock: Pick<TimelockParams, "N" | "T" | "h" | "hProof">;
  readonly executors: readonly string[];
  /** The key-generator committee, in any order (the registry keeps it sorted). */
  readonly keyGenerators: readonly string[];
  readonly maxTxsPerBlock?: number;
  readonly blockGasLimit?: bigint;
  /** Contributions a round key needs beyond the committee's (0: the committee alone). */
  readonly minContributors?: number;
}

/** Registers a rollup approved by its cluster's owner, from the rollup owner's account. */
export async function registerRollup(registry: ClusterRegistry, r: RollupRegistration): Promise<void> {
  const committee = [...r.keyGenerators].map((a) => getAddress(a)).sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
  await mined(
    registry.registerRollup(
      r.rollupId,
      {
        clusterId: r.clusterId,
        maxTxsPerBlock: r.maxTxsPerBlock ?? 65_536,
        blockGasLimit: r.blockGasLimit ?? 30_000_000n,
        ...timelockConfigFields(r.timelock),
        minContributors: r.minContributors ?? 0,
      },
      r.executors.map((a) => getAddress(a)),
      committee,
    ),
    `register rollup ${r.rollupId}`,
  );
}

/** Registers the VSM's runner as an operator with `stake` (default: the VSM's minimum). */
export async function registerOperator(vsm: ValidationServiceManager, stake?: bigint): Promise<bigint> {
  const value = stake ?? (await vsm.minOperatorStake());
  await mined(vsm.registerOperator({ value }), "registerOperator");
  return value;
}
