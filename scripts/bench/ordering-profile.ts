/**
 * Profiles the sequencer's ordering path with all three nodes in ONE process, so that the throughput
 * is the inverse of the whole cluster's main-thread CPU cost per transaction and one CPU profile shows
 * where it goes. CLIENTS concurrent callers send to the leader of height 0 for SECONDS.
 *
 * - PROFILE_MODE=raw (default): contracts on the Hardhat network, in-process cluster of the tests,
 *   `send_raw_transaction`. Run: `npx hardhat run --no-compile scripts/bench/ordering-profile.ts`.
 * - PROFILE_MODE=encrypted: the sequencer benchmark's deterministic devnet (hardhat L1 and key
 *   generators as processes, cached proven transactions), its three nodes stopped and restarted in
 *   this process, each with its own verifier pool as in production; `send_encrypted_transaction`.
 *   Run: `PROFILE_MODE=encrypted npx tsx scripts/bench/ordering-profile.ts`.
 *
 * PROFILE_CPU=<file.cpuprofile> records a CPU profile of this process's main thread during the
 * measured phase only (open it in Chrome DevTools, or sum its self times by function).
 *
 * Env: PROFILE_SECONDS (default 5), PROFILE_CLIENTS (default 64 raw, 32 encrypted), PROFILE_TXS
 * (encrypted pool, default 200), PROFILE_FOLLOWER_PROOF_RATE (encrypted, default: the node's default),
 * PROFILE_RATE (encrypted: an open loop at this many tx/s instead of the closed loop).
 */
import { rmSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import pino from "pino";
import type { EncryptedSubmissionJson } from "../../sequencer/api/wire";
import { loadConfig } from "../../sequencer/node/config";
import { startNode, type RunningNode } from "../../sequencer/node/node";
import { RpcClient } from "../../sequencer/rpc/client";
import { MicroBatcher } from "../../sequencer/zk/micro-batcher";
import { TX_VALIDITY_CIRCUIT } from "../../sequencer/zk/prover";
import { Groth16VerifierPool } from "../../sequencer/zk/verifier";
import { emit, median, percentile, progress } from "./report";
import { benchFixtures, startBenchDevnet } from "./sequencer-world";

const MODE = process.env.PROFILE_MODE ?? "raw";
const SECONDS = Number(process.env.PROFILE_SECONDS ?? 5);
const CLIENTS = Number(process.env.PROFILE_CLIENTS ?? (MODE === "raw" ? 64 : 32));
const TXS = Number(process.env.PROFILE_TXS ?? 200);
const RATE = process.env.PROFILE_RATE === undefined ? undefined : Number(process.env.PROFILE_RATE);
const WARMUP = 8;

const CPU_PROFILE = process.env.PROFILE_CPU;

/** Runs `fn` under the V8 CPU profiler when PROFILE_CPU names an output file. */
async function profiled<T>(fn: () => Promise<T>): Promise<T> {
  if (CPU_PROFILE === undefined) return fn();
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 500 });
  await session.post("Profiler.start");
  try {
    return await fn();
  } finally {
    const { profile } = await session.post("Profiler.stop");
    writeFileSync(CPU_PROFILE, JSON.stringify(profile));
    session.disconnect();
    progress(`CPU profile written to ${CPU_PROFILE}`);
  }
}

interface Run {
  latencies: number[];
  errors: number;
  seconds: number;
  /** CPU time of this whole process (every node's main work and verifier threads) in the phase. */
  cpuMs: number;
}

/** Runs a load phase and adds the process's CPU time during it (robust on a shared machine). */
async function measured(phase: () => Promise<Omit<Run, "cpuMs">>): Promise<Run> {
  const before = process.cpuUsage();
  const run = await phase();
  const used = process.cpuUsage(before);
  return { ...run, cpuMs: (used.user + used.system) / 1000 };
}

/** Open loop: call i leaves at start + i/rate, whatever happened to the others. */
async function openLoop(
  rate: number,
  count: number,
  send: (i: number) => Promise<unknown>,
): Promise<Omit<Run, "cpuMs">> {
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  const all: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const wait = started + (i * 1000) / rate - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const t = performance.now();
    all.push(
      send(i).then(
        () => void latencies.push(performance.now() - t),
        () => void (errors += 1),
      ),
    );
  }
  await Promise.all(all);
  return { latencies, errors, seconds: (performance.now() - started) / 1000 };
}

/** `clients` closed-loop callers until `seconds` pass or `next` runs out of work. */
async function closedLoop(
  clients: number,
  seconds: number,
  send: () => Promise<unknown> | undefined,
): Promise<Omit<Run, "cpuMs">> {
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  const end = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        const call = send();
        if (call === undefined) return;
        try {
          await call;
          latencies.push(performance.now() - t);
        } catch {
          errors += 1;
        }
      }
    }),
  );
  return { latencies, errors, seconds: (performance.now() - started) / 1000 };
}

function report(path: string, r: Run, extra: Record<string, unknown> = {}): void {
  const tags = { clients: CLIENTS, errors: r.errors, requests: r.latencies.length, ...extra };
  emit(`ordering_profile_${path}_in_process_throughput`, r.latencies.length / r.seconds, "per_s", tags);
  if (r.latencies.length > 0) {
    emit(`ordering_profile_${path}_in_process_cpu_per_tx`, r.cpuMs / r.latencies.length, "ms", tags);
  }
  if (r.latencies.length === 0) return;
  emit(`ordering_profile_${path}_in_process_latency_p50`, median(r.latencies), "ms", tags);
  emit(`ordering_profile_${path}_in_process_latency_p99`, percentile(r.latencies, 99), "ms", tags);
}

async function raw(): Promise<void> {
  const { deployWorld, startMember, teardown } = await import("../../test/sequencer/cluster-harness");
  let w: Awaited<ReturnType<typeof deployWorld>> | undefined;
  let seq = 0;
  const rawTx = (): string =>
    `0x${Buffer.concat([Buffer.from(`profile ${seq++} `), Buffer.alloc(100, 7)]).toString("hex")}`;
  try {
    progress("deploying and starting 3 nodes");
    w = await deployWorld([]);
    for (let i = 0; i < 3; i++) await startMember(w, i);
    const leader = w.nodes.findIndex((n) => n?.sequencer?.leaderOf(0, 0) === n?.sequencer?.address);
    const client = w.clients[leader < 0 ? 0 : leader]!;
    const send = (): Promise<unknown> =>
      client.call("send_raw_transaction", { rollupId: "7", height: "0", rawTx: rawTx() });
    for (let i = 0; i < 20; i++) await send();
    progress(`raw saturation: ${CLIENTS} clients for ${SECONDS} s`);
    report("raw", await profiled(() => measured(() => closedLoop(CLIENTS, SECONDS, send))));
  } finally {
    await teardown(w);
  }
}

/** A verifier pool and batcher per node, recording the sizes of the batches it verified. */
function countingVerifier(): { pool: Groth16VerifierPool; batcher: MicroBatcher; sizes: number[] } {
  const pool = Groth16VerifierPool.forCircuit(TX_VALIDITY_CIRCUIT);
  const sizes: number[] = [];
  const batcher = new MicroBatcher({
    verifyBatch: (items) => {
      sizes.push(items.length);
      return pool.verifyBatch(items);
    },
  });
  return { pool, batcher, sizes };
}

async function encrypted(): Promise<void> {
  const devnet = await startBenchDevnet();
  const nodes: RunningNode[] = [];
  const verifiers: ReturnType<typeof countingVerifier>[] = [];
  try {
    const { txs } = await benchFixtures(devnet, TXS + WARMUP);
    const warmup = txs.slice(TXS);
    const pool = txs.slice(0, TXS);
    progress("moving the three nodes into this process");
    for (const n of devnet.nodes) {
      await devnet.stopNode(n.index);
      rmSync(n.dbDir, { recursive: true, force: true });
    }
    const rate = process.env.PROFILE_FOLLOWER_PROOF_RATE;
    for (const n of devnet.nodes) {
      const config = loadConfig(
        n.configFile,
        rate === undefined ? {} : { VEIL_NODE__ORDERING__FOLLOWER_PROOF_SAMPLE_RATE: rate },
      );
      const v = countingVerifier();
      await v.pool.ready();
      verifiers.push(v);
      nodes.push(await startNode(config, pino({ level: "silent" }), { verifier: v.batcher }));
    }
    const client = new RpcClient(devnet.nodes[0]!.url, { timeoutMs: 60_000 });
    const call = (s: EncryptedSubmissionJson): Promise<unknown> => client.call("send_encrypted_transaction", s);
    await Promise.all(warmup.map(call));
    for (const v of verifiers) v.sizes.length = 0;
    let next = 0;
    progress(
      RATE === undefined
        ? `encrypted saturation: ${CLIENTS} clients, ${pool.length} transactions, at most ${SECONDS} s`
        : `encrypted open loop: ${pool.length} transactions at ${RATE} tx/s`,
    );
    const run = await profiled(() =>
      measured(() =>
        RATE === undefined
          ? closedLoop(CLIENTS, SECONDS, () => (next < pool.length ? call(pool[next++]!) : undefined))
          : openLoop(RATE, pool.length, (i) => call(pool[i]!)),
      ),
    );
    const batches = verifiers.map((v) => ({
      batches: v.sizes.length,
      proofs: v.sizes.reduce((a, b) => a + b, 0),
      medianBatch: v.sizes.length === 0 ? 0 : median(v.sizes),
    }));
    report(RATE === undefined ? "encrypted" : `encrypted_${RATE}_per_s`, run, {
      followerProofSampleRate: rate ?? "default",
      verifierBatches: batches,
    });
  } finally {
    for (const node of nodes) await node.stop();
    for (const v of verifiers) {
      await v.batcher.close();
      await v.pool.close();
    }
    await devnet.stop();
  }
}

(MODE === "encrypted" ? encrypted() : raw()).then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
