import { expect } from "chai";
import fc from "fast-check";
import { z } from "zod";
import { Wallet, getAddress, hexlify } from "ethers";
import {
  signMessage,
  typedDataDigest,
  veilDomain,
  type ClusterMessage,
  type OrderCommitment,
  type Seal,
  type ViewChange,
} from "../../sequencer/chain/eip712";
import { openEnvelope, sealEnvelope } from "../../sequencer/node/cluster/envelope";
import {
  ClusterMessageHasher,
  OrderCommitmentHasher,
  SealHasher,
  ViewChangeHasher,
} from "../../sequencer/node/order-signing";

const countSchema = z.strictObject({ count: z.number() });

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
  viewNumber: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
  epoch: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
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
      fc.property(
        commitment,
        fc.constantFrom("rollupId", "blockHeight", "txIndex", "encTxHash", "preRoot", "viewNumber"),
        (c, f) => {
          const signature = hasher.sign(leader.signingKey, c);
          const changed: OrderCommitment =
            f === "txIndex" || f === "viewNumber"
              ? { ...c, [f]: c[f] ^ 1 }
              : f === "rollupId" || f === "blockHeight"
                ? { ...c, [f]: c[f] ^ 1n }
                : { ...c, [f]: `0x${(BigInt(c[f]) ^ 1n).toString(16).padStart(64, "0")}` };
          expect(hasher.isSignedBy(changed, signature, leader.address)).to.equal(false);
        },
      ),
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
      viewNumber: 0,
      epoch: 0,
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
      viewNumber: 0,
      epoch: 0,
    };
    expect(() => hasher.digest({ ...c, rollupId: 1n << 64n })).to.throw(RangeError, /rollupId/);
    expect(() => hasher.digest({ ...c, blockHeight: -1n })).to.throw(RangeError, /blockHeight/);
    expect(() => hasher.digest({ ...c, txIndex: 2 ** 32 })).to.throw(RangeError, /txIndex/);
    expect(() => hasher.digest({ ...c, txIndex: 0.5 })).to.throw(RangeError, /txIndex/);
    expect(() => hasher.digest({ ...c, encTxHash: "0x1234" })).to.throw(RangeError, /encTxHash/);
    expect(() => hasher.digest({ ...c, preRoot: "0x" + "zz".repeat(32) })).to.throw(RangeError, /preRoot/);
  });
});

describe("ClusterMessageHasher: the EIP-712 ClusterMessage digest of every node-to-node envelope", () => {
  const messages = new ClusterMessageHasher(domain);
  const message: fc.Arbitrary<ClusterMessage> = fc.record({
    clusterId: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
    viewNumber: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
    sender: fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => getAddress(hexlify(b))),
    kind: fc.integer({ min: 0, max: 255 }),
    payloadHash: bytes32,
  });

  it("computes the same digest as ethers' TypedDataEncoder for any message", () => {
    fc.assert(
      fc.property(message, (m) => {
        expect(messages.digest(m)).to.equal(typedDataDigest(domain, "ClusterMessage", m));
      }),
      { numRuns: 200 },
    );
  });

  it("signs exactly what signTypedData signs, and recognises only its signer", async () => {
    await fc.assert(
      fc.asyncProperty(message, async (m) => {
        const signature = messages.sign(leader.signingKey, m);
        expect(signature).to.equal(await signMessage(leader, domain, "ClusterMessage", m));
        expect(messages.isSignedBy(m, signature, leader.address)).to.equal(true);
        expect(messages.isSignedBy(m, signature, other.address)).to.equal(false);
        expect(messages.isSignedBy({ ...m, viewNumber: m.viewNumber ^ 1 }, signature, leader.address)).to.equal(false);
      }),
      { numRuns: 30 },
    );
  });

  it("refuses values outside their EIP-712 types", () => {
    const m: ClusterMessage = {
      clusterId: 1n,
      viewNumber: 0,
      sender: leader.address,
      kind: 1,
      payloadHash: "0x" + "ab".repeat(32),
    };
    expect(() => messages.digest({ ...m, clusterId: 1n << 64n })).to.throw(RangeError, /clusterId/);
    expect(() => messages.digest({ ...m, viewNumber: 2 ** 32 })).to.throw(RangeError, /viewNumber/);
    expect(() => messages.digest({ ...m, kind: 256 })).to.throw(RangeError, /kind/);
    expect(() => messages.digest({ ...m, sender: "0x1234" })).to.throw(RangeError, /sender/);
  });

  it("an envelope sealed with it opens, and one whose payload or signer changed does not", async () => {
    const open = (env: { message: unknown; signature: string; payload: unknown }, member = leader.address) =>
      openEnvelope(
        { ...env, message: { ...(env.message as ClusterMessage), clusterId: 9n } },
        { domain, clusterId: 9n, kind: 2, isMember: (a) => a === member, schema: countSchema },
      );
    const env = await sealEnvelope(leader, domain, 9n, 3, 2, { count: 5 });
    expect(open(env)).to.deep.equal({ count: 5 });
    expect(() => open({ ...env, payload: { count: 6 } })).to.throw(/payloadHash/);
    const forged = { ...env, message: { ...env.message, sender: other.address } };
    expect(() => open(forged, other.address)).to.throw(/not signed by its sender/);
  });
});

describe("SealHasher: the EIP-712 Seal digest the leader and every certifying member sign", () => {
  const seals = new SealHasher(domain);
  const seal: fc.Arbitrary<Seal> = fc.record({
    rollupId: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
    height: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
    txCount: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
    encRoot: bytes32,
    inboxBlock: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
    viewNumber: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
    epoch: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
  });

  it("signs exactly what signTypedData signs, and recognises only its signer, for any seal", async () => {
    await fc.assert(
      fc.asyncProperty(seal, async (s) => {
        expect(seals.digest(s)).to.equal(typedDataDigest(domain, "Seal", s));
        const signature = seals.sign(leader.signingKey, s);
        expect(signature).to.equal(await signMessage(leader, domain, "Seal", s));
        expect(seals.isSignedBy(s, signature, leader.address)).to.equal(true);
        expect(seals.isSignedBy(s, signature, other.address)).to.equal(false);
        expect(seals.isSignedBy({ ...s, viewNumber: s.viewNumber ^ 1 }, signature, leader.address)).to.equal(false);
      }),
      { numRuns: 50 },
    );
  });
});

describe("ViewChangeHasher: the EIP-712 ViewChange vote a member signs when it leaves a height's lower views", () => {
  const votes = new ViewChangeHasher(domain);
  const vote: fc.Arbitrary<ViewChange> = fc.record({
    rollupId: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
    height: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
    viewNumber: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
    epoch: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
  });

  it("signs exactly what signTypedData signs, and binds the view and the epoch, for any vote", async () => {
    await fc.assert(
      fc.asyncProperty(vote, async (v) => {
        expect(votes.digest(v)).to.equal(typedDataDigest(domain, "ViewChange", v));
        const signature = votes.sign(leader.signingKey, v);
        expect(signature).to.equal(await signMessage(leader, domain, "ViewChange", v));
        expect(votes.isSignedBy(v, signature, leader.address)).to.equal(true);
        expect(votes.isSignedBy({ ...v, viewNumber: v.viewNumber ^ 1 }, signature, leader.address)).to.equal(false);
        expect(votes.isSignedBy({ ...v, epoch: v.epoch ^ 1 }, signature, leader.address)).to.equal(false);
      }),
      { numRuns: 50 },
    );
  });
});
