/**
 * Whether a leader's message is fresh (docs/ordering.md, "Fresh heartbeats"). A signed packet proves who sent
 * it, not when, so a follower answers with a random challenge and counts the leader's next replicate or
 * heartbeat as a sign of life only when it echoes that challenge; each challenge counts once. As a leader,
 * the same member keeps each follower's latest challenge to echo it.
 */
import type { Address } from "./types";

/** Challenges a leader remembers per follower, to tell a late or replayed one from a new one. */
const REMEMBERED = 8;

export class Freshness {
  private current: number;
  private readonly echoes = new Map<Address, number>();
  /** Per follower, the challenges it sent lately, oldest first (each follower draws a new one after each use). */
  private readonly seen = new Map<Address, number[]>();

  /** `random`: uniform in [0, 1), the replica's injected randomness (one draw per challenge). */
  constructor(private readonly random: () => number) {
    this.current = this.draw();
  }

  /** The challenge this member sends with its `ack` or `behind`. */
  get challenge(): number {
    return this.current;
  }

  /** Whether `echo` is the current challenge: then the leader is alive now, and the challenge is used up. */
  fresh(echo: number | undefined): boolean {
    if (echo === undefined || echo !== this.current) return false;
    this.current = this.draw();
    return true;
  }

  /**
   * As leader: `follower` answered with `challenge`. One seen before is an answer that arrived after a newer
   * one (the links reorder) or a replay: echoing it would not count, so the newer challenge is kept.
   */
  answered(follower: Address, challenge: number): void {
    let seen = this.seen.get(follower);
    if (seen === undefined) this.seen.set(follower, (seen = []));
    if (seen.includes(challenge)) return;
    seen.push(challenge);
    if (seen.length > REMEMBERED) seen.shift();
    this.echoes.set(follower, challenge);
  }

  /** As leader: what the next replicate or heartbeat to `follower` echoes. */
  echoFor(follower: Address): number | undefined {
    return this.echoes.get(follower);
  }

  private draw(): number {
    return Math.floor(this.random() * 2 ** 32);
  }
}
