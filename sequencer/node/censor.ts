/**
 * The censoring switch (`testing.censorClients`): makes this node refuse the submissions of some clients,
 * as a leader that censors a sender would. It exists so that tests and `npm start` can show forced inclusion
 * working around a censoring cluster (docs/forced-inclusion.md); a node refuses to start with it anywhere
 * but on a development chain, so that no configuration mistake turns it on in production.
 */
import type { Logger } from "pino";
import { addressBlocks, isListed } from "../rpc/client-address";
import { DEVELOPMENT_CHAIN_IDS } from "./config";

/** Whether a client is censored; undefined when the switch is off. Throws when it is on outside a dev chain. */
export function censorSwitch(
  entries: readonly string[],
  chainId: bigint,
  log: Pick<Logger, "warn">,
): ((clientId: string) => boolean) | undefined {
  if (entries.length === 0) return undefined;
  if (!DEVELOPMENT_CHAIN_IDS.has(chainId)) {
    throw new Error(
      `testing.censorClients is a test switch; it is refused on L1 chain ${chainId} (development chains: ${[
        ...DEVELOPMENT_CHAIN_IDS,
      ].join(", ")})`,
    );
  }
  const blocks = addressBlocks(entries, "censored client");
  log.warn({ censorClients: entries }, "testing switch: this node refuses the submissions of these clients");
  return (clientId) => isListed(blocks, clientId);
}
