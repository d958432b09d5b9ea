/**
 * The rollup's L2: a Hardhat node that mines only when told to (one L2 block per sequencer block) and
 * keeps its mempool in arrival order. `prepareL2` turns automatic and interval mining off over RPC
 * and proves the FIFO order by probing (Hardhat cannot change the order over RPC: the node must be
 * started with hardhat.l2.config.ts). `executeBlock` sends a block's valid transactions in index
 * order, mines exactly one block, and checks that it holds the accepted transactions in that order.
 */
import { Transaction, getAddress, toQuantity } from "ethers";
import { z } from "zod";
import type { BuiltSlotJson } from "../api/wire";
import { RpcCallError, RpcClient } from "../rpc/client";

const quantity = z
  .string()
  .regex(/^0x[0-9a-fA-F]+$/)
  .transform((v) => Number(BigInt(v)));
const hash = z
  .string()
  .regex(/^0x[0-9a-fA-F]{64}$/)
  .transform((v) => v.toLowerCase());
const blockSchema = z.object({
  number: quantity,
  hash,
  transactions: z.array(hash),
  baseFeePerGas: z.string().optional(),
});
const pendingBlockSchema = z.object({ transactions: z.array(hash) });

export type L2Block = z.output<typeof blockSchema>;

export class L2SetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "L2SetupError";
  }
}

/** A transaction the L2 did not take (nonce out of sequence, no funds, wrong chain, ...), by slot. */
export interface SkippedTx {
  readonly index: number;
  readonly txHash: string;
  readonly reason: string;
}

export interface L2Execution {
  readonly l2Block: number;
  readonly l2BlockHash: string;
  /** Hashes the L2 accepted, in index order: what the mined block must hold, in this order. */
  readonly accepted: readonly string[];
  readonly skipped: readonly SkippedTx[];
  /** The block's transactions when they differ from `accepted` (an order mismatch), else undefined. */
  readonly mismatch: { readonly expected: readonly string[]; readonly actual: readonly string[] } | undefined;
  /** True when the block had been mined before (a restart after mining, before the state was saved). */
  readonly recovered: boolean;
}

export class L2 {
  readonly rpc: RpcClient;

  constructor(url: string, timeoutMs = 10_000) {
    this.rpc = new RpcClient(url, { timeoutMs });
  }

  async chainId(): Promise<bigint> {
    return BigInt(await this.rpc.call("eth_chainId", [], z.string()));
  }

  async head(): Promise<number> {
    return this.rpc.call("eth_blockNumber", [], quantity);
  }

  async block(number: number): Promise<L2Block | undefined> {
    return this.rpc
      .call("eth_getBlockByNumber", [toQuantity(number), false], blockSchema.nullable())
      .then((b) => b ?? undefined);
  }

  async pendingTransactions(): Promise<string[]> {
    return (await this.rpc.call("eth_getBlockByNumber", ["pending", false], pendingBlockSchema)).transactions;
  }

  /** Removes a transaction from the mempool; false when it is not there (also when an earlier block holds it). */
  async drop(txHash: string): Promise<boolean> {
    try {
      return await this.rpc.call("hardhat_dropTransaction", [txHash], z.boolean());
    } catch (error) {
      // The same signed transaction ordered again in a later height: its first copy is mined, nothing to drop.
      if (error instanceof RpcCallError && /already mined/i.test(error.message)) return false;
      throw error;
    }
  }

  async mine(): Promise<void> {
    await this.rpc.call("evm_mine", []);
  }
}

/**
 * Makes a running Hardhat node fit to be the L2: automine and interval mining off, and a probe that
 * its mempool keeps arrival order (two transfers from two unlocked accounts, the first paying the
 * lower tip, must appear in the pending block in the order sent; both are dropped afterwards, so
 * the probe leaves no trace). Throws L2SetupError naming what is wrong.
 */
export async function prepareL2(l2: L2): Promise<{ chainId: bigint; head: number }> {
  let automine: boolean;
  try {
    await l2.rpc.call("evm_setAutomine", [false]);
    await l2.rpc.call("evm_setIntervalMining", [0]);
    automine = await l2.rpc.call("hardhat_getAutomine", [], z.boolean());
  } catch (error) {
    if (error instanceof RpcCallError) {
      throw new L2SetupError(`the L2 at ${l2.rpc.url} is not a Hardhat node (${error.message})`);
    }
    throw error;
  }
  if (automine) throw new L2SetupError(`the L2 at ${l2.rpc.url} still automines after evm_setAutomine(false)`);
  await probeFifoOrder(l2);
  return { chainId: await l2.chainId(), head: await l2.head() };
}

async function probeFifoOrder(l2: L2): Promise<void> {
  const accounts = await l2.rpc.call("eth_accounts", [], z.array(z.string()));
  if (accounts.length < 2) {
    throw new L2SetupError(
      `cannot check the L2's mempool order: it has ${accounts.length} unlocked accounts, 2 needed`,
    );
  }
  const [a, b] = [getAddress(accounts[0]!), getAddress(accounts[1]!)];
  const latest = await l2.rpc.call("eth_getBlockByNumber", ["latest", false], blockSchema);
  const baseFee = BigInt(latest.baseFeePerGas ?? "0");
  const transfer = (from: string, to: string, tip: bigint) => ({
    from,
    to,
    value: "0x0",
    gas: toQuantity(21_000),
    maxPriorityFeePerGas: toQuantity(tip),
    maxFeePerGas: toQuantity(baseFee * 2n + tip),
  });
  const low = await l2.rpc.call("eth_sendTransaction", [transfer(a, b, 1n)], hash);
  let high: string | undefined;
  try {
    high = await l2.rpc.call("eth_sendTransaction", [transfer(b, a, 1_000_000_000n)], hash);
    const pending = await l2.pendingTransactions();
    const [iLow, iHigh] = [pending.indexOf(low), pending.indexOf(high)];
    if (iLow < 0 || iHigh < 0) throw new L2SetupError("the L2's pending block lacks the probe transactions");
    if (iLow > iHigh) {
      throw new L2SetupError(
        `the L2 at ${l2.rpc.url} orders its mempool by fee: start it with FIFO order ` +
          `(npx hardhat --config hardhat.l2.config.ts node, i.e. mining.mempool.order = "fifo")`,
      );
    }
  } finally {
    await l2.drop(low);
    if (high !== undefined) await l2.drop(high);
  }
}

/**
 * Executes one sequencer block on the L2 as exactly one L2 block. `headBefore` is the L2 head before
 * the first send (recorded by the caller before calling): if the L2 is already past it, the block was
 * mined by an earlier attempt and is only checked. Otherwise leftovers of an earlier attempt are
 * dropped from the mempool, each valid slot is sent in index order (a sender's nonce must be the next
 * one, as in sequential execution; anything the L2 refuses is skipped with its reason), one block is
 * mined, and its transactions are compared with the accepted ones, in order.
 */
export async function executeBlock(l2: L2, slots: readonly BuiltSlotJson[], headBefore: number): Promise<L2Execution> {
  const valid = slots.filter((s): s is Extract<BuiltSlotJson, { status: "valid" }> => s.status === "valid");
  const head = await l2.head();
  if (head > headBefore) return checkMined(l2, valid, headBefore + 1);
  for (const s of valid) await l2.drop(s.txHash);

  const accepted: string[] = [];
  const skipped: SkippedTx[] = [];
  const nextNonce = new Map<string, bigint>();
  for (const slot of valid) {
    const skip = (reason: string): void => void skipped.push({ index: slot.index, txHash: slot.txHash, reason });
    let tx: Transaction;
    try {
      tx = Transaction.from(slot.rawTx);
    } catch (error) {
      skip(`not a decodable transaction: ${(error as Error).message}`);
      continue;
    }
    const from = tx.from;
    if (from === null) {
      skip("unsigned transaction");
      continue;
    }
    const expected =
      nextNonce.get(from) ?? BigInt(await l2.rpc.call("eth_getTransactionCount", [from, "pending"], z.string()));
    if (BigInt(tx.nonce) !== expected) {
      skip(`nonce ${tx.nonce} is not the sender's next nonce ${expected}`);
      continue;
    }
    try {
      const sent = await l2.rpc.call("eth_sendRawTransaction", [slot.rawTx], hash);
      if (sent !== slot.txHash) throw new Error(`the L2 reports hash ${sent} for slot ${slot.index} (${slot.txHash})`);
      accepted.push(sent);
      nextNonce.set(from, expected + 1n);
    } catch (error) {
      if (!(error instanceof RpcCallError)) throw error; // transport trouble: the caller retries the height
      skip(error.message);
    }
  }
  await l2.mine();
  const mined = await l2.block(headBefore + 1);
  if (mined === undefined) throw new Error(`the L2 did not mine block ${headBefore + 1}`);
  const mismatch = sameOrder(accepted, mined.transactions)
    ? undefined
    : { expected: accepted, actual: mined.transactions };
  if (mismatch !== undefined) {
    // Whatever did not make it into the block must not leak into the next one.
    for (const h of accepted) if (!mined.transactions.includes(h)) await l2.drop(h);
  }
  return { l2Block: mined.number, l2BlockHash: mined.hash, accepted, skipped, mismatch, recovered: false };
}

/** After a restart: the block after `headBefore` was mined; it must hold valid slots only, in index order. */
async function checkMined(
  l2: L2,
  valid: readonly { index: number; txHash: string }[],
  number: number,
): Promise<L2Execution> {
  const mined = await l2.block(number);
  if (mined === undefined) throw new Error(`the L2 lost block ${number}`);
  const position = new Map(valid.map((s, i) => [s.txHash, i]));
  const positions = mined.transactions.map((h) => position.get(h) ?? -1);
  const inOrder = positions.every((p, i) => p >= 0 && (i === 0 || p > positions[i - 1]!));
  const minedSet = new Set(mined.transactions);
  const skipped = valid
    .filter((s) => !minedSet.has(s.txHash))
    .map((s) => ({ index: s.index, txHash: s.txHash, reason: "not in the L2 block mined before the restart" }));
  return {
    l2Block: mined.number,
    l2BlockHash: mined.hash,
    accepted: inOrder ? mined.transactions : valid.map((s) => s.txHash).filter((h) => minedSet.has(h)),
    skipped,
    mismatch: inOrder ? undefined : { expected: valid.map((s) => s.txHash), actual: mined.transactions },
    recovered: true,
  };
}

function sameOrder(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((h, i) => h === b[i]);
}
