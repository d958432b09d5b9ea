/**
 * Deploys Veil's contracts to the selected Hardhat network and records their addresses in
 * deployments/<network>.json. Run with `npx hardhat run scripts/deploy.ts --network localhost`.
 *
 * Parameters default to DEFAULT_CORE_PARAMS (sequencer/chain/deploy.ts); `VEIL_DEPLOY_CONFIG=file.json`
 * overrides any of them (integers as strings or numbers, validated before anything is deployed). The
 * time-lock policy is not a free parameter: the modulus is always RSA-2048, and the least T follows from
 * `timeLockDelay` (look-ahead, block time, leader timeout, view changes) through `timeLockSquaringsFor`.
 * A test modulus exists only on development chains (scripts/devnet), never through this script.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import hre, { ethers } from "hardhat";
import { z } from "zod";
import {
  DEFAULT_CORE_PARAMS,
  DEFAULT_TIME_LOCK_POLICY,
  deployCore,
  type CoreParams,
  type TimeLockPolicy,
} from "../sequencer/chain/deploy";
import { RSA_2048_MODULUS } from "../sequencer/crypto/timelock/modulus";
import { ASIC_SQUARINGS_PER_SECOND, delayForSquarings } from "../sequencer/crypto/timelock/params";
import { timeLockSquaringsFor } from "../sequencer/crypto/timelock/policy";

export interface Deployment {
  readonly network: string;
  readonly chainId: number;
  readonly deployer: string;
  readonly contracts: Record<string, string>;
  /** The EIP-712 domain every Veil signature on this deployment uses. */
  readonly eip712Domain: { name: string; version: string; chainId: number; verifyingContract: string };
  readonly params: Record<Exclude<keyof CoreParams, "timeLock" | "forcedInclusion">, string>;
  /** The forced-inclusion inbox's fee (wei) and per-height cap. */
  readonly forcedInclusion: { readonly fee: string; readonly maxEntriesPerHeight: number };
  /** The time-lock policy the registry enforces, and what it means against the assumed attacker. */
  readonly timeLock: {
    readonly modulus: "RSA-2048";
    readonly modulusHash: string;
    readonly minSquarings: string;
    readonly attackerSeconds: number;
  };
}

const integer = z.union([z.number().int().nonnegative(), z.string().regex(/^[0-9]+$/)]).transform((v) => BigInt(v));
const paramsSchema = z.strictObject({
  minimumBond: integer,
  memberWithdrawalDelay: integer,
  quorumBps: integer,
  responseWindow: integer,
  challengeWindow: integer,
  operatorWithdrawalDelay: integer,
  minOperatorStake: integer,
  challengerRewardBps: integer,
  forcedInclusion: z.strictObject({ fee: integer, maxEntriesPerHeight: z.number().int().min(1).max(65_536) }),
  /** Inputs of the T sizing rule; the least T of every rollup follows from them. */
  timeLockDelay: z
    .strictObject({
      lookaheadHeights: z.number().int().nonnegative(),
      blockTimeMs: z.number().int().positive(),
      leaderTimeoutMs: z.number().int().positive(),
      viewChanges: z.number().int().nonnegative(),
    })
    .partial(),
});

/** DEFAULT_CORE_PARAMS overridden by the JSON file named by VEIL_DEPLOY_CONFIG, if any. */
export function loadParams(file = process.env.VEIL_DEPLOY_CONFIG): CoreParams {
  if (!file) return DEFAULT_CORE_PARAMS;
  const { timeLockDelay, ...overrides } = paramsSchema.partial().parse(JSON.parse(readFileSync(file, "utf8")));
  const timeLock =
    timeLockDelay === undefined
      ? DEFAULT_CORE_PARAMS.timeLock
      : { ...DEFAULT_TIME_LOCK_POLICY, minSquarings: BigInt(timeLockSquaringsFor(timeLockDelay)) };
  return { ...DEFAULT_CORE_PARAMS, ...overrides, timeLock };
}

/** Refuses what this script must never deploy: a modulus whose factors anyone may hold. */
export function assertProductionTimeLock(policy: TimeLockPolicy): void {
  if (policy.insecureTestModulus || policy.modulus !== RSA_2048_MODULUS) {
    throw new Error(
      "scripts/deploy.ts deploys only the RSA-2048 modulus; a test modulus belongs to development chains (scripts/devnet)",
    );
  }
}

export async function deploy(params: CoreParams = loadParams()): Promise<Deployment> {
  assertProductionTimeLock(params.timeLock);
  const [deployer] = await ethers.getSigners();
  if (!deployer) throw new Error("no deployer account on this network");
  const { registry, vsm, txValidityVerifier, inbox } = await deployCore(deployer, params);
  const { chainId } = await ethers.provider.getNetwork();
  const vsmAddress = await vsm.getAddress();
  return {
    network: hre.network.name,
    chainId: Number(chainId),
    deployer: deployer.address,
    contracts: {
      ClusterRegistry: await registry.getAddress(),
      TxValidityGroth16Verifier: await txValidityVerifier.GROTH16(),
      TxValidityVerifier: await txValidityVerifier.getAddress(),
      ForcedInclusionInbox: await inbox.getAddress(),
      ValidationServiceManager: vsmAddress,
    },
    eip712Domain: { name: "Veil", version: "1", chainId: Number(chainId), verifyingContract: vsmAddress },
    params: Object.fromEntries(
      Object.entries(params)
        .filter(([k]) => k !== "timeLock" && k !== "forcedInclusion")
        .map(([k, v]) => [k, String(v)]),
    ) as Deployment["params"],
    forcedInclusion: {
      fee: String(params.forcedInclusion.fee),
      maxEntriesPerHeight: params.forcedInclusion.maxEntriesPerHeight,
    },
    timeLock: {
      modulus: "RSA-2048",
      modulusHash: await registry.timeLockModulusHash(),
      minSquarings: String(params.timeLock.minSquarings),
      attackerSeconds: delayForSquarings(Number(params.timeLock.minSquarings), ASIC_SQUARINGS_PER_SECOND),
    },
  };
}

export function deploymentFile(network: string): string {
  return path.join(__dirname, "..", "deployments", `${network}.json`);
}

if (require.main === module) {
  deploy()
    .then((deployment) => {
      const file = deploymentFile(deployment.network);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, `${JSON.stringify(deployment, null, 2)}\n`);
      for (const [name, address] of Object.entries(deployment.contracts)) console.log(`${name}: ${address}`);
      console.log(`addresses written to ${path.relative(process.cwd(), file)}`);
    })
    .catch((err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    });
}
