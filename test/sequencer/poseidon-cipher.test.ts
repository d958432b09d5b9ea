import { expect } from "chai";
import fc from "fast-check";
import {
  poseidonDecrypt as zkKitDecrypt,
  poseidonEncrypt as zkKitEncrypt,
  poseidonPerm,
} from "@zk-kit/poseidon-cipher";
import * as lite from "poseidon-lite";
import { FIELD, SUBGROUP_ORDER, mulBase } from "../../sequencer/crypto/babyjub";
import { poseidonChain, poseidonHash, poseidonPermutation } from "../../sequencer/crypto/poseidon";
import { DecryptionError, poseidonDecrypt, poseidonEncrypt } from "../../sequencer/crypto/poseidon-cipher";

const fieldElement = fc.bigInt({ min: 0n, max: FIELD - 1n });
const sharedKey = fc.bigInt({ min: 1n, max: SUBGROUP_ORDER - 1n }).map((k) => mulBase(k));
const nonce = fc.bigInt({ min: 0n, max: (1n << 128n) - 1n });
const liteHashes = lite as unknown as Record<string, (inputs: bigint[]) => bigint>;

describe("Poseidon permutation and hashes", () => {
  it("equals the width-4 permutation of @zk-kit/poseidon-cipher (property)", () => {
    fc.assert(
      fc.property(fc.array(fieldElement, { minLength: 4, maxLength: 4 }), (state) => {
        return String(poseidonPermutation(state)) === String(poseidonPerm(state));
      }),
      { numRuns: 30 },
    );
  });

  it("equals poseidon-lite (circomlib's Poseidon) for every arity 1..16", () => {
    for (let n = 1; n <= 16; n++) {
      const inputs = Array.from({ length: n }, (_, i) => (BigInt(i + 1) * 0x1234567890abcdefn) ** 3n % FIELD);
      expect(poseidonHash(inputs), `arity ${n}`).to.equal(liteHashes[`poseidon${n}`]!(inputs));
    }
  });

  it("chains: Poseidon of the first 16, then Poseidon(previous, next ≤ 15)", () => {
    const xs = Array.from({ length: 33 }, (_, i) => BigInt(i));
    const first = lite.poseidon16(xs.slice(0, 16));
    const second = lite.poseidon16([first, ...xs.slice(16, 31)]);
    expect(poseidonChain(xs)).to.equal(lite.poseidon3([second, 31n, 32n]));
    expect(poseidonChain(xs.slice(0, 5))).to.equal(lite.poseidon5(xs.slice(0, 5)));
  });

  it("rejects inputs that are not field elements, and unsupported widths", () => {
    expect(() => poseidonPermutation([0n, 1n, 2n, FIELD])).to.throw(/field element/);
    expect(() => poseidonPermutation([0n])).to.throw(/width/);
    expect(() => poseidonHash([])).to.throw(/1\.\.16/);
    expect(() => poseidonChain([])).to.throw(/no inputs/);
  });
});

describe("Poseidon cipher (interoperable with @zk-kit/poseidon-cipher)", () => {
  it("encrypts exactly like the library, and each side decrypts the other's ciphertext (property)", () => {
    fc.assert(
      fc.property(fc.array(fieldElement, { minLength: 1, maxLength: 20 }), sharedKey, nonce, (message, key, n) => {
        const ours = poseidonEncrypt(message, key, n);
        const theirs = zkKitEncrypt(message, [...key], n);
        return (
          String(ours) === String(theirs) &&
          String(zkKitDecrypt(ours, [...key], n, message.length)) === String(message) &&
          String(poseidonDecrypt(theirs, key, n, message.length)) === String(message)
        );
      }),
      { numRuns: 25 },
    );
  });

  it("fails to decrypt under a wrong key, nonce or length", () => {
    const key = mulBase(5n);
    const ciphertext = poseidonEncrypt([1n, 2n, 3n, 4n, 5n], key, 9n);
    expect(() => poseidonDecrypt(ciphertext, mulBase(6n), 9n, 5)).to.throw(DecryptionError, /authenticate/);
    expect(() => poseidonDecrypt(ciphertext, key, 10n, 5)).to.throw(DecryptionError, /authenticate/);
    expect(() => poseidonDecrypt(ciphertext, key, 9n, 4)).to.throw(DecryptionError, /authenticate/);
    expect(() => poseidonDecrypt(ciphertext, key, 9n, 7)).to.throw(DecryptionError, /elements/);
  });

  it("detects any tampered ciphertext element (property)", () => {
    const key = mulBase(77n);
    const ciphertext = poseidonEncrypt([11n, 22n, 33n, 44n, 55n, 66n], key, 1n);
    fc.assert(
      fc.property(fc.nat({ max: ciphertext.length - 1 }), fc.bigInt({ min: 1n, max: FIELD - 1n }), (i, delta) => {
        const tampered = [...ciphertext];
        tampered[i] = (tampered[i]! + delta) % FIELD;
        expect(() => poseidonDecrypt(tampered, key, 1n, 6)).to.throw(DecryptionError);
      }),
      { numRuns: 30 },
    );
  });

  it("refuses nonces of 2^128 or more and messages that are not field elements", () => {
    expect(() => poseidonEncrypt([1n], mulBase(3n), 1n << 128n)).to.throw(/nonce/);
    expect(() => poseidonEncrypt([FIELD], mulBase(3n), 0n)).to.throw(/field element/);
  });
});
