/**
 * `veil validator start --config <file>`: run one operator's validator until SIGINT/SIGTERM.
 * `veil validator status --url <rpc>`: print a running validator's `get_validator_status` as JSON.
 */
import { InvalidArgumentError, type Command } from "commander";
import { createLogger } from "../node/logger";
import { RpcClient } from "../rpc/client";
import { loadValidatorConfig } from "./config";
import { startValidator, validatorStatusSchema } from "./process";

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError("expected a positive integer");
  return n;
}

async function validatorStart(options: { config?: string }): Promise<void> {
  const config = loadValidatorConfig(options.config);
  const log = createLogger({ level: config.log.level, name: "veil-validator" });
  const running = await startValidator(config, log);
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals += 1;
    if (signals > 1) process.exit(130);
    log.info({ signal }, "shutting down");
    running.stop().then(
      () => log.flush(() => process.exit(0)),
      (error: unknown) => {
        log.error({ err: error }, "shutdown failed");
        log.flush(() => process.exit(1));
      },
    );
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
}

async function validatorStatus(options: { url: string; timeout: number }): Promise<void> {
  const client = new RpcClient(options.url, { timeoutMs: options.timeout });
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
