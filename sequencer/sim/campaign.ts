/**
 * Running many seeds of the simulator (docs/simulator.md): in this thread (`runSeeds`), or split across
 * worker threads (`runSeedsOnWorkers`). Each seed is a run of its own, so where it runs changes nothing in
 * its result; only the order in which results arrive differs.
 */
import { Worker } from "node:worker_threads";
import { workerEntry } from "../common/worker-entry";
import { SimWorld, type SimResult } from "./world";

/** Main thread -> worker: run these seeds (then ask for more). */
export interface CampaignJob {
  readonly from: number;
  readonly count: number;
}

/** Worker -> main thread: one seed's result, or the job is finished. */
export type CampaignMessage = { readonly type: "result"; readonly result: SimResult } | { readonly type: "done" };

/** Runs seeds from..from+count-1 here; returns the failing ones, by seed ascending. */
export function runSeeds(from: number, count: number, onResult?: (r: SimResult, i: number) => void): SimResult[] {
  const failures: SimResult[] = [];
  for (let i = 0; i < count; i++) {
    const result = new SimWorld(from + i).run();
    onResult?.(result, i);
    if (!result.ok) failures.push(result);
  }
  return failures;
}

/**
 * Runs seeds from..from+count-1 on `workers` threads (here when 1), handing out small jobs as threads
 * finish (seeds differ in cost, so fixed halves would leave a thread idle). `onResult` gets each result as
 * it arrives with how many are done. Returns the failing seeds' results, by seed ascending.
 */
export async function runSeedsOnWorkers(
  from: number,
  count: number,
  workers: number,
  onResult?: (r: SimResult, done: number) => void,
): Promise<SimResult[]> {
  if (workers <= 1 || count <= 1) return runSeeds(from, count, (r, i) => onResult?.(r, i + 1));
  // About 16 jobs per thread: the last one to finish holds the others up by at most one short job.
  const jobSize = Math.max(1, Math.min(64, Math.ceil(count / (workers * 16))));
  let next = 0;
  let done = 0;
  const failures: SimResult[] = [];
  const threads: Worker[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      let finished = false;
      const fail = (error: Error): void => {
        finished = true;
        reject(error);
      };
      const give = (worker: Worker): void => {
        if (next >= count) return;
        const job: CampaignJob = { from: from + next, count: Math.min(jobSize, count - next) };
        next += job.count;
        worker.postMessage(job);
      };
      const { filename, execArgv } = workerEntry(__filename, "campaign-worker");
      for (let t = 0; t < Math.min(workers, Math.ceil(count / jobSize)); t++) {
        const worker = new Worker(filename, { execArgv });
        threads.push(worker);
        worker.on("message", (message: CampaignMessage) => {
          if (finished) return;
          if (message.type === "done") return give(worker);
          done += 1;
          if (!message.result.ok) failures.push(message.result);
          try {
            onResult?.(message.result, done);
          } catch (error) {
            return fail(error instanceof Error ? error : new Error(String(error)));
          }
          if (done === count) {
            finished = true;
            resolve();
          }
        });
        worker.on("error", fail);
        worker.on("exit", (code) => {
          if (!finished) fail(new Error(`a simulator worker exited with code ${code} before its seeds were done`));
        });
        give(worker);
      }
    });
  } finally {
    await Promise.all(threads.map((w) => w.terminate()));
  }
  return failures.sort((a, b) => a.seed - b.seed);
}
