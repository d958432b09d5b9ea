/**
 * The time-lock part of a rollup's registry entry, in both directions: the fields a registration writes
 * from computed parameters, and the published (N, T, h, hProof) every process reads back and verifies.
 * One encoding, shared by the node, the key generators, the SDK, the devnet and the tests.
 */
import { toBeHex } from "ethers";
import type { PublishedTimelock, TimelockParams } from "../crypto/timelock/params";

/** The RollupConfig fields that carry the time-lock parameters, as the registry stores them. */
export interface TimelockConfigFields {
  readonly timeLockSquarings: bigint;
  readonly timeLockModulus: string;
  readonly timeLockH: string;
  readonly timeLockHProof: string;
}

/** Registry fields for parameters computed by `setupTimelock` (or adopted with `timelockParams`). */
export function timelockConfigFields(params: Pick<TimelockParams, "N" | "T" | "h" | "hProof">): TimelockConfigFields {
  return {
    timeLockSquarings: BigInt(params.T),
    timeLockModulus: toBeHex(params.N),
    timeLockH: toBeHex(params.h),
    timeLockHProof: toBeHex(params.hProof),
  };
}

/** What a rollup's registry entry publishes, read from the contract's struct (T must fit a safe integer). */
export function publishedTimelockOf(
  config: {
    readonly timeLockSquarings: bigint;
    readonly timeLockModulus: string;
    readonly timeLockH: string;
    readonly timeLockHProof: string;
  },
  rollupId: bigint,
): PublishedTimelock {
  const T = config.timeLockSquarings;
  if (T < 1n || T > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`rollup ${rollupId}: T = ${T} is not usable`);
  return {
    N: BigInt(config.timeLockModulus),
    T: Number(T),
    h: BigInt(config.timeLockH),
    hProof: BigInt(config.timeLockHProof),
  };
}
