/**
 * Per-client token buckets: each client may burst up to `burst` calls and then `ratePerSecond` calls
 * per second on average. Buckets that have refilled completely carry no information (a new bucket is
 * full too), so they are dropped; memory is therefore bounded by the clients active in the last
 * `burst / ratePerSecond` seconds, and additionally capped by `maxClients`.
 */
export interface RateLimitSettings {
  readonly ratePerSecond: number;
  readonly burst: number;
  /** Hard cap on tracked clients; beyond it the oldest buckets are evicted. */
  readonly maxClients?: number;
}

interface Bucket {
  tokens: number;
  updatedMs: number;
}

export type TakeResult = { readonly ok: true } | { readonly ok: false; readonly retryAfterMs: number };

export class TokenBucketLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly maxClients: number;

  constructor(
    private readonly settings: RateLimitSettings,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(settings.ratePerSecond > 0) || !(settings.burst >= 1)) {
      throw new Error("rate limit needs ratePerSecond > 0 and burst >= 1");
    }
    this.maxClients = settings.maxClients ?? 100_000;
  }

  /** Takes one token from the client's bucket if there is one. */
  take(clientId: string): TakeResult {
    const now = this.now();
    const bucket = this.refilled(clientId, now);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { ok: true };
    }
    const retryAfterMs = Math.ceil(((1 - bucket.tokens) / this.settings.ratePerSecond) * 1000);
    return { ok: false, retryAfterMs };
  }

  /** Number of clients currently tracked (for tests and metrics). */
  get trackedClients(): number {
    return this.buckets.size;
  }

  private refilled(clientId: string, now: number): Bucket {
    let bucket = this.buckets.get(clientId);
    if (bucket === undefined) {
      if (this.buckets.size >= this.maxClients) this.sweep(now);
      bucket = { tokens: this.settings.burst, updatedMs: now };
    } else {
      const elapsedS = Math.max(0, now - bucket.updatedMs) / 1000;
      bucket.tokens = Math.min(this.settings.burst, bucket.tokens + elapsedS * this.settings.ratePerSecond);
      bucket.updatedMs = now;
      // Re-insert so that Map iteration order is least-recently-used first.
      this.buckets.delete(clientId);
    }
    this.buckets.set(clientId, bucket);
    return bucket;
  }

  /** Drops every full bucket, then the least recently used ones until there is room. */
  private sweep(now: number): void {
    for (const [id, b] of this.buckets) {
      const tokens = b.tokens + (Math.max(0, now - b.updatedMs) / 1000) * this.settings.ratePerSecond;
      if (tokens >= this.settings.burst) this.buckets.delete(id);
    }
    for (const id of this.buckets.keys()) {
      if (this.buckets.size < this.maxClients) break;
      this.buckets.delete(id);
    }
  }
}
