/**
 * What the SDK reads from (and submits to) L1: the registry's leader schedule, key-generator committee and
 * time-lock parameters, the block commitments posted as VSM tasks, and the slashing call. Everything goes
 * through the TypeChain bindings; the EIP-712 domain is derived from the chain id and the VSM's address so
 * that the SDK verifies exactly the bytes the contracts verify.
 */
import { getAddress, type ContractRunner, type ContractTransactionResponse, type Provider } from "ethers";
import {
  ClusterRegistry__factory,
  ForcedInclusionInbox__factory,
  ValidationServiceManager__factory,
  type ClusterRegistry,
  type ValidationServiceManager,
} from "../../typechain-types";
import { forcedSubmission, type ProvenTransaction } from "../chain/inbox";
import { publishedTimelockOf } from "../chain/timelock-config";
import type { PublishedTimelock } from "../crypto/timelock/params";
import { structHash, taskIdOf, veilDomain, type BlockCommitment, type VeilDomain } from "../chain/eip712";
import { commitSlashClaim } from "../chain/claims";
import type { BrokenCommitmentEvidence } from "../chain/evidence";
import type { VerifiedReceipt } from "./receipt";

/** The on-chain block commitment of (rollupId, height): the VSM task the leader created, re-hashed. */
export interface CommittedBlock {
  readonly commitment: BlockCommitment;
  readonly leader: string;
  readonly viewNumber: number;
  readonly taskId: string;
  /**
   * The leader's signature over the commitment, read from the `createNewTask` call that posted it
   * (undefined when the task was posted through another contract): the evidence of an omission slash.
   */
  readonly signature: string | undefined;
}

/** A transaction posted to the forced-inclusion inbox: its place among the height's entries. */
export interface PostedEntry {
  readonly l1TxHash: string;
  /** The L1 block it was posted in: it is due in every block whose inbox cut is at or after it. */
  readonly postedBlock: bigint;
  /** Its index among the height's entries: its slot is the block's sealed count plus this. */
  readonly index: number;
}

/** The L1 reads the SDK needs. */
export interface ChainView {
  readonly domain: VeilDomain;
  /** The registry's leader of (height, view) among the members of `epoch` (ClusterRegistry.leaderAt). */
  leaderAt(rollupId: bigint, epoch: number, height: bigint, viewNumber: number): Promise<string>;
  /** The members of the cluster serving the rollup in `epoch`, in schedule order. */
  membersAt(rollupId: bigint, epoch: number): Promise<readonly string[]>;
  /** The registry's current membership epoch. */
  currentEpoch(): Promise<number>;
  keyGeneratorsOf(rollupId: bigint): Promise<string[]>;
  /** The rollup's published time-lock parameters (N, T, h, hProof), to be verified before use. */
  timelockConfig(rollupId: bigint): Promise<PublishedTimelock>;
  /** The rollup's registered minimum of round-key contributors (0: all but one). */
  minContributorsOf(rollupId: bigint): Promise<number>;
  /** The block commitment posted for (rollupId, height), or undefined while there is none. */
  committedBlock(rollupId: bigint, height: bigint): Promise<CommittedBlock | undefined>;
  /** Posts a proven transaction to the forced-inclusion inbox with its fee, paid by `signer`; resolves once mined. */
  postForced(signer: ContractRunner, proven: ProvenTransaction): Promise<PostedEntry>;
  /** Commits `signer`'s claim on the omission slash of `block` (see claimBrokenOrderCommitment). */
  claimForcedInclusionOmission(
    signer: ContractRunner,
    block: BlockCommitment,
    signature: string,
  ): Promise<{ readonly revealFrom: number }>;
  /** Slashes the signer of `block`, a block that counts the due forced entries otherwise (claimed before). */
  slashForcedInclusionOmission(
    signer: ContractRunner,
    block: BlockCommitment,
    signature: string,
  ): Promise<ContractTransactionResponse>;
  /**
   * Commits `signer`'s claim on the slash of a broken promise (the VSM pays only a claimed slash, so that a
   * copy from the mempool earns nothing); resolves with the first block the slash may be sent in.
   */
  claimBrokenOrderCommitment(
    signer: ContractRunner,
    receipt: VerifiedReceipt,
    block: BlockCommitment,
    evidence: BrokenCommitmentEvidence,
  ): Promise<{ readonly revealFrom: number }>;
  /** Submits slashing evidence claimed before (claimBrokenOrderCommitment), paid and rewarded by `signer`. */
  slashBrokenOrderCommitment(
    signer: ContractRunner,
    receipt: VerifiedReceipt,
    block: BlockCommitment,
    evidence: BrokenCommitmentEvidence,
  ): Promise<ContractTransactionResponse>;
}

/** The arguments of `slashBrokenOrderCommitment`, in order. */
function brokenCommitmentArgs(receipt: VerifiedReceipt, block: BlockCommitment, evidence: BrokenCommitmentEvidence) {
  return [
    receipt.commitment,
    receipt.signature,
    block,
    evidence.postLeafHash,
    evidence.postSiblings,
    evidence.preSiblings,
  ] as const;
}

export interface L1Addresses {
  readonly registry: string;
  readonly validationServiceManager: string;
}

/** A ChainView over the deployed contracts. `fromBlock` bounds the event search (the deployment block). */
export class ContractChainView implements ChainView {
  readonly registry: ClusterRegistry;
  readonly vsm: ValidationServiceManager;

  private constructor(
    readonly domain: VeilDomain,
    runner: ContractRunner,
    addresses: L1Addresses,
    private readonly fromBlock: number,
  ) {
    this.registry = ClusterRegistry__factory.connect(addresses.registry, runner);
    this.vsm = ValidationServiceManager__factory.connect(addresses.validationServiceManager, runner);
  }

  static async connect(provider: Provider, addresses: L1Addresses, fromBlock = 0): Promise<ContractChainView> {
    const { chainId } = await provider.getNetwork();
    return new ContractChainView(
      veilDomain(chainId, addresses.validationServiceManager),
      provider,
      addresses,
      fromBlock,
    );
  }

  async leaderAt(rollupId: bigint, epoch: number, height: bigint, viewNumber: number): Promise<string> {
    const leader = await this.registry.leaderAt(
      await this.registry.clusterOfRollup(rollupId),
      epoch,
      height,
      viewNumber,
    );
    return getAddress(leader);
  }

  async membersAt(rollupId: bigint, epoch: number): Promise<readonly string[]> {
    const members = await this.registry.membersAt(await this.registry.clusterOfRollup(rollupId), epoch);
    return members.map((m) => getAddress(m));
  }

  async currentEpoch(): Promise<number> {
    return Number(await this.registry.currentEpoch());
  }

  async keyGeneratorsOf(rollupId: bigint): Promise<string[]> {
    return (await this.registry.keyGeneratorsOf(rollupId)).map((a) => getAddress(a));
  }

  async minContributorsOf(rollupId: bigint): Promise<number> {
    const [, config] = await this.registry.rollupInfo(rollupId);
    return Number(config.minContributors);
  }

  async timelockConfig(rollupId: bigint): Promise<PublishedTimelock> {
    const [, config] = await this.registry.rollupInfo(rollupId);
    return publishedTimelockOf(config, rollupId);
  }

  async committedBlock(rollupId: bigint, height: bigint): Promise<CommittedBlock | undefined> {
    const taskId = taskIdOf(rollupId, height);
    const task = await this.vsm.getTask(taskId);
    if (task.status === 0n) return undefined;
    const logs = await this.vsm.queryFilter(this.vsm.filters.TaskCreated(taskId), this.fromBlock);
    // A task replaced by a later view's (TaskReplaced) has one TaskCreated per commitment: the last counts.
    const log = logs.at(-1);
    if (log === undefined) throw new Error(`task ${taskId} exists but its TaskCreated event was not found`);
    const e = log.args;
    const commitment: BlockCommitment = {
      rollupId: e.rollupId,
      height: e.height,
      txCount: Number(e.txCount),
      encRoot: e.encRoot.toLowerCase(),
      inboxBlock: e.inboxBlock,
      forcedCount: Number(e.forcedCount),
      rawRoot: e.rawRoot.toLowerCase(),
      // The task's view: createNewTask requires it of the commitment, and the stored hash below covers it.
      viewNumber: Number(e.viewNumber),
    };
    // The event is only a convenience; the stored hash is what the contract checks evidence against.
    if (structHash("BlockCommitment", commitment) !== task.commitmentHash) {
      throw new Error(`TaskCreated event of ${taskId} does not hash to the stored commitment`);
    }
    const posted = await log.getTransaction();
    const call = this.vsm.interface.parseTransaction({ data: posted.data });
    const signature = call?.name === "createNewTask" ? (call.args[2] as string) : undefined;
    return { commitment, leader: getAddress(task.leader), viewNumber: Number(task.viewNumber), taskId, signature };
  }

  async postForced(signer: ContractRunner, proven: ProvenTransaction): Promise<PostedEntry> {
    const inbox = ForcedInclusionInbox__factory.connect(await this.vsm.inbox(), signer);
    const fee = await inbox.submissionFee();
    const receipt = await (await inbox.submit(forcedSubmission(proven), { value: fee })).wait();
    if (receipt === null) throw new Error("the forced-inclusion submission was dropped");
    for (const log of receipt.logs) {
      const parsed = inbox.interface.parseLog(log);
      if (parsed?.name === "ForcedTransactionSubmitted") {
        return { l1TxHash: receipt.hash, postedBlock: BigInt(receipt.blockNumber), index: Number(parsed.args[2]) };
      }
    }
    throw new Error(`the inbox emitted no ForcedTransactionSubmitted in ${receipt.hash}`);
  }

  async claimForcedInclusionOmission(
    signer: ContractRunner,
    block: BlockCommitment,
    signature: string,
  ): Promise<{ readonly revealFrom: number }> {
    const vsm = this.vsm.connect(signer);
    const { revealFrom } = await commitSlashClaim(vsm, "slashForcedInclusionOmission", [block, signature]);
    return { revealFrom };
  }

  async slashForcedInclusionOmission(
    signer: ContractRunner,
    block: BlockCommitment,
    signature: string,
  ): Promise<ContractTransactionResponse> {
    return this.vsm.connect(signer).slashForcedInclusionOmission(block, signature);
  }

  async claimBrokenOrderCommitment(
    signer: ContractRunner,
    receipt: VerifiedReceipt,
    block: BlockCommitment,
    evidence: BrokenCommitmentEvidence,
  ): Promise<{ readonly revealFrom: number }> {
    const args = brokenCommitmentArgs(receipt, block, evidence);
    const { revealFrom } = await commitSlashClaim(this.vsm.connect(signer), "slashBrokenOrderCommitment", args);
    return { revealFrom };
  }

  /** Submits the evidence that the leader broke `receipt`'s promise; the caller's signer pays and is rewarded. */
  async slashBrokenOrderCommitment(
    signer: ContractRunner,
    receipt: VerifiedReceipt,
    block: BlockCommitment,
    evidence: BrokenCommitmentEvidence,
  ): Promise<ContractTransactionResponse> {
    return this.vsm.connect(signer).slashBrokenOrderCommitment(...brokenCommitmentArgs(receipt, block, evidence));
  }
}
