/**
 * `npm run bench:sequencer`: a 3-node cluster of real processes on loopback (devnet launcher), driven
 * by concurrent clients with pre-generated valid encrypted transactions (proving is not measured) and
 * with raw transactions; plus the machine's proof-verification ceiling, batched and plain snarkjs.
 *
 * One deterministic world (fixed seed, cached TEST-ONLY modulus, key-generator databases kept under
 * build/bench/) gives the same round key on every run, so the proofs are made once and cached. Each
 * phase restarts the three nodes on empty databases (same L1, same key generators): the same
 * encrypted set is valid again, and no phase inherits another's block.
 *
 * Env: BENCH_TXS (encrypted pool, default 200), BENCH_RAW_SECONDS (per raw phase, default 4),
 * BENCH_FOLLOWER_PROOF_RATE (the nodes' ordering.followerProofSampleRate; default: the node's default).
 */
import * as snarkjs from "snarkjs";
import { encryptedSubmission, type EncryptedSubmissionJson } from "../../sequencer/api/wire";
import type { Point } from "../../sequencer/crypto/babyjub";
import { encTxHash, type EncryptedTransaction } from "../../sequencer/crypto/encryption";
import type { RpcClient } from "../../sequencer/rpc/client";
import { verificationKey } from "../../sequencer/zk/groth16";
import { TX_VALIDITY_CIRCUIT, txValidityPublicSignals } from "../../sequencer/zk/prover";
import { Groth16VerifierPool } from "../../sequencer/zk/verifier";
import type { Devnet } from "../devnet";
import { emit, median, percentile, progress } from "./report";
import { benchFixtures, startBenchDevnet } from "./sequencer-world";

const POOL = Number(process.env.BENCH_TXS ?? 200);
const WARMUP = 8;
const RAW_SECONDS = Number(process.env.BENCH_RAW_SECONDS ?? 4);
const LOADS = [50, 100, 200];
const SATURATION_CLIENTS = 32;
/** Calls per JSON-RPC batch request in the batched raw phase (the node's default rpc.maxBatchSize is larger). */
const RAW_BATCH = 32;
/** A remark on the run's conditions for every line (e.g. "machine shared with other work"); BENCH_NOTE. */
const NOTE = process.env.BENCH_NOTE ?? "";
const FOLLOWER_PROOF_RATE = process.env.BENCH_FOLLOWER_PROOF_RATE;
/** Printed with every figure, so that a run with a non-default node setting says so. */
const SETTINGS = { followerProofSampleRate: FOLLOWER_PROOF_RATE ?? "node default" };

type Send = (client: RpcClient, i: number) => Promise<unknown>;

interface PhaseResult {
  latencies: number[];
  errors: number;
  seconds: number;
}

/** Open loop: request i leaves at start + i/rate, whatever happened to the others. */
async function offeredLoad(client: RpcClient, send: Send, rate: number, count: number): Promise<PhaseResult> {
  const latencies: number[] = [];
  let errors = 0;
  const start = performance.now();
  const all: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const t = performance.now();
    all.push(
      send(client, i).then(
        () => void latencies.push(performance.now() - t),
        () => void (errors += 1),
      ),
    );
  }
  await Promise.all(all);
  return { latencies, errors, seconds: (performance.now() - start) / 1000 };
}

/** Closed loop: `clients` callers, each sending its next request when the previous answer arrives. */
async function saturation(
  client: RpcClient,
  send: Send,
  clients: number,
  limit: { count?: number; seconds?: number },
): Promise<PhaseResult> {
  const latencies: number[] = [];
  let errors = 0;
  let next = 0;
  const start = performance.now();
  const more = (): boolean =>
    (limit.count === undefined || next < limit.count) &&
    (limit.seconds === undefined || performance.now() - start < limit.seconds * 1000);
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (more()) {
        const i = next++;
        const t = performance.now();
        try {
          await send(client, i);
          latencies.push(performance.now() - t);
        } catch {
          errors += 1;
        }
      }
    }),
  );
  return { latencies, errors, seconds: (performance.now() - start) / 1000 };
}

/**
 * Closed loop over JSON-RPC batch requests: `clients` callers, each sending `perRequest` calls in one
 * HTTP request (as an SDK may). The server runs a batch's calls concurrently and each transaction
 * still gets its own order commitment; a transaction's latency is its batch's round trip.
 */
async function batchedSaturation(
  client: RpcClient,
  method: string,
  params: () => Record<string, unknown>,
  clients: number,
  perRequest: number,
  seconds: number,
): Promise<PhaseResult> {
  const latencies: number[] = [];
  let errors = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() - start < seconds * 1000) {
        const t = performance.now();
        try {
          const outcomes = await client.batch(Array.from({ length: perRequest }, () => ({ method, params: params() })));
          const took = performance.now() - t;
          for (const o of outcomes) {
            if (o.ok) latencies.push(took);
            else errors += 1;
          }
        } catch {
          errors += perRequest;
        }
      }
    }),
  );
  return { latencies, errors, seconds: (performance.now() - start) / 1000 };
}

function report(path_: "encrypted" | "raw", load: string, r: PhaseResult): number {
  const extra = {
    path: path_,
    load,
    requests: r.latencies.length,
    errors: r.errors,
    via: "leader",
    ...SETTINGS,
    note: NOTE,
  };
  const throughput = r.latencies.length / r.seconds;
  if (r.latencies.length > 0) {
    emit(`order_commitment_latency_p50_${path_}_${load}`, median(r.latencies), "ms", extra);
    emit(`order_commitment_latency_p90_${path_}_${load}`, percentile(r.latencies, 90), "ms", extra);
    emit(`order_commitment_latency_p99_${path_}_${load}`, percentile(r.latencies, 99), "ms", extra);
  }
  emit(`throughput_${path_}_${load}`, throughput, "per_s", extra);
  return throughput;
}

/**
 * Waits until every node serves ordering: a node answers /health before it has read the cluster from
 * L1 and registered the ordering methods, and on a loaded machine that gap lasts seconds.
 */
async function untilOrdering(devnet: Devnet): Promise<void> {
  const deadline = performance.now() + 120_000;
  for (const n of devnet.nodes) {
    for (;;) {
      const methods = (await n.client.call("rpc_methods").catch(() => [])) as { name?: string }[];
      if (methods.some((m) => m.name === "send_raw_transaction")) break;
      if (performance.now() > deadline) throw new Error(`node ${n.index} serves no ordering after 120 s`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** Restarts the three nodes on empty databases and warms the verifier pool of the leader. */
async function freshCluster(devnet: Devnet, warmup: readonly EncryptedSubmissionJson[]): Promise<void> {
  await Promise.all(devnet.nodes.map((n) => devnet.wipeNode(n.index)));
  await Promise.all(devnet.nodes.map((n) => devnet.startNode(n.index)));
  await untilOrdering(devnet);
  const leader = devnet.nodes[0]!.client;
  await Promise.all(warmup.map((s) => leader.call("send_encrypted_transaction", s)));
  for (let i = 0; i < 20; i++) await leader.call("send_raw_transaction", rawParams(`warm ${i}`));
}

let rawSeq = 0;
function rawParams(tag: string): { rollupId: string; height: string; rawTx: string } {
  // About the size of a signed ERC-20 transfer.
  const body = Buffer.concat([Buffer.from(`${tag} ${rawSeq++} `), Buffer.alloc(100, 7)]);
  return { rollupId: "7", height: "0", rawTx: `0x${body.toString("hex")}` };
}

async function verificationCeiling(items: readonly { proof: unknown; publicSignals: unknown }[]): Promise<number> {
  const pool = Groth16VerifierPool.forCircuit(TX_VALIDITY_CIRCUIT, { threads: 2 });
  try {
    await pool.ready();
    const batch = Array.from({ length: 512 }, (_, i) => items[i % items.length]!);
    await pool.verifyBatch(batch.slice(0, 64));
    const rates: number[] = [];
    for (let round = 0; round < 3; round++) {
      const t = performance.now();
      const ok = await pool.verifyBatch(batch);
      if (!ok.every(Boolean)) throw new Error("a cached proof does not verify");
      rates.push(batch.length / ((performance.now() - t) / 1000));
    }
    const ceiling = median(rates);
    emit("verify_ceiling_batched_2_threads", ceiling, "per_s", {
      circuit: TX_VALIDITY_CIRCUIT,
      items: 512,
      note: NOTE,
    });
    const vk = verificationKey(TX_VALIDITY_CIRCUIT);
    const n = 24;
    const t = performance.now();
    for (let i = 0; i < n; i++) {
      const item = items[i % items.length]!;
      await snarkjs.groth16.verify(
        vk as Parameters<typeof snarkjs.groth16.verify>[0],
        item.publicSignals as string[],
        item.proof as Parameters<typeof snarkjs.groth16.verify>[2],
      );
    }
    emit("verify_ceiling_snarkjs_plain_1_process", n / ((performance.now() - t) / 1000), "per_s", {
      circuit: TX_VALIDITY_CIRCUIT,
      proofs: n,
      note: `${NOTE}; snarkjs's own thread pool`,
    });
    return ceiling;
  } finally {
    await pool.close();
  }
}

async function main(): Promise<void> {
  const devnet = await startBenchDevnet(
    FOLLOWER_PROOF_RATE === undefined
      ? {}
      : { nodeConfig: { ordering: { followerProofSampleRate: Number(FOLLOWER_PROOF_RATE) } } },
  );
  try {
    const { roundKey, txs: all } = await benchFixtures(devnet, POOL + WARMUP);
    const warmup = all.slice(POOL);
    const pool = all.slice(0, POOL);

    await Promise.all(devnet.nodes.map((n) => devnet.killNode(n.index)));
    progress("verification ceiling (nodes stopped)");
    const ceiling = await verificationCeiling(
      pool.slice(0, 16).map((s) => ({ proof: s.proof, publicSignals: publicSignalsOf(s, roundKey) })),
    );

    const sendEncrypted: Send = (c, i) => c.call("send_encrypted_transaction", pool[i]);
    const sendRaw: Send = (c) => c.call("send_raw_transaction", rawParams("bench"));
    for (const rate of LOADS) {
      const count = Math.min(pool.length, rate * 4);
      progress(`encrypted at ${rate} tx/s (${count} txs)`);
      await freshCluster(devnet, warmup);
      report("encrypted", `${rate}_per_s`, await offeredLoad(devnet.nodes[0]!.client, sendEncrypted, rate, count));
    }
    progress(`encrypted at saturation (${SATURATION_CLIENTS} clients)`);
    await freshCluster(devnet, warmup);
    const sat = report(
      "encrypted",
      "saturation",
      await saturation(devnet.nodes[0]!.client, sendEncrypted, SATURATION_CLIENTS, { count: pool.length }),
    );
    emit("encrypted_saturation_share_of_batch_ceiling", sat / ceiling, "ratio", { ...SETTINGS, note: NOTE });

    for (const rate of LOADS) {
      progress(`raw at ${rate} tx/s`);
      await freshCluster(devnet, []);
      report("raw", `${rate}_per_s`, await offeredLoad(devnet.nodes[0]!.client, sendRaw, rate, rate * RAW_SECONDS));
    }
    progress(`raw at saturation (64 clients, ${RAW_SECONDS} s)`);
    await freshCluster(devnet, []);
    report("raw", "saturation", await saturation(devnet.nodes[0]!.client, sendRaw, 64, { seconds: RAW_SECONDS }));
    progress(`raw at saturation over JSON-RPC batches (16 clients x ${RAW_BATCH} calls per request, ${RAW_SECONDS} s)`);
    await freshCluster(devnet, []);
    report(
      "raw",
      `saturation_batched_${RAW_BATCH}_per_request`,
      await batchedSaturation(
        devnet.nodes[0]!.client,
        "send_raw_transaction",
        () => rawParams("bench"),
        16,
        RAW_BATCH,
        RAW_SECONDS,
      ),
    );
  } finally {
    await devnet.stop();
    const curve = (globalThis as { curve_bn128?: { terminate(): Promise<void> } }).curve_bn128;
    if (curve) await curve.terminate();
  }
}

/** The public signals the node derives for a submission (recomputed encTxHash, the registered key). */
function publicSignalsOf(s: EncryptedSubmissionJson, roundKey: Point): string[] {
  const parsed = encryptedSubmission.parse(s);
  return txValidityPublicSignals({
    encTxHash: encTxHash(parsed.tx as unknown as EncryptedTransaction),
    txCommitment: parsed.txCommitment,
    roundKey,
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`[bench] failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
