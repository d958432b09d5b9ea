/**
 * The pure rules of a height's view change (docs/ordering.md, "Failover"): which gathered log a new leader
 * adopts, and how long a follower waits for a silent leader.
 */

/**
 * The order in which a new leader tries the logs it gathered: the latest normal view first, then the
 * longest (a seal counts as one more element: in one normal view the seal ends the leader's log).
 */
export function rankLogs<T extends { normalView: number; entries: readonly unknown[]; seal: unknown }>(
  logs: readonly T[],
): T[] {
  const length = (l: T): number => l.entries.length + (l.seal === null || l.seal === undefined ? 0 : 1);
  return [...logs].sort((a, b) => b.normalView - a.normalView || length(b) - length(a));
}

/** The leader timeout stops doubling after this many consecutive view changes of a height (x32). */
export const MAX_TIMEOUT_DOUBLINGS = 5;

/**
 * How long a follower waits for the leader before it starts the next view change: `baseMs` while the
 * height operates normally, doubled for each view change it went through since (up to
 * MAX_TIMEOUT_DOUBLINGS), so that a view change slower than the base timeout gets the time to finish
 * instead of being overtaken by the next one; randomised up to +50% (`random` in [0, 1)) so that members
 * do not all time out at once.
 */
export function leaderTimeoutMs(baseMs: number, viewChangesSinceNormal: number, random: number): number {
  const doublings = Math.min(Math.max(0, viewChangesSinceNormal), MAX_TIMEOUT_DOUBLINGS);
  return baseMs * 2 ** doublings * (1 + random * 0.5);
}
