/**
 * Deploys and wires Veil's core contracts (ClusterRegistry, the tx-validity verifier, the forced-inclusion
 * inbox, ValidationServiceManager) by running the Ignition module ignition/modules/Veil.ts. The veil:deploy
 * task, the devnet, the contract tests and the gas benchmark all deploy through `deployCore`, so every network
 * gets the same contracts wired the same way.
 */
import {
  DeploymentResultType,
  deploy as ignitionDeploy,
  listTransactions,
  type DeploymentParameters,
  type EIP1193Provider,
  type ExecutionEventListener,
} from "@nomicfoundation/ignition-core";
import type { Signer } from "ethers";
import { toBeHex } from "ethers";
import VeilModule, { VEIL_MODULE_ID } from "../../ignition/modules/Veil";
import {
  ClusterRegistry__factory,
  ForcedInclusionInbox__factory,
  TxValidityVerifier__factory,
  ValidationServiceManager__factory,
  type ClusterRegistry,
  type ForcedInclusionInbox,
  type TxValidityVerifier,
  type ValidationServiceManager,
} from "../../typechain-types";
import { ArtifactsFolder } from "./artifacts";
import { DEFAULT_CORE_PARAMS, type CoreParams } from "./core-params";

export {
  DEFAULT_CORE_PARAMS,
  DEFAULT_TIME_LOCK_POLICY,
  insecureTestTimeLockPolicy,
  timeLockPolicyArg,
  type CoreParams,
  type TimeLockPolicy,
} from "./core-params";

export interface CoreContracts {
  readonly registry: ClusterRegistry;
  readonly vsm: ValidationServiceManager;
  /** The typed entry point to the tx-validity circuit's Groth16 verifier. */
  readonly txValidityVerifier: TxValidityVerifier;
  readonly inbox: ForcedInclusionInbox;
  /** The L1 block of the deployment's first transaction: where every log scan of this deployment starts. */
  readonly deployBlock: number;
}

export interface DeployOptions {
  /**
   * Ignition's journal folder (ignition/deployments/<id> for the veil:deploy task): a deployment that stops
   * half way resumes from it, and explorer verification reads it. Default: in memory (tests, the devnet).
   */
  readonly deploymentDir?: string;
  /** One line per transaction sent and confirmed. */
  readonly onProgress?: (line: string) => void;
}

/** The Ignition module's parameters for `params`. */
export function moduleParameters(params: CoreParams): DeploymentParameters {
  return {
    [VEIL_MODULE_ID]: {
      minimumBond: params.minimumBond,
      memberWithdrawalDelay: params.memberWithdrawalDelay,
      epochLength: params.epochLength,
      timeLockModulus: toBeHex(params.timeLock.modulus),
      timeLockMinSquarings: params.timeLock.minSquarings,
      insecureTestModulus: params.timeLock.insecureTestModulus,
      forcedInclusionFee: params.forcedInclusion.fee,
      forcedInclusionMaxEntriesPerHeight: params.forcedInclusion.maxEntriesPerHeight,
      quorumBps: params.quorumBps,
      responseWindow: params.responseWindow,
      challengeWindow: params.challengeWindow,
      operatorWithdrawalDelay: params.operatorWithdrawalDelay,
      minOperatorStake: params.minOperatorStake,
      challengerRewardBps: params.challengerRewardBps,
    },
  };
}

/** JSON-RPC through an ethers provider (JsonRpcProvider, Hardhat's), as Ignition's EIP-1193 interface. */
function eip1193(signer: Signer): EIP1193Provider {
  const provider = signer.provider as unknown as { send?: (method: string, params: unknown[]) => Promise<unknown> };
  if (typeof provider?.send !== "function") throw new Error("the deployer's provider cannot send JSON-RPC requests");
  return { request: ({ method, params }) => provider.send!(method, (params as unknown[] | undefined) ?? []) };
}

/** Chains that mine on demand (Hardhat's): one confirmation, and no second of polling per transaction. */
const DEVELOPMENT_CHAINS = new Set([31337n]);

/**
 * Deploys with the Ignition module from `deployer`'s account, which the provider's node must hold or sign for
 * (a Hardhat node, or Hardhat's network provider with the account's key).
 */
export async function deployCore(
  deployer: Signer,
  params: CoreParams = DEFAULT_CORE_PARAMS,
  options: DeployOptions = {},
): Promise<CoreContracts> {
  const provider = eip1193(deployer);
  const from = (await deployer.getAddress()).toLowerCase();
  const development = DEVELOPMENT_CHAINS.has(BigInt(String(await provider.request({ method: "eth_chainId" }))));
  const artifactResolver = new ArtifactsFolder(options.deploymentDir !== undefined);
  const hashes: string[] = [];
  const progress = options.onProgress;
  // Ignition calls one method per event kind; the two we report are here, every other is a no-op.
  const reported: Partial<ExecutionEventListener> = {
    transactionSend: (e) => progress?.(`sent ${e.futureId}: ${e.hash}`),
    transactionConfirm: (e) => {
      hashes.push(e.hash);
      progress?.(`confirmed ${e.futureId}`);
    },
  };
  const executionEventListener = new Proxy(reported, {
    get: (target, name) => target[name as keyof ExecutionEventListener] ?? (() => undefined),
  }) as ExecutionEventListener;
  const result = await ignitionDeploy({
    config: development ? { requiredConfirmations: 1, blockPollingInterval: 20 } : {},
    artifactResolver,
    provider,
    executionEventListener,
    ...(options.deploymentDir === undefined ? {} : { deploymentDir: options.deploymentDir }),
    ignitionModule: VeilModule,
    deploymentParameters: moduleParameters(params),
    accounts: [from],
    defaultSender: from,
  });
  if (result.type !== DeploymentResultType.SUCCESSFUL_DEPLOYMENT) {
    throw new Error(`the Ignition deployment did not complete (${result.type}): ${JSON.stringify(result, null, 2)}`);
  }
  const address = (name: string): string => {
    const contract = result.contracts[`${VEIL_MODULE_ID}#${name}`];
    if (contract === undefined) throw new Error(`the deployment has no ${name}`);
    return contract.address;
  };
  // A resumed deployment confirms nothing new: its journal lists every transaction it ever sent.
  if (options.deploymentDir !== undefined) {
    for (const tx of await listTransactions(options.deploymentDir, artifactResolver)) hashes.push(tx.txHash);
  }
  return {
    registry: ClusterRegistry__factory.connect(address("ClusterRegistry"), deployer),
    vsm: ValidationServiceManager__factory.connect(address("ValidationServiceManager"), deployer),
    txValidityVerifier: TxValidityVerifier__factory.connect(address("TxValidityVerifier"), deployer),
    inbox: ForcedInclusionInbox__factory.connect(address("ForcedInclusionInbox"), deployer),
    deployBlock: await firstBlock(provider, hashes),
  };
}

async function firstBlock(provider: EIP1193Provider, hashes: readonly string[]): Promise<number> {
  let first = Number.POSITIVE_INFINITY;
  for (const hash of new Set(hashes)) {
    const receipt = (await provider.request({ method: "eth_getTransactionReceipt", params: [hash] })) as {
      blockNumber: string;
    } | null;
    if (receipt === null) throw new Error(`the deployment's transaction ${hash} has no receipt`);
    first = Math.min(first, Number(BigInt(receipt.blockNumber)));
  }
  if (!Number.isFinite(first)) throw new Error("the deployment sent no transaction");
  return first;
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
