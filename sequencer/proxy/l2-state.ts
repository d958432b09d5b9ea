/**
 * What the pre-checks need from the L2, read in one batch: the sender's pending nonce and balance, and the
 * next block's base fee and gas limit. "pending" includes what the L2's mempool holds, so a transaction
 * the operator handed to the L2 and the L2 has not mined yet counts as executed here, as it will be.
 */
import { getAddress, toQuantity, type Transaction } from "ethers";
import { z } from "zod";
import type { BatchOutcome, RpcClient } from "../rpc/client";
import type { BlockState, SenderState } from "./prechecks";

const quantity = z
  .string()
  .regex(/^0x[0-9a-fA-F]+$/, "expected a hex quantity")
  .transform((v) => BigInt(v));
const pendingBlock = z.object({ baseFeePerGas: quantity.optional(), gasLimit: quantity });

export class L2StateError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "L2StateError";
  }
}

export interface L2State {
  readonly sender: SenderState;
  readonly block: BlockState;
}

export class L2StateReader {
  readonly #rpc: RpcClient;

  constructor(rpc: RpcClient) {
    this.#rpc = rpc;
  }

  /** Throws L2StateError when the L2 does not answer or answers something else than the state. */
  async read(from: string): Promise<L2State> {
    const address = getAddress(from);
    let outcomes: BatchOutcome[];
    try {
      outcomes = await this.#rpc.batch([
        { method: "eth_getTransactionCount", params: [address, "pending"] },
        { method: "eth_getBalance", params: [address, "pending"] },
        { method: "eth_getBlockByNumber", params: ["pending", false] },
      ]);
    } catch (error) {
      throw new L2StateError(`the L2 node did not answer: ${(error as Error).message}`, { cause: error });
    }
    const [nonce, balance, block] = outcomes;
    const value = <T>(outcome: typeof nonce, schema: z.ZodType<T>, what: string): T => {
      if (!outcome!.ok) throw new L2StateError(`the L2 refused to tell ${what}: ${outcome!.error.message}`);
      const parsed = schema.safeParse(outcome!.result);
      if (!parsed.success) throw new L2StateError(`the L2 answered ${what} with an unexpected value`);
      return parsed.data;
    };
    const next = value(block, pendingBlock, "its pending block");
    return {
      sender: {
        nonce: Number(value(nonce, quantity, `the nonce of ${address}`)),
        balance: value(balance, quantity, `the balance of ${address}`),
      },
      // Before London there is no base fee: any fee the pool takes is enough.
      block: { baseFee: next.baseFeePerGas ?? 0n, gasLimit: next.gasLimit },
    };
  }
}

/** The pending transaction as an Ethereum node answers `eth_getTransactionByHash` for one not mined yet. */
export function pendingTransactionJson(tx: {
  readonly hash: string;
  readonly from: string;
  readonly decoded: Transaction;
}): Record<string, unknown> {
  const t = tx.decoded;
  const signature = t.signature!;
  const feeCap = t.maxFeePerGas ?? t.gasPrice ?? 0n;
  return {
    blockHash: null,
    blockNumber: null,
    transactionIndex: null,
    hash: tx.hash,
    from: getAddress(tx.from),
    to: t.to,
    nonce: toQuantity(t.nonce),
    value: toQuantity(t.value),
    gas: toQuantity(t.gasLimit),
    // geth reports a pending fee-market transaction's gasPrice as its fee cap.
    gasPrice: toQuantity(feeCap),
    ...(t.maxFeePerGas === null ? {} : { maxFeePerGas: toQuantity(t.maxFeePerGas) }),
    ...(t.maxPriorityFeePerGas === null ? {} : { maxPriorityFeePerGas: toQuantity(t.maxPriorityFeePerGas) }),
    input: t.data,
    type: toQuantity(t.type ?? 0),
    ...(t.chainId === 0n ? {} : { chainId: toQuantity(t.chainId) }),
    ...((t.type ?? 0) >= 1 ? { accessList: t.accessList ?? [] } : {}),
    v: toQuantity((t.type ?? 0) === 0 ? (signature.networkV ?? signature.v) : signature.yParity),
    ...((t.type ?? 0) >= 1 ? { yParity: toQuantity(signature.yParity) } : {}),
    r: signature.r,
    s: signature.s,
  };
}
