/**
 * Members that failed to lead, so that a dead member costs one leader timeout and not one per turn
 * (docs/ordering.md, "Dead leaders"). A member is suspected from the moment this member gives up on a view
 * it led (a durable vote for the next view), until a message it signed about a later height arrives: a
 * member that is back takes part in the open heights at once, as a follower or a leader.
 *
 * The replica acts on a suspicion only by voting for the next view at once instead of waiting out the
 * timeout, so a wrong suspicion costs one view change and the rules of views and certificates are
 * unchanged: the VSM and the certificates accept the later view as any other. The host keeps one instance
 * per cluster, fed from what it already sees (durable view writes, checked messages); it holds no clock.
 */
import type { Address } from "./types";

export class LeaderSuspicion {
  /** The highest height at which each suspected member failed to lead. */
  private readonly failedAt = new Map<Address, number>();

  /** This member voted to leave a view of `height` that `leader` led. */
  failed(leader: Address, height: number): void {
    this.failedAt.set(leader, Math.max(height, this.failedAt.get(leader) ?? height));
  }

  /** A checked message of `member` about `height` arrived: about a later height, it shows the member is back. */
  heardFrom(member: Address, height: number): void {
    const failed = this.failedAt.get(member);
    if (failed !== undefined && height > failed) this.failedAt.delete(member);
  }

  suspects(member: Address): boolean {
    return this.failedAt.has(member);
  }

  /** The suspected members, for status and metrics. */
  suspected(): Address[] {
    return [...this.failedAt.keys()];
  }
}
