/**
 * `npm start`: the whole of Veil on this machine. Boots an L1 and an L2 (Hardhat nodes), deploys the
 * contracts, starts 3 sequencer nodes, 3 key generators, 3 validators, the rollup operator and the
 * encrypting RPC (scripts/devnet/), then runs a demo: a few L2 accounts send transfers through the
 * encrypting RPC with an unmodified ethers Wallet (scripts/devnet/demo.ts), and one more account, whose
 * address every leader is told to censor, sends one through its own encrypting RPC, which forces it through
 * the L1 inbox. Prints a summary that counts the transfers that executed on the L2, and keeps everything
 * running until Ctrl-C; `--once` exits after the demo, with status 1 if any part of it failed (a transfer
 * that did not execute, or one that executed while its sender was answered with an error).
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { Command, InvalidArgumentError, Option } from "commander";
import { HDNodeWallet, JsonRpcProvider, Wallet, formatEther, parseEther } from "ethers";
import { ValidationServiceManager__factory } from "../typechain-types";
import { Devnet } from "./devnet";
import { CENSORED_CLIENT } from "./devnet/devnet";
import { forcedPlacements, runDemo, summarizeDemo } from "./devnet/demo";

const ROOT = path.join(__dirname, "..");
const WORK_DIR = path.join(ROOT, "build", "devnet");
const HARDHAT_MNEMONIC = "test test test test test test test test test test test junk";
const TASK_STATUS = ["None", "Pending", "Validated", "Rejected", "Expired"] as const;

const DESCRIPTION =
  "Starts a complete local Veil (L1 and L2 Hardhat nodes, contracts, 3 sequencer nodes, 3 key " +
  "generators, 3 validators, the rollup operator and the encrypting RPC), runs a demo of encrypted " +
  "transfers sent with ethers through the encrypting RPC, and of one transfer from a sender every " +
  "leader censors, forced through the L1 inbox by that sender's own encrypting RPC; prints a summary, " +
  "and keeps running with its URLs printed until Ctrl-C (which stops every process it started).";

interface Args {
  readonly once: boolean;
  readonly senders: number;
  readonly transfers: number;
  readonly blockTimeMs: number;
  readonly basePort: number;
}

function integerIn(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max)
      throw new InvalidArgumentError(`expected an integer in [${min}, ${max}]`);
    return n;
  };
}

/** The command line, parsed by commander: `--help` prints the options, a mistake one line and status 1. */
function parseArgs(argv: readonly string[]): Args {
  const program = new Command("npm start")
    .usage("[-- --once] [--senders N] [--transfers N] [--block-time MS] [--port-base P]")
    .description(DESCRIPTION)
    .option("--once", "exit after the demo (status 1 if anything failed)")
    .addOption(
      new Option("--senders <n>", "demo accounts sending transfers (one more is kept for the censored sender)")
        .argParser(integerIn(1, 9))
        .default(3),
    )
    .addOption(new Option("--transfers <n>", "transfers per account").argParser(integerIn(1, 1_000)).default(2))
    .addOption(
      new Option("--block-time <ms>", "the rollup's block time").argParser(integerIn(100, 3_600_000)).default(2_000),
    )
    .addOption(
      new Option(
        "--port-base <p>",
        "L1 on P, L2 on P+1, encrypting RPC on P+2, rollup operator on P+3, the censored sender's encrypting " +
          "RPC on P+4, nodes from P+5, key generators from P+15, validators from P+25",
      )
        .argParser(integerIn(1024, 65_000))
        .env("VEIL_PORT_BASE")
        .default(8545),
    )
    .addHelpText("after", "\nLogs, configs and databases: build/devnet/ (replaced at every start).")
    .showHelpAfterError("(npm start -- --help lists the options)")
    .parse(argv, { from: "user" });
  const o = program.opts<{ once?: boolean; senders: number; transfers: number; blockTime: number; portBase: number }>();
  return {
    once: o.once === true,
    senders: o.senders,
    transfers: o.transfers,
    blockTimeMs: o.blockTime,
    basePort: o.portBase,
  };
}

const say = (message: string): void => console.log(`[veil] ${message}`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The L2's funded development accounts (Hardhat's default mnemonic), account 0 excepted. */
function l2Account(i: number): Wallet {
  const hd = HDNodeWallet.fromPhrase(HARDHAT_MNEMONIC, undefined, `m/44'/60'/0'/0/${i + 1}`);
  return new Wallet(hd.privateKey);
}

interface TaskSummary {
  readonly created: number;
  readonly byStatus: Record<string, number>;
}

/** The VSM's tasks so far and their status; waits (bounded) until none is pending. */
async function vsmTasks(devnet: Devnet, timeoutMs: number): Promise<TaskSummary> {
  const provider = new JsonRpcProvider(devnet.l1.url, undefined, { staticNetwork: true });
  try {
    const vsm = ValidationServiceManager__factory.connect(devnet.world.validationServiceManager, provider);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const created = await vsm.queryFilter(vsm.filters.TaskCreated(), devnet.world.deployBlock);
      const byStatus: Record<string, number> = {};
      for (const event of created) {
        const status = TASK_STATUS[Number((await vsm.getTask(event.args.taskId)).status)] ?? "Unknown";
        byStatus[status] = (byStatus[status] ?? 0) + 1;
      }
      if ((byStatus.Pending ?? 0) === 0 || Date.now() > deadline) return { created: created.length, byStatus };
      await sleep(1_000);
    }
  } finally {
    provider.destroy();
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  rmSync(WORK_DIR, { recursive: true, force: true });
  mkdirSync(WORK_DIR, { recursive: true });
  const started = Date.now();
  const devnet = await Devnet.start({
    full: true,
    workDir: WORK_DIR,
    keepWorkDir: true,
    members: 3,
    keyGenerators: 3,
    operators: 3,
    blockTimeMs: args.blockTimeMs,
    basePort: args.basePort,
    censorship: true,
    logLevel: "info",
    progress: say,
  });
  let stopping = false;
  const stop = async (status: number): Promise<never> => {
    if (!stopping) {
      stopping = true;
      say("stopping every process");
      await devnet.stop();
    }
    process.exit(status);
  };
  process.on("SIGINT", () => void stop(0));
  process.on("SIGTERM", () => void stop(0));

  const flow = devnet.flow!;
  const urls = {
    "encrypting RPC (point wallets here)": flow.proxyUrl,
    "the censored sender's encrypting RPC (forces through the L1)": flow.censoredProxyUrl!,
    "L2 (Hardhat, chain id)": `${flow.l2.url} (${flow.l2ChainId})`,
    L1: devnet.l1.url,
    "sequencer nodes": devnet.nodes.map((n) => n.url).join(" "),
    "key generators": devnet.keygenUrls.join(" "),
    validators: flow.validatorUrls.join(" "),
    "rollup operator": flow.operatorUrl,
  };
  writeFileSync(
    path.join(WORK_DIR, "devnet.json"),
    JSON.stringify(
      { urls, rollupId: devnet.world.rollupId.toString(), contracts: devnet.world },
      (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v instanceof Wallet ? v.address : v),
      2,
    ),
  );
  say(`everything is up after ${((Date.now() - started) / 1000).toFixed(1)} s`);
  say(
    `time lock: a TEST modulus and T = ${devnet.world.squarings}, flagged insecure on chain: fine for a demo, ` +
      "never for real traffic (a deployment uses RSA-2048 and T from docs/round-keys.md)",
  );

  const recipient = Wallet.createRandom().address;
  say(`demo: ${args.senders} accounts send ${args.transfers} transfers of 1 ETH each to ${recipient} (encrypted)`);
  const transfers = await runDemo({
    proxyUrl: flow.proxyUrl,
    l2Url: flow.l2.url,
    senders: Array.from({ length: args.senders }, (_, i) => l2Account(i)),
    transfers: args.transfers,
    recipient,
    executeTimeoutMs: 120_000,
    graceMs: Math.max(10_000, 5 * args.blockTimeMs),
    say,
  });
  const demo = summarizeDemo(transfers);

  const censored = l2Account(args.senders);
  say(
    `demo: every leader refuses the submissions of ${CENSORED_CLIENT}; account ${args.senders + 1} sends 1 ETH ` +
      "through its own encrypting RPC, which connects from there and forces it through the L1 inbox",
  );
  const forcedTransfers = await runDemo({
    proxyUrl: flow.censoredProxyUrl!,
    l2Url: flow.l2.url,
    senders: [censored],
    transfers: 1,
    recipient,
    executeTimeoutMs: 180_000,
    graceMs: Math.max(10_000, 5 * args.blockTimeMs),
    say,
    label: () => `account ${args.senders + 1} (censored)`,
    answeredAs: "answered with its hash after the leaders refused it: forced through the L1 inbox, encrypted",
  });
  const forced = summarizeDemo(forcedTransfers);
  const placements = await forcedPlacements(
    devnet.l1.url,
    {
      registry: devnet.world.clusterRegistry,
      validationServiceManager: devnet.world.validationServiceManager,
      inbox: devnet.world.forcedInclusionInbox,
    },
    devnet.world.forcer.address,
    devnet.world.deployBlock,
    60_000,
  );
  say("waiting for the validators to settle the block commitments on the L1");
  const tasks = await vsmTasks(devnet, 60_000);
  const l2 = new JsonRpcProvider(flow.l2.url, undefined, { staticNetwork: true });
  const operator = await fetch(flow.operatorUrl, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "operator_status", params: {} }),
  }).then(async (r) => ((await r.json()) as { result?: { nextHeight?: string } }).result);
  const balances = await Promise.all(
    [recipient, ...Array.from({ length: args.senders + 1 }, (_, i) => l2Account(i).address)].map(async (a) =>
      formatEther(await l2.getBalance(a)),
    ),
  );
  l2.destroy();

  const failures = [...demo.failures, ...forced.failures];
  const executed = demo.executed + forced.executed;
  // The recipient's balance is the L2's own count of what executed: the two must agree.
  if (parseEther(balances[0]!) !== parseEther("1") * BigInt(executed)) {
    failures.push(`the recipient holds ${balances[0]} ETH, but ${executed} transfers of 1 ETH executed`);
  }
  if (placements.length !== 1 || placements[0]!.verdict !== "placed") {
    failures.push(
      `the censored transfer's inbox entries: ${placements.map((p) => `height ${p.height}: ${p.verdict}`).join(", ") || "none"}`,
    );
  }
  if ((tasks.byStatus.Validated ?? 0) === 0) failures.push("no VSM task was validated");
  if ((tasks.byStatus.Pending ?? 0) > 0) failures.push(`${tasks.byStatus.Pending} VSM tasks are still pending`);
  if ((tasks.byStatus.Rejected ?? 0) > 0) failures.push(`${tasks.byStatus.Rejected} VSM tasks were rejected`);

  console.log("");
  say("summary");
  say(
    `  transfers executed on the L2: ${demo.executed} of ${demo.total}` +
      (demo.l2Blocks.length === 0 ? "" : ` in L2 blocks ${demo.l2Blocks.join(", ")}`),
  );
  say(
    `  answers to the senders:       ${demo.answered} transaction hashes (order commitment verified), ` +
      `${demo.total - demo.answered} errors`,
  );
  for (const p of placements) {
    const where = p.slot === undefined ? p.verdict : `slot ${p.slot} = txCount ${p.txCount} + entry ${p.index}`;
    say(
      `  censored sender's transfer:   ${forced.executed === 1 ? "executed" : "NOT executed"} on the L2` +
        `${forced.l2Blocks.length === 0 ? "" : ` in block ${forced.l2Blocks.join(", ")}`}, forced through ` +
        `the L1 inbox for height ${p.height} (${where})`,
    );
  }
  say(`  sequencer blocks built:       ${operator?.nextHeight ?? "?"} (every one executed as one L2 block)`);
  say(
    `  VSM tasks on the L1:          ${tasks.created} (${Object.entries(tasks.byStatus)
      .map(([s, n]) => `${n} ${s}`)
      .join(", ")})`,
  );
  say(`  L2 balance of the recipient:  ${balances[0]} ETH`);
  balances.slice(1).forEach((b, i) => say(`  L2 balance of account ${i + 1}:     ${b} ETH`));
  for (const f of failures) say(`  FAILED: ${f}`);
  console.log("");

  if (args.once) await stop(failures.length === 0 ? 0 : 1);
  for (const [name, url] of Object.entries(urls)) say(`${name}: ${url}`);
  say(`logs: ${path.relative(ROOT, path.join(WORK_DIR, "logs"))}/; addresses: build/devnet/devnet.json`);
  say("running; Ctrl-C stops every process");
}

main().catch((error: unknown) => {
  console.error(`[veil] ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exit(1);
});
