/**
 * Veil's block Merkle tree, mirrored bit for bit by contracts/libraries/VeilMerkle.sol.
 *
 * - Fixed depth 16: 65,536 slots per block, so every proof is exactly 16 siblings (512 bytes).
 * - keccak-256 with domain separation: leaf = keccak(0x00 ‖ data), node = keccak(0x01 ‖ left ‖ right),
 *   so no inner node can be passed off as a leaf or the other way round.
 * - Append-only with zero-subtree padding: an empty slot hashes to 0x00…00 (no keccak preimage is
 *   known for it, so no data can claim to be an empty slot) and ZERO_HASHES[i+1] = node(Z[i], Z[i]).
 * - PRE proof: the path of leaf i in the tree holding leaves 0..i only. Its left siblings are the
 *   frontier (complete subtrees that an append-only tree never changes again); its right siblings
 *   are zero subtrees. POST proof: the path of leaf i in the sealed tree. An honest append-only tree
 *   gives both the same left siblings; `preAndPostAgree` checks exactly that.
 */
import { concat, keccak256, toBeHex, zeroPadValue } from "ethers";
import { keccak256Bytes } from "./keccak";

export const MERKLE_DEPTH = 16;
export const MERKLE_CAPACITY = 2 ** MERKLE_DEPTH;

/** A 32-byte value as a 0x-prefixed, lower-case, 64-hex-digit string. */
export type Hash = string;

export const EMPTY_LEAF: Hash = zeroPadValue("0x", 32);
const NODE_PREFIX = "0x01";

const BYTES32 = /^0x[0-9a-f]{64}$/;

function assertBytes32(value: string, what: string): void {
  if (!BYTES32.test(value)) throw new Error(`${what} must be 32 bytes as lower-case 0x-hex, got ${value}`);
}

/** Any-case 32-byte hex, the shape the byte-level fast path below writes straight into its buffer. */
const WORD = /^0x[0-9a-fA-F]{64}$/;
/** Reused preimage buffers (0x00 ‖ data and 0x01 ‖ left ‖ right): no allocation per hash. */
const leafInput = Buffer.alloc(33);
const nodeInput = Buffer.alloc(65);

/** The leaf hash of one slot's data (for Veil: the keccak-256 hash of the encrypted transaction). */
export function hashLeaf(data: Hash): Hash {
  assertBytes32(data, "leaf data");
  leafInput[0] = 0x00;
  leafInput.write(data.slice(2), 1, "hex");
  return keccak256Bytes(leafInput);
}

export function hashNode(left: Hash, right: Hash): Hash {
  // Anything that is not two 32-byte words keeps ethers' byte handling (and its errors) exactly.
  if (!WORD.test(left) || !WORD.test(right)) return keccak256(concat([NODE_PREFIX, left, right]));
  nodeInput[0] = 0x01;
  nodeInput.write(left.slice(2), 1, "hex");
  nodeInput.write(right.slice(2), 33, "hex");
  return keccak256Bytes(nodeInput);
}

/** ZERO_HASHES[i] is the root of an empty subtree of height i; ZERO_HASHES[DEPTH] is the empty root. */
export const ZERO_HASHES: readonly Hash[] = (() => {
  const zeros: Hash[] = [EMPTY_LEAF];
  for (let level = 0; level < MERKLE_DEPTH; level++) zeros.push(hashNode(zeros[level]!, zeros[level]!));
  return zeros;
})();

function zeroAt(level: number): Hash {
  return ZERO_HASHES[level]!;
}

function assertIndex(index: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= MERKLE_CAPACITY) {
    throw new Error(`leaf index ${index} outside 0..${MERKLE_CAPACITY - 1}`);
  }
}

/** True when leaf `index` is the right child at `level`, i.e. its sibling there is on the left. */
export function isRightAt(index: number, level: number): boolean {
  return ((index >>> level) & 1) === 1;
}

/** The root obtained by hashing `leafHash` at `index` up through `siblings` (one per level). */
export function computeRoot(leafHash: Hash, index: number, siblings: readonly Hash[]): Hash {
  assertIndex(index);
  if (siblings.length !== MERKLE_DEPTH) throw new Error(`a proof has ${MERKLE_DEPTH} siblings, got ${siblings.length}`);
  let node = leafHash;
  siblings.forEach((sibling, level) => {
    node = isRightAt(index, level) ? hashNode(sibling, node) : hashNode(node, sibling);
  });
  return node;
}

export function verifyProof(root: Hash, leafHash: Hash, index: number, siblings: readonly Hash[]): boolean {
  return computeRoot(leafHash, index, siblings) === root;
}

/** A PRE proof: every right sibling is an empty subtree (nothing was appended after the leaf yet). */
export function isPreShaped(index: number, siblings: readonly Hash[]): boolean {
  return siblings.every((sibling, level) => isRightAt(index, level) || sibling === zeroAt(level));
}

export function verifyPreProof(preRoot: Hash, leafHash: Hash, index: number, siblings: readonly Hash[]): boolean {
  return isPreShaped(index, siblings) && verifyProof(preRoot, leafHash, index, siblings);
}

/** The PRE frontier and the sealed tree's path agree on every left sibling (the append-only promise). */
export function preAndPostAgree(index: number, pre: readonly Hash[], post: readonly Hash[]): boolean {
  assertIndex(index);
  if (pre.length !== MERKLE_DEPTH || post.length !== MERKLE_DEPTH) return false;
  return pre.every((sibling, level) => !isRightAt(index, level) || sibling === post[level]);
}

/** What an append returns: where the leaf went, the root of leaves 0..index and the PRE proof. */
export interface AppendReceipt {
  readonly index: number;
  readonly leafHash: Hash;
  readonly preRoot: Hash;
  readonly preProof: readonly Hash[];
}

/**
 * An append-only tree. Appends are O(depth) through the frontier (the left siblings of the next
 * slot); POST proofs rebuild the filled levels once and cache them until the next append.
 */
export class IncrementalMerkleTree {
  /** The most leaves this tree accepts: a rollup's max transactions per block, at most MERKLE_CAPACITY. */
  readonly maxLeaves: number;
  readonly #leafHashes: Hash[] = [];
  /** frontier[level] = root of the last complete left subtree of height `level`. */
  readonly #frontier: Hash[] = [...ZERO_HASHES.slice(0, MERKLE_DEPTH)];
  #root: Hash = zeroAt(MERKLE_DEPTH);
  #levels: Hash[][] | undefined;

  constructor(maxLeaves: number = MERKLE_CAPACITY) {
    if (!Number.isInteger(maxLeaves) || maxLeaves < 1 || maxLeaves > MERKLE_CAPACITY) {
      throw new Error(`maxLeaves must be an integer in 1..${MERKLE_CAPACITY}, got ${maxLeaves}`);
    }
    this.maxLeaves = maxLeaves;
  }

  get size(): number {
    return this.#leafHashes.length;
  }

  get root(): Hash {
    return this.#root;
  }

  leafHash(index: number): Hash {
    const leaf = this.#leafHashes[index];
    if (leaf === undefined) throw new Error(`no leaf at index ${index} (tree has ${this.size})`);
    return leaf;
  }

  /** An independent copy (appends to one do not change the other): to check appends before keeping them. */
  clone(): IncrementalMerkleTree {
    const copy = new IncrementalMerkleTree(this.maxLeaves);
    copy.#leafHashes.push(...this.#leafHashes);
    copy.#frontier.splice(0, MERKLE_DEPTH, ...this.#frontier);
    copy.#root = this.#root;
    return copy;
  }

  /** Appends the data of the next slot (hashed as a leaf). */
  append(data: Hash): AppendReceipt {
    return this.appendLeafHash(hashLeaf(data));
  }

  /** Appends an already hashed leaf. */
  appendLeafHash(leafHash: Hash): AppendReceipt {
    const index = this.size;
    if (index >= this.maxLeaves) throw new Error(`the tree is full (${this.maxLeaves} leaves)`);
    assertBytes32(leafHash, "leaf hash");
    const preProof: Hash[] = [];
    let node = leafHash;
    for (let level = 0; level < MERKLE_DEPTH; level++) {
      if (isRightAt(index, level)) {
        const left = this.#frontier[level]!;
        preProof.push(left);
        node = hashNode(left, node);
      } else {
        // This subtree is now the newest left candidate at this level.
        this.#frontier[level] = node;
        preProof.push(zeroAt(level));
        node = hashNode(node, zeroAt(level));
      }
    }
    this.#leafHashes.push(leafHash);
    this.#root = node;
    this.#levels = undefined;
    return { index, leafHash, preRoot: node, preProof };
  }

  /** The POST proof of `index`: its full path in the tree as it stands (the sealed tree). */
  proof(index: number): Hash[] {
    assertIndex(index);
    if (index >= this.size) throw new Error(`no leaf at index ${index} (tree has ${this.size})`);
    const levels = this.#filledLevels();
    const siblings: Hash[] = [];
    let position = index;
    for (let level = 0; level < MERKLE_DEPTH; level++) {
      siblings.push(levels[level]![position ^ 1] ?? zeroAt(level));
      position >>>= 1;
    }
    return siblings;
  }

  #filledLevels(): Hash[][] {
    if (this.#levels) return this.#levels;
    const levels: Hash[][] = [this.#leafHashes.slice()];
    for (let level = 0; level < MERKLE_DEPTH; level++) {
      const below = levels[level]!;
      const above: Hash[] = [];
      for (let i = 0; i < below.length; i += 2) above.push(hashNode(below[i]!, below[i + 1] ?? zeroAt(level)));
      levels.push(above);
    }
    this.#levels = levels;
    return levels;
  }
}

/** The root of a tree holding exactly `leafHashes` (computed level by level, independently of the frontier). */
export function rootOfLeafHashes(leafHashes: readonly Hash[]): Hash {
  if (leafHashes.length > MERKLE_CAPACITY) throw new Error(`at most ${MERKLE_CAPACITY} leaves`);
  let layer = [...leafHashes];
  for (let level = 0; level < MERKLE_DEPTH; level++) {
    const next: Hash[] = [];
    for (let i = 0; i < layer.length; i += 2) next.push(hashNode(layer[i]!, layer[i + 1] ?? zeroAt(level)));
    layer = next;
  }
  return layer[0] ?? zeroAt(MERKLE_DEPTH);
}

/** A 32-byte hex string of a non-negative integer (handy for tests and vectors). */
export function toBytes32(value: bigint | number): Hash {
  return toBeHex(value, 32);
}
