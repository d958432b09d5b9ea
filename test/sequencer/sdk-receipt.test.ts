import { expect } from "chai";
import fc from "fast-check";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { certifyView, viewCertificateToJson, type ViewCertificate } from "../../sequencer/chain/certificate";
import { signMessage, type ViewChange } from "../../sequencer/chain/eip712";
import { MERKLE_DEPTH, toBytes32 } from "../../sequencer/chain/merkle";
import { ReceiptError, type ReceiptFailure } from "../../sequencer/sdk/errors";
import { verifyReceipt, type ExpectedOrder } from "../../sequencer/sdk/receipt";
import { ROLLUP_ID, leaderSigner } from "../contracts/fixture";
import { HEIGHT, orderOurTransaction, receiptJson, sdkWorld, type Ordered, type SdkWorld } from "./sdk-fixture";

async function rejection(promise: Promise<unknown>): Promise<ReceiptFailure> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(ReceiptError);
    return (error as ReceiptError).reason;
  }
  expect.fail("the receipt was accepted");
}

describe("SDK: order receipt verification", () => {
  let w: SdkWorld;
  let ordered: Ordered;
  let expected: ExpectedOrder;

  beforeEach(async () => {
    w = await loadFixture(sdkWorld);
    ordered = await orderOurTransaction(w);
    expected = { rollupId: ROLLUP_ID, height: HEIGHT, encTxHash: ordered.encTxHash };
  });

  const verify = (raw: unknown, exp: ExpectedOrder = expected) => verifyReceipt(raw, exp, w.chain);

  it("accepts an honest receipt signed by the registry's leader of the height, with a PRE proof opening preRoot", async () => {
    const receipt = await verify(receiptJson(ordered));
    expect(receipt.commitment).to.deep.equal(ordered.order);
    expect(receipt.leader).to.equal(ordered.leader.address);
    expect(receipt.preProof).to.have.length(MERKLE_DEPTH);
  });

  describe("a later view's receipt", () => {
    let viewOne: ViewChange;
    let failover: Ordered;
    beforeEach(async () => {
      failover = await orderOurTransaction(w, 3, HEIGHT, 1);
      viewOne = { rollupId: ROLLUP_ID, height: HEIGHT, viewNumber: 1, epoch: failover.order.epoch };
    });
    const verifyFailover = (proof?: ViewCertificate) =>
      verify(receiptJson(failover, 1, proof === undefined ? {} : { viewCertificate: viewCertificateToJson(proof) }), {
        ...expected,
        encTxHash: failover.encTxHash,
      });

    it("is accepted from the view's leader with a majority's certificate that the view began", async () => {
      const receipt = await verifyFailover(await certifyView(w.members.slice(0, 3), w.domain, viewOne));
      expect(receipt.viewNumber).to.equal(1);
      expect(receipt.leader).to.equal(leaderSigner(w, HEIGHT, 1).address);
    });

    it("is rejected without a certificate: the schedule names a leader for every view", async () => {
      expect(await rejection(verifyFailover())).to.equal("view-unproven");
    });

    it("is rejected with a certificate signed by the leader and one other member only (a minority of 4)", async () => {
      const minority = await certifyView([failover.leader, w.members[0]!], w.domain, viewOne);
      expect(await rejection(verifyFailover(minority))).to.equal("view-unproven");
    });

    it("is rejected when the certificate's majority includes an outsider", async () => {
      const forged = await certifyView([...w.members.slice(0, 2), w.outsider], w.domain, viewOne);
      expect(await rejection(verifyFailover(forged))).to.equal("view-unproven");
    });

    it("is rejected with the certificate of another view or epoch", async () => {
      const other = await certifyView(w.members.slice(0, 3), w.domain, { ...viewOne, viewNumber: 2 });
      expect(await rejection(verifyFailover(other))).to.equal("malformed");
      const earlier = await certifyView(w.members.slice(0, 3), w.domain, { ...viewOne, epoch: viewOne.epoch - 1 });
      expect(await rejection(verifyFailover(earlier))).to.equal("malformed");
    });
  });

  it("rejects a receipt naming an epoch whose members are not fixed yet: its leader is nobody's to know", async () => {
    const order = { ...ordered.order, epoch: ordered.order.epoch + 5 };
    const signature = await signMessage(ordered.leader, w.domain, "OrderCommitment", order);
    expect(await rejection(verify(receiptJson({ ...ordered, order, signature })))).to.equal("unknown-epoch");
  });

  it("rejects a receipt signed by someone who is not a leader", async () => {
    const forged = await signMessage(w.outsider, w.domain, "OrderCommitment", ordered.order);
    expect(
      await rejection(verify(receiptJson(ordered, 0, { signature: forged, leader: w.outsider.address }))),
    ).to.equal("signer-not-leader");
  });

  it("rejects a receipt whose signer leads another view than the one it claims", async () => {
    const viewOneLeader = leaderSigner(w, HEIGHT, 1);
    const signature = await signMessage(viewOneLeader, w.domain, "OrderCommitment", ordered.order);
    const claimingViewZero = receiptJson(ordered, 0, { signature, leader: viewOneLeader.address });
    expect(await rejection(verify(claimingViewZero))).to.equal("signer-not-leader");
    // And the view-0 leader cannot pass its signature off as view 2's.
    const claimingViewTwo = { ...ordered, order: { ...ordered.order, viewNumber: 2 } };
    expect(await rejection(verify(receiptJson(claimingViewTwo, 2)))).to.equal("signer-not-leader");
    // The view outside the signed commitment cannot differ from the one inside it.
    expect(await rejection(verify(receiptJson(ordered, 2)))).to.equal("malformed");
  });

  it("rejects a receipt signed under another domain (chain id or VSM address)", async () => {
    const otherDomain = { ...w.domain, chainId: w.domain.chainId + 1n };
    const signature = await signMessage(ordered.leader, otherDomain, "OrderCommitment", ordered.order);
    expect(await rejection(verify(receiptJson(ordered, 0, { signature })))).to.equal("signer-not-leader");
  });

  it("rejects a receipt naming another leader than the signer", async () => {
    expect(await rejection(verify(receiptJson(ordered, 0, { leader: w.outsider.address })))).to.equal(
      "leader-mismatch",
    );
  });

  it("rejects a signed preRoot that the PRE proof does not open", async () => {
    const tampered = { ...ordered.order, preRoot: toBytes32(12345n) };
    const signature = await signMessage(ordered.leader, w.domain, "OrderCommitment", tampered);
    const raw = receiptJson({ ...ordered, order: tampered, signature });
    expect(await rejection(verify(raw))).to.equal("pre-proof-invalid");
  });

  it("rejects a PRE proof with any sibling changed (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: MERKLE_DEPTH - 1 }),
        fc.bigInt({ min: 1n, max: 2n ** 255n }),
        async (level, v) => {
          const preProof = [...ordered.append.preProof];
          if (preProof[level] === toBytes32(v)) return;
          preProof[level] = toBytes32(v);
          expect(await rejection(verify(receiptJson(ordered, 0, { preProof })))).to.equal("pre-proof-invalid");
        },
      ),
      { numRuns: 25 },
    );
  });

  it("rejects a PRE proof of the wrong length", async () => {
    const preProof = ordered.append.preProof.slice(1);
    expect(await rejection(verify(receiptJson(ordered, 0, { preProof })))).to.equal("pre-proof-invalid");
  });

  it("rejects a receipt for another encrypted transaction than the one sent", async () => {
    const other = await orderOurTransaction(w); // fresh randomness: another ciphertext, another encTxHash
    expect(other.encTxHash).to.not.equal(ordered.encTxHash);
    expect(await rejection(verify(receiptJson(other)))).to.equal("enc-tx-hash-mismatch");
  });

  it("rejects a receipt for another height or rollup", async () => {
    const later = await orderOurTransaction(w, 3, HEIGHT + 1n);
    expect(await rejection(verify(receiptJson(later), { ...expected, encTxHash: later.encTxHash }))).to.equal(
      "wrong-round",
    );
    expect(await rejection(verify(receiptJson(ordered), { ...expected, rollupId: ROLLUP_ID + 1n }))).to.equal(
      "wrong-round",
    );
  });

  it("rejects malformed receipts and signatures that do not recover", async () => {
    expect(await rejection(verify({}))).to.equal("malformed");
    expect(await rejection(verify(receiptJson(ordered, 0, { signature: "0x1234" })))).to.equal("malformed");
    expect(await rejection(verify({ ...receiptJson(ordered), extra: 1 }))).to.equal("malformed");
    const unrecoverable = `0x${"00".repeat(64)}1b`;
    expect(await rejection(verify(receiptJson(ordered, 0, { signature: unrecoverable })))).to.equal("bad-signature");
  });
});
