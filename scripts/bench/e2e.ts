/**
 * `npm run bench:e2e`: the whole flow on a full devnet of real processes (scripts/devnet, `full: true`).
 * Senders encrypt and prove real signed L2 transfers with the client SDK (just in time: a proof is bound to
 * the round key of its target height, so it cannot be made long before), submit them, and the benchmark
 * watches the L2 for the blocks the rollup operator mines. One JSON line per figure:
 *
 *   e2e_submission_to_l2_inclusion_ms p50/p99  from the submission (proof in hand) to the first sight of the
 *                                              L2 block holding the transaction
 *   e2e_seal_to_l2_ms p50/p99                  the operator's finalize_block call (seal, key release, decrypt,
 *                                              build, VSM task) to its L2 block mined and checked (its log)
 *   block_decrypt_and_build_1000_txs           scripts/bench/e2e-build.ts's runner, unchanged
 *   e2e_l1_gas_per_block                       createNewTask + respondToTask of each block, from receipts
 *
 * Options: --txs N (default 30), --senders N (default 3), --block-time MS (default 2000), --skip-build.
 */
import { JsonRpcProvider, Wallet, keccak256 } from "ethers";
import { Devnet } from "../devnet";
import {
  eventually,
  executedHeights,
  l2Account,
  sdkClient,
  sendNotBelow,
  signedTransfer,
  sleep,
  vsmOf,
  vsmTasks,
} from "../../test/e2e/harness";
import { runBlockBuildBench } from "./e2e-build";
import { emit, median, percentile, progress } from "./report";

interface Args {
  readonly txs: number;
  readonly senders: number;
  readonly blockTimeMs: number;
  readonly skipBuild: boolean;
}

function parseArgs(argv: readonly string[]): Args {
  const value = (name: string, fallback: number): number => {
    const i = argv.indexOf(name);
    if (i < 0) return fallback;
    const v = Number(argv[i + 1]);
    if (!Number.isInteger(v) || v <= 0) throw new Error(`${name} expects a positive integer`);
    return v;
  };
  const senders = value("--senders", 3);
  if (senders > 19) throw new Error("--senders is at most 19 (the L2's funded accounts)");
  return {
    txs: value("--txs", 30),
    senders,
    blockTimeMs: value("--block-time", 2_000),
    skipBuild: argv.includes("--skip-build"),
  };
}

/** Records when each L2 block number is first seen (polling eth_blockNumber every 50 ms). */
class L2Watcher {
  readonly seenAt = new Map<number, number>();
  private running = true;
  private readonly loop: Promise<void>;

  constructor(private readonly l2: JsonRpcProvider) {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    let last = await this.l2.getBlockNumber();
    while (this.running) {
      const head = await this.l2.getBlockNumber().catch(() => last);
      const now = Date.now();
      for (let b = last + 1; b <= head; b++) this.seenAt.set(b, now);
      last = Math.max(last, head);
      await sleep(50);
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}

interface Submitted {
  readonly txHash: string;
  readonly height: bigint;
  readonly submittedAt: number;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  progress(`starting a full devnet (block time ${args.blockTimeMs} ms)`);
  const devnet = await Devnet.start({
    full: true,
    members: 3,
    keyGenerators: 3,
    operators: 3,
    blockTimeMs: args.blockTimeMs,
    keyLookahead: 12,
    keygenConfig: { schedule: { aggregationTimeoutMs: 20_000 } },
    logLevel: "info",
    progress,
  });
  const l1 = new JsonRpcProvider(devnet.l1.url, undefined, { staticNetwork: true });
  const l2 = new JsonRpcProvider(devnet.flow!.l2.url, undefined, { staticNetwork: true });
  const watcher = new L2Watcher(l2);
  try {
    const recipient = Wallet.createRandom().address;
    const perSender = Math.ceil(args.txs / args.senders);
    const submitted: Submitted[] = [];
    progress(
      `${args.senders} senders prove and submit ${perSender} transfers each (encrypted, proven in this process)`,
    );
    await Promise.all(
      Array.from({ length: args.senders }, async (_, s) => {
        const client = await sdkClient(devnet, l1, {
          node: s % devnet.nodes.length,
          lookAhead: { blockTimeMs: args.blockTimeMs, initialProvingMs: 8_000, minBlocks: 2, maxBlocks: 8 },
        });
        const wallet = l2Account(s + 1);
        let nonce = await l2.getTransactionCount(wallet.address, "latest");
        let floor = 0n;
        for (let i = 0; i < perSender; i++) {
          const sign = (variant: number) =>
            signedTransfer(wallet, nonce, devnet.flow!.l2ChainId, recipient, BigInt(variant));
          const { sent, signedTx, submittedAt } = await sendNotBelow(client, sign, floor);
          floor = sent.height;
          submitted.push({ txHash: keccak256(signedTx), height: sent.height, submittedAt });
          progress(`submitted ${submitted.length}/${perSender * args.senders} (height ${sent.height})`);
          nonce += 1;
        }
      }),
    );

    progress("waiting for every transaction on the L2");
    const inclusion: number[] = [];
    let refused = 0;
    for (const tx of submitted) {
      const receipt = await eventually(
        `${tx.txHash} on the L2 or refused by it`,
        async () => {
          const r = await l2.getTransactionReceipt(tx.txHash);
          if (r !== null) return r;
          const executed = executedHeights(devnet).get(tx.height);
          return executed?.refusedByL2.has(tx.txHash) ? ("refused" as const) : undefined;
        },
        180_000,
      );
      if (receipt === "refused") {
        refused += 1; // an unacknowledged copy of its nonce (left by a transient refusal) ran first
        continue;
      }
      const seen = await eventually(
        `L2 block ${receipt.blockNumber} seen`,
        () => watcher.seenAt.get(receipt.blockNumber),
        5_000,
      );
      inclusion.push(seen - tx.submittedAt);
    }
    const extra = { txs: inclusion.length, refusedByL2: refused, senders: args.senders, blockTimeMs: args.blockTimeMs };
    emit("e2e_submission_to_l2_inclusion_ms_p50", percentile(inclusion, 50), "ms", extra);
    emit("e2e_submission_to_l2_inclusion_ms_p99", percentile(inclusion, 99), "ms", extra);

    const executed = [...executedHeights(devnet).values()];
    const sealToL2 = executed.map((e) => e.sealToL2Ms);
    const withTxs = executed.filter((e) => e.txCount > 0).map((e) => e.sealToL2Ms);
    const blocks = { blocks: executed.length, blocksWithTxs: withTxs.length, blockTimeMs: args.blockTimeMs };
    emit("e2e_seal_to_l2_ms_p50", percentile(sealToL2, 50), "ms", blocks);
    emit("e2e_seal_to_l2_ms_p99", percentile(sealToL2, 99), "ms", blocks);
    if (withTxs.length > 0) emit("e2e_seal_to_l2_ms_p50_nonempty_blocks", percentile(withTxs, 50), "ms", blocks);

    progress("waiting for the validators to settle every task, then reading the L1 receipts");
    const tasks = await eventually(
      "every VSM task settled",
      async () => {
        const all = await vsmTasks(devnet, l1);
        return all.some((t) => t.status === "Pending") ? undefined : all;
      },
      120_000,
      1_000,
    );
    const vsm = vsmOf(devnet, l1);
    const resolved = await vsm.queryFilter(vsm.filters.TaskResolved(), devnet.world.deployBlock);
    const respondTx = new Map(resolved.map((e) => [e.args.taskId, e.transactionHash]));
    const createGas: number[] = [];
    const respondGas: number[] = [];
    const perBlock: number[] = [];
    for (const t of tasks) {
      const created = Number((await l1.getTransactionReceipt(t.createdTx))!.gasUsed);
      const hash = respondTx.get(t.taskId);
      const responded = hash === undefined ? 0 : Number((await l1.getTransactionReceipt(hash))!.gasUsed);
      createGas.push(created);
      if (hash !== undefined) respondGas.push(responded);
      perBlock.push(created + responded);
    }
    const gasExtra = { tasks: tasks.length, validators: devnet.world.operators.length };
    emit("e2e_l1_gas_create_new_task", median(createGas), "gas", gasExtra);
    if (respondGas.length > 0) emit("e2e_l1_gas_respond_to_task", median(respondGas), "gas", gasExtra);
    emit("e2e_l1_gas_per_block", median(perBlock), "gas", gasExtra);
  } finally {
    await watcher.stop();
    l1.destroy();
    l2.destroy();
    await devnet.stop();
  }
  if (!args.skipBuild) {
    progress("decrypt and build of a 1,000-transaction block (scripts/bench/e2e-build.ts)");
    await runBlockBuildBench();
  }
}

main()
  .then(async () => {
    await (globalThis as { curve_bn128?: { terminate(): Promise<void> } }).curve_bn128?.terminate();
    process.exit(0); // every figure is out; nothing else (HTTP keep-alive, worker pools) should hold the exit
  })
  .catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
