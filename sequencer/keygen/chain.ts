/**
 * What the key generator reads from L1: the committee of a rollup (registry order, which is the
 * aggregation order), the cluster whose members certify a seal, the rollup's time-lock
 * parameters, and the EIP-712 domain of the deployment.
 */
import { getAddress, type ContractRunner, type Provider } from "ethers";
import { ClusterRegistry__factory, type ClusterRegistry } from "../../typechain-types";
import { veilDomain, type VeilDomain } from "../chain/eip712";
import { publishedTimelockOf } from "../chain/timelock-config";
import type { PublishedTimelock } from "../crypto/timelock/params";

export interface RegistryView {
  committeeOf(rollupId: bigint): Promise<string[]>;
  /** The cluster serving the rollup; throws UnknownRollupError for a rollup the registry lacks. */
  clusterOf(rollupId: bigint): Promise<bigint>;
  /** The cluster's members in `epoch`, in schedule order (a seal certificate needs a majority of them). */
  membersAt(clusterId: bigint, epoch: number): Promise<string[]>;
  /** The registry's current membership epoch. */
  currentEpoch(): Promise<number>;
  /** The rollup's published time-lock parameters (verified by the caller before use). */
  timelockOf(rollupId: bigint): Promise<PublishedTimelock>;
  domain(): Promise<VeilDomain>;
  /** The contract allowed to slash the registry's bonds (it must be the VSM of `domain`). */
  slasher(): Promise<string>;
}

export class UnknownRollupError extends Error {
  constructor(readonly rollupId: bigint) {
    super(`rollup ${rollupId} is not registered`);
    this.name = "UnknownRollupError";
  }
}

const isRevert = (error: unknown, name: string): boolean =>
  typeof error === "object" &&
  error !== null &&
  "revert" in error &&
  (error as { revert?: { name?: string } }).revert?.name === name;

/** Member lists kept in memory: an epoch's list never changes once the registry answers it. */
const EPOCHS_CACHED = 64;

/** The registry through TypeChain; the domain is fixed per process (chain id and VSM never change). */
export class ChainRegistryView implements RegistryView {
  private readonly registry: ClusterRegistry;
  private domainPromise: Promise<VeilDomain> | undefined;
  private readonly members = new Map<string, string[]>();

  constructor(
    runner: ContractRunner & { provider: Provider | null },
    registryAddress: string,
    private readonly validationServiceManager: string,
  ) {
    this.registry = ClusterRegistry__factory.connect(registryAddress, runner);
  }

  async committeeOf(rollupId: bigint): Promise<string[]> {
    await this.clusterOf(rollupId); // an unknown rollup has an empty committee; say so instead
    return (await this.registry.keyGeneratorsOf(rollupId)).map((a) => getAddress(a));
  }

  async clusterOf(rollupId: bigint): Promise<bigint> {
    try {
      return await this.registry.clusterOfRollup(rollupId);
    } catch (error) {
      if (isRevert(error, "UnknownRollup")) throw new UnknownRollupError(rollupId);
      throw error;
    }
  }

  async membersAt(clusterId: bigint, epoch: number): Promise<string[]> {
    const key = `${clusterId}:${epoch}`;
    const cached = this.members.get(key);
    if (cached !== undefined) return cached;
    const members = (await this.registry.membersAt(clusterId, epoch)).map((m) => getAddress(m));
    if (this.members.size >= EPOCHS_CACHED) this.members.delete(this.members.keys().next().value!);
    this.members.set(key, members);
    return members;
  }

  async currentEpoch(): Promise<number> {
    return Number(await this.registry.currentEpoch());
  }

  async timelockOf(rollupId: bigint): Promise<PublishedTimelock> {
    let info: Awaited<ReturnType<ClusterRegistry["rollupInfo"]>>;
    try {
      info = await this.registry.rollupInfo(rollupId);
    } catch (error) {
      if (isRevert(error, "UnknownRollup")) throw new UnknownRollupError(rollupId);
      throw error;
    }
    return publishedTimelockOf(info.config, rollupId);
  }

  slasher(): Promise<string> {
    return this.registry.slasher();
  }

  domain(): Promise<VeilDomain> {
    this.domainPromise ??= (async () => {
      const provider = this.registry.runner?.provider;
      if (!provider) throw new Error("the registry view needs a provider");
      const { chainId } = await provider.getNetwork();
      return veilDomain(chainId, this.validationServiceManager);
    })();
    return this.domainPromise;
  }
}
