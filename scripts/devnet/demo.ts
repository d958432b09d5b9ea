/**
 * The demo of `npm start`: L2 accounts send transfers through the encrypting RPC with unmodified ethers
 * Wallets, and the summary counts what EXECUTED on the L2 (the L2's receipts), not what the senders were
 * answered. Each transfer is signed here first, so that its hash is known whatever the answer: a transfer
 * whose sender got an error is still looked for on the L2, and one that executed anyway is reported as
 * exactly that (Veil owes every ordered transaction its hash, never an error).
 */
import { JsonRpcProvider, Transaction, parseEther, type Wallet } from "ethers";
import { ContractChainView, type L1Addresses } from "../../sequencer/sdk/chain";
import { forcedVerdict, type ForcedVerdict } from "../../sequencer/sdk/force";
import { ForcedInclusionInbox__factory } from "../../typechain-types";

/** One transfer: who sent it, its hash (once signed), what its sender was answered and what the L2 did. */
export interface DemoTransfer {
  readonly from: string;
  /** Undefined if it could not even be signed (then it was never sent). */
  readonly hash: string | undefined;
  /** The error its sender was answered with; undefined when the answer was its hash. */
  readonly error?: string;
  /** `executed`: a receipt with status 1; `reverted`: status 0; `missing`: no receipt in time. */
  readonly outcome: "executed" | "reverted" | "missing";
  readonly l2Block?: number;
}

export interface DemoSummary {
  readonly total: number;
  /** Transfers with a successful receipt on the L2: what the recipient was paid for. */
  readonly executed: number;
  /** Transfers whose sender was answered with the hash. */
  readonly answered: number;
  readonly l2Blocks: readonly number[];
  readonly failures: readonly string[];
}

/** Counts what executed, and names every transfer that did not, or whose sender was told otherwise. */
export function summarizeDemo(transfers: readonly DemoTransfer[]): DemoSummary {
  const failures: string[] = [];
  for (const t of transfers) {
    const which = `${t.hash ?? "a transfer"} (${t.from})`;
    if (t.outcome === "executed") {
      if (t.error !== undefined) {
        failures.push(`${which} executed on the L2, but its sender was answered with an error: ${t.error}`);
      }
    } else if (t.outcome === "reverted") failures.push(`${which} reverted on the L2`);
    else if (t.error !== undefined) failures.push(`${which} did not execute: its sender was answered ${t.error}`);
    else failures.push(`${which} was answered with its hash but did not execute on the L2`);
  }
  const blocks = new Set(transfers.flatMap((t) => (t.outcome === "executed" ? [t.l2Block!] : [])));
  return {
    total: transfers.length,
    executed: transfers.filter((t) => t.outcome === "executed").length,
    answered: transfers.filter((t) => t.hash !== undefined && t.error === undefined).length,
    l2Blocks: [...blocks].sort((a, b) => a - b),
    failures,
  };
}

export interface DemoOptions {
  /** The encrypting RPC the wallets send through. */
  readonly proxyUrl: string;
  /** The L2 node, read directly for receipts. */
  readonly l2Url: string;
  readonly senders: readonly Wallet[];
  readonly transfers: number;
  readonly recipient: string;
  /** How long a transfer answered with its hash may take to execute. */
  readonly executeTimeoutMs: number;
  /** How much longer a transfer answered with an error is looked for (it may have been ordered anyway). */
  readonly graceMs: number;
  readonly say: (line: string) => void;
  /** How sender `i` is named in the output (default `account i+1`). */
  readonly label?: (i: number) => string;
  /** What the line of a transfer answered with its hash says (default: its order commitment was verified). */
  readonly answeredAs?: string;
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** Each round sends one 1-ETH transfer per sender at once (encrypted, proven and ordered concurrently). */
export async function runDemo(o: DemoOptions): Promise<DemoTransfer[]> {
  const wallets = new JsonRpcProvider(o.proxyUrl, undefined, { staticNetwork: true, pollingInterval: 250 });
  const l2 = new JsonRpcProvider(o.l2Url, undefined, { staticNetwork: true, pollingInterval: 250 });
  try {
    const accounts = o.senders.map((s) => s.connect(wallets));
    const nonces = await Promise.all(accounts.map((a) => a.getNonce("pending")));
    const sent: { from: string; hash: string | undefined; error?: string }[] = [];
    for (let round = 0; round < o.transfers; round++) {
      const results = await Promise.all(
        accounts.map(async (account, i) => {
          const from = o.label?.(i) ?? `account ${i + 1}`;
          let signed: string;
          try {
            const tx = await account.populateTransaction({ to: o.recipient, value: parseEther("1"), nonce: nonces[i] });
            signed = await account.signTransaction(tx);
          } catch (error) {
            return { from, hash: undefined, error: `could not sign: ${messageOf(error)}` };
          }
          // Signed, the nonce is spent whatever the answer: the transfer may be ordered even after an error.
          nonces[i]! += 1;
          const hash = Transaction.from(signed).hash!;
          try {
            await wallets.broadcastTransaction(signed);
            o.say(`  ${hash} from ${from}: ${o.answeredAs ?? "order commitment verified, encrypted on the wire"}`);
            return { from, hash };
          } catch (error) {
            o.say(`  ${hash} from ${from}: answered with an error: ${messageOf(error)}`);
            return { from, hash, error: messageOf(error) };
          }
        }),
      );
      sent.push(...results);
    }
    const onL2 = async (hash: string | undefined, timeoutMs: number) => {
      if (hash === undefined) return { outcome: "missing" as const };
      const receipt = await l2.waitForTransaction(hash, 1, timeoutMs).catch(() => null);
      if (receipt === null) return { outcome: "missing" as const };
      return {
        outcome: receipt.status === 1 ? ("executed" as const) : ("reverted" as const),
        l2Block: receipt.blockNumber,
      };
    };
    o.say(`waiting for the rollup operator to execute the ${sent.length} transfers on the L2`);
    const answered = new Map(
      sent.flatMap((s, i) => (s.error === undefined ? [[i, onL2(s.hash, o.executeTimeoutMs)]] : [])),
    );
    await Promise.all(answered.values());
    // Transfers answered with an error are looked for too, a little longer than the others took.
    const outcomes = await Promise.all(sent.map((s, i) => answered.get(i) ?? onL2(s.hash, o.graceMs)));
    return sent.map((s, i) => ({ ...s, ...outcomes[i]! }));
  } finally {
    wallets.destroy();
    l2.destroy();
  }
}

/** Where a forced transaction ended up: its inbox entry and its height's verdict. */
export interface ForcedPlacement {
  readonly height: bigint;
  readonly index: number;
  readonly verdict: ForcedVerdict["status"];
  /** With verdict `placed`: its slot, `txCount + index`. */
  readonly slot?: number;
  readonly txCount?: number;
}

/**
 * The inbox entries `payer` posted (the censored user's encrypting RPC forces with its key), each with its
 * height's verdict; waits up to `timeoutMs` for the heights' block commitments.
 */
export async function forcedPlacements(
  l1Url: string,
  addresses: L1Addresses & { readonly inbox: string },
  payer: string,
  fromBlock: number,
  timeoutMs: number,
): Promise<ForcedPlacement[]> {
  const l1 = new JsonRpcProvider(l1Url, undefined, { staticNetwork: true });
  try {
    const inbox = ForcedInclusionInbox__factory.connect(addresses.inbox, l1);
    const chain = await ContractChainView.connect(l1, addresses, fromBlock);
    const events = await inbox.queryFilter(inbox.filters.ForcedTransactionSubmitted(), fromBlock);
    const deadline = Date.now() + timeoutMs;
    const placements: ForcedPlacement[] = [];
    for (const event of events.filter((e) => e.args.sender === payer)) {
      const { rollupId, height, index } = event.args;
      const entry = { postedBlock: BigInt(event.blockNumber), index: Number(index) };
      let verdict = forcedVerdict(entry, await chain.committedBlock(rollupId, height));
      while (verdict.status === "pending" && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        verdict = forcedVerdict(entry, await chain.committedBlock(rollupId, height));
      }
      placements.push({
        height,
        index: entry.index,
        verdict: verdict.status,
        ...(verdict.status === "placed" ? { slot: verdict.slot, txCount: verdict.block.commitment.txCount } : {}),
      });
    }
    return placements;
  } finally {
    l1.destroy();
  }
}
