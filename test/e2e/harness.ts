/**
 * What the end-to-end suite and `bench:e2e` share on top of a full devnet: L2 accounts to send from, SDK
 * clients wired to a node, reads of the node's built blocks, the operator's height -> L2 block log, the
 * VSM's tasks, and a bounded poll.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { HDNodeWallet, Wallet, getBytes, parseEther, parseUnits, type JsonRpcProvider } from "ethers";
import type { Devnet } from "../../scripts/devnet";
import { builtBlockJson, type BuiltBlockJson } from "../../sequencer/api/wire";
import { RpcCallError, RpcClient } from "../../sequencer/rpc/client";
import { ContractChainView } from "../../sequencer/sdk/chain";
import { VeilClient, type SentTransaction } from "../../sequencer/sdk/client";
import type { LookAheadOptions } from "../../sequencer/sdk/look-ahead";
import { ValidationServiceManager__factory, type ValidationServiceManager } from "../../typechain-types";

const HARDHAT_MNEMONIC = "test test test test test test test test test test test junk";
export const TASK_STATUS = ["None", "Pending", "Validated", "Rejected", "Expired"] as const;
export type TaskStatusName = (typeof TASK_STATUS)[number];

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns a value other than undefined, or fails naming `what` after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const cause = lastError === undefined ? "" : ` (last error: ${(lastError as Error).message})`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}`);
    }
    await sleep(intervalMs);
  }
}

/** Hardhat's funded development account `i` (default mnemonic): the L2 is a hardhat node. */
export function l2Account(i: number): Wallet {
  return new Wallet(HDNodeWallet.fromPhrase(HARDHAT_MNEMONIC, undefined, `m/44'/60'/0'/0/${i}`).privateKey);
}

/** A signed EIP-1559 transfer with an explicit nonce, as bytes (what VeilClient.send takes). */
export async function signedTransfer(
  from: Wallet,
  nonce: number,
  chainId: bigint,
  to: string,
  extraWei = 0n,
): Promise<Uint8Array> {
  const raw = await from.signTransaction({
    type: 2,
    chainId,
    nonce,
    to,
    value: parseEther("0.01") + extraWei,
    gasLimit: 21_000n,
    maxFeePerGas: parseUnits("100", "gwei"),
    maxPriorityFeePerGas: parseUnits("1", "gwei"),
  });
  return getBytes(raw);
}

export interface ClientOptions {
  /** The node the client talks to (followers forward to the leader). */
  readonly node: number;
  /** How far ahead of the open height transactions are encrypted (the SDK learns the proving time). */
  readonly lookAhead: LookAheadOptions;
}

export async function sdkClient(devnet: Devnet, l1: JsonRpcProvider, o: ClientOptions): Promise<VeilClient> {
  const chain = await ContractChainView.connect(
    l1,
    { registry: devnet.world.clusterRegistry, validationServiceManager: devnet.world.validationServiceManager },
    devnet.world.deployBlock,
  );
  const node = new RpcClient(devnet.nodes[o.node]!.url, { timeoutMs: 30_000 });
  return new VeilClient({ node, chain, rollupId: devnet.world.rollupId, lookAhead: o.lookAhead });
}

/** Node errors after which the transaction is encrypted again for a later height. */
const HEIGHT_CLOSED = new Set(["HEIGHT_SEALED", "WRONG_HEIGHT"]);
/** Node errors that say "not now" (a view change, a leader not reachable): the same height may be tried again. */
const TRANSIENT = new Set(["UNAVAILABLE", "UPSTREAM_TIMEOUT", "NOT_LEADER"]);

/** A transaction that Veil ordered, with the time it was submitted (its proof in hand). */
export interface Ordered {
  readonly sent: SentTransaction;
  readonly signedTx: Uint8Array;
  readonly submittedAt: number;
  /** Transient refusals before this one was ordered (each may have left an unacknowledged copy). */
  readonly transientRetries: number;
}

/**
 * Encrypts, proves and submits like VeilClient.send, but never for a height below `floor` (one sender's
 * transactions must reach the L2 in nonce order, and the SDK's look-ahead shrinks as it learns that proving
 * is faster than it assumed), and tries again after the cluster's transient refusals (a view change under
 * load), as a wallet would. A refused submission may still have been ordered, so after a transient refusal
 * the transaction is signed again as a variant with the same nonce (`sign(variant)`): the L2 executes
 * whichever copy comes first and refuses the other, and no signed transaction is ever ordered twice.
 */
export async function sendNotBelow(
  c: VeilClient,
  sign: (variant: number) => Promise<Uint8Array>,
  floor: bigint,
  attempts = 16,
): Promise<Ordered> {
  let last: unknown;
  let variant = 0;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const signedTx = await sign(variant);
    const target = await c.targetHeight();
    let prepared;
    try {
      prepared = await c.prepare(signedTx, target > floor ? target : floor);
    } catch (error) {
      // A round key still being aggregated: nothing was sent, so the same transaction again.
      if (!(error instanceof RpcCallError && TRANSIENT.has(error.errorName ?? ""))) throw error;
      last = error;
      await sleep(1_000);
      continue;
    }
    const submittedAt = Date.now();
    try {
      return { sent: await c.submit(prepared), signedTx, submittedAt, transientRetries: variant };
    } catch (error) {
      const name = error instanceof RpcCallError ? (error.errorName ?? "") : "";
      if (HEIGHT_CLOSED.has(name)) floor = prepared.height + 1n;
      else if (TRANSIENT.has(name)) {
        variant += 1;
        await sleep(1_000);
      } else throw error;
      last = error;
    }
  }
  throw new Error(`no height accepted the transaction in ${attempts} attempts`, { cause: last });
}

/** The L2 transactions a built block should become: its valid slots in index order, less what the L2 refused. */
export function expectedL2Order(block: BuiltBlockJson, refusedByL2: ReadonlySet<string>): string[] {
  return block.transactions.flatMap((s) => (s.status === "valid" && !refusedByL2.has(s.txHash) ? [s.txHash] : []));
}

/** The node's built block of `height` (get_raw_transaction_list), or undefined while it is not built. */
export async function builtBlock(devnet: Devnet, node: number, height: bigint): Promise<BuiltBlockJson | undefined> {
  try {
    const raw = await devnet.nodes[node]!.client.call("get_raw_transaction_list", {
      rollupId: devnet.world.rollupId.toString(),
      height: height.toString(),
    });
    return builtBlockJson.parse(raw);
  } catch (error) {
    if ((error as { errorName?: string }).errorName === "NOT_FOUND") return undefined;
    throw error;
  }
}

/** One line of the rollup operator's log for an executed height. */
export interface ExecutedHeight {
  readonly height: bigint;
  readonly l2Block: number;
  readonly txCount: number;
  readonly executed: number;
  readonly skippedByL2: number;
  readonly finalizeMs: number;
  readonly sealToL2Ms: number;
  /** Wall-clock time of the log line (ms since the epoch). */
  readonly time: number;
  /** Valid slots the L2 refused (e.g. a nonce already used), by transaction hash. */
  readonly refusedByL2: Set<string>;
}

/** Every height the rollup operator executed so far, from its log (pino JSON lines). */
export function executedHeights(devnet: Devnet): Map<bigint, ExecutedHeight> {
  const file = path.join(devnet.workDir, "logs", "operator.log");
  const out = new Map<bigint, ExecutedHeight>();
  const refused = new Map<bigint, Set<string>>();
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const skipped = line.includes("transaction skipped by the L2");
    if (!skipped && !line.includes("block executed on the L2")) continue;
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue; // a line being written
    }
    const height = BigInt(entry.height as string);
    if (!refused.has(height)) refused.set(height, new Set());
    if (skipped) {
      refused.get(height)!.add(String(entry.txHash).toLowerCase());
      continue;
    }
    out.set(height, {
      height,
      l2Block: Number(entry.l2Block),
      txCount: Number(entry.txCount),
      executed: Number(entry.executed),
      skippedByL2: Number(entry.skippedByL2),
      finalizeMs: Number(entry.finalizeMs),
      sealToL2Ms: Number(entry.sealToL2Ms),
      time: Number(entry.time),
      refusedByL2: refused.get(height)!,
    });
  }
  return out;
}

export function vsmOf(devnet: Devnet, runner: JsonRpcProvider): ValidationServiceManager {
  return ValidationServiceManager__factory.connect(devnet.world.validationServiceManager, runner);
}

export interface TaskView {
  readonly taskId: string;
  readonly height: bigint;
  readonly status: TaskStatusName;
  readonly createdTx: string;
}

/** Every VSM task created since the deployment, with its current status. */
export async function vsmTasks(devnet: Devnet, l1: JsonRpcProvider): Promise<TaskView[]> {
  const vsm = vsmOf(devnet, l1);
  const created = await vsm.queryFilter(vsm.filters.TaskCreated(), devnet.world.deployBlock);
  return Promise.all(
    created.map(async (e) => ({
      taskId: e.args.taskId,
      height: e.args.height,
      status: TASK_STATUS[Number((await vsm.getTask(e.args.taskId)).status)] ?? "None",
      createdTx: e.transactionHash,
    })),
  );
}

/** The index of the node whose member address is `address` (members join in node order). */
export function nodeIndexOf(devnet: Devnet, address: string): number {
  const i = devnet.world.members.findIndex((m) => m.address.toLowerCase() === address.toLowerCase());
  if (i < 0) throw new Error(`${address} is not a devnet member`);
  return i;
}
