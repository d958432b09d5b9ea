import { expect } from "chai";
import fc from "fast-check";
import { Signature, SigningKey, computeAddress, concat, hexlify, keccak256, recoverAddress, toBeHex } from "ethers";
import { ecdsaImplementation, recoverDigest, signDigest } from "../../sequencer/chain/ecdsa";
import { keccak256Bytes, keccakImplementation } from "../../sequencer/chain/keccak";
import { hashLeaf, hashNode } from "../../sequencer/chain/merkle";

describe("keccak256Bytes: the hot-path keccak-256 (native when its binary loads)", () => {
  it("uses the native permutation on this machine (its binary ships for linux-x64)", () => {
    expect(keccakImplementation).to.equal("native");
  });

  it("equals ethers' keccak256 for any input, across the 136-byte rate boundary", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 700 }), (bytes) => {
        expect(keccak256Bytes(bytes)).to.equal(keccak256(bytes));
        expect(keccak256Bytes(Buffer.from(bytes))).to.equal(keccak256(bytes));
      }),
      { numRuns: 300 },
    );
  });

  it("hashes a view into a larger buffer by its own bytes only", () => {
    const whole = Buffer.from("00112233445566778899", "hex");
    const view = whole.subarray(3, 7);
    expect(keccak256Bytes(view)).to.equal(keccak256(hexlify(view)));
  });
});

describe("Merkle hashing through the reused buffers", () => {
  const word = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => hexlify(b));

  it("hashes a leaf and a node exactly as keccak(prefix ‖ data) through ethers does", () => {
    fc.assert(
      fc.property(word, word, (l, r) => {
        expect(hashLeaf(l)).to.equal(keccak256(concat(["0x00", l])));
        expect(hashNode(l, r)).to.equal(keccak256(concat(["0x01", l, r])));
        expect(hashNode(l.toUpperCase().replace("0X", "0x"), r)).to.equal(keccak256(concat(["0x01", l, r])));
      }),
      { numRuns: 200 },
    );
  });

  it("keeps ethers' handling of anything that is not two 32-byte words", () => {
    expect(hashNode("0x01", "0x02")).to.equal(keccak256("0x010102"));
    expect(() => hashNode("0xzz", "0x" + "00".repeat(32))).to.throw();
    expect(() => hashLeaf("0x1234")).to.throw(/32 bytes/);
  });
});

describe("signDigest / recoverDigest: the hot-path secp256k1 (native when its binary loads)", () => {
  const key = fc.uint8Array({ minLength: 32, maxLength: 32 }).filter((b) => {
    const k = BigInt(hexlify(b));
    return k > 0n && k < 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
  });
  const digest = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => hexlify(b));

  it("uses libsecp256k1 on this machine", () => {
    expect(ecdsaImplementation).to.equal("native");
  });

  it("signs byte-identically to ethers' SigningKey and recovers the signer", () => {
    fc.assert(
      fc.property(key, digest, (k, d) => {
        const signingKey = new SigningKey(hexlify(k));
        const signature = signDigest(signingKey, d);
        expect(signature).to.equal(signingKey.sign(d).serialized);
        expect(recoverDigest(d, signature)).to.equal(computeAddress(signingKey.publicKey));
      }),
      { numRuns: 50 },
    );
  });

  it("answers like ethers for a high-s twin, a compact signature and garbage", () => {
    const signingKey = new SigningKey("0x" + "42".repeat(32));
    const d = keccak256("0x01");
    const sig = Signature.from(signingKey.sign(d));
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
    const highS = concat([sig.r, toBeHex(n - BigInt(sig.s), 32), sig.v === 27 ? "0x1c" : "0x1b"]);
    const outcome = (f: () => string): string => {
      try {
        return f();
      } catch {
        return "throws";
      }
    };
    for (const s of [highS, sig.compactSerialized, "0x" + "00".repeat(65), "0x1234"]) {
      expect(outcome(() => recoverDigest(d, s))).to.equal(outcome(() => recoverAddress(d, s)));
    }
  });
});
