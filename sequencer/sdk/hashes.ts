/** Conversions between the SDK's field elements and the bytes32 values the contracts and Merkle tree use. */
import { MERKLE_DEPTH, toBytes32, type Hash } from "../chain/merkle";
import { InclusionError } from "./errors";

export { MERKLE_DEPTH, type Hash };

/** A BN254 field element (encTxHash) as the bytes32 the leader signs and the tree hashes: big-endian. */
export function fieldToBytes32(value: bigint): Hash {
  return toBytes32(value);
}

const BYTES32 = /^0x[0-9a-f]{64}$/;

/** Checks a list of `length` lower-case bytes32 values (a proof from the node). */
export function bytes32Array(values: readonly string[], length: number, what: string): void {
  if (values.length !== length || values.some((v) => !BYTES32.test(v))) {
    throw new InclusionError("post-proof-invalid", `${what} must be ${length} lower-case bytes32 values`);
  }
}
