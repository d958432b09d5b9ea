/**
 * A validator (one per operator), DESIGN.md step 9: it scans the VSM's TaskCreated logs, recomputes
 * encRoot from its node's sealed entries, reads the forced-inclusion entries due at the commitment's inbox
 * block from the L1, and recomputes rawRoot by building the block with the released round secret, signs approve or reject (EIP-712 OperatorResponse, recorded before it is shared), serves its
 * vote on `get_task_response`, and aggregates: once the votes it collected from its peers for one
 * answer carry a quorum of the stake at the task's reference block, it submits them sorted by signer.
 */
import type { Logger } from "pino";
import { Counter, Histogram, type Registry } from "prom-client";
import { z } from "zod";
import { buildBlock, encRootOfLeafData, leafDataOfEntries, type BlockDecrypter } from "../block/build";
import {
  recoverSigner,
  signMessage,
  structHash,
  type BlockCommitment,
  type TypedDataSigner,
  type VeilDomain,
} from "../chain/eip712";
import type { RpcClient } from "../rpc/client";
import { veilError } from "../rpc/errors";
import type { MethodRegistry } from "../rpc/registry";
import type { ValidationServiceManager } from "../../typechain-types";
import type { DueEntries } from "../chain/inbox";
import { fetchRoundKey, fetchRoundSecret, fetchSealedHeight } from "./sources";
import type { Vote, VoteStore } from "./votes";

/** A task as its TaskCreated log states it. */
export interface TaskInfo {
  readonly taskId: string;
  readonly leader: string;
  readonly viewNumber: number;
  readonly commitmentHash: string;
  readonly commitment: BlockCommitment;
}

export interface ValidatorDeps {
  /** The operator key: signs responses. */
  readonly signer: TypedDataSigner & { readonly address: string };
  /** The VSM, connected to a signer that pays for respondToTask. */
  readonly vsm: ValidationServiceManager;
  readonly domain: VeilDomain;
  readonly node: RpcClient;
  readonly keyGenerators: readonly RpcClient[];
  /** Other validators' JSON-RPC (their `get_task_response`). */
  readonly peers: readonly RpcClient[];
  /** L2 chain id per rollup; rollups not listed are built without a chain-id check. */
  readonly chainIds: ReadonlyMap<bigint, bigint>;
  /** The forced-inclusion entries due at an inbox block: the L1 inbox the VSM judges omissions by. */
  readonly inbox: DueEntries;
  readonly votes: VoteStore;
  readonly log: Logger;
  readonly metrics: Registry;
  readonly decrypter?: BlockDecrypter;
  /** First L1 block to scan for tasks (the scan never starts more than the VSM's response window back). */
  readonly fromBlock: number;
  /** Most L1 blocks per TaskCreated log query (RPC providers cap the range); default 2,000. */
  readonly maxBlockRange?: number;
}

const responseSchema = z.strictObject({
  taskId: z.string(),
  commitmentHash: z.string(),
  approve: z.boolean(),
  signature: z.string().regex(/^0x[0-9a-fA-F]{130}$/),
  operator: z.string(),
});
export type TaskResponseJson = z.infer<typeof responseSchema>;

const TASK_PENDING = 1n;

export class Validator {
  private nextBlock: number;
  /** The VSM's response window in blocks, read once (an immutable of the contract). */
  private responseWindow: number | undefined;
  /** The L1 block of each open task's TaskCreated log. */
  private readonly createdAt = new Map<string, number>();
  /** Tasks voted on and not yet seen resolved: the aggregation work list. */
  private readonly open = new Map<string, TaskInfo>();
  /** The VSM's quorum in basis points, read once (an immutable of the contract). */
  private quorumBps: bigint | undefined;
  private readonly answers: Counter<"answer">;
  private readonly failures: Counter<"stage">;
  private readonly submitted: Counter;
  private readonly validateSeconds: Histogram;

  constructor(private readonly d: ValidatorDeps) {
    this.nextBlock = d.fromBlock;
    this.answers = new Counter({
      name: "veil_validator_votes_total",
      help: "votes signed, by answer",
      labelNames: ["answer"],
      registers: [d.metrics],
    });
    this.failures = new Counter({
      name: "veil_validator_failures_total",
      help: "tasks not validated yet, by stage",
      labelNames: ["stage"],
      registers: [d.metrics],
    });
    this.submitted = new Counter({
      name: "veil_validator_aggregates_submitted_total",
      help: "respondToTask transactions sent",
      registers: [d.metrics],
    });
    this.validateSeconds = new Histogram({
      name: "veil_validator_validate_seconds",
      help: "fetch, decrypt, build and sign one task",
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
      registers: [d.metrics],
    });
  }

  get address(): string {
    return this.d.signer.address;
  }

  /** The last L1 block whose TaskCreated logs were read (fromBlock - 1 before the first poll). */
  get scannedThrough(): number {
    return this.nextBlock - 1;
  }

  /** Tasks seen and not yet known to be settled on-chain. */
  get openTasks(): number {
    return this.open.size;
  }

  registerMethods(methods: MethodRegistry): void {
    methods.register("get_task_response", {
      description: "this operator's signed response (OperatorResponse, EIP-712) to a VSM task",
      params: {
        taskId: z.string().regex(/^0x[0-9a-fA-F]{64}$/, "must be a bytes32"),
        /** The task's commitment (a replaced task has several); without it, the latest one voted on. */
        commitmentHash: z
          .string()
          .regex(/^0x[0-9a-fA-F]{64}$/, "must be a bytes32")
          .optional(),
      },
      handler: ({ taskId, commitmentHash }): TaskResponseJson => {
        const vote = this.d.votes.get(taskId, commitmentHash);
        if (vote === undefined) throw veilError.notFound(`a response to task ${taskId}`);
        return {
          taskId: vote.taskId,
          commitmentHash: vote.commitmentHash,
          approve: vote.approve,
          signature: vote.signature,
          operator: this.address,
        };
      },
    });
  }

  /** One round of work: new tasks are validated, open tasks aggregated. Safe to call repeatedly. */
  async poll(): Promise<void> {
    const latest = await this.d.vsm.runner!.provider!.getBlockNumber();
    if (this.responseWindow === undefined) {
      this.responseWindow = Number(await this.d.vsm.responseWindow());
      // A task created more than a response window ago can no longer be answered: no need to read it.
      this.nextBlock = Math.max(this.nextBlock, latest - this.responseWindow);
    }
    const range = this.d.maxBlockRange ?? 2_000;
    while (latest >= this.nextBlock) {
      const to = Math.min(latest, this.nextBlock + range - 1);
      const logs = await this.d.vsm.queryFilter(this.d.vsm.filters.TaskCreated(), this.nextBlock, to);
      for (const log of logs) {
        const a = log.args;
        const task: TaskInfo = {
          taskId: a.taskId.toLowerCase(),
          leader: a.leader,
          viewNumber: Number(a.viewNumber),
          commitmentHash: a.commitmentHash.toLowerCase(),
          commitment: {
            rollupId: a.rollupId,
            height: a.height,
            txCount: Number(a.txCount),
            encRoot: a.encRoot.toLowerCase(),
            inboxBlock: a.inboxBlock,
            forcedCount: Number(a.forcedCount),
            rawRoot: a.rawRoot.toLowerCase(),
            // createNewTask requires the commitment's view to be its seal certificate's, the task's.
            viewNumber: Number(a.viewNumber),
          },
        };
        // Each block is scanned once, so a forgotten (settled or expired) task is never read again:
        // nothing but the open tasks needs remembering, and memory stays bounded on a long run.
        // A task replaced by a later view's (TaskReplaced) comes again with another commitment: that one
        // is what is voted on now, in a response window of its own.
        if (this.open.get(task.taskId)?.commitmentHash !== task.commitmentHash) {
          this.open.set(task.taskId, task);
          this.createdAt.set(task.taskId, log.blockNumber);
        }
      }
      this.nextBlock = to + 1;
    }
    for (const task of [...this.open.values()]) {
      const created = this.createdAt.get(task.taskId) ?? latest;
      if (latest > created + this.responseWindow) {
        // respondToTask reverts from here on (the task can only expire): neither a vote nor an aggregate helps.
        this.forget(task.taskId);
        this.d.log.warn({ taskId: task.taskId }, "response window closed before the task was settled");
        continue;
      }
      try {
        if (this.d.votes.get(task.taskId, task.commitmentHash) === undefined) await this.vote(task);
        await this.aggregate(task);
      } catch (error) {
        this.d.log.warn({ taskId: task.taskId, err: (error as Error).message }, "task not settled yet; will retry");
      }
    }
  }

  /** Recomputes the block of `task` and the answer it deserves (approve iff every field matches). */
  async check(task: TaskInfo): Promise<{ approve: boolean; reason: string }> {
    const { rollupId, height, txCount, encRoot, inboxBlock, forcedCount, rawRoot, viewNumber } = task.commitment;
    if (structHash("BlockCommitment", task.commitment) !== task.commitmentHash) {
      return { approve: false, reason: "the commitment hash does not match the commitment" };
    }
    if (viewNumber !== task.viewNumber) {
      return {
        approve: false,
        reason: `the commitment names view ${viewNumber}, the task's view is ${task.viewNumber}`,
      };
    }
    const sealed = await this.stage("fetch", () => fetchSealedHeight(this.d.node, rollupId, height));
    if (sealed.entries.length !== txCount)
      return { approve: false, reason: `txCount ${txCount}, the sealed height holds ${sealed.entries.length}` };
    // Hashed once, on the decrypter's threads when the block is large: encRoot now, the block below.
    const leafData = await leafDataOfEntries(sealed.entries, this.d.decrypter);
    const ourEncRoot = encRootOfLeafData(leafData);
    if (ourEncRoot !== encRoot) return { approve: false, reason: `encRoot ${encRoot}, recomputed ${ourEncRoot}` };
    const forced = await this.stage("inbox", () => this.d.inbox.dueAt(rollupId, height, inboxBlock));
    if (forced.length !== forcedCount) {
      return {
        approve: false,
        reason: `forcedCount ${forcedCount}, ${forced.length} entries due at inbox block ${inboxBlock}`,
      };
    }
    const roundKey = await this.stage("round-key", () => fetchRoundKey(this.d.node, rollupId, height));
    const secretKey = await this.stage("round-secret", () =>
      fetchRoundSecret(this.d.keyGenerators, rollupId, height, roundKey),
    );
    const chainId = this.d.chainIds.get(rollupId);
    const block = await buildBlock({
      rollupId,
      height,
      entries: sealed.entries,
      forced: { inboxBlock, entries: forced },
      encTxHashes: leafData,
      roundKey,
      secretKey,
      viewNumber,
      ...(chainId === undefined ? {} : { chainId }),
      ...(this.d.decrypter === undefined ? {} : { decrypter: this.d.decrypter }),
    });
    if (block.rawRoot !== rawRoot) return { approve: false, reason: `rawRoot ${rawRoot}, rebuilt ${block.rawRoot}` };
    return { approve: true, reason: "encRoot, txCount, forcedCount and rawRoot recomputed" };
  }

  /** Signs and records this operator's one answer to `task` (an earlier recorded answer wins). */
  async vote(task: TaskInfo): Promise<Vote> {
    const earlier = this.d.votes.get(task.taskId, task.commitmentHash);
    if (earlier !== undefined) return earlier;
    const timer = this.validateSeconds.startTimer();
    const { approve, reason } = await this.check(task);
    const signature = await signMessage(this.d.signer, this.d.domain, "OperatorResponse", {
      taskId: task.taskId,
      commitmentHash: task.commitmentHash,
      approve,
    });
    const vote = this.d.votes.record({
      taskId: task.taskId,
      commitmentHash: task.commitmentHash,
      approve,
      signature,
      reason,
    });
    timer();
    this.answers.inc({ answer: vote.approve ? "approve" : "reject" });
    this.d.log.info(
      {
        taskId: task.taskId,
        rollupId: task.commitment.rollupId.toString(),
        height: task.commitment.height.toString(),
        approve: vote.approve,
        reason: vote.reason,
      },
      "voted",
    );
    return vote;
  }

  /**
   * Collects the responses of the peers, keeps those that verify for the task's commitment, and
   * submits the answer whose signers hold a quorum of the reference stake. Returns whether the task is settled.
   */
  async aggregate(task: TaskInfo): Promise<boolean> {
    const { vsm } = this.d;
    const onChain = await vsm.getTask(task.taskId);
    if (onChain.status !== TASK_PENDING) {
      this.forget(task.taskId);
      return true;
    }

    const own = this.d.votes.get(task.taskId, task.commitmentHash);
    const collected = new Map<string, { approve: boolean; signature: string }>();
    if (own !== undefined) collected.set(this.address.toLowerCase(), own);
    const answers = await Promise.allSettled(
      this.d.peers.map((p) =>
        p.call("get_task_response", { taskId: task.taskId, commitmentHash: task.commitmentHash }, responseSchema),
      ),
    );
    for (const answer of answers) {
      if (answer.status !== "fulfilled") continue;
      const r = answer.value;
      if (r.taskId.toLowerCase() !== task.taskId || r.commitmentHash.toLowerCase() !== task.commitmentHash) continue;
      let signer: string;
      try {
        signer = recoverSigner(
          this.d.domain,
          "OperatorResponse",
          { taskId: task.taskId, commitmentHash: task.commitmentHash, approve: r.approve },
          r.signature,
        );
      } catch {
        continue;
      }
      collected.set(signer.toLowerCase(), { approve: r.approve, signature: r.signature });
    }
    const reference = Number(onChain.createdBlock) - 1;
    const total = await vsm.totalStakeAt(reference);
    const quorumBps = (this.quorumBps ??= await vsm.quorumBps());
    for (const approve of [true, false]) {
      const signers = [...collected.entries()].filter(([, v]) => v.approve === approve);
      let stake = 0n;
      const weighted: [string, string][] = [];
      for (const [signer, v] of signers) {
        const s = await vsm.stakeAt(signer, reference);
        if (s === 0n) continue;
        stake += s;
        weighted.push([signer, v.signature]);
      }
      if (total === 0n || stake * 10_000n < total * quorumBps) continue;
      weighted.sort(([a], [b]) => (BigInt(a) < BigInt(b) ? -1 : 1));
      try {
        await (
          await vsm.respondToTask(
            task.taskId,
            approve,
            weighted.map(([, sig]) => sig),
          )
        ).wait();
        this.submitted.inc();
        this.d.log.info(
          { taskId: task.taskId, approve, signers: weighted.length },
          "aggregate submitted: quorum reached",
        );
      } catch (error) {
        // Another aggregator may have settled it first; the next poll sees the final status.
        this.d.log.info({ taskId: task.taskId, err: (error as Error).message }, "aggregate not accepted");
        return false;
      }
      this.forget(task.taskId);
      return true;
    }
    return false;
  }

  private forget(taskId: string): void {
    this.open.delete(taskId);
    this.createdAt.delete(taskId);
  }

  private async stage<T>(stage: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      this.failures.inc({ stage });
      throw error;
    }
  }
}
