/**
 * What must hold after every step of a simulated cluster (docs/simulator.md). Each check names the
 * promise it guards; the first broken one throws an InvariantViolation, which ends the run.
 */
import type { ReplicaSnapshot } from "../replica/replica";
import type { Address, Durable, Entry, Membership, Message, Reply, SealCertificate } from "../replica/types";

export class InvariantViolation extends Error {
  override readonly name = "InvariantViolation";
}

interface Receipt {
  readonly height: number;
  readonly index: number;
  readonly leaf: string;
  readonly view: number;
}

/** A height's receipts by index, for the checks after each step (which look only at what changed). */
interface HeightReceipts {
  /** The latest receipt of each acknowledged index. */
  readonly byIndex: (Receipt | undefined)[];
  /** Indices in the order first acknowledged: trackers read the ones they have not seen yet. */
  readonly added: number[];
  /** minViewFrom[i]: the lowest view of the receipts at index i or above; rebuilt after receipts change. */
  minViewFrom: number[] | undefined;
}

/**
 * What afterStep already checked of one member's log of one height: its leaves (free of duplicates), and
 * the indices where the log holds another transaction than the one acknowledged there. A step usually
 * appends a few entries or changes nothing, so only the changed suffix and new receipts are looked at.
 */
interface LogTracker {
  readonly leaves: string[];
  /** Leaf -> its index in `leaves`. */
  readonly positions: Map<string, number>;
  /** Indices below leaves.length whose acknowledged transaction differs from the log's. */
  readonly mismatched: Set<number>;
  /** How many of the height's `added` indices were compared with `leaves` already. */
  receiptsSeen: number;
}

/** What one member released signed for one height: content per index, and per seal view. */
interface Signed {
  readonly commitments: Map<number, string>;
  readonly seals: Map<number, string>;
}

export class Invariants {
  private readonly receipts = new Map<string, Receipt>(); // `${height}/${index}`
  /** Per `${member}/${height}`: how many of its entries were already counted as acknowledged (`committed`). */
  private readonly committedSeen = new Map<string, number>();
  private readonly receiptByLeaf = new Map<string, Receipt>(); // `${height}/${leaf}`
  private readonly receiptsOf = new Map<number, HeightReceipts>();
  /** A receipt whose index is not an array index: the incremental checks then defer to the full ones. */
  private irregular = false;
  private readonly trackers = new Map<Address, LogTracker[]>(); // member -> by height
  private readonly certified = new Map<number, SealCertificate>();
  private readonly views = new Map<Address, number[]>(); // member -> highest durable view, by height
  private readonly signedBy = new Map<Address, Signed[]>(); // member -> by height
  maxView = 0;

  constructor(private readonly membership: Membership) {}

  get receiptCount(): number {
    return this.receipts.size;
  }

  /** A client was told its transaction is ordered at this index. */
  onReceipt(height: number, entry: Entry<unknown>, at: number): void {
    const receipt = { height, index: entry.commitment.index, leaf: entry.commitment.leaf, view: entry.commitment.view };
    const slot = `${height}/${receipt.index}`;
    const earlier = this.receipts.get(slot);
    if (earlier !== undefined && earlier.leaf !== receipt.leaf) {
      throw new InvariantViolation(
        `index ${slot} was acknowledged for two transactions (${earlier.leaf} in view ${earlier.view}, ${receipt.leaf} in view ${receipt.view}, at ${at} ms)`,
      );
    }
    const byLeaf = this.receiptByLeaf.get(`${height}/${receipt.leaf}`);
    if (byLeaf !== undefined && byLeaf.index !== receipt.index) {
      throw new InvariantViolation(
        `transaction ${receipt.leaf} acknowledged at indices ${byLeaf.index} and ${receipt.index}`,
      );
    }
    this.receipts.set(slot, receipt);
    this.receiptByLeaf.set(`${height}/${receipt.leaf}`, receipt);
    if (!Number.isSafeInteger(receipt.index) || receipt.index < 0) this.irregular = true;
    else {
      const of = this.heightReceipts(height);
      if (of.byIndex[receipt.index] === undefined) of.added.push(receipt.index);
      of.byIndex[receipt.index] = receipt;
      of.minViewFrom = undefined;
    }
    for (const [h, certificate] of this.certified) {
      if (h === height && receipt.index >= certificate.statement.count) {
        throw new InvariantViolation(
          `receipt ${slot} lies beyond the certified seal of ${certificate.statement.count}`,
        );
      }
    }
  }

  /** A seal certificate exists (a member assembled it): it must be a majority's, and agree with any other. */
  onCertified(height: number, certificate: SealCertificate): void {
    const signers = [...certificate.signatures.keys()].filter((m) => this.membership.members.includes(m));
    if (new Set(signers).size < Math.floor(this.membership.members.length / 2) + 1) {
      throw new InvariantViolation(`height ${height}: a key would be released for a seal without a majority`);
    }
    const earlier = this.certified.get(height);
    const s = certificate.statement;
    const e = earlier?.statement;
    if (e !== undefined && (e.count !== s.count || e.root !== s.root || e.inboxBlock !== s.inboxBlock)) {
      throw new InvariantViolation(
        `height ${height}: two certified seals differ (${e.count} entries, inbox block ${e.inboxBlock} in view ${e.view}; ${s.count}, ${s.inboxBlock} in view ${s.view})`,
      );
    }
    // Only when some receipt lies at or beyond the seal's end: the scan finds the first one, as it always did.
    if (this.irregular || this.heightReceipts(height).byIndex.length > s.count) {
      for (const r of this.receipts.values()) {
        if (r.height === height && r.index >= s.count) {
          throw new InvariantViolation(
            `height ${height}: the certified seal of ${s.count} drops acknowledged index ${r.index}`,
          );
        }
      }
    }
    if (earlier === undefined) this.certified.set(height, certificate);
  }

  /** A member stored a block of the height: every acknowledged entry is at its index in it. */
  onBlock(height: number, entries: readonly Entry<unknown>[]): void {
    for (const r of this.receipts.values()) {
      if (r.height === height && entries[r.index]?.commitment.leaf !== r.leaf) {
        throw new InvariantViolation(`height ${height}: a block lacks acknowledged index ${r.index} (view ${r.view})`);
      }
    }
  }

  private heightReceipts(height: number): HeightReceipts {
    let of = this.receiptsOf.get(height);
    if (of === undefined) this.receiptsOf.set(height, (of = { byIndex: [], added: [], minViewFrom: undefined }));
    return of;
  }

  /** After a durable write: views never go back. */
  afterWrite(member: Address, height: number, durable: Durable<unknown>): void {
    const views = this.viewsOf(member);
    const before = views[height] ?? 0;
    if (durable.view < before) {
      throw new InvariantViolation(`${member} height ${height}: its view went back from ${before} to ${durable.view}`);
    }
    views[height] = durable.view;
    this.maxView = Math.max(this.maxView, durable.view);
  }

  /** After a member's step: its log keeps every acknowledged entry, holds each transaction once, and it signed nothing slashable. */
  afterStep(
    member: Address,
    height: number,
    snapshot: ReplicaSnapshot<unknown>,
    durable: Durable<unknown>,
    at: number,
  ): void {
    // What a member says a majority holds is what a lookup by leaf answers a client: as binding as a receipt
    // of the member's view (an entry of an earlier view that this view took over is committed in this one).
    const key = `${member}/${height}`;
    for (let i = this.committedSeen.get(key) ?? 0; i < snapshot.committed; i++) {
      const entry = snapshot.entries[i];
      if (entry !== undefined) {
        this.onReceipt(height, { ...entry, commitment: { ...entry.commitment, view: snapshot.view } }, at);
      }
    }
    if (snapshot.committed > (this.committedSeen.get(key) ?? 0)) this.committedSeen.set(key, snapshot.committed);
    const tracker = this.track(member, height, snapshot.entries);
    if (this.irregular) this.checkReceipts(member, height, snapshot);
    else if (this.receiptsMayBeBroken(tracker, height, snapshot)) {
      this.checkReceipts(member, height, snapshot);
      throw new Error(
        `invariants: the incremental receipt check disagrees with the full one (${member} height ${height})`,
      );
    }
    if (snapshot.certificate !== undefined) this.onCertified(height, snapshot.certificate);
    if (durable.view < (this.viewsOf(member)[height] ?? 0)) {
      throw new InvariantViolation(`${member} height ${height}: its view went back`);
    }
  }

  /**
   * Brings the member's tracker up to date with its log (only the suffix that differs from what was checked)
   * and the height's new receipts, checking that no transaction sits at two indices.
   */
  private track(member: Address, height: number, entries: readonly Entry<unknown>[]): LogTracker {
    const trackers = this.trackers.get(member) ?? this.trackers.set(member, []).get(member)!;
    const tracker = (trackers[height] ??= { leaves: [], positions: new Map(), mismatched: new Set(), receiptsSeen: 0 });
    const { leaves, positions, mismatched } = tracker;
    const byIndex = this.heightReceipts(height).byIndex;
    let same = 0;
    const common = Math.min(leaves.length, entries.length);
    while (same < common && entries[same]!.commitment.leaf === leaves[same]) same++;
    for (let i = same; i < leaves.length; i++) {
      positions.delete(leaves[i]!);
      mismatched.delete(i);
    }
    leaves.length = same;
    // The prefix is free of duplicates, so the first leaf met again below is the first duplicate in index order.
    for (let i = same; i < entries.length; i++) {
      const leaf = entries[i]!.commitment.leaf;
      if (positions.has(leaf)) {
        throw new InvariantViolation(`${member} height ${height}: transaction ${leaf} sits at two indices`);
      }
      positions.set(leaf, i);
      leaves.push(leaf);
      const r = byIndex[i];
      if (r !== undefined && r.leaf !== leaf) mismatched.add(i);
    }
    const added = this.heightReceipts(height).added;
    for (; tracker.receiptsSeen < added.length; tracker.receiptsSeen++) {
      const i = added[tracker.receiptsSeen]!;
      if (i < leaves.length && leaves[i] !== byIndex[i]!.leaf) mismatched.add(i);
    }
    return tracker;
  }

  /**
   * Whether checkReceipts would find a broken receipt: an index held with another transaction in a view
   * at or after the receipt's, or one missing from a log installed in a later view. Looks only at the
   * mismatched indices and at the lowest view acknowledged beyond the log's end.
   */
  private receiptsMayBeBroken(tracker: LogTracker, height: number, snapshot: ReplicaSnapshot<unknown>): boolean {
    const of = this.heightReceipts(height);
    const byIndex = of.byIndex;
    for (const i of tracker.mismatched) if (snapshot.normalView >= byIndex[i]!.view) return true;
    if (snapshot.status === "recovering" || snapshot.entries.length >= byIndex.length) return false;
    if (of.minViewFrom === undefined) {
      const min: number[] = new Array<number>(byIndex.length);
      let m = Number.POSITIVE_INFINITY;
      for (let i = byIndex.length - 1; i >= 0; i--) {
        const view = byIndex[i]?.view;
        if (view !== undefined && view < m) m = view;
        min[i] = m;
      }
      of.minViewFrom = min;
    }
    return snapshot.normalView > of.minViewFrom[snapshot.entries.length]!;
  }

  private viewsOf(member: Address): number[] {
    let views = this.views.get(member);
    if (views === undefined) this.views.set(member, (views = []));
    return views;
  }

  /** Every acknowledged entry of the height against the member's log; throws at the first broken one. */
  private checkReceipts(member: Address, height: number, snapshot: ReplicaSnapshot<unknown>): void {
    for (const r of this.receipts.values()) {
      if (r.height !== height) continue;
      const at = snapshot.entries[r.index];
      // A member normal in a later view installed that view's log: every acknowledged entry is in it. In the
      // receipt's own view a follower may simply not have received it yet.
      const mustHold = snapshot.status !== "recovering" && snapshot.normalView > r.view;
      if (
        (mustHold && at === undefined) ||
        (at !== undefined && snapshot.normalView >= r.view && at.commitment.leaf !== r.leaf)
      ) {
        throw new InvariantViolation(
          `${member} height ${height} (normal in view ${snapshot.normalView}): acknowledged index ${r.index} (view ${r.view}) ${at === undefined ? "is missing" : "holds another transaction"}`,
        );
      }
    }
  }

  /**
   * A member let signatures out (a message sent, a reply given): none may contradict one it let out before.
   * Only what leaves a member can be used against it; a signature lost in a crash before it was sent is not.
   */
  onReleased(member: Address, height: number, out: Message<unknown> | Reply<unknown>, durable: Durable<unknown>): void {
    // An acknowledgement promises what is on disk: the entries it counts, the seal it signs.
    if ("type" in out && out.type === "ack" && durable.entries.length < out.count) {
      throw new InvariantViolation(
        `${member} height ${height}: acknowledged ${out.count} entries while ${durable.entries.length} are durable`,
      );
    }
    if ("type" in out && out.type === "seal-vote" && durable.sealSigned === undefined) {
      throw new InvariantViolation(`${member} height ${height}: signed a seal it has not recorded durably`);
    }
    const entries =
      "type" in out
        ? out.type === "replicate" || out.type === "start-view"
          ? out.entries
          : out.type === "do-view-change" || out.type === "recovery-response"
            ? out.log.entries
            : []
        : out.ok && "receipt" in out
          ? [out.receipt]
          : [];
    const signed = this.signedOf(member, height);
    for (const e of entries) {
      if (e.leader === member) {
        this.signed(member, height, signed.commitments, e.commitment.index, "index", e.commitment.leaf);
      }
    }
    if ("type" in out) {
      const seal =
        out.type === "seal" || out.type === "start-view"
          ? out.seal
          : out.type === "do-view-change" || out.type === "recovery-response"
            ? out.log.seal
            : undefined;
      // One seal per view (slashSealEquivocation); another view may seal another log.
      if (seal !== undefined && seal.leader === member) {
        this.signed(
          member,
          height,
          signed.seals,
          seal.seal.view,
          "seal of view",
          `${seal.seal.count}/${seal.seal.root}/${seal.seal.inboxBlock}`,
        );
      }
      if (out.type === "seal-vote") {
        const content = `${out.seal.count}/${out.seal.root}/${out.seal.inboxBlock}`;
        this.signed(member, height, signed.seals, out.seal.view, "seal of view", content);
      }
    }
  }

  private signedOf(member: Address, height: number): Signed {
    const signed = this.signedBy.get(member) ?? this.signedBy.set(member, []).get(member)!;
    return (signed[height] ??= { commitments: new Map(), seals: new Map() });
  }

  /** No member signs two different order commitments for one index, or two different seals in one view. */
  private signed(
    member: Address,
    height: number,
    slots: Map<number, string>,
    slot: number,
    what: string,
    content: string,
  ): void {
    const earlier = slots.get(slot);
    if (earlier === undefined) slots.set(slot, content);
    else if (earlier !== content) {
      throw new InvariantViolation(
        `${member} signed two different statements for height ${height} ${what} ${slot}: slashable`,
      );
    }
  }
}
