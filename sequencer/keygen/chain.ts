/**
 * What the key generator reads from L1: the committee of a rollup (registry order, which is the
 * aggregation order), the cluster whose members certify a seal, the rollup's time-lock
 * parameters, and the EIP-712 domain of the deployment.
 */
import { getAddress, type ContractRunner, type Provider } from "ethers";
import { ClusterRegistry__factory, type ClusterRegistry } from "../../typechain-types";
import { veilDomain, type VeilDomain } from "../chain/eip712";

export interface RollupTimelock {
  readonly N: bigint;
  readonly T: number;
}

export interface RegistryView {
  committeeOf(rollupId: bigint): Promise<string[]>;
  /** The cluster serving the rollup; throws UnknownRollupError for a rollup the registry lacks. */
  clusterOf(rollupId: bigint): Promise<bigint>;
  /** The cluster's members in schedule order (a seal certificate needs a majority of them). */
  membersOf(clusterId: bigint): Promise<string[]>;
  timelockOf(rollupId: bigint): Promise<RollupTimelock>;
  domain(): Promise<VeilDomain>;
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

/** How long a cluster's member list is reused (one reveal per generator and height would read it again). */
const MEMBERS_TTL_MS = 5_000;

/** The registry through TypeChain; the domain is fixed per process (chain id and VSM never change). */
export class ChainRegistryView implements RegistryView {
  private readonly registry: ClusterRegistry;
  private domainPromise: Promise<VeilDomain> | undefined;
  private readonly members = new Map<bigint, { members: string[]; at: number }>();

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

  async membersOf(clusterId: bigint): Promise<string[]> {
    const cached = this.members.get(clusterId);
    if (cached !== undefined && performance.now() - cached.at < MEMBERS_TTL_MS) return cached.members;
    const members = (await this.registry.membersOf(clusterId)).map((m) => getAddress(m));
    this.members.set(clusterId, { members, at: performance.now() });
    return members;
  }

  async timelockOf(rollupId: bigint): Promise<RollupTimelock> {
    let info: Awaited<ReturnType<ClusterRegistry["rollupInfo"]>>;
    try {
      info = await this.registry.rollupInfo(rollupId);
    } catch (error) {
      if (isRevert(error, "UnknownRollup")) throw new UnknownRollupError(rollupId);
      throw error;
    }
    const T = Number(info.config.timeLockSquarings);
    if (!Number.isSafeInteger(T)) throw new Error(`rollup ${rollupId}: T does not fit a safe integer`);
    return { N: BigInt(info.config.timeLockModulus), T };
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
