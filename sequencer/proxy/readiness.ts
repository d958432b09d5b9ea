/**
 * When the encrypting RPC may take wallets' traffic: the L2 answers with the configured chain id (every
 * read goes there, and the pre-checks need it), a Veil node answers (the sends go there), and a round key
 * for a height the client would target now verifies against the registry's committee (without one,
 * nothing can be encrypted). Liveness stays separate: `/health/live` answers whenever the process does.
 */
import { z } from "zod";
import { Health } from "../common/health";
import type { RpcClient } from "../rpc/client";
import type { VeilClient } from "../sdk/client";

const hexQuantity = z.string().regex(/^0x[0-9a-fA-F]+$/);

const failed = (error: unknown) => ({ ok: false, detail: error instanceof Error ? error.message : String(error) });

export function proxyHealth(parts: {
  readonly l2: RpcClient;
  readonly l2ChainId: bigint;
  readonly client: VeilClient;
}): Health {
  return new Health()
    .addReadinessCheck("l2", async () => {
      try {
        const chainId = BigInt(await parts.l2.call("eth_chainId", [], hexQuantity));
        return chainId === parts.l2ChainId
          ? { ok: true }
          : { ok: false, detail: `the L2 answers chain id ${chainId}, not ${parts.l2ChainId}` };
      } catch (error) {
        return failed(error);
      }
    })
    .addReadinessCheck("node", async () => {
      try {
        const { openHeight } = await parts.client.node.heights(parts.client.rollupId);
        return { ok: true, detail: `open height ${openHeight}` };
      } catch (error) {
        return failed(error);
      }
    })
    .addReadinessCheck("round-keys", async () => {
      try {
        return { ok: true, detail: `a verified round key for height ${await parts.client.targetHeight()}` };
      } catch (error) {
        return failed(error);
      }
    });
}
