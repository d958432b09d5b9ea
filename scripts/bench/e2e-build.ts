/**
 * Decrypt-and-build time of a 1,000-transaction block (target ≤ 1 s): real signed EIP-1559 transfers,
 * encrypted to a round key, built with the released secret
 *   - on the worker path (decrypt, decode and leaf data on 1 and on 2 worker threads), with every
 *     encTxHash recomputed (what a validator must do) and with the node's precomputed ones;
 *   - on the single-thread reference path (no pool).
 * Each configuration prints its median and best total, the process CPU time of the build (all threads:
 * on a shared machine it says what the build costs when wall time cannot) and a per-phase breakdown.
 */
import { Wallet, getBytes, parseEther } from "ethers";
import {
  buildBlock,
  leafDataOf,
  noForcedEntries,
  type BuildTimings,
  type SealedEntry,
  type SlotWork,
} from "../../sequencer/block";
import { mulBase, randomScalar, type Point } from "../../sequencer/crypto/babyjub";
import { DecryptionPool } from "../../sequencer/block/decrypt-pool";
import { blockHeight, encryptTransaction, rollupId } from "../../sequencer/crypto/encryption";
import { emit, median, progress } from "./report";

const TXS = 1_000;
const ROLLUP = 4242n;
const HEIGHT = 1n;
const RUNS = Number(process.env.BENCH_BLOCK_RUNS ?? 3);

interface Block {
  readonly entries: readonly SealedEntry[];
  readonly roundKey: Point;
  readonly secretKey: bigint;
  readonly encTxHashes: readonly string[];
}

async function makeBlock(): Promise<Block> {
  const secretKey = randomScalar();
  const roundKey = mulBase(secretKey);
  const wallet = new Wallet(`0x${"5a".repeat(32)}`);
  progress(`signing and encrypting ${TXS} transactions`);
  const entries: SealedEntry[] = [];
  const encTxHashes: string[] = [];
  for (let nonce = 0; nonce < TXS; nonce++) {
    const raw = await wallet.signTransaction({
      type: 2,
      chainId: ROLLUP,
      nonce,
      to: `0x${"66".repeat(20)}`,
      value: parseEther("0.001"),
      gasLimit: 21_000n,
      maxFeePerGas: 10n ** 9n,
      maxPriorityFeePerGas: 10n ** 9n,
    });
    const r = encryptTransaction(getBytes(raw), { rollupId: rollupId(ROLLUP), height: blockHeight(HEIGHT), roundKey });
    const entry: SealedEntry = { kind: "encrypted", tx: r.encrypted, txCommitment: r.txCommitment };
    entries.push(entry);
    encTxHashes.push(leafDataOf(entry)); // what the node stored at admission
  }
  return { entries, roundKey, secretKey, encTxHashes };
}

interface Run {
  readonly wallMs: number;
  readonly cpuMs: number;
  readonly timings: BuildTimings;
}

/** Builds the block `RUNS` times after one warm-up; checks every slot came out valid. */
async function measure(block: Block, options: { pool?: DecryptionPool; precomputed: boolean }): Promise<Run[]> {
  const runs: Run[] = [];
  for (let i = 0; i <= RUNS; i++) {
    let timings: BuildTimings | undefined;
    const cpu = process.cpuUsage();
    const start = process.hrtime.bigint();
    const built = await buildBlock({
      rollupId: ROLLUP,
      height: HEIGHT,
      entries: block.entries,
      forced: noForcedEntries(0n),
      roundKey: block.roundKey,
      secretKey: block.secretKey,
      viewNumber: 0,
      chainId: ROLLUP,
      ...(options.pool === undefined ? {} : { decrypter: options.pool }),
      ...(options.precomputed ? { encTxHashes: block.encTxHashes } : {}),
      onTimings: (t) => (timings = t),
    });
    const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
    const used = process.cpuUsage(cpu);
    const valid = built.slots.filter((s) => s.status === "valid").length;
    if (valid !== TXS) throw new Error(`only ${valid} of ${TXS} slots were valid`);
    if (i > 0) runs.push({ wallMs, cpuMs: (used.user + used.system) / 1000, timings: timings! });
  }
  return runs;
}

function report(metric: string, runs: readonly Run[], extra: Record<string, unknown>): void {
  const sorted = [...runs].sort((a, b) => a.wallMs - b.wallMs);
  const mid = sorted[Math.floor(sorted.length / 2)]!;
  const common = { txs: TXS, runs: runs.length, ...extra };
  emit(metric, median(runs.map((r) => r.wallMs)), "ms", {
    ...common,
    bestMs: Number(sorted[0]!.wallMs.toFixed(1)),
    targetMs: 1_000,
  });
  emit(`${metric}_cpu`, median(runs.map((r) => r.cpuMs)), "ms", { ...common, note: "process CPU time, all threads" });
  // Phases of the median run: open = wall time until every slot is decrypted, decoded and hashed;
  // decrypt / decode / leaf = elapsed time of that work on the threads doing it, summed over them.
  const t = mid.timings;
  emit("block_build_open_ms", t.openMs, "ms", { ...common, of: metric, path: t.path });
  emit("block_build_decrypt_thread_ms", t.decryptMs, "ms", { ...common, of: metric, path: t.path });
  emit("block_build_decode_thread_ms", t.decodeMs, "ms", { ...common, of: metric, path: t.path });
  emit("block_build_enc_tx_hash_thread_ms", t.leafMs, "ms", { ...common, of: metric, path: t.path });
  emit("block_build_roots_ms", t.rootsMs, "ms", { ...common, of: metric, path: t.path });
}

/** What posting a block's work to the workers costs this thread: one structured clone of it. */
function serializationMs(block: Block): number {
  const work: SlotWork[] = block.entries.map((e) =>
    e.kind === "raw" ? { kind: "raw", rawTx: e.rawTx } : { kind: "decrypt", tx: e.tx, txCommitment: e.txCommitment },
  );
  structuredClone(work);
  const start = process.hrtime.bigint();
  structuredClone(work);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

export async function runBlockBuildBench(): Promise<void> {
  const block = await makeBlock();
  emit("block_build_serialize_work_ms", serializationMs(block), "ms", { txs: TXS, note: "one structured clone" });
  for (const threads of [1, 2]) {
    const pool = new DecryptionPool({ threads });
    await pool.ready();
    try {
      for (const precomputed of [false, true]) {
        progress(`${threads} worker thread(s), encTxHashes ${precomputed ? "precomputed" : "recomputed"}`);
        const runs = await measure(block, { pool, precomputed });
        const metric = precomputed
          ? "block_decrypt_and_build_1000_txs_precomputed_enc_tx_hashes"
          : "block_decrypt_and_build_1000_txs";
        report(metric, runs, { threads, encTxHashes: precomputed ? "precomputed" : "recomputed" });
      }
    } finally {
      await pool.close();
    }
  }
  progress("single-thread reference path (no pool)");
  report("block_decrypt_and_build_1000_txs_reference_main_thread", await measure(block, { precomputed: false }), {
    threads: 0,
    encTxHashes: "recomputed",
  });
}

if (require.main === module) {
  runBlockBuildBench().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
