/**
 * ForcedInclusionInbox on Hardhat's chain with real tx-validity proofs: an entry is taken only with its fee
 * and a proof that verifies on-chain against the round key it names; the due entries of any past block are
 * a prefix of the height's entries; the TypeScript reader returns exactly them, checked against storage.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { mine } from "@nomicfoundation/hardhat-network-helpers";
import { mulBase, randomScalar } from "../../sequencer/crypto/babyjub";
import { CIPHERTEXT_ELEMENTS, blockHeight, encryptTransaction, rollupId } from "../../sequencer/crypto/encryption";
import { proveTxValidity } from "../../sequencer/zk/prover";
import { forcedSubmission, readDueEntries, submissionHash, type ProvenTransaction } from "../../sequencer/chain/inbox";
import {
  ForcedInclusionInbox__factory,
  TxValidityGroth16Verifier__factory,
  TxValidityVerifier__factory,
  type ForcedInclusionInbox,
  type TxValidityVerifier,
} from "../../typechain-types";
import type { ForcedSubmissionStruct } from "../../typechain-types/contracts/ForcedInclusionInbox";
import { ROLLUP_ID, world, type World } from "./fixture";

const FEE = ethers.parseEther("0.01");
const HEIGHT = 77n;
const ROUND_KEY = mulBase(randomScalar());

async function proven(height: bigint, text: string, roundKey = ROUND_KEY): Promise<ProvenTransaction> {
  const enc = encryptTransaction(new TextEncoder().encode(text), {
    rollupId: rollupId(ROLLUP_ID),
    height: blockHeight(height),
    roundKey,
  });
  const { proof } = await proveTxValidity(enc);
  return { tx: enc.encrypted, txCommitment: enc.txCommitment, roundKey, proof };
}

describe("ForcedInclusionInbox: encrypted entries with on-chain proof checks, fees and a due prefix", function () {
  this.timeout(120_000);
  let w: World;
  let verifier: TxValidityVerifier;
  let inbox: ForcedInclusionInbox;
  let txs: ProvenTransaction[];

  const deployInbox = async (maxPerHeight: number): Promise<ForcedInclusionInbox> =>
    new ForcedInclusionInbox__factory(w.deployer).deploy(
      await w.registry.getAddress(),
      await verifier.getAddress(),
      FEE,
      maxPerHeight,
    );

  before(async () => {
    w = await world();
    const groth16 = await new TxValidityGroth16Verifier__factory(w.deployer).deploy();
    verifier = await new TxValidityVerifier__factory(w.deployer).deploy(await groth16.getAddress());
    inbox = await deployInbox(8);
    txs = [await proven(HEIGHT, "forced 0"), await proven(HEIGHT, "forced 1"), await proven(HEIGHT, "forced 2")];
  });

  it("refuses construction with a zero address, fee or cap", async () => {
    const factory = new ForcedInclusionInbox__factory(w.deployer);
    const registry = await w.registry.getAddress();
    const v = await verifier.getAddress();
    for (const [r, ver, fee, cap] of [
      [ethers.ZeroAddress, v, FEE, 8],
      [registry, ethers.ZeroAddress, FEE, 8],
      [registry, v, 0n, 8],
      [registry, v, FEE, 0],
    ] as const) {
      await expect(factory.deploy(r, ver, fee, cap)).to.be.revertedWithCustomError(factory, "InvalidParameters");
    }
  });

  it("takes a proven entry with its fee, stores its hash and posting block, and emits every field", async () => {
    const s = forcedSubmission(txs[0]!);
    const before = await ethers.provider.getBalance(await inbox.getAddress());
    const tx = await inbox.connect(w.outsider).submit(s, { value: FEE });
    const receipt = (await tx.wait())!;
    await expect(tx)
      .to.emit(inbox, "ForcedTransactionSubmitted")
      .withArgs(
        ROLLUP_ID,
        HEIGHT,
        0,
        w.outsider.address,
        s.encTxHash,
        s.txCommitment,
        s.roundKey,
        s.ephemeralKey,
        s.nonce,
        s.ciphertext,
      );
    const entry = await inbox.entryAt(ROLLUP_ID, HEIGHT, 0);
    expect(entry.postedBlock).to.equal(BigInt(receipt.blockNumber));
    expect(entry.submissionHash).to.equal(await inbox.submissionHash(s));
    expect(entry.submissionHash.toLowerCase()).to.equal(
      submissionHash({ ...txs[0]!, encTxHash: BigInt(s.encTxHash as string) }),
    );
    expect(await inbox.entryCount(ROLLUP_ID, HEIGHT)).to.equal(1);
    expect(await inbox.totalBurned()).to.equal(FEE);
    expect(await ethers.provider.getBalance(await inbox.getAddress())).to.equal(before + FEE);
  });

  describe("refuses", () => {
    let s: ForcedSubmissionStruct;
    before(() => {
      s = forcedSubmission(txs[1]!);
    });

    it("a fee other than submissionFee, too little or too much", async () => {
      for (const value of [0n, FEE - 1n, FEE + 1n]) {
        await expect(inbox.submit(s, { value })).to.be.revertedWithCustomError(inbox, "WrongFee").withArgs(value, FEE);
      }
    });

    it("a ciphertext of another length", async () => {
      const short = { ...s, ciphertext: (s.ciphertext as bigint[]).slice(1) };
      await expect(inbox.submit(short, { value: FEE }))
        .to.be.revertedWithCustomError(inbox, "WrongCiphertextLength")
        .withArgs(CIPHERTEXT_ELEMENTS - 1);
      expect(await inbox.CIPHERTEXT_ELEMENTS()).to.equal(CIPHERTEXT_ELEMENTS);
    });

    it("an unknown rollup", async () => {
      await expect(inbox.submit({ ...s, rollupId: ROLLUP_ID + 1n }, { value: FEE }))
        .to.be.revertedWithCustomError(w.registry, "UnknownRollup")
        .withArgs(ROLLUP_ID + 1n);
    });

    it("a proof that does not verify: another commitment, another round key, another encTxHash, a proof of another entry", async () => {
      const other = forcedSubmission(txs[2]!);
      const bad = [
        { ...s, txCommitment: ethers.toBeHex(BigInt(s.txCommitment as string) + 1n, 32) },
        { ...s, roundKey: [...mulBase(randomScalar())] as [bigint, bigint] },
        { ...s, encTxHash: other.encTxHash },
        { ...s, proof: other.proof },
      ];
      const count = await inbox.entryCount(ROLLUP_ID, HEIGHT);
      for (const b of bad) {
        await expect(inbox.submit(b, { value: FEE })).to.be.revertedWithCustomError(inbox, "InvalidTxValidityProof");
      }
      expect(await inbox.entryCount(ROLLUP_ID, HEIGHT)).to.equal(count);
    });

    it("an entry beyond maxEntriesPerHeight, while other heights still take entries", async () => {
      const small = await deployInbox(1);
      await small.submit(s, { value: FEE });
      await expect(small.submit(forcedSubmission(txs[2]!), { value: FEE }))
        .to.be.revertedWithCustomError(small, "HeightFull")
        .withArgs(ROLLUP_ID, HEIGHT);
      const later = await proven(HEIGHT + 1n, "next height");
      await small.submit(forcedSubmission(later), { value: FEE });
      expect(await small.entryCount(ROLLUP_ID, HEIGHT + 1n)).to.equal(1);
    });

    it("entryAt beyond the entries, and dueCount of a block not yet past", async () => {
      const count = await inbox.entryCount(ROLLUP_ID, HEIGHT);
      await expect(inbox.entryAt(ROLLUP_ID, HEIGHT, count))
        .to.be.revertedWithCustomError(inbox, "NoSuchEntry")
        .withArgs(ROLLUP_ID, HEIGHT, count);
      await mine(1);
      const now = BigInt(await ethers.provider.getBlockNumber());
      // A call runs in the context of the latest block, where a later transaction could still add an entry:
      // only earlier blocks are past. A slash, a transaction, runs in the next block and may name `now`.
      await expect(inbox.dueCount(ROLLUP_ID, HEIGHT, now))
        .to.be.revertedWithCustomError(inbox, "InboxBlockNotPast")
        .withArgs(now, now);
      expect(await inbox.dueCount(ROLLUP_ID, HEIGHT, now - 1n)).to.equal(count);
    });
  });

  it("counts as due the entries posted at or before a block, a prefix in inbox order, and reads back exactly those", async () => {
    const first = (await inbox.entryAt(ROLLUP_ID, HEIGHT, 0)).postedBlock;
    await mine(3);
    const r1 = (await (await inbox.submit(forcedSubmission(txs[1]!), { value: FEE })).wait())!;
    const r2 = (await (await inbox.submit(forcedSubmission(txs[2]!), { value: FEE })).wait())!;
    await mine(1);
    const counts = await Promise.all(
      [first - 1n, first, BigInt(r1.blockNumber) - 1n, BigInt(r1.blockNumber), BigInt(r2.blockNumber)].map((b) =>
        inbox.dueCount(ROLLUP_ID, HEIGHT, b),
      ),
    );
    expect(counts).to.deep.equal([0n, 1n, 1n, 2n, 3n]);
    const read = await readDueEntries(inbox, ROLLUP_ID, HEIGHT, BigInt(r1.blockNumber));
    expect(read.map((e) => e.index)).to.deep.equal([0, 1]);
    expect(read[1]!.tx).to.deep.equal(txs[1]!.tx);
    expect(read[1]!.txCommitment).to.equal(txs[1]!.txCommitment);
    expect(read[1]!.roundKey).to.deep.equal(txs[1]!.roundKey);
    expect(read[1]!.postedBlock).to.equal(BigInt(r1.blockNumber));
    expect(await readDueEntries(inbox, ROLLUP_ID, HEIGHT + 5n, BigInt(r2.blockNumber))).to.deep.equal([]);
  });

  it("keeps an entry whose fields do not hash to its encTxHash: the proof binds only the hash (skipped at decryption)", async () => {
    // The proof is for txs[0]'s encTxHash; the ciphertext posted beside it is another one. The contract does
    // not hash the ciphertext (a Poseidon chain over 24 inputs), so it takes the entry; its builder finds the
    // mismatch and every validator skips the slot alike (docs/forced-inclusion.md).
    const s = forcedSubmission(txs[0]!);
    const swapped = { ...s, ciphertext: [...(forcedSubmission(txs[1]!).ciphertext as bigint[])] };
    await expect(inbox.submit(swapped, { value: FEE })).to.emit(inbox, "ForcedTransactionSubmitted");
  });
});
