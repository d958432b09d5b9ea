/**
 * What the node's readiness knows of ordering progress (docs/node.md, "Health"), kept from what the node
 * sees anyway, so that a health probe causes no traffic and changes nothing:
 *
 * - `LeaderProgress`: the requests (writes, seals) this node took as a height's leader and which are not
 *   answered yet. A height whose oldest such request has waited longer than a bound, with nothing answered
 *   since, makes no progress under this leader.
 * - `PeerHeights`: the highest height each member said it sealed (in its signed replica messages, or in
 *   the catch-up answer at start). A node whose own highest sealed height is behind what enough members
 *   vouch for lags.
 */

/** The (rollup, height) of a height this node leads and whose requests wait. */
export interface Stall {
  readonly rollupId: bigint;
  readonly height: number;
  /** How long requests of the height have waited with nothing answered. */
  readonly forMs: number;
}

interface Waiting {
  readonly rollupId: bigint;
  readonly height: number;
  outstanding: number;
  /** Since when requests wait with nothing answered (undefined: none waits). */
  since: number | undefined;
}

export class LeaderProgress {
  private readonly heights = new Map<string, Waiting>();

  constructor(private readonly now: () => number) {}

  /** Follows one request of `height` (a write or a seal this node took as leader) until it is answered. */
  track(rollupId: bigint, height: number, request: Promise<unknown>): void {
    const key = `${rollupId}:${height}`;
    let h = this.heights.get(key);
    if (h === undefined) this.heights.set(key, (h = { rollupId, height, outstanding: 0, since: undefined }));
    h.outstanding += 1;
    h.since ??= this.now();
    const w = h;
    const settle = (answered: boolean): void => {
      w.outstanding -= 1;
      // An answer is progress: whatever still waits is timed from now. A refusal is not, unless it was the
      // last request (a view change refuses every waiting one: this node no longer leads).
      if (w.outstanding === 0) this.heights.delete(key);
      else if (answered) w.since = this.now();
    };
    request.then(
      () => settle(true),
      () => settle(false),
    );
  }

  /** Heights whose requests have waited longer than `boundMs` with nothing answered since. */
  stalled(boundMs: number): Stall[] {
    const now = this.now();
    const out: Stall[] = [];
    for (const h of this.heights.values()) {
      if (h.since !== undefined && now - h.since > boundMs) {
        out.push({ rollupId: h.rollupId, height: h.height, forMs: now - h.since });
      }
    }
    return out;
  }

  /** Requests followed and not answered yet (tests). */
  get outstanding(): number {
    let n = 0;
    for (const h of this.heights.values()) n += h.outstanding;
    return n;
  }
}

/** The most rollups whose members' heights are kept (the rollups a node serves are far fewer). */
const MAX_ROLLUPS = 1_024;

export class PeerHeights {
  private readonly byRollup = new Map<bigint, Map<string, number>>();

  /** Member `member` (authenticated by the caller) said it sealed `height` of the rollup. */
  report(rollupId: bigint, member: string, height: number): void {
    let members = this.byRollup.get(rollupId);
    if (members === undefined) {
      if (this.byRollup.size >= MAX_ROLLUPS) return;
      this.byRollup.set(rollupId, (members = new Map<string, number>()));
    }
    if (height > (members.get(member) ?? -1)) members.set(member, height);
  }

  /** The rollups some member reported on. */
  rollups(): bigint[] {
    return [...this.byRollup.keys()];
  }

  /**
   * The highest height at least `vouchers` of `members` reported sealed, or undefined when fewer reported.
   * With `vouchers` one more than the members that may lie, an honest one vouches for it.
   */
  vouched(rollupId: bigint, members: readonly string[], vouchers: number): number | undefined {
    const reports = this.byRollup.get(rollupId);
    if (reports === undefined || vouchers < 1) return undefined;
    const heights = members
      .map((m) => reports.get(m))
      .filter((h): h is number => h !== undefined)
      .sort((a, b) => b - a);
    return heights[vouchers - 1];
  }
}

/** Replica message types that say their sender sealed the packet's height (it stored or certified a seal). */
export const SEALED_MESSAGE_TYPES: ReadonlySet<string> = new Set(["seal", "seal-vote", "decided"]);
