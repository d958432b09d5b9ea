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

export class Invariants {
  private readonly receipts = new Map<string, Receipt>(); // `${height}/${index}`
  private readonly receiptByLeaf = new Map<string, Receipt>(); // `${height}/${leaf}`
  private readonly certified = new Map<number, SealCertificate>();
  private readonly views = new Map<string, number>(); // `${member}/${height}` -> highest durable view
  private readonly signedSlots = new Map<string, string>();
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
    if (earlier !== undefined && (earlier.statement.count !== s.count || earlier.statement.root !== s.root)) {
      throw new InvariantViolation(
        `height ${height}: two certified seals differ (${earlier.statement.count} entries in view ${earlier.statement.view}, ${s.count} in view ${s.view})`,
      );
    }
    for (const r of this.receipts.values()) {
      if (r.height === height && r.index >= s.count) {
        throw new InvariantViolation(
          `height ${height}: the certified seal of ${s.count} drops acknowledged index ${r.index}`,
        );
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

  /** After a durable write: views never go back. */
  afterWrite(member: Address, height: number, durable: Durable<unknown>): void {
    const key = `${member}/${height}`;
    const before = this.views.get(key) ?? 0;
    if (durable.view < before) {
      throw new InvariantViolation(`${member} height ${height}: its view went back from ${before} to ${durable.view}`);
    }
    this.views.set(key, durable.view);
    this.maxView = Math.max(this.maxView, durable.view);
  }

  /** After a member's step: its log keeps every acknowledged entry, holds each transaction once, and it signed nothing slashable. */
  afterStep(member: Address, height: number, snapshot: ReplicaSnapshot<unknown>, durable: Durable<unknown>): void {
    const seen = new Set<string>();
    for (const e of snapshot.entries) {
      if (seen.has(e.commitment.leaf)) {
        throw new InvariantViolation(
          `${member} height ${height}: transaction ${e.commitment.leaf} sits at two indices`,
        );
      }
      seen.add(e.commitment.leaf);
    }
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
    if (snapshot.certificate !== undefined) this.onCertified(height, snapshot.certificate);
    if (durable.view < (this.views.get(`${member}/${height}`) ?? 0)) {
      throw new InvariantViolation(`${member} height ${height}: its view went back`);
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
    for (const e of entries) {
      if (e.leader === member) this.signed(member, height, `index ${e.commitment.index}`, e.commitment.leaf);
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
        this.signed(member, height, `seal of view ${seal.seal.view}`, `${seal.seal.count}/${seal.seal.root}`);
      }
      if (out.type === "seal-vote") {
        this.signed(member, height, `seal of view ${out.seal.view}`, `${out.seal.count}/${out.seal.root}`);
      }
    }
  }

  /** No member signs two different order commitments for one index, or two different seals in one view. */
  private signed(member: Address, height: number, slot: string, content: string): void {
    const key = `${member}/${height}/${slot}`;
    const earlier = this.signedSlots.get(key);
    if (earlier !== undefined && earlier !== content) {
      throw new InvariantViolation(`${member} signed two different statements for height ${height} ${slot}: slashable`);
    }
    this.signedSlots.set(key, content);
  }
}
