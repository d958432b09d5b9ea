/**
 * `veil proxy start`: runs the encrypting RPC until SIGINT/SIGTERM. `veil force`: posts one signed L2
 * transaction to the L1 forced-inclusion inbox (force.ts), with the same configuration file.
 */
import { InvalidArgumentError, type Command } from "commander";
import { stopOnSignals } from "../cli-support/shutdown";
import { positiveInt } from "../cli-support/args";

/** The environment variable `veil force` reads its paying L1 key from (never a flag: flags show in `ps`). */
export const FORCE_KEY_ENV = "VEIL_FORCE_L1_KEY";

// eslint-disable-next-line @typescript-eslint/no-require-imports, @typescript-eslint/consistent-type-imports -- loaded when a command runs, not for --help (docs/cli.md)
const logger = () => require("../common/logger") as typeof import("../common/logger");
// eslint-disable-next-line @typescript-eslint/no-require-imports, @typescript-eslint/consistent-type-imports -- loaded when a command runs, not for --help (docs/cli.md)
const layered = () => require("../config/layered") as typeof import("../config/layered");
// eslint-disable-next-line @typescript-eslint/no-require-imports, @typescript-eslint/consistent-type-imports -- loaded when a command runs, not for --help (docs/cli.md)
const proxyConfig = () => require("./config") as typeof import("./config");

async function proxyStart(options: { config?: string }): Promise<void> {
  const config = proxyConfig().loadProxyConfig(options.config);
  const log = logger().createLogger({ level: config.log.level, name: "veil-proxy" });
  // eslint-disable-next-line @typescript-eslint/no-require-imports, @typescript-eslint/consistent-type-imports -- loaded when the command runs (docs/cli.md)
  const { startProxy } = require("./start") as typeof import("./start");
  const proxy = await startProxy(config, log);
  process.stdout.write(`encrypting RPC at ${proxy.url}\n`);
  stopOnSignals(proxy, log);
}

/** A height: a decimal integer of at most 64 bits. */
function heightArg(value: string): bigint {
  if (!/^[0-9]{1,20}$/.test(value) || BigInt(value) >= 2n ** 64n) {
    throw new InvalidArgumentError("expected a decimal height below 2^64");
  }
  return BigInt(value);
}

async function force(options: {
  config?: string;
  tx: string;
  height?: bigint;
  wait?: boolean;
  slash?: boolean;
  timeout: number;
}): Promise<void> {
  const l1Key = process.env[FORCE_KEY_ENV];
  if (l1Key === undefined || l1Key === "") {
    throw new (layered().ConfigError)(
      `${FORCE_KEY_ENV} must hold the L1 private key that pays the inbox fee and the gas`,
    );
  }
  const config = proxyConfig().loadProxyConfig(options.config);
  const log = logger().createLogger({ level: config.log.level, name: "veil-force" });
  // eslint-disable-next-line @typescript-eslint/no-require-imports, @typescript-eslint/consistent-type-imports -- loaded when the command runs (docs/cli.md)
  const { forceTransaction } = require("./force") as typeof import("./force");
  const outcome = await forceTransaction(
    config,
    {
      rawTx: options.tx,
      l1Key,
      ...(options.height === undefined ? {} : { height: options.height }),
      wait: options.wait === true,
      slash: options.slash === true,
      timeoutMs: options.timeout,
    },
    log,
    (line) => process.stderr.write(`veil force: ${line}\n`),
  );
  const { forced } = outcome;
  const json = {
    l2TxHash: outcome.l2TxHash,
    height: forced.height.toString(),
    index: forced.index,
    postedBlock: forced.postedBlock.toString(),
    l1TxHash: forced.l1TxHash,
    encTxHash: forced.encTxHash,
    ...(outcome.verdict === undefined ? {} : { verdict: outcome.verdict }),
    ...(outcome.slot === undefined ? {} : { slot: outcome.slot }),
    ...(outcome.slashTx === undefined ? {} : { slashTx: outcome.slashTx }),
  };
  process.stdout.write(`${JSON.stringify(json)}\n`);
}

export function registerProxyCommands(program: Command): void {
  program
    .command("force")
    .description(
      "post a signed L2 transaction to the L1 forced-inclusion inbox, encrypted and proven (the way around a " +
        `leader that refuses the sender); the L1 key that pays is read from ${FORCE_KEY_ENV}`,
    )
    .requiredOption("--tx <hex>", "the signed L2 transaction, 0x-hex (as eth_sendRawTransaction takes it)")
    .option(
      "-c, --config <file>",
      "the encrypting RPC's config file (node, L1 contracts, rollup); VEIL_PROXY__* variables override it",
    )
    .option("--height <n>", "the height to encrypt for (default: the farthest with a published round key)", heightArg)
    .option("--wait", "follow the height until its block commitment is on L1 and report where the transaction is")
    .option("--slash", "with --wait: slash the block's signer if the block left the transaction out")
    .option("-t, --timeout <ms>", "how long --wait follows the height", positiveInt, 600_000)
    .action(force);

  const proxy = program
    .command("proxy")
    .description("the encrypting RPC: an Ethereum JSON-RPC endpoint for wallets that encrypts and proves locally");
  proxy
    .command("start")
    .description(
      "serve JSON-RPC: eth_sendRawTransaction is encrypted, proven, submitted to a Veil node and its receipt verified; " +
        "every other method goes to the L2 node",
    )
    .option(
      "-c, --config <file>",
      "YAML or JSON config file; VEIL_PROXY__<SECTION>__<FIELD> environment variables override it (see docs/sdk.md)",
    )
    .action(proxyStart);
}
