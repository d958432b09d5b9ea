/** Shared deployment for the contract suites: a cluster of 4 members serving one rollup, 4 operators. */
import { ethers } from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { keccak256, parseEther, toBeHex, toUtf8Bytes, type Signer } from "ethers";
import { certifySeal, type SealCertificate } from "../../sequencer/chain/certificate";
import { commitSlashClaim } from "../../sequencer/chain/claims";
import {
  DEFAULT_TIME_LOCK_POLICY,
  deployCore,
  timeLockPolicyArg,
  mineUntilMembers,
  type CoreParams,
} from "../../sequencer/chain/deploy";
import {
  signMessage,
  structHash,
  veilDomain,
  type BlockCommitment,
  type Seal,
  type VeilDomain,
} from "../../sequencer/chain/eip712";
import { RSA_2048_MODULUS } from "../../sequencer/crypto/timelock/modulus";
import {
  ForcedInclusionInbox__factory,
  type ClusterRegistry,
  type ForcedInclusionInbox,
  type ValidationServiceManager,
} from "../../typechain-types";

export const PARAMS: CoreParams = {
  minimumBond: parseEther("1"),
  memberWithdrawalDelay: 200n,
  epochLength: 100n,
  quorumBps: 6_666n,
  responseWindow: 50n,
  challengeWindow: 100n,
  operatorWithdrawalDelay: 150n,
  minOperatorStake: parseEther("1"),
  challengerRewardBps: 1_000n,
  // RSA-2048 with a small least T: the contract suites register T = 1M and test the minimum itself.
  timeLock: { ...DEFAULT_TIME_LOCK_POLICY, minSquarings: 1_000n },
  forcedInclusion: { fee: parseEther("0.01"), maxEntriesPerHeight: 128 },
};

/** PARAMS.timeLock as the registry's constructor takes it, for suites that deploy a registry alone. */
export const TIME_LOCK = timeLockPolicyArg(PARAMS.timeLock);

export const ROLLUP_ID = 4242n;
export const CLUSTER_BOND = parseEther("2");
export const OPERATOR_STAKE = parseEther("10");
export const MODULUS = toBeHex(RSA_2048_MODULUS);

export const rollupConfig = (clusterId: bigint) => ({
  clusterId,
  maxTxsPerBlock: 4096,
  blockGasLimit: 30_000_000n,
  timeLockSquarings: 1_000_000n,
  timeLockModulus: MODULUS,
  // The registry stores h and its proof without checking them (every process does, in milliseconds):
  // the contract suites need only their shape.
  timeLockH: `0x02${"11".repeat(255)}`,
  timeLockHProof: `0x03${"22".repeat(255)}`,
  minContributors: 0,
});

export const h = (label: string): string => keccak256(toUtf8Bytes(label));

export interface World {
  registry: ClusterRegistry;
  vsm: ValidationServiceManager;
  inbox: ForcedInclusionInbox;
  domain: VeilDomain;
  deployer: HardhatEthersSigner;
  clusterOwner: HardhatEthersSigner;
  rollupOwner: HardhatEthersSigner;
  executor: HardhatEthersSigner;
  members: HardhatEthersSigner[];
  operators: HardhatEthersSigner[];
  keyGenerators: string[];
  outsider: HardhatEthersSigner;
  clusterId: bigint;
}

/** Deploys the core contracts only (no cluster, rollup or operators). */
export async function deployedCore(): Promise<Pick<World, "registry" | "vsm" | "inbox" | "domain">> {
  const [deployer] = await ethers.getSigners();
  const { registry, vsm, inbox } = await deployCore(deployer!, PARAMS);
  const { chainId } = await ethers.provider.getNetwork();
  return { registry, vsm, inbox, domain: veilDomain(chainId, await vsm.getAddress()) };
}

/**
 * An inbox of `registry` for tests of the VSM's constructor, which only reads its registry: its verifier is
 * an account, so no submission to it could ever pass.
 */
export async function inboxOf(registry: string): Promise<string> {
  const [deployer] = await ethers.getSigners();
  const inbox = await new ForcedInclusionInbox__factory(deployer).deploy(registry, deployer!.address, 1n, 1);
  return inbox.getAddress();
}

export async function world(): Promise<World> {
  const signers = await ethers.getSigners();
  const [deployer, clusterOwner, rollupOwner, executor, outsider] = signers as [
    HardhatEthersSigner,
    HardhatEthersSigner,
    HardhatEthersSigner,
    HardhatEthersSigner,
    HardhatEthersSigner,
  ];
  const members = signers.slice(5, 9);
  const operators = signers.slice(9, 13);
  const keyGenerators = signers
    .slice(13, 16)
    .map((s) => s.address)
    .sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
  const { registry, vsm, inbox, domain } = await deployedCore();
  // Start at an epoch boundary, whatever ran before: the members join one epoch apart (one change per epoch).
  await mineToEpochEnd();
  await registry.connect(clusterOwner).createCluster(CLUSTER_BOND, 8);
  const clusterId = 1n;
  for (const m of members) await registry.connect(m).join(clusterId, { value: CLUSTER_BOND });
  await registry.connect(clusterOwner).approveRollup(clusterId, ROLLUP_ID, rollupOwner.address);
  await registry
    .connect(rollupOwner)
    .registerRollup(ROLLUP_ID, rollupConfig(clusterId), [executor.address], keyGenerators);
  for (const o of operators) await vsm.connect(o).registerOperator({ value: OPERATOR_STAKE });
  await mineUntilMembers(registry, clusterId, members.length, ethers.provider);
  // Views (eth_call runs on the latest block) and the next transaction then see the same epoch, with most of
  // it ahead.
  await mineToEpochStart();
  return {
    registry,
    vsm,
    inbox,
    domain,
    deployer,
    clusterOwner,
    rollupOwner,
    executor,
    members,
    operators,
    keyGenerators,
    outsider,
    clusterId,
  };
}

/** The local (Hardhat) accounts of `addresses`, in the same order. */
export async function signersOf(addresses: readonly string[]): Promise<HardhatEthersSigner[]> {
  const all = await ethers.getSigners();
  return addresses.map((address) => {
    const signer = all.find((s) => s.address === address);
    if (!signer) throw new Error(`${address} is not a local account`);
    return signer;
  });
}

/** Mines until the latest block is the first of an epoch, unless it already is. */
export async function mineToEpochStart(): Promise<void> {
  const latest = BigInt(await ethers.provider.getBlockNumber());
  const left = (PARAMS.epochLength - (latest % PARAMS.epochLength)) % PARAMS.epochLength;
  if (left > 0n) await ethers.provider.send("hardhat_mine", [`0x${left.toString(16)}`]);
}

/** Mines until the latest block is the last of its epoch: the next transaction lands in the next epoch. */
export async function mineToEpochEnd(): Promise<void> {
  const latest = BigInt(await ethers.provider.getBlockNumber());
  const left = PARAMS.epochLength - 1n - (latest % PARAMS.epochLength);
  if (left > 0n) await ethers.provider.send("hardhat_mine", [`0x${left.toString(16)}`]);
}

/** The member that leads `height` at `view` (members joined in order, so members[(height + view) % 4]). */
export function leaderSigner(w: World, height: bigint, view = 0): HardhatEthersSigner {
  return w.members[Number((height + BigInt(view)) % BigInt(w.members.length))]!;
}

/** A block commitment of `height` (3 txs, view 0 unless overridden). */
export function blockCommitment(height: bigint, overrides: Partial<BlockCommitment> = {}): BlockCommitment {
  return {
    rollupId: ROLLUP_ID,
    height,
    txCount: 3,
    encRoot: h("enc"),
    inboxBlock: 0n,
    forcedCount: 0,
    rawRoot: h("raw"),
    viewNumber: 0,
    ...overrides,
  };
}

/** The registry's current membership epoch: the one a seal or an order commitment made now names. */
export async function currentEpoch(w: Pick<World, "registry">): Promise<number> {
  return Number(await w.registry.currentEpoch());
}

/**
 * The seal that `commitment` carries (its count, encRoot and inbox block), signed by the members of `epoch`, in `view`
 * (by default the commitment's).
 */
export function sealOf(commitment: BlockCommitment, epoch: number, view = commitment.viewNumber): Seal {
  return {
    rollupId: commitment.rollupId,
    height: commitment.height,
    txCount: commitment.txCount,
    encRoot: commitment.encRoot,
    inboxBlock: commitment.inboxBlock,
    viewNumber: view,
    epoch,
  };
}

/** A certificate of `seal` by `signers` (default: the first three members, a majority of four). */
export function certificateOf(w: World, seal: Seal, signers = w.members.slice(0, 3)): Promise<SealCertificate> {
  return certifySeal(signers, w.domain, seal);
}

/** The certificate as the contract takes it (a mutable signature array). */
export const onChain = (c: SealCertificate) => ({ seal: c.seal, signatures: [...c.signatures] });

/**
 * Creates the task of `commitment` with a majority's certificate of its seal at the commitment's view in the
 * current epoch, signed by that view's leader (the fixture's four members are the current epoch's members).
 */
export async function createTask(w: World, commitment: BlockCommitment): Promise<string> {
  const leader = leaderSigner(w, commitment.height, commitment.viewNumber);
  const sig = await signMessage(leader, w.domain, "BlockCommitment", commitment);
  const certificate = await certificateOf(w, sealOf(commitment, await currentEpoch(w)));
  await w.vsm.connect(leader).createNewTask(commitment, onChain(certificate), sig);
  return w.vsm.taskIdOf(commitment.rollupId, commitment.height);
}

/** Operator response signatures over the task's commitment, sorted by signer address. */
export async function responses(
  w: World,
  taskId: string,
  commitment: BlockCommitment,
  approve: boolean,
  signers: HardhatEthersSigner[],
): Promise<string[]> {
  const sorted = [...signers].sort((a, b) => (BigInt(a.address) < BigInt(b.address) ? -1 : 1));
  const response = { taskId, commitmentHash: structHash("BlockCommitment", commitment), approve };
  return Promise.all(sorted.map((s) => signMessage(s, w.domain, "OperatorResponse", response)));
}

/**
 * The VSM as `caller` sends slashes (the fixture's deployer by default): each `slash*` call first commits
 * the caller's claim on exactly that call (`commitClaim`), mines past CLAIM_DELAY, then sends it, as an
 * honest challenger does. Any other method is the VSM's own.
 */
export function claiming(w: Pick<World, "vsm">, caller?: Signer): ValidationServiceManager {
  const vsm = caller === undefined ? w.vsm : w.vsm.connect(caller);
  return new Proxy(vsm, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof prop !== "string" || !prop.startsWith("slash") || typeof value !== "function") return value;
      return async (...args: unknown[]) => {
        const { revealFrom } = await commitSlashClaim(target, prop, args);
        const now = await ethers.provider.getBlockNumber();
        if (revealFrom - 1 > now)
          await ethers.provider.send("hardhat_mine", [`0x${(revealFrom - 1 - now).toString(16)}`]);
        return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
      };
    },
  });
}
