/**
 * The gas a transaction costs before its first opcode runs, by the rules of the L2's hardfork (Prague and
 * later: the devnet's Hardhat L2 runs Osaka). A transaction whose gas limit is below either figure is
 * invalid: the L2 would refuse it, so the encrypting RPC refuses it before proving.
 */
import { getBytes, type Transaction } from "ethers";

/** Every transaction pays this. */
const TX_BASE = 21_000n;
/** A contract creation (`to` empty) pays this on top (EIP-2). */
const TX_CREATE = 32_000n;
/** Per 32-byte word of init code (EIP-3860). */
const INITCODE_WORD = 2n;
const CALLDATA_ZERO_BYTE = 4n;
const CALLDATA_NONZERO_BYTE = 16n;
/** EIP-2930 access lists. */
const ACCESS_LIST_ADDRESS = 2_400n;
const ACCESS_LIST_STORAGE_KEY = 1_900n;
/** EIP-7702: each authorization is charged as if it created an account. */
const AUTHORIZATION = 25_000n;
/** EIP-7623: calldata tokens (a zero byte is one token, any other byte four) cost at least this each. */
const FLOOR_PER_TOKEN = 10n;

export interface IntrinsicGas {
  /** What the transaction pays up front (EIP-2, 2028, 2930, 3860, 7702). */
  readonly intrinsic: bigint;
  /** The EIP-7623 floor: the least a transaction with this calldata is charged in all. */
  readonly floor: bigint;
}

export function intrinsicGas(tx: Pick<Transaction, "to" | "data" | "accessList" | "authorizationList">): IntrinsicGas {
  const data = getBytes(tx.data);
  const zeros = BigInt(data.filter((b) => b === 0).length);
  const nonZeros = BigInt(data.length) - zeros;
  let intrinsic = TX_BASE + zeros * CALLDATA_ZERO_BYTE + nonZeros * CALLDATA_NONZERO_BYTE;
  if (tx.to === null) intrinsic += TX_CREATE + INITCODE_WORD * BigInt(Math.ceil(data.length / 32));
  for (const entry of tx.accessList ?? []) {
    intrinsic += ACCESS_LIST_ADDRESS + ACCESS_LIST_STORAGE_KEY * BigInt(entry.storageKeys.length);
  }
  intrinsic += AUTHORIZATION * BigInt(tx.authorizationList?.length ?? 0);
  const tokens = zeros + 4n * nonZeros;
  return { intrinsic, floor: TX_BASE + FLOOR_PER_TOKEN * tokens };
}
