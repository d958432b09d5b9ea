/**
 * `npm run bench:proxy`: what a wallet waits for at the encrypting RPC. A full devnet of real processes
 * (L1, three `veil node`s, two key generators, the L2 and its operator) runs; the encrypting RPC runs in
 * this process, assembled exactly as `veil proxy start` assembles it, in front of node 0 and the L2. One
 * sender sends transfers one after the other, each signed in advance, and the benchmark times each
 * `eth_sendRawTransaction` from request to answer: pre-checks, encryption, proof, ordering and the
 * receipt's verification. One JSON line per figure on stdout:
 *
 *   proxy_send_to_verified_commitment_ms p50/p99   request to answer (the transaction hash)
 *   proxy_proving_ms p50/p99                       the Groth16 proof inside it
 *   proxy_proving_share_p50                        proving / total, per transaction
 *   proxy_precheck_ms p50/p99                      one pre-check: the L2 read (one batch) and the checks
 *
 * Options: --txs N (default 20), --precheck-runs N (default 200). Run it with nothing else on the machine.
 */
import { JsonRpcProvider, Transaction, Wallet, keccak256, parseEther } from "ethers";
import pino from "pino";
import { Devnet } from "../devnet";
import { RpcClient } from "../../sequencer/rpc/client";
import { L2StateReader } from "../../sequencer/proxy/l2-state";
import { PendingPool } from "../../sequencer/proxy/pending";
import { precheck } from "../../sequencer/proxy/prechecks";
import { assembleProxy } from "../../sequencer/proxy/start";
import { ContractChainView } from "../../sequencer/sdk/chain";
import { VeilClient, type SentTransaction } from "../../sequencer/sdk/client";
import { l2Account } from "../../test/e2e/harness";
import { emit, median, percentile, progress } from "./report";

const WARMUP = 2;

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  if (at < 0) return fallback;
  const value = Number(process.argv[at + 1]);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} takes a positive integer`);
  return value;
}

/** The SDK client, noting each transaction's proving time by its hash. */
class TimedClient extends VeilClient {
  readonly provingMs = new Map<string, number>();

  override async send(signedTx: Uint8Array): Promise<SentTransaction> {
    const sent = await super.send(signedTx);
    this.provingMs.set(keccak256(signedTx), sent.provingMs);
    return sent;
  }
}

async function main(): Promise<void> {
  const txs = option("--txs", 20);
  const precheckRuns = option("--precheck-runs", 200);
  progress("starting a full devnet (L1, 3 nodes, 2 key generators, L2, operator, 1 validator)");
  const devnet = await Devnet.start({ full: true, members: 3, keyGenerators: 2, operators: 1, progress });
  const l1 = new JsonRpcProvider(devnet.l1.url, undefined, { staticNetwork: true });
  let l2: JsonRpcProvider | undefined;
  let proxy: ReturnType<typeof assembleProxy> | undefined;
  try {
    const flow = devnet.flow!;
    const chain = await ContractChainView.connect(
      l1,
      { registry: devnet.world.clusterRegistry, validationServiceManager: devnet.world.validationServiceManager },
      devnet.world.deployBlock,
    );
    const client = new TimedClient({
      node: new RpcClient(devnet.nodes[0]!.url, { timeoutMs: 30_000 }),
      chain,
      rollupId: devnet.world.rollupId,
      lookAhead: { blockTimeMs: 2_000 },
    });
    proxy = assembleProxy({
      client,
      rpc: { host: "127.0.0.1", port: 0, maxBodyBytes: 1024 * 1024 },
      l2: { rpcUrl: flow.l2.url, timeoutMs: 30_000, chainId: flow.l2ChainId },
      log: pino({ level: "silent" }),
    });
    const url = await proxy.start();
    l2 = new JsonRpcProvider(flow.l2.url, undefined, { staticNetwork: true });
    const wallet = l2Account(9).connect(l2);
    const rpc = new RpcClient(url, { timeoutMs: 120_000 });
    const to = Wallet.createRandom().address;
    let nonce = await wallet.getNonce("latest");
    const feeData = await wallet.provider!.getFeeData();

    const totals: number[] = [];
    const proving: number[] = [];
    for (let i = 0; i < WARMUP + txs; i++) {
      const raw = await wallet.signTransaction({
        type: 2,
        chainId: flow.l2ChainId,
        nonce: nonce++,
        to,
        value: parseEther("0.001"),
        gasLimit: 21_000n,
        maxFeePerGas: feeData.maxFeePerGas!,
        maxPriorityFeePerGas: feeData.maxPriorityFeePerGas!,
      });
      const started = performance.now();
      const hash = await rpc.call("eth_sendRawTransaction", [raw]);
      const total = performance.now() - started;
      if (hash !== keccak256(raw)) throw new Error(`the proxy answered ${String(hash)}, not the transaction's hash`);
      if (i < WARMUP) continue;
      totals.push(total);
      proving.push(client.provingMs.get(keccak256(raw))!);
      progress(`transfer ${i - WARMUP + 1}/${txs}: ${total.toFixed(0)} ms, proving ${proving.at(-1)!.toFixed(0)} ms`);
    }
    await proxy.stop();
    proxy = undefined;

    progress(`${precheckRuns} pre-checks against the L2`);
    const reader = new L2StateReader(new RpcClient(flow.l2.url, { timeoutMs: 10_000 }));
    const pool = new PendingPool({ maxAgeMs: 300_000, now: () => performance.now() });
    // The L2's own pending nonce: this fresh pool knows none of the transfers above.
    const probe = await wallet.populateTransaction({
      to,
      value: 1n,
      nonce: await wallet.getNonce("pending"),
      gasLimit: 21_000n,
    });
    const signed = Transaction.from(await wallet.signTransaction(probe));
    const checks: number[] = [];
    for (let i = 0; i < precheckRuns; i++) {
      const started = performance.now();
      const state = await reader.read(wallet.address);
      const refusal = precheck(
        signed,
        wallet.address,
        state.sender,
        pool.settle(wallet.address, state.sender.nonce),
        state.block,
      );
      checks.push(performance.now() - started);
      if (refusal !== undefined) throw new Error(`the probe was refused: ${refusal.message}`);
    }

    const extra = { txs, sender: "one, sequential", machine_load: "nothing else running is assumed" };
    emit("proxy_send_to_verified_commitment_p50", median(totals), "ms", extra);
    emit("proxy_send_to_verified_commitment_p99", percentile(totals, 99), "ms", extra);
    emit("proxy_proving_p50", median(proving), "ms", extra);
    emit("proxy_proving_p99", percentile(proving, 99), "ms", extra);
    emit("proxy_proving_share_p50", median(proving.map((p, i) => (100 * p) / totals[i]!)), "percent", extra);
    emit("proxy_precheck_p50", median(checks), "ms", { runs: precheckRuns });
    emit("proxy_precheck_p99", percentile(checks, 99), "ms", { runs: precheckRuns });
  } finally {
    await proxy?.stop();
    l1.destroy();
    l2?.destroy();
    await devnet.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
