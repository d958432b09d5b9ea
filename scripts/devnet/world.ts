/**
 * The on-chain world of a devnet, set up the way a testnet is (docs/deploy.md): the Ignition module deploys
 * the core contracts (deployCore), then the steps the Hardhat tasks take (sequencer/chain/admin.ts) create a
 * cluster of bonded members (fresh wallets funded by the L1's first account) and register one rollup with an
 * executor and a key-generator committee, over a TEST-ONLY time-lock modulus (the one difference from a
 * testnet, which the veil:deploy task refuses).
 *
 * Wallets derive from a seed, and a fresh Hardhat node deploys to the same addresses every time, so a
 * given (seed, modulus) yields the same world on every run: the benchmark relies on this to reuse its
 * cached proofs.
 */
import { JsonRpcProvider, NonceManager, Wallet, keccak256, parseEther, toUtf8Bytes } from "ethers";
import {
  DEFAULT_CORE_PARAMS,
  deployCore,
  insecureTestTimeLockPolicy,
  mineUntilMembers,
} from "../../sequencer/chain/deploy";
import {
  approveRollup,
  createCluster,
  joinCluster,
  registerOperator,
  registerRollup,
} from "../../sequencer/chain/admin";
import { setupTimelock } from "../../sequencer/crypto/timelock/params";
import { loadBigMath } from "../../sequencer/crypto/timelock/bigmath";
import { generateTestOnlyModulus } from "../../sequencer/crypto/timelock/test-modulus";

export interface WorldOptions {
  /** Derives every wallet; the same seed gives the same addresses. Default: random. */
  readonly seed?: string;
  readonly members?: number;
  readonly keyGenerators?: number;
  /** VSM operators (validators), each registered with the minimum stake. Default 0. */
  readonly operators?: number;
  readonly rollupId?: bigint;
  /** Time-lock squarings T (small: the solver is only the fallback). */
  readonly squarings?: number;
  /** Time-lock modulus; default a fresh TEST-ONLY 1024-bit one (its factors are discarded). */
  readonly modulus?: bigint;
}

export interface World {
  readonly chainId: bigint;
  readonly clusterRegistry: string;
  readonly validationServiceManager: string;
  /** The forced-inclusion inbox (docs/forced-inclusion.md). */
  readonly forcedInclusionInbox: string;
  readonly clusterId: bigint;
  readonly rollupId: bigint;
  /** In join order, which is the registry's member order (the leader schedule). */
  readonly members: readonly Wallet[];
  /** In the registry's committee order (ascending address). */
  readonly keyGenerators: readonly Wallet[];
  readonly executor: Wallet;
  /** Registered VSM operators, funded for their gas (respondToTask). */
  readonly operators: readonly Wallet[];
  /** A user's L1 account, funded for forced-inclusion fees and gas (the censored user of the demo). */
  readonly forcer: Wallet;
  /** The block of the deployment: where log scans start. */
  readonly deployBlock: number;
  readonly modulus: bigint;
  readonly squarings: number;
}

const walletFor = (seed: string, role: string, i: number): Wallet =>
  new Wallet(keccak256(toUtf8Bytes(`veil-devnet/${seed}/${role}/${i}`)));

export async function deployWorld(l1Url: string, options: WorldOptions = {}): Promise<World> {
  const seed = options.seed ?? Wallet.createRandom().privateKey;
  const provider = new JsonRpcProvider(l1Url, undefined, { staticNetwork: true, pollingInterval: 100 });
  try {
    const deployer = new NonceManager(await provider.getSigner(0));
    const { chainId } = await provider.getNetwork();
    const modulus = options.modulus ?? generateTestOnlyModulus(await loadBigMath(), 1024).N;
    const squarings = options.squarings ?? 64;
    // The devnet overrides the production time-lock policy openly: a test modulus (flagged insecure on
    // chain, and every process warns of it) and a T that gives no delay at all.
    const { registry, vsm, inbox, deployBlock } = await deployCore(deployer, {
      ...DEFAULT_CORE_PARAMS,
      timeLock: insecureTestTimeLockPolicy(modulus, BigInt(squarings)),
    });
    const members = Array.from({ length: options.members ?? 3 }, (_, i) => walletFor(seed, "member", i));
    const keyGenerators = Array.from({ length: options.keyGenerators ?? 2 }, (_, i) =>
      walletFor(seed, "keygen", i),
    ).sort((a, b) => (BigInt(a.address) < BigInt(b.address) ? -1 : 1));
    const executor = walletFor(seed, "executor", 0);
    const operators = Array.from({ length: options.operators ?? 0 }, (_, i) => walletFor(seed, "operator", i));
    const forcer = walletFor(seed, "forcer", 0);
    await (await deployer.sendTransaction({ to: forcer.address, value: parseEther("10") })).wait();
    const bond = DEFAULT_CORE_PARAMS.minimumBond;
    const stake = DEFAULT_CORE_PARAMS.minOperatorStake;
    for (const m of members) {
      await (await deployer.sendTransaction({ to: m.address, value: bond + parseEther("1") })).wait();
    }
    for (const op of operators) {
      await (await deployer.sendTransaction({ to: op.address, value: stake + parseEther("1") })).wait();
      await registerOperator(vsm.connect(op.connect(provider)), stake);
    }
    const clusterId = await createCluster(registry, { minBond: bond, maxMembers: 8 });
    for (const m of members) await joinCluster(registry.connect(m.connect(provider)), clusterId, bond);
    await mineUntilMembers(registry, clusterId, members.length, provider);
    const timelock = await setupTimelock({ N: modulus, T: squarings });
    const rollupId = options.rollupId ?? 7n;
    // The deployer owns the devnet's cluster and agrees to serve the rollup it registers.
    await approveRollup(registry, clusterId, rollupId, await deployer.getAddress());
    await registerRollup(registry, {
      rollupId,
      clusterId,
      timelock,
      executors: [executor.address],
      keyGenerators: keyGenerators.map((g) => g.address),
    });
    return {
      chainId,
      clusterRegistry: await registry.getAddress(),
      validationServiceManager: await vsm.getAddress(),
      forcedInclusionInbox: await inbox.getAddress(),
      clusterId,
      rollupId,
      members,
      keyGenerators,
      executor,
      operators,
      forcer,
      deployBlock,
      modulus,
      squarings,
    };
  } finally {
    provider.destroy();
  }
}
