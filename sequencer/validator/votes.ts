/**
 * The validator's own votes, one per task commitment, written to disk (synced) BEFORE the signature leaves the
 * process: after a crash it answers with the vote it already gave and never signs the other answer
 * (signing both is slashable with slashOperatorDoubleVote).
 */
import {
  appendFileSync,
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  truncateSync,
} from "node:fs";
import path from "node:path";
import { z } from "zod";

export interface Vote {
  readonly taskId: string;
  readonly commitmentHash: string;
  readonly approve: boolean;
  readonly signature: string;
  readonly reason: string;
}

const voteSchema = z.strictObject({
  taskId: z.string(),
  commitmentHash: z.string(),
  approve: z.boolean(),
  signature: z.string(),
  reason: z.string(),
});

/** One vote per (task, commitment): a task replaced by a later view's carries another commitment. */
const voteKey = (taskId: string, commitmentHash: string): string =>
  `${taskId.toLowerCase()}:${commitmentHash.toLowerCase()}`;

export class VoteStore {
  private readonly votes = new Map<string, Vote>();
  private readonly latest = new Map<string, Vote>();

  /** `file` (JSON lines) persists votes across restarts; without it votes live in memory only (tests). */
  constructor(private readonly file?: string) {
    if (file === undefined || !existsSync(file)) return;
    const text = readFileSync(file, "utf8");
    const complete = text.lastIndexOf("\n") + 1;
    if (complete < text.length) {
      // A crash mid-append leaves a last line without its newline. That vote was never synced, so never
      // served: dropping it is safe, and truncating keeps the next append on a line of its own.
      truncateSync(file, Buffer.byteLength(text.slice(0, complete)));
    }
    text
      .slice(0, complete)
      .split("\n")
      .forEach((line, i) => {
        if (line.trim() === "") return;
        let vote: Vote;
        try {
          vote = voteSchema.parse(JSON.parse(line));
        } catch {
          throw new Error(`vote store ${file}: line ${i + 1} is not a vote record; refusing to start on it`);
        }
        this.remember(vote);
      });
  }

  /** How many task commitments this operator has voted on. */
  get size(): number {
    return this.votes.size;
  }

  /**
   * This operator's vote on the task's commitment `commitmentHash`, or (without it) on the task's latest
   * commitment it voted on. A task replaced by a later view's (ValidationServiceManager.TaskReplaced) has
   * another commitment, and gets its own vote.
   */
  get(taskId: string, commitmentHash?: string): Vote | undefined {
    const task = taskId.toLowerCase();
    if (commitmentHash === undefined) return this.latest.get(task);
    return this.votes.get(voteKey(task, commitmentHash));
  }

  /** Records the first vote on a task's commitment and returns it; a later, different one is refused. */
  record(vote: Vote): Vote {
    const key = voteKey(vote.taskId, vote.commitmentHash);
    const existing = this.votes.get(key);
    if (existing !== undefined) return existing;
    const stored = { ...vote, taskId: vote.taskId.toLowerCase() };
    if (this.file !== undefined) {
      mkdirSync(path.dirname(this.file), { recursive: true });
      appendFileSync(this.file, `${JSON.stringify(stored)}\n`);
      const fd = openSync(this.file, "r");
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
    this.remember(stored);
    return stored;
  }

  private remember(vote: Vote): void {
    this.votes.set(voteKey(vote.taskId, vote.commitmentHash), vote);
    this.latest.set(vote.taskId.toLowerCase(), vote);
  }
}
