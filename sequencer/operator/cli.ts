/**
 * `veil operator start --config <file>`: drive block production of one rollup until SIGINT/SIGTERM.
 * `veil operator status --config <file>`: the running operator's status (its operator_status method),
 * or, when it does not answer, the progress saved in its state file.
 */
import type { Command } from "commander";
import { stopOnSignals } from "../cli-support/shutdown";

// eslint-disable-next-line @typescript-eslint/no-require-imports, @typescript-eslint/consistent-type-imports -- loaded when a command runs, not for --help (docs/cli.md)
const logger = () => require("../common/logger") as typeof import("../common/logger");
// eslint-disable-next-line @typescript-eslint/no-require-imports, @typescript-eslint/consistent-type-imports -- loaded when a command runs, not for --help (docs/cli.md)
const rpcClient = () => require("../rpc/client") as typeof import("../rpc/client");
// eslint-disable-next-line @typescript-eslint/no-require-imports, @typescript-eslint/consistent-type-imports -- loaded when a command runs, not for --help (docs/cli.md)
const operatorConfig = () => require("./config") as typeof import("./config");

async function operatorStart(options: { config?: string }): Promise<void> {
  const config = operatorConfig().loadOperatorConfig(options.config);
  const log = logger().createLogger({ level: config.log.level, name: "veil-operator" });
  // eslint-disable-next-line @typescript-eslint/no-require-imports, @typescript-eslint/consistent-type-imports -- loaded when the command runs (docs/cli.md)
  const { startOperator } = require("./start") as typeof import("./start");
  const running = await startOperator(config, log);
  stopOnSignals(running, log);
}

async function operatorStatus(options: { config?: string; url?: string }): Promise<void> {
  const config = operatorConfig().loadOperatorConfig(options.config);
  const url = options.url ?? `http://${config.rpc.host}:${config.rpc.port}`;
  let status: unknown;
  try {
    status = {
      running: true,
      url,
      ...((await new (rpcClient().RpcClient)(url, { timeoutMs: 3_000 }).call("operator_status", {})) as object),
    };
  } catch (error) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports, @typescript-eslint/consistent-type-imports -- loaded when the command runs (docs/cli.md)
    const { readState } = require("./state") as typeof import("./state");
    const saved = readState(config.operator.stateFile);
    status = {
      running: false,
      url,
      reason: (error as Error).message,
      saved:
        saved === undefined
          ? null
          : (JSON.parse(
              JSON.stringify(saved, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)),
            ) as unknown),
    };
  }
  process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
}

/** Adds `operator start` and `operator status` to the `veil` program. */
export function registerOperatorCommands(program: Command): void {
  const operator = program
    .command("operator")
    .description("run a rollup operator: finalize blocks and execute them on the L2");
  operator
    .command("start")
    .description("finalize one sequencer block per block time and execute it as one L2 block, in the committed order")
    .option(
      "-c, --config <file>",
      "YAML or JSON config file; VEIL_OPERATOR__<SECTION>__<FIELD> variables override it (see docs/operator.md)",
    )
    .action(operatorStart);
  operator
    .command("status")
    .description("print the operator's progress (from its RPC, else from its state file) as JSON")
    .option("-c, --config <file>", "the operator's config file")
    .option("-u, --url <url>", "the operator's RPC URL (default: from the config's rpc section)")
    .action(operatorStatus);
}
