/**
 * Writes test/vectors/merkle.json: roots and PRE/POST proofs of deterministic trees, checked by both
 * the TypeScript suite (sequencer/chain/merkle.ts) and the Solidity suite (VeilMerkle via its harness).
 * Run: `npx tsx test/vectors/generate-merkle.ts`. The trees are built by the TypeScript implementation;
 * the roots are cross-checked against an independent level-by-level construction before writing.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { keccak256, toUtf8Bytes } from "ethers";
import {
  IncrementalMerkleTree,
  MERKLE_DEPTH,
  ZERO_HASHES,
  hashLeaf,
  rootOfLeafHashes,
} from "../../sequencer/chain/merkle";

export interface MerkleVectorProof {
  index: number;
  data: string;
  leafHash: string;
  preRoot: string;
  pre: string[];
  post: string[];
}

export interface MerkleVectorTree {
  size: number;
  root: string;
  data: string[];
  proofs: MerkleVectorProof[];
}

export interface MerkleVectors {
  description: string;
  depth: number;
  zeroHashes: string[];
  leafHashes: { data: string; leafHash: string }[];
  trees: MerkleVectorTree[];
}

const SIZES = [0, 1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 33, 100];

function vectorData(i: number): string {
  return keccak256(toUtf8Bytes(`veil merkle vector ${i}`));
}

export function buildVectors(): MerkleVectors {
  const trees = SIZES.map((size): MerkleVectorTree => {
    const tree = new IncrementalMerkleTree();
    const data = Array.from({ length: size }, (_, i) => vectorData(i));
    const receipts = data.map((d) => tree.append(d));
    if (rootOfLeafHashes(receipts.map((r) => r.leafHash)) !== tree.root)
      throw new Error(`root mismatch at size ${size}`);
    const indexes = [...new Set([0, 1, size >> 1, size - 2, size - 1])].filter((i) => i >= 0 && i < size);
    const proofs = indexes.map((index): MerkleVectorProof => {
      const receipt = receipts[index]!;
      return {
        index,
        data: data[index]!,
        leafHash: receipt.leafHash,
        preRoot: receipt.preRoot,
        pre: [...receipt.preProof],
        post: tree.proof(index),
      };
    });
    return { size, root: tree.root, data, proofs };
  });
  return {
    description:
      "Veil block Merkle tree: depth 16, keccak-256, leaf = keccak(0x00 || data), node = keccak(0x01 || left || right), empty slot = 0x00..00",
    depth: MERKLE_DEPTH,
    zeroHashes: [...ZERO_HASHES],
    leafHashes: [0, 1, 2].map((i) => ({ data: vectorData(i), leafHash: hashLeaf(vectorData(i)) })),
    trees,
  };
}

if (require.main === module) {
  const file = path.join(__dirname, "merkle.json");
  writeFileSync(file, `${JSON.stringify(buildVectors(), null, 1)}\n`);
  console.log(`wrote ${path.relative(process.cwd(), file)}`);
}
