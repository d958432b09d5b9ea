/**
 * Where and when a decided member asks for the block it lacks (docs/ordering.md, "Decided heights"): first
 * the members that said the height is decided, then the leader of the certificate's view, then everyone in
 * turn; each unanswered request doubles the wait, up to the view changes' cap.
 */
import type { Address, Membership } from "./types";
import { leaderTimeoutMs } from "./view-change";

export class BlockFetch {
  /** Members that said the height is decided, in the order they said so (a hint, unchecked). */
  private holders: Address[] = [];
  /** Fetch requests sent since the decision. */
  private sent = 0;

  constructor(
    private readonly self: Address,
    private readonly membership: Membership,
  ) {}

  /** A new decision: no hint and no request yet. */
  reset(): void {
    this.holders = [];
    this.sent = 0;
  }

  get requests(): number {
    return this.sent;
  }

  /** `from` said the height is decided. */
  hint(from: Address): void {
    if (!this.holders.includes(from)) this.holders.push(from);
  }

  /** A request goes out now. */
  requested(): void {
    this.sent += 1;
  }

  /** Whom to ask next, given the leader of the certificate's view. */
  next(certificateLeader: Address): Address {
    const candidates = [...new Set([...this.holders, certificateLeader, ...this.membership.members])].filter(
      (m) => m !== this.self,
    );
    return candidates[this.sent % candidates.length]!;
  }

  /** How long to wait for the block: the leader timeout, doubled per request already sent. */
  timeout(leaderTimeout: number, random: number): number {
    return leaderTimeoutMs(leaderTimeout, this.sent, random);
  }
}
