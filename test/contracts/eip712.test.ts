import { expect } from "chai";
import fc from "fast-check";
import { ethers } from "hardhat";
import { AbiCoder, Wallet, keccak256, toUtf8Bytes } from "ethers";
import {
  ClusterMessageKind,
  TYPES,
  encodeType,
  isSignedBy,
  parseMessage,
  recoverSigner,
  signMessage,
  structHash,
  taskIdOf,
  typedDataDigest,
  veilDomain,
  type BlockCommitment,
  type ClusterMessage,
  type FinalizeRequest,
  type OperatorResponse,
  type OrderCommitment,
  type Seal,
  type VeilDomain,
} from "../../sequencer/chain/eip712";
import type { VeilTypesHarness } from "../../typechain-types";

const h = (label: string): string => keccak256(toUtf8Bytes(label));

const order: OrderCommitment = {
  rollupId: 42n,
  blockHeight: 7n,
  txIndex: 3,
  encTxHash: h("tx"),
  preRoot: h("pre"),
  viewNumber: 2,
  epoch: 5,
};
const block: BlockCommitment = {
  rollupId: 42n,
  height: 7n,
  txCount: 9,
  encRoot: h("enc"),
  inboxBlock: 1234n,
  forcedCount: 5,
  rawRoot: h("raw"),
  viewNumber: 2,
};
const seal: Seal = {
  rollupId: 42n,
  height: 7n,
  txCount: 9,
  encRoot: h("enc"),
  inboxBlock: 12_345n,
  viewNumber: 2,
  epoch: 5,
};
const finalize: FinalizeRequest = { rollupId: 42n, height: 7n, deadline: 1_900_000_000n };
const signerWallet = Wallet.createRandom();
const envelope: ClusterMessage = {
  clusterId: 1n,
  viewNumber: 0,
  sender: signerWallet.address,
  kind: ClusterMessageKind.Ack,
  payloadHash: h("payload"),
};

describe("EIP-712 messages (sequencer/chain/eip712.ts against VeilTypes.sol)", () => {
  let harness: VeilTypesHarness;
  let domain: VeilDomain;

  before(async () => {
    harness = await (await ethers.getContractFactory("VeilTypesHarness")).deploy();
    const { chainId } = await ethers.provider.getNetwork();
    domain = veilDomain(chainId, await harness.getAddress());
  });

  it("builds the domain the contract reports (ERC-5267)", async () => {
    const reported = await harness.eip712Domain();
    expect(reported.name).to.equal(domain.name);
    expect(reported.version).to.equal(domain.version);
    expect(reported.chainId).to.equal(domain.chainId);
    expect(reported.verifyingContract).to.equal(domain.verifyingContract);
  });

  it("uses the type strings of VeilTypes.sol", () => {
    expect(encodeType("OrderCommitment")).to.equal(
      "OrderCommitment(uint64 rollupId,uint64 blockHeight,uint32 txIndex,bytes32 encTxHash,bytes32 preRoot,uint32 viewNumber,uint32 epoch)",
    );
    expect(encodeType("BlockCommitment")).to.equal(
      "BlockCommitment(uint64 rollupId,uint64 height,uint32 txCount,bytes32 encRoot,uint64 inboxBlock,uint32 forcedCount,bytes32 rawRoot,uint32 viewNumber)",
    );
    expect(encodeType("Seal")).to.equal(
      "Seal(uint64 rollupId,uint64 height,uint32 txCount,bytes32 encRoot,uint64 inboxBlock,uint32 viewNumber,uint32 epoch)",
    );
    expect(encodeType("OperatorResponse")).to.equal(
      "OperatorResponse(bytes32 taskId,bytes32 commitmentHash,bool approve)",
    );
    expect(encodeType("FinalizeRequest")).to.equal("FinalizeRequest(uint64 rollupId,uint64 height,uint64 deadline)");
    expect(encodeType("ClusterMessage")).to.equal(
      "ClusterMessage(uint64 clusterId,uint32 viewNumber,address sender,uint8 kind,bytes32 payloadHash)",
    );
    expect(encodeType("Contribution")).to.equal(
      "Contribution(uint64 rollupId,uint64 height,address generator,bytes32 contributionHash)",
    );
    expect(encodeType("ViewChange")).to.equal(
      "ViewChange(uint64 rollupId,uint64 height,uint32 viewNumber,uint32 epoch)",
    );
    expect(Object.keys(TYPES)).to.have.length(8);
  });

  it("signs every message type in TypeScript and Solidity recovers the same signer", async () => {
    const response: OperatorResponse = {
      taskId: taskIdOf(42n, 7n),
      commitmentHash: structHash("BlockCommitment", block),
      approve: true,
    };
    const address = signerWallet.address;
    expect(
      await harness.recoverOrderCommitment(order, await signMessage(signerWallet, domain, "OrderCommitment", order)),
    ).to.equal(address);
    expect(
      await harness.recoverBlockCommitment(block, await signMessage(signerWallet, domain, "BlockCommitment", block)),
    ).to.equal(address);
    expect(await harness.recoverSeal(seal, await signMessage(signerWallet, domain, "Seal", seal))).to.equal(address);
    expect(
      await harness.recoverOperatorResponse(
        response,
        await signMessage(signerWallet, domain, "OperatorResponse", response),
      ),
    ).to.equal(address);
    expect(
      await harness.recoverFinalizeRequest(
        finalize,
        await signMessage(signerWallet, domain, "FinalizeRequest", finalize),
      ),
    ).to.equal(address);
    expect(
      await harness.recoverClusterMessage(
        envelope,
        await signMessage(signerWallet, domain, "ClusterMessage", envelope),
      ),
    ).to.equal(address);
    expect(await harness.blockCommitmentHash(block)).to.equal(response.commitmentHash);
    // The view is signed: the same block in another view is another message.
    const otherView = { ...block, viewNumber: 3 };
    expect(await harness.blockCommitmentHash(otherView)).to.equal(structHash("BlockCommitment", otherView));
    expect(structHash("BlockCommitment", otherView)).not.to.equal(response.commitmentHash);
    // The epoch is signed: a seal or an order commitment for another epoch's members is another message.
    const sealSig = await signMessage(signerWallet, domain, "Seal", seal);
    expect(await harness.recoverSeal({ ...seal, epoch: 6 }, sealSig)).to.not.equal(address);
    expect(typedDataDigest(domain, "Seal", { ...seal, epoch: 6 })).to.not.equal(typedDataDigest(domain, "Seal", seal));
    const orderSig = await signMessage(signerWallet, domain, "OrderCommitment", order);
    expect(await harness.recoverOrderCommitment({ ...order, epoch: 6 }, orderSig)).to.not.equal(address);
  });

  it("signs with a Hardhat account the same way (the signer the node uses through JSON-RPC)", async () => {
    const [account] = await ethers.getSigners();
    const sig = await signMessage(account!, domain, "BlockCommitment", block);
    expect(await harness.recoverBlockCommitment(block, sig)).to.equal(account!.address);
    expect(recoverSigner(domain, "BlockCommitment", block, sig)).to.equal(account!.address);
  });

  it("does not verify a signature under another chain id, contract, or message", async () => {
    const sig = await signMessage(signerWallet, domain, "OrderCommitment", order);
    expect(isSignedBy(domain, "OrderCommitment", order, sig, signerWallet.address)).to.equal(true);
    const otherChain = veilDomain(domain.chainId + 1n, domain.verifyingContract);
    const otherContract = veilDomain(domain.chainId, Wallet.createRandom().address);
    expect(isSignedBy(otherChain, "OrderCommitment", order, sig, signerWallet.address)).to.equal(false);
    expect(isSignedBy(otherContract, "OrderCommitment", order, sig, signerWallet.address)).to.equal(false);
    expect(isSignedBy(domain, "OrderCommitment", { ...order, txIndex: 4 }, sig, signerWallet.address)).to.equal(false);
    expect(isSignedBy(domain, "OrderCommitment", order, "0x1234", signerWallet.address)).to.equal(false);
    expect(await harness.recoverOrderCommitment({ ...order, txIndex: 4 }, sig)).to.not.equal(signerWallet.address);
    expect(typedDataDigest(otherChain, "OrderCommitment", order)).to.not.equal(
      typedDataDigest(domain, "OrderCommitment", order),
    );
  });

  it("derives task ids as keccak256(abi.encode(uint64, uint64))", () => {
    expect(taskIdOf(42n, 7n)).to.equal(keccak256(AbiCoder.defaultAbiCoder().encode(["uint64", "uint64"], [42, 7])));
    expect(taskIdOf(42n, 7n)).to.not.equal(taskIdOf(7n, 42n));
  });

  it("parses untrusted JSON into messages and rejects bad fields", () => {
    const parsed = parseMessage("OrderCommitment", {
      rollupId: "42",
      blockHeight: 7,
      txIndex: 3,
      encTxHash: order.encTxHash.toUpperCase().replace("0X", "0x"),
      preRoot: order.preRoot,
      viewNumber: 2,
      epoch: 5,
    });
    expect(parsed).to.deep.equal(order);
    expect(parseMessage("ClusterMessage", { ...envelope, sender: envelope.sender.toLowerCase() }).sender).to.equal(
      envelope.sender,
    );
    expect(parseMessage("FinalizeRequest", { ...finalize, deadline: "0x10" }).deadline).to.equal(16n);
    expect(() => parseMessage("OrderCommitment", { ...order, txIndex: -1 })).to.throw();
    expect(() => parseMessage("OrderCommitment", { ...order, txIndex: 2 ** 32 })).to.throw();
    expect(() => parseMessage("OrderCommitment", { ...order, rollupId: 1n << 64n })).to.throw(/uint64/);
    expect(() => parseMessage("OrderCommitment", { ...order, rollupId: "-1" })).to.throw();
    expect(() => parseMessage("OrderCommitment", { ...order, encTxHash: "0x12" })).to.throw(/32 bytes/);
    expect(() => parseMessage("OrderCommitment", { ...order, extra: 1 })).to.throw();
    expect(() => parseMessage("ClusterMessage", { ...envelope, kind: 256 })).to.throw();
    expect(() => parseMessage("ClusterMessage", { ...envelope, sender: "0x12" })).to.throw(/address/);
    expect(() =>
      parseMessage("OperatorResponse", { taskId: h("t"), commitmentHash: h("c"), approve: "yes" }),
    ).to.throw();
  });

  it("Solidity and TypeScript agree on random block commitments and responses (property)", async () => {
    const hash32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => keccak256(b));
    await fc.assert(
      fc.asyncProperty(
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        fc.nat({ max: 2 ** 32 - 1 }),
        hash32,
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        fc.nat({ max: 2 ** 32 - 1 }),
        hash32,
        fc.nat({ max: 2 ** 32 - 1 }),
        fc.boolean(),
        async (rollupId, height, txCount, encRoot, inboxBlock, forcedCount, rawRoot, viewNumber, approve) => {
          const commitment: BlockCommitment = {
            rollupId,
            height,
            txCount,
            encRoot,
            inboxBlock,
            forcedCount,
            rawRoot,
            viewNumber,
          };
          expect(await harness.blockCommitmentHash(commitment)).to.equal(structHash("BlockCommitment", commitment));
          const response: OperatorResponse = {
            taskId: taskIdOf(rollupId, height),
            commitmentHash: structHash("BlockCommitment", commitment),
            approve,
          };
          const sig = await signMessage(signerWallet, domain, "OperatorResponse", response);
          expect(await harness.recoverOperatorResponse(response, sig)).to.equal(signerWallet.address);
        },
      ),
      { numRuns: 25 },
    );
  });

  it("Solidity and TypeScript agree on random seals and order commitments, epoch included (property)", async () => {
    const hash32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => keccak256(b));
    const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
    const u32 = fc.nat({ max: 2 ** 32 - 1 });
    await fc.assert(
      fc.asyncProperty(
        u64,
        u64,
        u32,
        hash32,
        hash32,
        u32,
        u32,
        async (rollupId, height, n, root, leaf, view, epoch) => {
          const s: Seal = { rollupId, height, txCount: n, encRoot: root, inboxBlock: height, viewNumber: view, epoch };
          expect(await harness.sealHash(s)).to.equal(structHash("Seal", s));
          const o: OrderCommitment = {
            rollupId,
            blockHeight: height,
            txIndex: n,
            encTxHash: leaf,
            preRoot: root,
            viewNumber: view,
            epoch,
          };
          expect(await harness.orderCommitmentHash(o)).to.equal(structHash("OrderCommitment", o));
        },
      ),
      { numRuns: 25 },
    );
  });
});
