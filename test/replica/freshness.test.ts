import { expect } from "chai";
import { BlockFetch } from "../../sequencer/replica/block-fetch";
import { Freshness } from "../../sequencer/replica/freshness";
import { Prng } from "../../sequencer/sim/prng";

const [A, B, C] = ["0xA", "0xB", "0xC"].map((a) => a.padEnd(42, "0")) as [string, string, string];

describe("freshness of a leader's messages", () => {
  it("counts an echo of the current challenge once, and nothing else: no echo, an old one, a guess", () => {
    const rng = new Prng(3);
    const f = new Freshness(() => rng.next());
    const first = f.challenge;
    expect(f.fresh(undefined)).to.equal(false);
    expect(f.fresh(first + 1)).to.equal(false);
    expect(f.challenge, "a wrong echo changes nothing").to.equal(first);
    expect(f.fresh(first)).to.equal(true);
    expect(f.challenge).to.not.equal(first);
    expect(f.fresh(first), "the same echo replayed").to.equal(false);
  });

  it("as leader, echoes each follower's latest challenge", () => {
    const f = new Freshness(() => 0.5);
    expect(f.echoFor(B)).to.equal(undefined);
    f.answered(B, 7);
    f.answered(C, 9);
    f.answered(B, 8);
    expect([f.echoFor(B), f.echoFor(C)]).to.deep.equal([8, 9]);
  });

  it("as leader, keeps a newer challenge when an older one arrives late or is replayed", () => {
    const f = new Freshness(() => 0.5);
    f.answered(B, 7);
    f.answered(B, 8);
    f.answered(B, 7); // an ack sent before the one with 8, delivered after it (or an attacker's replay)
    expect(f.echoFor(B)).to.equal(8);
    f.answered(B, 9);
    expect(f.echoFor(B)).to.equal(9);
    f.answered(C, 7); // per follower: C's challenges are its own
    expect(f.echoFor(C)).to.equal(7);
  });
});

describe("where a decided member asks for its block", () => {
  it("asks those that said the height is decided first, then the certificate's leader, then everyone, never itself", () => {
    const fetch = new BlockFetch(A, { epoch: 0, members: [A, B, C] });
    fetch.hint(C);
    fetch.hint(C);
    const asked: string[] = [];
    for (let i = 0; i < 4; i++) {
      asked.push(fetch.next(B));
      fetch.requested();
    }
    expect(asked).to.deep.equal([C, B, C, B]);
    fetch.reset();
    expect(fetch.requests).to.equal(0);
    expect(fetch.next(A), "its own certificate's leader is not asked").to.equal(B);
  });

  it("waits twice as long after each unanswered request", () => {
    const fetch = new BlockFetch(A, { epoch: 0, members: [A, B, C] });
    const first = fetch.timeout(400, 0);
    fetch.requested();
    expect(fetch.timeout(400, 0)).to.equal(2 * first);
  });
});
