/** `veil proxy start`: runs the encrypting RPC until SIGINT/SIGTERM. */
import type { Command } from "commander";
import { stopOnSignals } from "../cli-support/shutdown";
import { createLogger } from "../common/logger";
import { loadProxyConfig } from "./config";
import { startProxy } from "./start";

async function proxyStart(options: { config?: string }): Promise<void> {
  const config = loadProxyConfig(options.config);
  const log = createLogger({ level: config.log.level, name: "veil-proxy" });
  const proxy = await startProxy(config, log);
  process.stdout.write(`encrypting RPC at ${proxy.url}\n`);
  stopOnSignals(proxy, log);
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
