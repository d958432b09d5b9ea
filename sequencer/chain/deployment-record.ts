/**
 * A deployment's record, deployments/<network>.json: the contract addresses, the EIP-712 domain every Veil
 * signature uses, the parameters, the time-lock policy and the deploy block (where log scans start). The
 * veil:deploy task writes it; the other tasks, and operators configuring their processes, read it back
 * (validated). The deployment parameters come from DEFAULT_CORE_PARAMS, overridden by a JSON file.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Signer } from "ethers";
import { z } from "zod";
import { RSA_2048_MODULUS } from "../crypto/timelock/modulus";
import { ASIC_SQUARINGS_PER_SECOND, delayForSquarings } from "../crypto/timelock/params";
import { timeLockSquaringsFor } from "../crypto/timelock/policy";
import { DEFAULT_CORE_PARAMS, DEFAULT_TIME_LOCK_POLICY, type CoreParams, type TimeLockPolicy } from "./core-params";
import { deployCore, type CoreContracts } from "./deploy";

const ROOT = path.join(__dirname, "..", "..");
/** Ignition's journals, one folder per deployment id. */
export const IGNITION_DIR = path.join(ROOT, "ignition", "deployments");

export interface Deployment {
  readonly network: string;
  readonly chainId: number;
  readonly deployer: string;
  readonly contracts: Record<string, string>;
  /** The L1 block of the deployment's first transaction: where every process's log scans start. */
  readonly deployBlock: number;
  /** Ignition's deployment id: its journal is ignition/deployments/<id> (status, verification). */
  readonly ignitionDeploymentId?: string;
  /** The EIP-712 domain every Veil signature on this deployment uses. */
  readonly eip712Domain: { name: string; version: string; chainId: number; verifyingContract: string };
  readonly params: Record<Exclude<keyof CoreParams, "timeLock" | "forcedInclusion">, string>;
  /** The forced-inclusion inbox's fee (wei) and per-height cap. */
  readonly forcedInclusion: { readonly fee: string; readonly maxEntriesPerHeight: number };
  /** The time-lock policy the registry enforces, and what it means against the assumed attacker. */
  readonly timeLock: {
    /** RSA-2048 on every real network; TEST-ONLY on a devnet (its maker can open every puzzle). */
    readonly modulus: "RSA-2048" | "TEST-ONLY";
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

/** DEFAULT_CORE_PARAMS overridden by the JSON file `file`, if any. */
export function loadParams(file?: string): CoreParams {
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
      "veil:deploy deploys only the RSA-2048 modulus; a test modulus belongs to development chains (scripts/devnet)",
    );
  }
}

export interface DeployForNetwork {
  /** The network's name in the Hardhat configuration (the record's file name). */
  readonly network: string;
  /** Ignition's journal id (default chain-<chainId>, as `npx hardhat ignition` names it). */
  readonly deploymentId?: string;
  /** Where Ignition keeps its journals (default ignition/deployments in the project). */
  readonly ignitionDir?: string;
  readonly onProgress?: (line: string) => void;
}

/**
 * Deploys Veil for a real network with production parameters (RSA-2048 only) from `deployer`, resuming an
 * interrupted deployment from its Ignition journal, and returns its record.
 */
export async function deployForNetwork(deployer: Signer, params: CoreParams, o: DeployForNetwork): Promise<Deployment> {
  assertProductionTimeLock(params.timeLock);
  const provider = deployer.provider;
  if (provider === null) throw new Error("the deployer has no provider");
  const { chainId } = await provider.getNetwork();
  const deploymentId = o.deploymentId ?? `chain-${chainId}`;
  const deploymentDir = path.join(o.ignitionDir ?? IGNITION_DIR, deploymentId);
  const core = await deployCore(deployer, params, {
    deploymentDir,
    ...(o.onProgress === undefined ? {} : { onProgress: o.onProgress }),
  });
  return {
    ...(await describeDeployment(core, params, o.network, await deployer.getAddress())),
    ignitionDeploymentId: deploymentId,
  };
}

/** The record of a deployment: addresses, EIP-712 domain, parameters, time-lock policy, deploy block. */
export async function describeDeployment(
  { registry, vsm, txValidityVerifier, inbox, deployBlock }: CoreContracts,
  params: CoreParams,
  network: string,
  deployer: string,
): Promise<Deployment> {
  const provider = registry.runner?.provider;
  if (!provider) throw new Error("the registry has no provider");
  const { chainId } = await provider.getNetwork();
  const vsmAddress = await vsm.getAddress();
  return {
    network,
    chainId: Number(chainId),
    deployer,
    contracts: {
      ClusterRegistry: await registry.getAddress(),
      TxValidityGroth16Verifier: await txValidityVerifier.GROTH16(),
      TxValidityVerifier: await txValidityVerifier.getAddress(),
      ForcedInclusionInbox: await inbox.getAddress(),
      ValidationServiceManager: vsmAddress,
    },
    deployBlock,
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
      modulus: params.timeLock.insecureTestModulus ? "TEST-ONLY" : "RSA-2048",
      modulusHash: await registry.timeLockModulusHash(),
      minSquarings: String(params.timeLock.minSquarings),
      attackerSeconds: delayForSquarings(Number(params.timeLock.minSquarings), ASIC_SQUARINGS_PER_SECOND),
    },
  };
}

/** deployments/<network>.json in the project. */
export function deploymentFile(network: string): string {
  return path.join(ROOT, "deployments", `${network}.json`);
}

export function writeDeployment(deployment: Deployment, file = deploymentFile(deployment.network)): string {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(deployment, null, 2)}\n`);
  return file;
}

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, "an address");
const deploymentSchema = z.object({
  network: z.string(),
  chainId: z.number().int().positive(),
  deployer: address,
  contracts: z.object({
    ClusterRegistry: address,
    TxValidityGroth16Verifier: address,
    TxValidityVerifier: address,
    ForcedInclusionInbox: address,
    ValidationServiceManager: address,
  }),
  deployBlock: z.number().int().nonnegative(),
});
export type DeploymentAddresses = z.infer<typeof deploymentSchema>;

/** Reads and checks a deployment record (the parts other tools rely on). */
export function readDeployment(file: string): DeploymentAddresses {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new Error(`cannot read the deployment record ${file}: ${(error as Error).message}`, { cause: error });
  }
  const parsed = deploymentSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${file}: ${issue.path.join(".") || "the record"}: ${issue.message}`);
  }
  return parsed.data;
}
