/** `veil proxy start`: runs the encrypting RPC until SIGINT/SIGTERM. */
import type { Command } from "commander";
import { createLogger } from "../node/logger";
import { loadProxyConfig } from "./config";
import { startProxy } from "./start";

async function proxyStart(options: { config?: string }): Promise<void> {
  const config = loadProxyConfig(options.config);
  const log = createLogger({ level: config.log.level, name: "veil-proxy" });
  const proxy = await startProxy(config, log);
  process.stdout.write(`encrypting RPC at ${proxy.url}\n`);
  const onSignal = (signal: NodeJS.Signals): void => {
    log.info({ signal }, "shutting down");
    proxy.stop().then(
      () => log.flush(() => process.exit(0)),
      (error: unknown) => {
        log.error({ err: error }, "shutdown failed");
        log.flush(() => process.exit(1));
      },
    );
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
}

export function registerProxyCommands(program: Command): void {
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
