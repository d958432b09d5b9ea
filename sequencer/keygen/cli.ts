/**
 * `veil keygen start --config <file>`: run one committee member until SIGINT/SIGTERM.
 * `veil keygen solve --url <rpc> --seal <file>`: recover a sealed round's secret (reveals, else the
 * solver) and print it as JSON; `--publish` hands it to every member.
 */
import { InvalidArgumentError, type Command } from "commander";
import { readFileSync } from "node:fs";
import { positiveInt } from "../cli-support/args";
import { Interrupted, stopOnSignals } from "../cli-support/shutdown";
import type { LogLevel } from "../common/logger";

// eslint-disable-next-line @typescript-eslint/no-require-imports, @typescript-eslint/consistent-type-imports -- loaded when a command runs, not for --help (docs/cli.md)
const logger = () => require("../common/logger") as typeof import("../common/logger");
// eslint-disable-next-line @typescript-eslint/no-require-imports, @typescript-eslint/consistent-type-imports -- loaded when a command runs, not for --help (docs/cli.md)
const keygenConfig = () => require("./config") as typeof import("./config");

async function keygenStart(options: { config?: string }): Promise<void> {
  const config = keygenConfig().loadKeygenConfig(options.config);
  const log = logger().createLogger({ level: config.log.level, name: "veil-keygen" });
  // eslint-disable-next-line @typescript-eslint/no-require-imports, @typescript-eslint/consistent-type-imports -- loaded when the command runs (docs/cli.md)
  const { startKeygen } = require("./keygen") as typeof import("./keygen");
  const keygen = await startKeygen(config, log);
  stopOnSignals(keygen, log);
}

async function keygenSolve(options: {
  url: string;
  seal: string;
  solve: boolean;
  publish: boolean;
  revealTimeout: number;
  checkpoint?: string;
  logLevel: LogLevel;
}): Promise<void> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(options.seal, "utf8"));
  } catch (error) {
    throw new InvalidArgumentError(`--seal ${options.seal}: ${(error as Error).message}`);
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports, @typescript-eslint/consistent-type-imports -- loaded when the command runs (docs/cli.md)
  const { sealFileSchema, solveRound } = require("./solve") as typeof import("./solve");
  const parsed = sealFileSchema.safeParse(raw);
  if (!parsed.success) {
    throw new InvalidArgumentError(`--seal ${options.seal}: ${parsed.error.issues.map((i) => i.message).join("; ")}`);
  }
  // Progress goes to stderr so that stdout carries only the result.
  const log = logger().createLogger({
    level: options.logLevel,
    name: "veil-keygen-solve",
    destination: process.stderr,
  });
  const controller = new AbortController();
  process.once("SIGINT", () =>
    controller.abort(new Interrupted("interrupted: run the same command again (with --checkpoint, it resumes)")),
  );
  const result = await solveRound({
    url: options.url,
    certificate: parsed.data,
    solve: options.solve,
    publish: options.publish,
    revealTimeoutMs: options.revealTimeout,
    signal: controller.signal,
    ...(options.checkpoint === undefined ? {} : { checkpointPath: options.checkpoint }),
    log,
  });
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

/** Adds `keygen start` and `keygen solve` to the `veil` program. */
export function registerKeygenCommands(program: Command): void {
  const keygen = program.command("keygen").description("run a round-key generator, or recover a round's secret");
  keygen
    .command("start")
    .description("run one key-generator committee member: publish round keys ahead, reveal against seals")
    .option(
      "-c, --config <file>",
      "YAML or JSON config file; VEIL_KEYGEN__<SECTION>__<FIELD> variables override it (see docs/key-generators.md)",
    )
    .action(keygenStart);
  keygen
    .command("solve")
    .description("recover a sealed round's secret: gather reveals, solve the puzzle if one is missing, print JSON")
    .requiredOption("-u, --url <url>", "JSON-RPC URL of any key generator of the rollup's committee")
    .requiredOption(
      "-s, --seal <file>",
      'JSON file of the seal certificate: {"seal": {rollupId, height, txCount, encRoot, viewNumber}, "signatures": [...]}',
    )
    .option("--no-solve", "fail instead of solving when a reveal is missing")
    .option("-p, --publish", "send the result to every committee member (publish_round_secret)", false)
    .option("--reveal-timeout <ms>", "how long to wait for each member's reveal", positiveInt, 5_000)
    .option("--checkpoint <file>", "keep the solver's progress here and resume from it when run again")
    .option("--log-level <level>", "progress log level on stderr", "info")
    .action(keygenSolve);
}
