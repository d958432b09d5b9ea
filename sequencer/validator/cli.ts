/**
 * `veil validator start --config <file>`: run one operator's validator until SIGINT/SIGTERM.
 * `veil validator status --url <rpc>`: print a running validator's `get_validator_status` as JSON.
 */
import type { Command } from "commander";
import { positiveInt } from "../cli-support/args";
import { stopOnSignals } from "../cli-support/shutdown";

// eslint-disable-next-line @typescript-eslint/no-require-imports, @typescript-eslint/consistent-type-imports -- loaded when a command runs, not for --help (docs/cli.md)
const logger = () => require("../common/logger") as typeof import("../common/logger");
// eslint-disable-next-line @typescript-eslint/no-require-imports, @typescript-eslint/consistent-type-imports -- loaded when a command runs, not for --help (docs/cli.md)
const rpcClient = () => require("../rpc/client") as typeof import("../rpc/client");
// eslint-disable-next-line @typescript-eslint/no-require-imports, @typescript-eslint/consistent-type-imports -- loaded when a command runs, not for --help (docs/cli.md)
const validatorConfig = () => require("./config") as typeof import("./config");

async function validatorStart(options: { config?: string }): Promise<void> {
  const config = validatorConfig().loadValidatorConfig(options.config);
  const log = logger().createLogger({ level: config.log.level, name: "veil-validator" });
  // eslint-disable-next-line @typescript-eslint/no-require-imports, @typescript-eslint/consistent-type-imports -- loaded when the command runs (docs/cli.md)
  const { startValidator } = require("./process") as typeof import("./process");
  const running = await startValidator(config, log);
  stopOnSignals(running, log);
}

async function validatorStatus(options: { url: string; timeout: number }): Promise<void> {
  const client = new (rpcClient().RpcClient)(options.url, { timeoutMs: options.timeout });
  // eslint-disable-next-line @typescript-eslint/no-require-imports, @typescript-eslint/consistent-type-imports -- loaded when the command runs (docs/cli.md)
  const { validatorStatusSchema } = require("./process") as typeof import("./process");
  const status = await client.call("get_validator_status", undefined, validatorStatusSchema);
  process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
}

/** Adds `validator start` and `validator status` to the `veil` program. */
export function registerValidatorCommands(program: Command): void {
  const validator = program
    .command("validator")
    .description("run or inspect an operator's validator (recomputes and votes on VSM tasks)");
  validator
    .command("start")
    .description("run one validator: scan VSM tasks, vote, serve the vote, aggregate a stake quorum and submit it")
    .option(
      "-c, --config <file>",
      "YAML or JSON config file; VEIL_VALIDATOR__<SECTION>__<FIELD> variables override it (see docs/validators.md)",
    )
    .action(validatorStart);
  validator
    .command("status")
    .description("print a running validator's status (get_validator_status) as JSON")
    .requiredOption("-u, --url <url>", "the validator's JSON-RPC URL, e.g. http://127.0.0.1:8570")
    .option("-t, --timeout <ms>", "how long to wait for the answer", positiveInt, 5_000)
    .action(validatorStatus);
}
