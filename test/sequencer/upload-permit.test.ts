import { expect } from "chai";
import { Wallet } from "ethers";
import { veilDomain } from "../../sequencer/chain/eip712";
import { PERMIT_LIFETIME_SECONDS, UploadPermits } from "../../sequencer/node/cluster/upload-permit";

describe("upload permits: a member's signed permit for one cluster body over the public limit", () => {
  const domain = veilDomain(31337n, "0x" + "ab".repeat(20));
  const member = Wallet.createRandom() as unknown as Wallet;
  const other = Wallet.createRandom() as unknown as Wallet;
  const outsider = Wallet.createRandom() as unknown as Wallet;
  const members = new Set([member.address, other.address]);
  const permitsOf = (wallet: Wallet, clusterId = 3n, d = domain) =>
    new UploadPermits({ wallet, domain: d, clusterId, isMember: (a) => members.has(a) });
  const mine = permitsOf(member);
  const now = 1_800_000_000;

  it("admits the body size it was issued for, by a member, within its lifetime either way", () => {
    const permit = mine.issue(5_000_000, now);
    expect(permitsOf(other).refusal(permit, 5_000_000, now)).to.equal(undefined);
    expect(mine.refusal(permit, 5_000_000, now + PERMIT_LIFETIME_SECONDS)).to.equal(undefined);
    expect(mine.refusal(permit, 5_000_000, now - PERMIT_LIFETIME_SECONDS)).to.equal(undefined); // a clock behind
  });

  it("refuses a missing or malformed header", () => {
    expect(mine.refusal(undefined, 2_000, now)).to.match(/no x-veil-upload-permit header/);
    for (const bad of [
      "",
      "x",
      `${member.address}.${now}`,
      `${member.address}.${now}.0x12`,
      `0x12.${now}.0x${"00".repeat(65)}`,
    ]) {
      expect(mine.refusal(bad, 2_000, now), bad).to.match(/is not sender\.issuedAt\.signature/);
    }
  });

  it("refuses another body size, an expired or future permit, a non-member, and a forged sender", () => {
    const permit = mine.issue(5_000_000, now);
    expect(mine.refusal(permit, 5_000_001, now)).to.match(/is not 0x[0-9a-fA-F]{40}'s for a body of 5000001 bytes/);
    expect(mine.refusal(permit, 5_000_000, now + PERMIT_LIFETIME_SECONDS + 1)).to.match(/more than 120 s from now/);
    expect(mine.refusal(permit, 5_000_000, now - PERMIT_LIFETIME_SECONDS - 1)).to.match(/more than 120 s from now/);
    expect(mine.refusal(permitsOf(outsider).issue(5_000_000, now), 5_000_000, now)).to.match(/is not a cluster member/);
    // The outsider's signature under a member's name.
    const [, issued, signature] = permitsOf(outsider).issue(5_000_000, now).split(".");
    expect(mine.refusal(`${member.address}.${issued}.${signature}`, 5_000_000, now)).to.match(
      /is not 0x.*'s for a body/,
    );
  });

  it("refuses a permit signed for another cluster or another deployment's domain", () => {
    const elsewhere = [permitsOf(member, 4n), permitsOf(member, 3n, veilDomain(1n, "0x" + "ab".repeat(20)))];
    for (const p of elsewhere) {
      expect(mine.refusal(p.issue(5_000_000, now), 5_000_000, now)).to.match(/'s for a body/);
    }
  });
});
