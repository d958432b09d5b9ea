/**
 * A height's log as one replica holds it: the entries, their Merkle tree, the bytes they weigh (a view
 * change carries the whole log in one message, so the log has a budget), and the indices at which this
 * member signed an entry a view change later dropped (it never signs another entry there: an honest
 * member's order commitments never conflict). Appends are checked against the tree before they change it.
 */
import { MERKLE_CAPACITY, MERKLE_DEPTH, ZERO_HASHES, hashLeaf, hashNode, isRightAt } from "../chain/merkle";
import type { Address, Commitment, Entry, Hash, Membership, Signatures } from "./types";

/** Why an entry cannot take its place in the log. */
export class EntryRejected extends Error {
  override readonly name = "EntryRejected";
}

/** The leader of `view` of height `height` among `membership`'s members (ClusterRegistry.leaderAt). */
export function leaderOf(membership: Membership, height: number, view: number): Address {
  const { members } = membership;
  return members[(height + view) % members.length]!;
}

/** Votes of a majority of `membership`. */
export const majorityOf = (membership: Membership): number => Math.floor(membership.members.length / 2) + 1;

/**
 * The Merkle state of one sequence of leaves: the root and frontier that chain/merkle.ts's
 * IncrementalMerkleTree reaches after appending them, computed the same way. States are immutable and
 * shared: every log that holds the same leaves in the same order points at the same state, and each state
 * remembers the states one append away. The members of a height hold copies of one log, and every view
 * change, recovery and StartView checks whole logs from scratch, so without sharing the same prefix is
 * hashed again and again (most of the simulator's time went there).
 */
class TreeState {
  /** The state reached by the first leaf appended here; others in `more` (logs that diverged here). */
  private next: TreeState | undefined;
  private more: Map<Hash, TreeState> | undefined;
  private proof: readonly Hash[] | undefined;

  constructor(
    readonly size: number,
    readonly root: Hash,
    /** frontier[level]: the root of the last complete left subtree of that height. */
    private readonly frontier: readonly Hash[],
    /** The leaf that led here from the previous state. */
    readonly leaf: Hash | undefined,
  ) {}

  /** The state after appending `leaf` (the slot's data, hashed as a leaf); its root is the new preRoot. */
  append(leaf: Hash): TreeState {
    if (this.next?.leaf === leaf) return this.next;
    const known = this.more?.get(leaf);
    if (known !== undefined) return known;
    const child = this.extend(leaf);
    if (this.next === undefined) this.next = child;
    else (this.more ??= new Map()).set(leaf, child);
    statesSinceReset += 1;
    return child;
  }

  /**
   * The PRE proof of the next leaf (IncrementalMerkleTree.append's `preProof`): the frontier where that leaf
   * is a right child, the empty subtree where it is a left one. Shared by every log that appends here.
   */
  nextProof(): readonly Hash[] {
    return (this.proof ??= this.frontier.map((left, level) =>
      isRightAt(this.size, level) ? left : ZERO_HASHES[level]!,
    ));
  }

  /** IncrementalMerkleTree.appendLeafHash, without the proof. */
  private extend(leaf: Hash): TreeState {
    const index = this.size;
    const frontier = this.frontier.slice();
    let node = hashLeaf(leaf);
    for (let level = 0; level < MERKLE_DEPTH; level++) {
      if (isRightAt(index, level)) {
        node = hashNode(frontier[level]!, node);
      } else {
        frontier[level] = node;
        node = hashNode(node, ZERO_HASHES[level]!);
      }
    }
    return new TreeState(index + 1, node, frontier, leaf);
  }
}

/**
 * The empty state, the start of every log. Replaced by a fresh one after this many states were made, so
 * that a long-running process (a simulator campaign) does not keep every log it ever saw: logs made
 * before keep working, they only stop sharing with later ones.
 */
const MAX_SHARED_STATES = 50_000;
let statesSinceReset = 0;
let emptyState = freshEmptyState();

function freshEmptyState(): TreeState {
  return new TreeState(0, ZERO_HASHES[MERKLE_DEPTH]!, ZERO_HASHES.slice(0, MERKLE_DEPTH), undefined);
}

function startState(): TreeState {
  if (statesSinceReset > MAX_SHARED_STATES) {
    statesSinceReset = 0;
    emptyState = freshEmptyState();
  }
  return emptyState;
}

export class ReplicaLog<Tx> {
  private tree: TreeState;
  private list: Entry<Tx>[];
  private weight: number;
  private dropped: number[];

  constructor(
    readonly height: number,
    readonly maxEntries: number,
    entries: readonly Entry<Tx>[] = [],
    signedDropped: readonly number[] = [],
  ) {
    // The bound IncrementalMerkleTree(maxEntries) enforces, with its error.
    if (!Number.isInteger(maxEntries) || maxEntries < 1 || maxEntries > MERKLE_CAPACITY) {
      throw new Error(`maxLeaves must be an integer in 1..${MERKLE_CAPACITY}, got ${maxEntries}`);
    }
    this.tree = startState();
    this.list = [];
    this.weight = 0;
    for (const e of entries) this.push(e);
    this.dropped = [...new Set(signedDropped)].sort((a, b) => a - b);
  }

  get size(): number {
    return this.list.length;
  }

  get root(): Hash {
    return this.tree.root;
  }

  get bytes(): number {
    return this.weight;
  }

  get entries(): readonly Entry<Tx>[] {
    return this.list;
  }

  get signedDropped(): readonly number[] {
    return this.dropped;
  }

  entry(index: number): Entry<Tx> | undefined {
    return this.list[index];
  }

  /** The first index at or after the end of the log where this member may not sign (it signed there before). */
  blockedFrom(): number | undefined {
    return this.dropped.find((i) => i >= this.list.length);
  }

  /** Signs and appends proposals as the leader of `view`; returns the new entries. The caller checked room. */
  appendAsLeader<P extends { leaf: Hash; tx: Tx; bytes: number }>(
    proposals: readonly P[],
    view: number,
    epoch: number,
    signatures: Signatures,
  ): Entry<Tx>[] {
    return proposals.map((p) => {
      const index = this.tree.size;
      const preProof = this.tree.nextProof();
      this.tree = this.appendLeaf(this.tree, p.leaf);
      const commitment: Commitment = { index, leaf: p.leaf, preRoot: this.tree.root, view, epoch };
      const entry: Entry<Tx> = {
        commitment,
        signature: signatures.signCommitment(commitment),
        leader: signatures.self,
        tx: p.tx,
        bytes: p.bytes,
        preProof,
      };
      this.list.push(entry);
      this.weight += p.bytes;
      return entry;
    });
  }

  /**
   * Appends entries another member sent, starting at `firstIndex` (at most the log's size: the caller
   * asks for the missing ones otherwise). Entries the log holds already must be the same ones; each new
   * one is checked (`check`) and must extend this tree to its signed preRoot. Returns the new size.
   * Nothing changes when any entry fails.
   */
  appendChecked(
    firstIndex: number,
    entries: readonly Entry<Tx>[],
    check: (entry: Entry<Tx>, index: number) => void,
  ): number {
    if (firstIndex > this.list.length) throw new EntryRejected(`a gap: the log holds ${this.list.length} entries`);
    const overlap = Math.min(this.list.length - firstIndex, entries.length);
    for (let i = 0; i < overlap; i++) {
      if (!sameEntry(this.list[firstIndex + i]!, entries[i]!)) {
        throw new EntryRejected(`index ${firstIndex + i} holds another entry`);
      }
    }
    const fresh = entries.slice(overlap);
    if (this.list.length + fresh.length > this.maxEntries) throw new EntryRejected("the log is full");
    // States are immutable: a bad entry leaves the log's own state as it was.
    let tree = this.tree;
    const proofs = fresh.map((e, i) => {
      const index = this.list.length + i;
      check(e, index);
      const preProof = tree.nextProof();
      tree = this.appendLeaf(tree, e.commitment.leaf);
      if (tree.root !== e.commitment.preRoot) throw new EntryRejected(`entry ${index}: its preRoot differs`);
      return preProof;
    });
    this.tree = tree;
    fresh.forEach((e, i) => {
      this.list.push(withProof(e, proofs[i]!));
      this.weight += e.bytes;
    });
    return this.list.length;
  }

  /**
   * Replaces the log with `entries` (already checked as a whole). Returns how many leading entries stay
   * and the indices of this member's own signed entries that go: it must never sign those indices again.
   */
  install(entries: readonly Entry<Tx>[], self: Address): { keep: number; signedDropped: number[] } {
    let keep = 0;
    while (keep < Math.min(this.list.length, entries.length) && sameEntry(this.list[keep]!, entries[keep]!)) keep++;
    const signedDropped = this.list
      .slice(keep)
      .filter((e) => e.leader === self)
      .map((e) => e.commitment.index);
    this.tree = startState();
    this.list = [];
    this.weight = 0;
    for (const e of entries) this.push(e);
    this.dropped = [...new Set([...this.dropped, ...signedDropped])].sort((a, b) => a - b);
    return { keep, signedDropped };
  }

  private push(e: Entry<Tx>): void {
    const preProof = this.tree.nextProof();
    this.tree = this.appendLeaf(this.tree, e.commitment.leaf);
    this.list.push(withProof(e, preProof));
    this.weight += e.bytes;
  }

  /** `tree` with one more leaf, within the bound IncrementalMerkleTree(maxEntries) enforces, with its error. */
  private appendLeaf(tree: TreeState, leaf: Hash): TreeState {
    if (tree.size >= this.maxEntries) throw new Error(`the tree is full (${this.maxEntries} leaves)`);
    return tree.append(leaf);
  }
}

/** `e` with the PRE proof of its place in this log (the same object when it carries that proof already). */
function withProof<Tx>(e: Entry<Tx>, preProof: readonly Hash[]): Entry<Tx> {
  return e.preProof === preProof ? e : { ...e, preProof };
}

/** Two entries are the same when they commit to the same leaf at the same index under the same signature. */
export function sameEntry(a: Entry<unknown>, b: Entry<unknown>): boolean {
  return (
    a.commitment.index === b.commitment.index &&
    a.commitment.leaf === b.commitment.leaf &&
    a.signature === b.signature &&
    a.leader === b.leader
  );
}

/**
 * Checks one entry of a log against its position, the height's schedule and its signature, without the
 * tree (the caller extends the tree and compares the preRoot). `checkSignature` false skips only the
 * signature (an entry of the message's own, authenticated signer, on the append path, outside the sample).
 */
export function checkEntry(
  entry: Entry<unknown>,
  index: number,
  height: number,
  membership: Membership,
  signatures: Signatures,
  checkSignature = true,
): void {
  const c = entry.commitment;
  if (c.index !== index) throw new EntryRejected(`entry ${index}: its commitment is for index ${c.index}`);
  if (c.epoch !== membership.epoch) {
    throw new EntryRejected(`entry ${index}: signed for epoch ${c.epoch}, the height runs in ${membership.epoch}`);
  }
  if (leaderOf(membership, height, c.view) !== entry.leader) {
    throw new EntryRejected(`entry ${index}: ${entry.leader} did not lead view ${c.view}`);
  }
  if (checkSignature && !signatures.isCommitmentSignedBy(c, entry.signature, entry.leader)) {
    throw new EntryRejected(`entry ${index}: not signed by ${entry.leader}`);
  }
}
