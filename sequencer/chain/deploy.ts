/**
 * Deploys and wires Veil's core contracts (ClusterRegistry, the tx-validity verifier, the forced-inclusion
 * inbox, ValidationServiceManager) through TypeChain. Used by scripts/deploy.ts, the devnet, the contract tests
 * and the gas benchmark, so that all of them deploy the same way.
 */
import type { Signer } from "ethers";
import { getAddress, parseEther, toBeHex } from "ethers";
import {
  ClusterRegistry__factory,
  ForcedInclusionInbox__factory,
  TxValidityGroth16Verifier__factory,
  TxValidityVerifier__factory,
  ValidationServiceManager__factory,
  type ClusterRegistry,
  type ForcedInclusionInbox,
  type TxValidityVerifier,
  type ValidationServiceManager,
} from "../../typechain-types";
import { RSA_2048_MODULUS } from "../crypto/timelock/modulus";
import { timeLockSquaringsFor } from "../crypto/timelock/policy";

/** The deployment's time-lock rules (ClusterRegistry.TimeLockPolicy). */
export interface TimeLockPolicy {
  /** The one modulus every rollup uses. */
  readonly modulus: bigint;
  /** The least T a rollup may register. */
  readonly minSquarings: bigint;
  /** Required for any modulus but RSA-2048: its maker can open every puzzle (development and tests only). */
  readonly insecureTestModulus: boolean;
}

/** The production policy: RSA-2048, and T sized by `timeLockSquaringsFor` (defaults: 455M squarings). */
export const DEFAULT_TIME_LOCK_POLICY: TimeLockPolicy = {
  modulus: RSA_2048_MODULUS,
  minSquarings: BigInt(timeLockSquaringsFor()),
  insecureTestModulus: false,
};

/** A policy for tests and development chains: any modulus, any T ≥ `minSquarings`. Says so in the name. */
export const insecureTestTimeLockPolicy = (modulus: bigint, minSquarings = 1n): TimeLockPolicy => ({
  modulus,
  minSquarings,
  insecureTestModulus: modulus !== RSA_2048_MODULUS,
});

/** Deployment parameters. Windows and delays are in L1 blocks. */
export interface CoreParams {
  /** Least bond any cluster may require of a member (wei). */
  readonly minimumBond: bigint;
  /**
   * Blocks a leaving member's bond stays slashable after its last epoch; at least `challengeWindow` +
   * `epochLength` (a task of its last epoch may land one epoch late, and stays challengeable that long).
   */
  readonly memberWithdrawalDelay: bigint;
  /** L1 blocks per membership epoch: joins and exits apply from an epoch boundary (ClusterRegistry). */
  readonly epochLength: bigint;
  /** Share of stake one answer needs, basis points in 5001..10000. */
  readonly quorumBps: bigint;
  readonly responseWindow: bigint;
  /** Blocks after a task during which a broken order commitment can be proven; >= responseWindow. */
  readonly challengeWindow: bigint;
  /** Blocks withdrawn operator stake stays slashable; must exceed `challengeWindow`. */
  readonly operatorWithdrawalDelay: bigint;
  readonly minOperatorStake: bigint;
  /** Challenger's share of a slash, basis points. */
  readonly challengerRewardBps: bigint;
  readonly timeLock: TimeLockPolicy;
  /** The fee of one forced-inclusion entry (wei, burned) and the most entries one height takes. */
  readonly forcedInclusion: { readonly fee: bigint; readonly maxEntriesPerHeight: number };
}

/**
 * Development defaults: 12 s blocks give a 1 h response window, a 1 day challenge window, 2 day exits, and
 * 100-block membership epochs (20 min at 12 s; a few minutes on the local chain, which mines a block per
 * transaction): long against a block's ordering, so a height is sealed in the epoch it began in.
 */
export const DEFAULT_CORE_PARAMS: CoreParams = {
  minimumBond: parseEther("1"),
  memberWithdrawalDelay: 14_400n,
  epochLength: 100n,
  quorumBps: 6_666n,
  responseWindow: 300n,
  challengeWindow: 7_200n,
  operatorWithdrawalDelay: 14_400n,
  minOperatorStake: parseEther("1"),
  challengerRewardBps: 1_000n,
  timeLock: DEFAULT_TIME_LOCK_POLICY,
  // About twice the gas of the entry itself at 10 gwei: spam costs its sender, an honest user pays once.
  forcedInclusion: { fee: parseEther("0.005"), maxEntriesPerHeight: 128 },
};

/** The policy as the ClusterRegistry constructor takes it. */
export const timeLockPolicyArg = (policy: TimeLockPolicy) => ({
  modulus: toBeHex(policy.modulus),
  minSquarings: policy.minSquarings,
  insecureTestModulus: policy.insecureTestModulus,
});

export interface CoreContracts {
  readonly registry: ClusterRegistry;
  readonly vsm: ValidationServiceManager;
  /** The typed entry point to the tx-validity circuit's Groth16 verifier. */
  readonly txValidityVerifier: TxValidityVerifier;
  readonly inbox: ForcedInclusionInbox;
}

export async function deployCore(deployer: Signer, params: CoreParams = DEFAULT_CORE_PARAMS): Promise<CoreContracts> {
  const registry = await new ClusterRegistry__factory(deployer).deploy(
    params.minimumBond,
    params.memberWithdrawalDelay,
    params.epochLength,
    timeLockPolicyArg(params.timeLock),
  );
  await registry.waitForDeployment();
  const groth16 = await new TxValidityGroth16Verifier__factory(deployer).deploy();
  await groth16.waitForDeployment();
  const txValidityVerifier = await new TxValidityVerifier__factory(deployer).deploy(await groth16.getAddress());
  await txValidityVerifier.waitForDeployment();
  const inbox = await new ForcedInclusionInbox__factory(deployer).deploy(
    await registry.getAddress(),
    await txValidityVerifier.getAddress(),
    params.forcedInclusion.fee,
    params.forcedInclusion.maxEntriesPerHeight,
  );
  await inbox.waitForDeployment();
  const vsm = await new ValidationServiceManager__factory(deployer).deploy(
    await registry.getAddress(),
    await inbox.getAddress(),
    params.quorumBps,
    params.responseWindow,
    params.challengeWindow,
    params.operatorWithdrawalDelay,
    params.minOperatorStake,
    params.challengerRewardBps,
  );
  await vsm.waitForDeployment();
  await (await registry.setSlasher(await vsm.getAddress())).wait();
  return { registry, vsm, txValidityVerifier, inbox };
}

/** A provider that can ask a development chain (Hardhat) to mine. */
export interface MiningProvider {
  send(method: string, params: unknown[]): Promise<unknown>;
}

/**
 * Mines blocks on a development chain until the cluster's current epoch has `count` members (joins apply
 * from an epoch boundary a little ahead: ClusterRegistry.EPOCH_LEAD, one change per epoch), then up to
 * the start of an epoch.
 */
export async function mineUntilMembers(
  registry: ClusterRegistry,
  clusterId: bigint | number,
  count: number,
  provider: MiningProvider,
): Promise<void> {
  const epochLength = await registry.epochLength();
  for (let epochs = 0; (await registry.membersOf(clusterId)).length !== count; epochs++) {
    if (epochs > 1_000) throw new Error(`cluster ${clusterId} never reached ${count} members`);
    await provider.send("hardhat_mine", [`0x${epochLength.toString(16)}`]);
  }
  // Then to the first block of an epoch: what follows (a devnet, a test) gets a whole epoch before the next.
  const block = BigInt(String(await provider.send("eth_blockNumber", [])));
  const toBoundary = (epochLength - (block % epochLength)) % epochLength;
  if (toBoundary > 0n) await provider.send("hardhat_mine", [`0x${toBoundary.toString(16)}`]);
}

/** The contracts a process was configured with are not one deployment. */
export class DeploymentMismatch extends Error {
  override readonly name = "DeploymentMismatch";
}

/**
 * Fails unless `slasher`, read from the configured registry, is the VSM this process uses: a process that
 * checks tasks or certificates against another VSM than the one that can slash the registry's bonds would
 * enforce promises nobody can be slashed for (nodes, validators and key generators check it at start).
 */
export function expectSlasher(slasher: string, validationServiceManager: string): void {
  if (BigInt(slasher) === 0n) {
    throw new DeploymentMismatch("the registry has no slasher: the deployment is not finished (setSlasher)");
  }
  if (getAddress(slasher) !== getAddress(validationServiceManager)) {
    throw new DeploymentMismatch(
      `the registry's slasher is ${getAddress(slasher)}, not the ValidationServiceManager ${getAddress(validationServiceManager)} configured here`,
    );
  }
}
