/**
 * The `veil` command line, one program for every role: `veil node …` (sequencer node),
 * `veil keygen …` (key generator), `veil proxy …` (the user's encrypting RPC), `veil validator …`
 * (a VSM operator's validator), `veil operator …` (a rollup's block producer and L2 executor),
 * `veil timelock …` (a rollup registrant's time-lock sizing and setup), `veil force` (a user's transaction
 * through the L1 forced-inclusion inbox).
 * Run with `npm run veil -- <command>`; every command has `--help`.
 */
import { Command } from "commander";
import { positiveInt } from "./cli-support/args";
import { Interrupted, stopOnSignals } from "./cli-support/shutdown";
import { registerKeygenCommands } from "./keygen/cli";
import { VERSION } from "./common/version";
import { registerOperatorCommands } from "./operator/cli";
import { registerProxyCommands } from "./proxy/cli";
import { registerTimelockCommands } from "./registrant/cli";
import { registerValidatorCommands } from "./validator/cli";

// eslint-disable-next-line @typescript-eslint/no-require-imports, @typescript-eslint/consistent-type-imports -- loaded when a command runs, not for --help (docs/cli.md)
const nodeConfig = () => require("./node/config") as typeof import("./node/config");
// eslint-disable-next-line @typescript-eslint/no-require-imports, @typescript-eslint/consistent-type-imports -- loaded when a command runs, not for --help (docs/cli.md)
const logger = () => require("./common/logger") as typeof import("./common/logger");
// eslint-disable-next-line @typescript-eslint/no-require-imports, @typescript-eslint/consistent-type-imports -- loaded when a command runs, not for --help (docs/cli.md)
const rpcClient = () => require("./rpc/client") as typeof import("./rpc/client");
// eslint-disable-next-line @typescript-eslint/no-require-imports, @typescript-eslint/consistent-type-imports -- loaded when a command runs, not for --help (docs/cli.md)
const sdkErrors = () => require("./sdk/errors") as typeof import("./sdk/errors");

async function nodeStart(options: { config?: string }): Promise<void> {
  const config = nodeConfig().loadConfig(options.config);
  const log = logger().createLogger({ level: config.log.level });
  // eslint-disable-next-line @typescript-eslint/no-require-imports, @typescript-eslint/consistent-type-imports -- loaded when the command runs (docs/cli.md)
  const { startNode } = require("./node/node") as typeof import("./node/node");
  const node = await startNode(config, log);
  stopOnSignals(node, log);
}

async function nodeStatus(options: { url: string; timeout: number }): Promise<void> {
  const client = new (rpcClient().RpcClient)(options.url, { timeoutMs: options.timeout });
  // eslint-disable-next-line @typescript-eslint/no-require-imports, @typescript-eslint/consistent-type-imports -- loaded when the command runs (docs/cli.md)
  const { clusterStatusSchema } = require("./node/node") as typeof import("./node/node");
  const status = await client.call("get_cluster_status", undefined, clusterStatusSchema);
  process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
}

export function buildCli(): Command {
  const program = new Command("veil")
    .description("Veil: a leader-based shared sequencer with an encrypted mempool")
    .version(VERSION)
    .showHelpAfterError();
  const node = program.command("node").description("run or inspect a sequencer node");
  node
    .command("start")
    .description("start a node: open its database and serve JSON-RPC, /health and /metrics until SIGINT/SIGTERM")
    .option(
      "-c, --config <file>",
      "YAML or JSON config file; VEIL_NODE__<SECTION>__<FIELD> environment variables override it (see docs/config.md)",
    )
    .action(nodeStart);
  node
    .command("status")
    .description("print a running node's status (get_cluster_status) as JSON")
    .requiredOption("-u, --url <url>", "the node's JSON-RPC URL, e.g. http://127.0.0.1:8550")
    .option("-t, --timeout <ms>", "how long to wait for the answer", positiveInt, 5_000)
    .action(nodeStatus);
  registerKeygenCommands(program);
  registerProxyCommands(program);
  registerValidatorCommands(program);
  registerOperatorCommands(program);
  registerTimelockCommands(program);
  return program;
}

/** Turns the errors a user can cause into one clear line and exit code 1; anything else is a bug. */
function explain(error: unknown): string {
  const { ConfigError } = nodeConfig();
  const { RpcCallError, RpcTimeoutError, RpcTransportError } = rpcClient();
  const { VeilSdkError } = sdkErrors();
  if (error instanceof ConfigError || error instanceof Interrupted || error instanceof VeilSdkError)
    return error.message;
  if (error instanceof RpcCallError) return `error ${error.code} (${error.errorName ?? "unknown"}): ${error.message}`;
  if (error instanceof RpcTimeoutError || error instanceof RpcTransportError) return error.message;
  if (error instanceof Error && "code" in error && error.code === "EADDRINUSE")
    return `cannot listen: ${error.message}`;
  if (error instanceof Error && "code" in error && error.code === "LEVEL_DATABASE_NOT_OPEN") {
    return `cannot open the database (is another node using it?): ${error.message}`;
  }
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

if (require.main === module) {
  buildCli()
    .parseAsync(process.argv)
    .catch((error: unknown) => {
      process.stderr.write(`veil: ${explain(error)}\n`);
      process.exit(1);
    });
}
