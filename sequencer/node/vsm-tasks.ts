/**
 * Creating the on-chain task of a block commitment (DESIGN.md step 8). A task per (rollupId, height)
 * can exist only once: after a failover the new leader finalizes the same height again, and the task
 * its predecessor created for the SAME block counts as success (the commitments differ only in their
 * view, and the task stores its view, so the predecessor's hash is ours with the task's view). A task
 * with ANOTHER block means two leaders built different blocks for one height: an error that must never
 * pass silently, unless that task is still pending or was rejected and ours is certified in a later
 * view, which the VSM lets replace it (a squatted or bad task of an earlier view).
 */
import type { ValidationServiceManager } from "../../typechain-types";
import type { SealCertificate } from "../chain/certificate";
import { structHash, taskIdOf, type BlockCommitment } from "../chain/eip712";

export type TaskOutcome = "created" | "exists";

export interface VsmTasks {
  /** Creates the task, or finds it already there with this commitment; throws TaskConflict otherwise. */
  submit(commitment: BlockCommitment, certificate: SealCertificate, signature: string): Promise<TaskOutcome>;
}

export class TaskConflict extends Error {
  constructor(
    readonly taskId: string,
    readonly onChain: string,
    readonly ours: string,
  ) {
    super(`the VSM task ${taskId} holds commitment ${onChain}, this block's is ${ours}`);
    this.name = "TaskConflict";
  }
}

/** ValidationServiceManager.TaskStatus values. */
const TASK_NONE = 0n;
const TASK_PENDING = 1n;
const TASK_REJECTED = 3n;

/** The ValidationServiceManager through TypeChain; transactions are sent one at a time (one nonce sequence). */
export class VsmTaskSubmitter implements VsmTasks {
  private queue: Promise<unknown> = Promise.resolve();

  /** `receiptTimeoutMs`: how long to wait for the transaction to be mined before giving up (then retried). */
  constructor(
    private readonly vsm: ValidationServiceManager,
    private readonly receiptTimeoutMs: number,
  ) {}

  submit(commitment: BlockCommitment, certificate: SealCertificate, signature: string): Promise<TaskOutcome> {
    const run = this.queue.then(() => this.create(commitment, certificate, signature));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async create(
    commitment: BlockCommitment,
    certificate: SealCertificate,
    signature: string,
  ): Promise<TaskOutcome> {
    const taskId = taskIdOf(commitment.rollupId, commitment.height);
    const view = certificate.seal.viewNumber;
    if ((await this.existing(taskId, commitment, view)) === "exists") return "exists";
    try {
      const tx = await this.vsm.createNewTask(
        commitment,
        { seal: certificate.seal, signatures: [...certificate.signatures] },
        signature,
      );
      const receipt = await tx.wait(1, this.receiptTimeoutMs);
      if (receipt === null || receipt.status !== 1) throw new Error(`createNewTask reverted (tx ${tx.hash})`);
      return "created";
    } catch (error) {
      // Another leader's transaction may have landed first (TaskExists): what counts is what is on-chain.
      if ((await this.existing(taskId, commitment, view)) === "exists") return "exists";
      throw error;
    }
  }

  /**
   * "exists" when the task holds our block (in any view); undefined when there is none or ours may
   * replace it.
   */
  private async existing(taskId: string, commitment: BlockCommitment, view: number): Promise<TaskOutcome | undefined> {
    const task = await this.vsm.getTask(taskId);
    if (task.status === TASK_NONE) return undefined;
    const onChain = task.commitmentHash.toLowerCase();
    const inTaskView = { ...commitment, viewNumber: Number(task.viewNumber) };
    if (onChain === structHash("BlockCommitment", inTaskView).toLowerCase()) return "exists";
    const ours = structHash("BlockCommitment", commitment).toLowerCase();
    const replaceable = task.status === TASK_PENDING || task.status === TASK_REJECTED;
    if (replaceable && Number(task.viewNumber) < view) return undefined;
    throw new TaskConflict(taskId, onChain, ours);
  }
}
