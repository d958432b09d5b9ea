/**
 * The Merkle leaf data of an entry of a height's encrypted-tx tree (encRoot), one definition for the
 * leader that admits the entry, the followers that check it, the block builder and its worker threads,
 * the validators and the rollup operator:
 *   encrypted entry → its Poseidon encTxHash (crypto/encryption.ts) as bytes32
 *   raw entry       → keccak-256 of the signed transaction's bytes: its Ethereum transaction hash, which is
 *                     also the rawRoot leaf data of a valid slot (raw-root.ts)
 */
import { keccak256Bytes } from "../chain/keccak";
import { toBytes32, type Hash } from "../chain/merkle";
import { encTxHash } from "../crypto/encryption";
import type { SealedEntry } from "./entries";

const HEX_BYTES = /^0x(?:[0-9a-fA-F]{2})*$/;

/**
 * keccak-256 of a raw signed transaction given as 0x-hex bytes, lower-case: its Ethereum transaction hash
 * and the leaf data of a raw entry. Native keccak when it loads (chain/keccak.ts).
 */
export function rawTxHash(rawTx: string): Hash {
  if (!HEX_BYTES.test(rawTx)) throw new Error("a raw transaction must be 0x-hex bytes");
  return keccak256Bytes(Buffer.from(rawTx.slice(2), "hex"));
}

/** The leaf data of an entry in the height's encrypted-tx tree (the node's `encTxHash` field). */
export function leafDataOf(entry: SealedEntry): Hash {
  return entry.kind === "raw" ? rawTxHash(entry.rawTx) : toBytes32(encTxHash(entry.tx));
}
