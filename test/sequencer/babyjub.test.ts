import * as zk from "@zk-kit/baby-jubjub";
import { expect } from "chai";
import fc from "fast-check";
import {
  BASE8,
  FIELD,
  IDENTITY,
  SUBGROUP_ORDER,
  add,
  assertPublicKey,
  equals,
  isInSubgroup,
  isOnCurve,
  mul,
  mulBase,
  negate,
  randomScalar,
  type Point,
} from "../../sequencer/crypto/babyjub";

const scalar = fc.bigInt({ min: 0n, max: SUBGROUP_ORDER * 2n });

describe("BabyJubJub arithmetic", () => {
  it("uses the same constants as @zk-kit/baby-jubjub", () => {
    expect(FIELD).to.equal(zk.r);
    expect(SUBGROUP_ORDER).to.equal(zk.subOrder);
    expect([...BASE8]).to.deep.equal(zk.Base8);
  });

  it("agrees with @zk-kit/baby-jubjub on scalar multiplication and addition", () => {
    fc.assert(
      fc.property(scalar, scalar, (k1, k2) => {
        const p = mulBase(k1);
        const q = mulBase(k2);
        expect([...p]).to.deep.equal(zk.mulPointEscalar(zk.Base8, k1));
        expect([...add(p, q)]).to.deep.equal(zk.addPoint([...p], [...q]));
      }),
      { numRuns: 20 },
    );
  });

  it("is a group action: (k1 + k2)·B = k1·B + k2·B and ℓ·B is the identity", () => {
    fc.assert(
      fc.property(scalar, scalar, (k1, k2) => {
        expect(equals(mulBase(k1 + k2), add(mulBase(k1), mulBase(k2)))).to.equal(true);
      }),
      { numRuns: 20 },
    );
    expect(equals(mulBase(SUBGROUP_ORDER), IDENTITY)).to.equal(true);
    expect(equals(add(BASE8, negate(BASE8)), IDENTITY)).to.equal(true);
  });

  it("accepts subgroup points and rejects off-curve points, the identity and low-order points", () => {
    expect(isInSubgroup(mulBase(randomScalar()))).to.equal(true);
    expect(isOnCurve([1n, 2n])).to.equal(false);
    expect(isInSubgroup(IDENTITY)).to.equal(false);
    // (0, -1) is on the curve with order 2: an attacker's favourite small-subgroup point.
    const orderTwo: Point = [0n, FIELD - 1n];
    expect(isOnCurve(orderTwo)).to.equal(true);
    expect(isInSubgroup(orderTwo)).to.equal(false);
    expect(() => assertPublicKey(orderTwo)).to.throw(/prime-order subgroup/);
    expect(() => assertPublicKey([1n, 2n])).to.throw(/not on BabyJubJub/);
    // A subgroup point plus a point of order 2 is on the curve but outside the subgroup.
    expect(isInSubgroup(add(BASE8, orderTwo))).to.equal(false);
  });

  it("draws random scalars in [1, ℓ)", () => {
    for (let i = 0; i < 50; i++) {
      const k = randomScalar();
      expect(k > 0n && k < SUBGROUP_ORDER).to.equal(true);
    }
  });

  it("rejects a negative scalar", () => {
    expect(() => mul(BASE8, -1n)).to.throw(/negative/);
  });
});
