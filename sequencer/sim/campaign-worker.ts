/**
 * Worker-thread side of `runSeedsOnWorkers` (campaign.ts): for each job it receives, runs the seeds one by
 * one, posts each result as it comes, then posts "done" to ask for the next job. The main thread
 * terminates it when every seed is done.
 */
import { parentPort } from "node:worker_threads";
import { runSeeds, type CampaignJob, type CampaignMessage } from "./campaign";

const port = parentPort;
if (port === null) throw new Error("campaign-worker runs on a worker thread");

const post = (message: CampaignMessage): void => port.postMessage(message);

port.on("message", (job: CampaignJob) => {
  runSeeds(job.from, job.count, (result) => post({ type: "result", result }));
  post({ type: "done" });
});
