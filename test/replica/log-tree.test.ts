import { expect } from "chai";
import { keccak256, toUtf8Bytes } from "ethers";
import { IncrementalMerkleTree } from "../../sequencer/chain/merkle";
import { ReplicaLog, checkEntry } from "../../sequencer/replica/log";
import type { Entry, Membership } from "../../sequencer/replica/types";
import { Prng } from "../../sequencer/sim/prng";
import { SimKeys } from "../../sequencer/sim/signatures";

// ReplicaLog shares Merkle states between logs holding the same leaves: every root must still be the one
// chain/merkle.ts's IncrementalMerkleTree computes for that log alone.
const MEMBERS = ["0xA", "0xB", "0xC"].map((a) => a.padEnd(42, "0"));
const [A] = MEMBERS as [string];
const membership: Membership = { epoch: 0, members: MEMBERS };
const keys = new SimKeys(MEMBERS, 7);
const HEIGHT = 0; // view 0 is led by A
const leaf = (label: string): string => keccak256(toUtf8Bytes(label));

/** The roots an independent tree gives after each of `leaves`. */
function referenceRoots(leaves: readonly string[]): string[] {
  const tree = new IncrementalMerkleTree(64);
  return leaves.map((l) => tree.append(l).preRoot);
}

/** The PRE proofs an independent tree gives for each of `leaves`. */
function referenceProofs(leaves: readonly string[]): (readonly string[])[] {
  const tree = new IncrementalMerkleTree(64);
  return leaves.map((l) => tree.append(l).preProof);
}

function leaderLog(leaves: readonly string[], maxEntries = 64): ReplicaLog<string> {
  const log = new ReplicaLog<string>(HEIGHT, maxEntries);
  log.appendAsLeader(
    leaves.map((l) => ({ leaf: l, tx: l, bytes: 1 })),
    0,
    0,
    keys.portFor(A, HEIGHT),
  );
  return log;
}

describe("replica log: shared Merkle states", () => {
  it("gives every log, however its leaves diverge from others', the roots and PRE proofs of an independent tree", () => {
    const rng = new Prng(11);
    const base = Array.from({ length: 40 }, (_, i) => leaf(`base ${i}`));
    for (let round = 0; round < 30; round++) {
      // A shared prefix of random length, then a suffix of this round's own.
      const cut = rng.int(0, base.length);
      const leaves = [
        ...base.slice(0, cut),
        ...Array.from({ length: rng.int(0, 20) }, (_, i) => leaf(`${round}/${i}`)),
      ];
      const log = leaderLog(leaves);
      const expected = referenceRoots(leaves);
      expect(log.entries.map((e) => e.commitment.preRoot)).to.deep.equal(expected);
      expect(log.root).to.equal(expected.at(-1) ?? new IncrementalMerkleTree(64).root);
      const proofs = referenceProofs(leaves);
      expect(log.entries.map((e) => e.preProof)).to.deep.equal(proofs);
      // The same leaves checked as another member's entries, and rebuilt from durable state, agree.
      const copy = new ReplicaLog<string>(HEIGHT, 64);
      copy.appendChecked(0, log.entries, (e: Entry<string>, i) =>
        checkEntry(e, i, HEIGHT, membership, keys.portFor(A, HEIGHT)),
      );
      expect(copy.root).to.equal(log.root);
      expect(copy.entries.map((e) => e.preProof)).to.deep.equal(proofs);
      const rebuilt = new ReplicaLog<string>(HEIGHT, 64, log.entries);
      expect(rebuilt.root).to.equal(log.root);
      expect(rebuilt.entries.map((e) => e.preProof)).to.deep.equal(proofs);
    }
  });

  it("installs another log and keeps the tree of the new one", () => {
    const mine = leaderLog(["a", "b", "c"].map(leaf));
    const theirs = leaderLog(["a", "x", "y", "z"].map(leaf));
    mine.install(theirs.entries, A);
    expect(mine.root).to.equal(referenceRoots(["a", "x", "y", "z"].map(leaf)).at(-1));
  });

  it("enforces the tree's bounds with its errors", () => {
    expect(() => new ReplicaLog<string>(HEIGHT, 0)).to.throw(/maxLeaves must be an integer/);
    expect(() => leaderLog(["a", "b", "c"].map(leaf), 2)).to.throw(/the tree is full \(2 leaves\)/);
    expect(() => leaderLog(["0xABC"])).to.throw(/leaf data must be 32 bytes/);
  });
});
