import { expect } from "chai";
import fc from "fast-check";
import { TokenBucketLimiter } from "../../sequencer/rpc/rate-limit";

describe("token bucket rate limiter", () => {
  it("never admits more than burst + rate × elapsed time, for any arrival pattern", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 200 }),
        fc.array(fc.integer({ min: 0, max: 100 }), { minLength: 1, maxLength: 300 }),
        (burst, rate, gapsMs) => {
          let now = 0;
          const limiter = new TokenBucketLimiter({ ratePerSecond: rate, burst }, () => now);
          let admitted = 0;
          for (const gap of gapsMs) {
            now += gap;
            if (limiter.take("c").ok) admitted += 1;
          }
          expect(admitted).to.be.at.most(burst + Math.floor((rate * now) / 1000));
        },
      ),
    );
  });

  it("admits the burst at once, refuses the next call with a retry time, and refills at the rate", () => {
    let now = 0;
    const limiter = new TokenBucketLimiter({ ratePerSecond: 10, burst: 3 }, () => now);
    expect([1, 2, 3].map(() => limiter.take("a").ok)).to.deep.equal([true, true, true]);
    const refused = limiter.take("a");
    expect(refused).to.deep.equal({ ok: false, retryAfterMs: 100 });
    expect(limiter.take("b").ok, "clients have separate buckets").to.equal(true);
    now += 100;
    expect(limiter.take("a").ok).to.equal(true);
    expect(limiter.take("a").ok).to.equal(false);
  });

  it("bounds the number of clients it tracks", () => {
    let now = 0;
    const limiter = new TokenBucketLimiter({ ratePerSecond: 1, burst: 2, maxClients: 10 }, () => now);
    for (let i = 0; i < 100; i++) limiter.take(`client-${i}`);
    expect(limiter.trackedClients).to.be.at.most(10);
    now += 10_000; // everyone has refilled
    limiter.take("late");
    expect(limiter.trackedClients).to.be.at.most(10);
  });

  it("refuses settings that would admit nothing", () => {
    expect(() => new TokenBucketLimiter({ ratePerSecond: 0, burst: 1 })).to.throw(/ratePerSecond > 0/);
    expect(() => new TokenBucketLimiter({ ratePerSecond: 1, burst: 0 })).to.throw(/burst >= 1/);
  });
});
