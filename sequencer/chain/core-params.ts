/**
 * Veil's deployment parameters and their defaults: what the Ignition module (ignition/modules/Veil.ts) takes,
 * kept apart from the deploying code so that the module, the Hardhat tasks and the processes' configs read them
 * without loading any contract binding.
 */
import { parseEther, toBeHex } from "ethers";
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
