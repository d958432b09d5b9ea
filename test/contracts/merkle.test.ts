import { expect } from "chai";
import fc from "fast-check";
import { ethers } from "hardhat";
import { keccak256, toBeHex } from "ethers";
import {
  EMPTY_LEAF,
  IncrementalMerkleTree,
  MERKLE_CAPACITY,
  MERKLE_DEPTH,
  ZERO_HASHES,
  computeRoot,
  hashLeaf,
  hashNode,
  isPreShaped,
  preAndPostAgree,
  rootOfLeafHashes,
  verifyPreProof,
  verifyProof,
} from "../../sequencer/chain/merkle";
import type { VeilMerkleHarness } from "../../typechain-types";
import vectorsJson from "../vectors/merkle.json";
import { buildVectors, type MerkleVectors } from "../vectors/generate-merkle";

const vectors: MerkleVectors = vectorsJson;
const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => keccak256(b));

function flipLastByte(hash: string): string {
  return `${hash.slice(0, -2)}${(parseInt(hash.slice(-2), 16) ^ 1).toString(16).padStart(2, "0")}`;
}

describe("Merkle tree (TypeScript, sequencer/chain/merkle.ts)", () => {
  it("reproduces the committed vectors exactly", () => {
    expect(buildVectors()).to.deep.equal(vectors);
  });

  it("matches the vectors' zero hashes, leaf hashes, roots and proofs", () => {
    expect(vectors.depth).to.equal(MERKLE_DEPTH);
    expect(ZERO_HASHES).to.deep.equal(vectors.zeroHashes);
    for (const { data, leafHash } of vectors.leafHashes) expect(hashLeaf(data)).to.equal(leafHash);
    for (const tree of vectors.trees) {
      expect(rootOfLeafHashes(tree.data.map(hashLeaf))).to.equal(tree.root);
      for (const p of tree.proofs) {
        expect(verifyProof(tree.root, p.leafHash, p.index, p.post)).to.equal(true);
        expect(verifyPreProof(p.preRoot, p.leafHash, p.index, p.pre)).to.equal(true);
        expect(preAndPostAgree(p.index, p.pre, p.post)).to.equal(true);
      }
    }
  });

  it("gives the empty tree the empty-subtree root and separates leaves from nodes", () => {
    expect(new IncrementalMerkleTree().root).to.equal(ZERO_HASHES[MERKLE_DEPTH]);
    const a = keccak256("0x01");
    const b = keccak256("0x02");
    // A leaf over 64 bytes of data could otherwise equal a node: the prefixes make them differ.
    expect(hashNode(a, b)).to.not.equal(keccak256(`${a}${b.slice(2)}`));
    expect(hashLeaf(a)).to.not.equal(keccak256(a));
  });

  it("rejects malformed input", () => {
    const tree = new IncrementalMerkleTree();
    expect(() => tree.append("0x1234")).to.throw(/32 bytes/);
    expect(() => tree.appendLeafHash("0xAB".padEnd(66, "C"))).to.throw(/32 bytes/);
    expect(() => tree.proof(0)).to.throw(/no leaf at index 0/);
    expect(() => tree.leafHash(0)).to.throw(/no leaf at index 0/);
    expect(() => tree.proof(MERKLE_CAPACITY)).to.throw(/outside/);
    expect(() => computeRoot(EMPTY_LEAF, -1, [...ZERO_HASHES.slice(0, MERKLE_DEPTH)])).to.throw(/outside/);
    expect(() => computeRoot(EMPTY_LEAF, 0, [])).to.throw(/16 siblings/);
    expect(preAndPostAgree(0, [], [])).to.equal(false);
    expect(() => rootOfLeafHashes(new Array<string>(MERKLE_CAPACITY + 1).fill(EMPTY_LEAF))).to.throw(/at most/);
  });

  it("refuses to append past its leaf limit and limits above the tree's capacity", () => {
    const tree = new IncrementalMerkleTree(3);
    for (let i = 0; i < 3; i++) tree.appendLeafHash(EMPTY_LEAF);
    expect(() => tree.appendLeafHash(EMPTY_LEAF)).to.throw(/full \(3 leaves\)/);
    expect(() => new IncrementalMerkleTree(MERKLE_CAPACITY + 1)).to.throw(/maxLeaves/);
    expect(() => new IncrementalMerkleTree(0)).to.throw(/maxLeaves/);
    expect(new IncrementalMerkleTree().maxLeaves).to.equal(MERKLE_CAPACITY);
  });

  it("PRE and POST proofs of every index agree, and any tampered sibling is caught (property)", () => {
    fc.assert(
      fc.property(
        fc.array(bytes32, { minLength: 1, maxLength: 40 }),
        fc.nat(),
        fc.nat(MERKLE_DEPTH - 1),
        (data, pick, level) => {
          const tree = new IncrementalMerkleTree();
          const receipts = data.map((d) => tree.append(d));
          expect(tree.root).to.equal(rootOfLeafHashes(receipts.map((r) => r.leafHash)));
          const index = pick % data.length;
          const { preRoot, preProof, leafHash } = receipts[index]!;
          const post = tree.proof(index);
          expect(tree.leafHash(index)).to.equal(leafHash);
          expect(isPreShaped(index, preProof)).to.equal(true);
          expect(verifyPreProof(preRoot, leafHash, index, preProof)).to.equal(true);
          expect(verifyProof(tree.root, leafHash, index, post)).to.equal(true);
          expect(preAndPostAgree(index, preProof, post)).to.equal(true);
          const tampered = post.map((s, l) => (l === level ? flipLastByte(s) : s));
          expect(verifyProof(tree.root, leafHash, index, tampered)).to.equal(false);
          const leftLevel = ((index >>> level) & 1) === 1;
          expect(preAndPostAgree(index, preProof, tampered)).to.equal(!leftLevel);
          const tamperedPre = preProof.map((s, l) => (l === level ? flipLastByte(s) : s));
          expect(verifyPreProof(preRoot, leafHash, index, tamperedPre)).to.equal(false);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe("VeilMerkle (Solidity) against the TypeScript tree", () => {
  let harness: VeilMerkleHarness;

  before(async () => {
    harness = await (await ethers.getContractFactory("VeilMerkleHarness")).deploy();
  });

  it("matches the vectors' zero hashes, leaf hashes, roots and proofs", async () => {
    for (let height = 0; height <= MERKLE_DEPTH; height++) {
      expect(await harness.zeroHash(height)).to.equal(vectors.zeroHashes[height]);
    }
    for (const { data, leafHash } of vectors.leafHashes) expect(await harness.hashLeaf(data)).to.equal(leafHash);
    for (const tree of vectors.trees) {
      expect(await harness.rootOf(tree.data.map(hashLeaf))).to.equal(tree.root);
      for (const p of tree.proofs) {
        expect(await harness.computeRoot(p.leafHash, p.index, p.post)).to.equal(tree.root);
        expect(await harness.verify(tree.root, p.leafHash, p.index, p.post)).to.equal(true);
        expect(await harness.verifyPre(p.preRoot, p.leafHash, p.index, p.pre)).to.equal(true);
        expect(await harness.preAndPostAgree(p.index, p.pre, p.post)).to.equal(true);
      }
    }
  });

  it("rejects wrong roots, non-PRE-shaped proofs and disagreeing frontiers", async () => {
    const tree = vectors.trees.find((t) => t.size === 5)!;
    const p = tree.proofs.find((x) => x.index === 4)!; // 0b100: left sibling at level 2 only
    expect(await harness.verify(flipLastByte(tree.root), p.leafHash, p.index, p.post)).to.equal(false);
    const notPre = p.pre.map((s, l) => (l === 0 ? p.post[2]! : s));
    expect(await harness.verifyPre(p.preRoot, p.leafHash, p.index, notPre)).to.equal(false);
    expect(await harness.verifyPre(flipLastByte(p.preRoot), p.leafHash, p.index, p.pre)).to.equal(false);
    const otherLeft = p.post.map((s, l) => (l === 2 ? flipLastByte(s) : s));
    expect(await harness.preAndPostAgree(p.index, p.pre, otherLeft)).to.equal(false);
    const otherRight = p.post.map((s, l) => (l === 0 ? flipLastByte(s) : s));
    expect(await harness.preAndPostAgree(p.index, p.pre, otherRight)).to.equal(true);
  });

  it("reverts on indexes outside the tree and on too many leaves", async () => {
    const zeros = ZERO_HASHES.slice(0, MERKLE_DEPTH);
    for (const call of [
      harness.computeRoot(EMPTY_LEAF, MERKLE_CAPACITY, zeros),
      harness.verifyPre(EMPTY_LEAF, EMPTY_LEAF, MERKLE_CAPACITY, zeros),
      harness.preAndPostAgree(MERKLE_CAPACITY, zeros, zeros),
    ]) {
      await expect(call).to.be.revertedWithCustomError(harness, "LeafIndexOutOfRange").withArgs(MERKLE_CAPACITY);
    }
    await expect(harness.rootOfEmptySlots(MERKLE_CAPACITY + 1))
      .to.be.revertedWithCustomError(harness, "TooManyLeaves")
      .withArgs(MERKLE_CAPACITY + 1);
    expect(await harness.rootOfEmptySlots(3)).to.equal(ZERO_HASHES[MERKLE_DEPTH]);
  });

  it("agrees with TypeScript on random trees: roots, POST and PRE proofs (property)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(bytes32, { minLength: 1, maxLength: 70 }), fc.nat(), async (data, pick) => {
        const tree = new IncrementalMerkleTree();
        const receipts = data.map((d) => tree.append(d));
        const index = pick % data.length;
        const receipt = receipts[index]!;
        expect(await harness.hashLeaf(data[index]!)).to.equal(receipt.leafHash);
        expect(await harness.rootOf(receipts.map((r) => r.leafHash))).to.equal(tree.root);
        expect(await harness.verify(tree.root, receipt.leafHash, index, tree.proof(index))).to.equal(true);
        expect(await harness.verifyPre(receipt.preRoot, receipt.leafHash, index, [...receipt.preProof])).to.equal(true);
        expect(await harness.preAndPostAgree(index, [...receipt.preProof], tree.proof(index))).to.equal(true);
        const left = toBeHex(BigInt(data[0]!) ^ 1n, 32);
        expect(await harness.hashNode(data[0]!, left)).to.equal(hashNode(data[0]!, left));
      }),
      { numRuns: 40 },
    );
  });
});
