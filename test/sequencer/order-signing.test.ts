import { expect } from "chai";
import fc from "fast-check";
import { Wallet, hexlify } from "ethers";
import { signMessage, typedDataDigest, veilDomain, type OrderCommitment } from "../../sequencer/chain/eip712";
import { OrderCommitmentHasher } from "../../sequencer/node/order-signing";

const domain = veilDomain(31337n, "0x5FbDB2315678afecb367f032d93F642f64180aa3");
const hasher = new OrderCommitmentHasher(domain);
const leader = new Wallet("0x" + "11".repeat(32));
const other = new Wallet("0x" + "22".repeat(32));

const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => hexlify(b));
const commitment: fc.Arbitrary<OrderCommitment> = fc.record({
  rollupId: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  blockHeight: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  txIndex: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
  encTxHash: bytes32,
  preRoot: bytes32,
});

describe("OrderCommitmentHasher: the EIP-712 OrderCommitment digest without ethers' typed-data encoder", () => {
  it("computes the same digest as ethers' TypedDataEncoder for any commitment", () => {
    fc.assert(
      fc.property(commitment, (c) => {
        expect(hasher.digest(c)).to.equal(typedDataDigest(domain, "OrderCommitment", c));
      }),
      { numRuns: 200 },
    );
  });

  it("signs exactly what signTypedData signs, and recognises its signer", async () => {
    await fc.assert(
      fc.asyncProperty(commitment, async (c) => {
        const signature = hasher.sign(leader.signingKey, c);
        expect(signature).to.equal(await signMessage(leader, domain, "OrderCommitment", c));
        expect(hasher.isSignedBy(c, signature, leader.address)).to.equal(true);
        expect(hasher.isSignedBy(c, signature, other.address)).to.equal(false);
      }),
      { numRuns: 30 },
    );
  });

  it("rejects a signature over any changed field", () => {
    fc.assert(
      fc.property(commitment, fc.constantFrom("rollupId", "blockHeight", "txIndex", "encTxHash", "preRoot"), (c, f) => {
        const signature = hasher.sign(leader.signingKey, c);
        const changed: OrderCommitment =
          f === "txIndex"
            ? { ...c, txIndex: c.txIndex ^ 1 }
            : f === "rollupId" || f === "blockHeight"
              ? { ...c, [f]: c[f] ^ 1n }
              : { ...c, [f]: `0x${(BigInt(c[f]) ^ 1n).toString(16).padStart(64, "0")}` };
        expect(hasher.isSignedBy(changed, signature, leader.address)).to.equal(false);
      }),
      { numRuns: 30 },
    );
  });

  it("answers false for a malformed signature instead of throwing", () => {
    const c = {
      rollupId: 7n,
      blockHeight: 0n,
      txIndex: 0,
      encTxHash: "0x" + "ab".repeat(32),
      preRoot: "0x" + "00".repeat(32),
    };
    expect(hasher.isSignedBy(c, "0x1234", leader.address)).to.equal(false);
    expect(hasher.isSignedBy(c, "0x" + "00".repeat(65), leader.address)).to.equal(false);
  });

  it("refuses values outside their EIP-712 types", () => {
    const c = {
      rollupId: 7n,
      blockHeight: 0n,
      txIndex: 0,
      encTxHash: "0x" + "ab".repeat(32),
      preRoot: "0x" + "00".repeat(32),
    };
    expect(() => hasher.digest({ ...c, rollupId: 1n << 64n })).to.throw(RangeError, /rollupId/);
    expect(() => hasher.digest({ ...c, blockHeight: -1n })).to.throw(RangeError, /blockHeight/);
    expect(() => hasher.digest({ ...c, txIndex: 2 ** 32 })).to.throw(RangeError, /txIndex/);
    expect(() => hasher.digest({ ...c, txIndex: 0.5 })).to.throw(RangeError, /txIndex/);
    expect(() => hasher.digest({ ...c, encTxHash: "0x1234" })).to.throw(RangeError, /encTxHash/);
    expect(() => hasher.digest({ ...c, preRoot: "0x" + "zz".repeat(32) })).to.throw(RangeError, /preRoot/);
  });
});
