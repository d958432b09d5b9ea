/**
 * Profiles the sequencer's raw ordering path in one process: contracts on the Hardhat network, an
 * in-process 3-node cluster (loopback HTTP, LevelDB), and CLIENTS concurrent callers sending
 * `send_raw_transaction` to the leader of height 0 for SECONDS. All three nodes share one thread, so
 * the throughput is the whole cluster's CPU cost per transaction; run under `node --cpu-prof` (e.g.
 * `NODE_OPTIONS=--cpu-prof npx hardhat run scripts/bench/ordering-profile.ts`) to see where it goes.
 *
 * Env: PROFILE_SECONDS (default 5), PROFILE_CLIENTS (default 64).
 */
import { deployWorld, startMember, teardown, type ClusterWorld } from "../../test/sequencer/cluster-harness";
import { emit, median, percentile, progress } from "./report";

const SECONDS = Number(process.env.PROFILE_SECONDS ?? 5);
const CLIENTS = Number(process.env.PROFILE_CLIENTS ?? 64);

let seq = 0;
const rawTx = (): string =>
  `0x${Buffer.concat([Buffer.from(`profile ${seq++} `), Buffer.alloc(100, 7)]).toString("hex")}`;

async function main(): Promise<void> {
  let w: ClusterWorld | undefined;
  try {
    progress("deploying and starting 3 nodes");
    w = await deployWorld([]);
    for (let i = 0; i < 3; i++) await startMember(w, i, { ordering: { followerProofSampleRate: 1 } });
    const leader = w.nodes.findIndex((n) => n?.sequencer?.leaderOf(0, 0) === n?.sequencer?.address);
    const client = w.clients[leader < 0 ? 0 : leader]!;
    const send = (): Promise<unknown> =>
      client.call("send_raw_transaction", { rollupId: "7", height: "0", rawTx: rawTx() });
    for (let i = 0; i < 20; i++) await send();
    progress(`raw saturation: ${CLIENTS} clients for ${SECONDS} s`);
    const latencies: number[] = [];
    let errors = 0;
    const end = performance.now() + SECONDS * 1000;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (performance.now() < end) {
          const t = performance.now();
          try {
            await send();
            latencies.push(performance.now() - t);
          } catch {
            errors += 1;
          }
        }
      }),
    );
    const elapsed = (performance.now() - started) / 1000;
    emit("ordering_profile_raw_in_process_throughput", latencies.length / elapsed, "per_s", {
      clients: CLIENTS,
      errors,
    });
    emit("ordering_profile_raw_in_process_latency_p50", median(latencies), "ms", { clients: CLIENTS });
    emit("ordering_profile_raw_in_process_latency_p99", percentile(latencies, 99), "ms", { clients: CLIENTS });
  } finally {
    await teardown(w);
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
