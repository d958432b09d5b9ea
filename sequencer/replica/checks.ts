/**
 * What a replica checks of what other members send it (replica.ts): view and seal certificates (a majority
 * of the height's members, each signature on the identical statement), whole logs (every entry against its
 * signed commitment and a rebuilt tree, and the seal over them), and log reports with their normal view.
 * Pure functions of the height's configuration; a failed check is `false`, never a throw.
 */
import { EntryRejected, ReplicaLog, checkEntry, leaderOf, majorityOf } from "./log";
import type {
  Address,
  Certificate,
  Entry,
  LogReport,
  ReplicaConfig,
  SealCertificate,
  SignedSeal,
  ViewCertificate,
} from "./types";

export class PeerChecks<Tx> {
  constructor(
    private readonly height: number,
    private readonly config: ReplicaConfig,
  ) {}

  /** A seal of the height's own epoch, or of a later one with the same members (the host says which). */
  acceptsSealEpoch(epoch: number): boolean {
    return epoch === this.config.membership.epoch || (this.config.acceptsSealEpoch?.(epoch) ?? false);
  }

  /** A new seal's inbox block, by the host's view of the L1 (any, unless the host says otherwise). */
  acceptsInboxBlock(inboxBlock: number): boolean {
    return this.config.acceptsInboxBlock?.(inboxBlock) ?? true;
  }

  /** A majority's votes for `view` of this height, in its epoch. */
  checkViewCertificate(view: number, certificate: ViewCertificate): boolean {
    const statement = { view, epoch: this.config.membership.epoch };
    if (certificate.statement.view !== view || certificate.statement.epoch !== statement.epoch) return false;
    return this.checkMajority(certificate, (signature, member) =>
      this.config.signatures.isVoteSignedBy(statement, signature, member),
    );
  }

  /** A seal certificate of this height's membership: a majority, each signature checked on the same seal. */
  checkSealCertificate(certificate: SealCertificate): boolean {
    const seal = certificate.statement;
    if (seal.epoch !== this.config.membership.epoch) return false;
    return this.checkMajority(certificate, (signature, member) =>
      this.config.signatures.isSealSignedBy(seal, signature, member),
    );
  }

  /** A whole log from scratch: every entry against its signed commitment and a rebuilt tree, and the seal. */
  checkLog(entries: readonly Entry<Tx>[], seal: SignedSeal | undefined): boolean {
    const scratch = new ReplicaLog<Tx>(this.height, this.config.maxEntries);
    try {
      scratch.appendChecked(0, entries, (entry, index) =>
        checkEntry(entry, index, this.height, this.config.membership, this.config.signatures),
      );
    } catch (error) {
      if (error instanceof EntryRejected) return false;
      throw error;
    }
    if (seal === undefined) return true;
    const s = seal.seal;
    return (
      this.acceptsSealEpoch(s.epoch) &&
      seal.leader === leaderOf(this.config.membership, this.height, s.view) &&
      this.config.signatures.isSealSignedBy(s, seal.signature, seal.leader) &&
      s.count === scratch.size &&
      s.root === scratch.root
    );
  }

  /** A member's log report: its claimed normal view proven (above 0), its log and seal checked. */
  checkReport(report: LogReport<Tx>): boolean {
    if (report.normalView > report.view) return false;
    if (report.normalView > 0) {
      const proof = report.normalViewCertificate;
      if (proof === undefined || !this.checkViewCertificate(report.normalView, proof)) return false;
    }
    return this.checkLog(report.entries, report.seal);
  }

  private checkMajority<T>(
    certificate: Certificate<T>,
    valid: (signature: string, member: Address) => boolean,
  ): boolean {
    let count = 0;
    for (const [member, signature] of certificate.signatures) {
      if (!this.config.membership.members.includes(member) || !valid(signature, member)) return false;
      count += 1;
    }
    return count >= majorityOf(this.config.membership);
  }
}
