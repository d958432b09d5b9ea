/**
 * rawRoot: the Merkle root (sequencer/chain/merkle.ts: depth 16, keccak-256, leaf = keccak(0x00 ‖ data))
 * over one leaf per slot of the block, in slot order:
 *   valid slot   → data = keccak-256 of the raw signed transaction (its Ethereum transaction hash)
 *   invalid slot → data = INVALID_SLOT_LEAF = keccak-256("veil.block.invalid-slot.v1")
 * The constant is a keccak output of a fixed string, so no transaction can collide with it without a
 * keccak preimage, and every invalid slot keeps its index.
 */
import { keccak256, toUtf8Bytes } from "ethers";
import { hashLeaf, rootOfLeafHashes, type Hash } from "../chain/merkle";

export const INVALID_SLOT_LEAF: Hash = keccak256(toUtf8Bytes("veil.block.invalid-slot.v1")).toLowerCase();

/** The leaf data of each slot: the tx hash of a valid one, INVALID_SLOT_LEAF otherwise. */
export function rawLeafData(slots: readonly { readonly txHash?: string }[]): Hash[] {
  return slots.map((s) => (s.txHash === undefined ? INVALID_SLOT_LEAF : s.txHash.toLowerCase()));
}

export function rawRootOf(slots: readonly { readonly txHash?: string }[]): Hash {
  return rootOfLeafHashes(rawLeafData(slots).map(hashLeaf));
}
