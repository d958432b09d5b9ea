/**
 * `veil force`: the way around a leader that refuses a sender. The signed L2 transaction is checked as the
 * encrypting RPC checks it, encrypted and proven for the farthest height whose round key is published, and
 * posted to the L1 forced-inclusion inbox with its fee (docs/forced-inclusion.md). With `wait`, it then
 * follows the height's block commitment and reports where the transaction landed, or that the block left it
 * out (the block's signer is then slashable, and `slash` does it).
 */
import { Wallet } from "ethers";
import type { Logger } from "pino";
import type { ForcedTransaction } from "../sdk/client";
import type { ForcedVerdict } from "../sdk/force";
import { decodeSignedTransaction } from "../sdk/raw-tx";
import { l2ChainIdOf, type ProxyConfig } from "./config";
import { clientOf } from "./start";

export interface ForceRequest {
  /** The signed L2 transaction, 0x-hex. */
  readonly rawTx: string;
  /** The L1 key that pays the inbox fee and the gas. */
  readonly l1Key: string;
  readonly height?: bigint;
  /** Follow the height until its block commitment is on L1, then report the verdict. */
  readonly wait: boolean;
  /** Slash the block's signer when the verdict is an omission (implies `wait`). */
  readonly slash: boolean;
  /** How often the L1 is read while waiting, and for how long at most. */
  readonly pollMs?: number;
  readonly timeoutMs?: number;
}

export interface ForceOutcome {
  readonly forced: ForcedTransaction;
  readonly l2TxHash: string;
  readonly verdict?: ForcedVerdict["status"];
  readonly slot?: number;
  readonly slashTx?: string;
}

/** Runs one forced transaction; `progress` gets a line per step (the command prints them on stderr). */
export async function forceTransaction(
  config: ProxyConfig,
  request: ForceRequest,
  log: Logger,
  progress: (line: string) => void,
): Promise<ForceOutcome> {
  // Refuse what the rollup could never run before paying for anything.
  const signed = decodeSignedTransaction(request.rawTx, l2ChainIdOf(config));
  const { client, l1 } = await clientOf(config, log);
  try {
    const payer = new Wallet(request.l1Key, l1);
    progress(`encrypting and proving ${signed.hash} (from ${signed.from}, nonce ${signed.nonce})`);
    const forced = await client.force(
      signed.bytes,
      payer,
      request.height === undefined ? {} : { height: request.height },
    );
    progress(
      `posted to the inbox in L1 block ${forced.postedBlock} (${forced.l1TxHash}): entry ${forced.index} of height ${forced.height}`,
    );
    const outcome: ForceOutcome = { forced, l2TxHash: signed.hash };
    if (!request.wait && !request.slash) return outcome;

    const pollMs = request.pollMs ?? 1_000;
    const deadline = performance.now() + (request.timeoutMs ?? 600_000);
    let verdict = await client.forcedInclusion(forced);
    while (verdict.status === "pending") {
      if (performance.now() > deadline) throw new Error(`height ${forced.height} was not committed in time`);
      await new Promise((resolve) => setTimeout(resolve, pollMs));
      verdict = await client.forcedInclusion(forced);
    }
    switch (verdict.status) {
      case "placed":
        progress(`height ${forced.height} holds it at slot ${verdict.slot}`);
        return { ...outcome, verdict: verdict.status, slot: verdict.slot };
      case "not-due":
        progress(
          `height ${forced.height} was cut at L1 block ${verdict.block.commitment.inboxBlock}: not due, it will not run`,
        );
        return { ...outcome, verdict: verdict.status };
      case "omitted": {
        progress(`height ${forced.height} left it out: its signer ${verdict.block.leader} is slashable`);
        if (!request.slash) return { ...outcome, verdict: verdict.status };
        const tx = await client.slashOmission(verdict, payer, { pollMs });
        await tx.wait();
        progress(`slashed ${verdict.block.leader} (${tx.hash})`);
        return { ...outcome, verdict: verdict.status, slashTx: tx.hash };
      }
    }
  } finally {
    l1.destroy();
  }
}
