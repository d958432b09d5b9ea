/**
 * finalize_block end to end on the in-process 3-node cluster of the tests (Hardhat network, loopback
 * HTTP, LevelDB): seal, round secret (in-memory shares), build, BlockCommitment signature, VSM task,
 * store, and the followers' checked rebuild. Blocks of raw signed transactions, so the figure is the
 * pipeline without decryption (bench:block measures decrypt-and-build of encrypted blocks).
 *
 * Run: `npx hardhat run --no-compile scripts/bench/finalize.ts`. Env: FINALIZE_TXS (default 1000),
 * FINALIZE_BLOCKS (default 3).
 */
import { Wallet, parseEther } from "ethers";
import type { Registry } from "prom-client";
import { signMessage } from "../../sequencer/chain/eip712";
import { emit, median, progress } from "./report";

const TXS = Number(process.env.FINALIZE_TXS ?? 1000);
const BLOCKS = Number(process.env.FINALIZE_BLOCKS ?? 3);

async function histogramSum(registry: Registry, name: string, role?: string): Promise<number> {
  const metric = registry.getSingleMetric(name);
  const { values } = await metric!.get();
  return (
    values.find(
      (v) =>
        (v as { metricName?: string }).metricName === `${name}_sum` && (role === undefined || v.labels.role === role),
    )?.value ?? 0
  );
}

async function main(): Promise<void> {
  const { ROLLUP, deployWorld, startMember, teardown } = await import("../../test/sequencer/cluster-harness");
  const heights = Array.from({ length: BLOCKS }, (_, h) => h);
  const w = await deployWorld(heights);
  try {
    for (let i = 0; i < 3; i++) await startMember(w, i);
    const sender = Wallet.createRandom();
    const finalizeMs: number[] = [];
    const leaderBuildMs: number[] = [];
    const followerBuildMs: number[] = [];
    const certificateMs: number[] = [];
    let nonce = 0;
    for (const height of heights) {
      const leader = height % 3; // leaderOf(height, view 0)
      progress(`height ${height}: ordering ${TXS} raw transactions`);
      const raws: string[] = [];
      for (let i = 0; i < TXS; i++) {
        raws.push(
          await sender.signTransaction({
            type: 2,
            chainId: 31337n,
            nonce: nonce++,
            to: `0x${"22".repeat(20)}`,
            value: parseEther("0.001"),
            gasLimit: 21_000n,
            maxFeePerGas: 2_000_000_000n,
            maxPriorityFeePerGas: 1_000_000_000n,
          }),
        );
      }
      for (let i = 0; i < raws.length; i += 64) {
        await Promise.all(
          raws
            .slice(i, i + 64)
            .map((rawTx) =>
              w.clients[leader]!.call("send_raw_transaction", { rollupId: ROLLUP.toString(), height, rawTx }),
            ),
        );
      }
      const request = {
        rollupId: ROLLUP,
        height: BigInt(height),
        deadline: BigInt(Math.floor(Date.now() / 1000) + 600),
      };
      const params = {
        request: { rollupId: ROLLUP.toString(), height: String(height), deadline: request.deadline.toString() },
        signature: await signMessage(w.executor, w.domain, "FinalizeRequest", request),
      };
      const before = await Promise.all(
        w.nodes.map((n, i) =>
          histogramSum(n!.metricsRegistry, "veil_block_build_seconds", i === leader ? "leader" : "follower"),
        ),
      );
      const certifyBefore = await histogramSum(w.nodes[leader]!.metricsRegistry, "veil_seal_certificate_seconds");
      const started = performance.now();
      await w.clients[leader]!.call("finalize_block", params);
      finalizeMs.push(performance.now() - started);
      await w.nodes[leader]!.blocks!.settled();
      const after = await Promise.all(
        w.nodes.map((n, i) =>
          histogramSum(n!.metricsRegistry, "veil_block_build_seconds", i === leader ? "leader" : "follower"),
        ),
      );
      after.forEach((sum, i) => (i === leader ? leaderBuildMs : followerBuildMs).push((sum - before[i]!) * 1000));
      const certifyAfter = await histogramSum(w.nodes[leader]!.metricsRegistry, "veil_seal_certificate_seconds");
      certificateMs.push((certifyAfter - certifyBefore) * 1000);
      progress(`height ${height}: finalize_block ${finalizeMs.at(-1)!.toFixed(0)} ms`);
    }
    const extra = { txs: TXS, blocks: BLOCKS, kind: "raw" };
    emit("finalize_block_ms", median(finalizeMs), "ms", extra);
    emit("finalize_leader_build_ms", median(leaderBuildMs), "ms", extra);
    emit("finalize_follower_rebuild_ms", median(followerBuildMs), "ms", extra);
    // The whole certification round (the seal sent to the followers, stored, recorded and signed by each,
    // the signatures checked and the certificate stored): an upper bound of what the certificate adds before
    // the key release, since the seal's replication round itself existed before certificates.
    emit("finalize_seal_certificate_ms", median(certificateMs), "ms", { ...extra, target: 20 });
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
