import { expect } from "chai";
import { ethers } from "hardhat";
import * as snarkjs from "snarkjs";
import { circuitArtifacts } from "../../circuits/manifest";
import { FIELD, mul, mulBase } from "../../sequencer/crypto/babyjub";
import { poseidonEncrypt } from "../../sequencer/crypto/poseidon-cipher";
import {
  blockHeight,
  encTxHash,
  encryptTransaction,
  rollupId,
  txCommitment,
  type EncryptionResult,
} from "../../sequencer/crypto/encryption";
import { MAX_PLAINTEXT_BYTES } from "../../sequencer/crypto/packing";
import { toSolidity, verify, type PublicSignals } from "../../sequencer/zk/groth16";
import {
  TX_VALIDITY_CIRCUIT,
  proveTxValidity,
  txValidityPublicSignals,
  txValidityWitnessInput,
  type TxValidityProof,
} from "../../sequencer/zk/prover";
import type { TxValidityVerifier } from "../../typechain-types";
import type { Groth16ProofStruct } from "../../typechain-types/contracts/zk/TxValidityVerifier";
import { TxValidityGroth16Verifier__factory, TxValidityVerifier__factory } from "../../typechain-types";
import { calculateWitness, satisfies, tamper } from "./harness";

const SK = 0x1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3dn;
const PK = mulBase(SK);
const TARGET = { rollupId: rollupId(3), height: blockHeight(500), roundKey: PK };
const TX = Uint8Array.from({ length: MAX_PLAINTEXT_BYTES - 20 }, (_, i) => (i * 131 + 7) & 0xff);
const art = circuitArtifacts(TX_VALIDITY_CIRCUIT);
const production = { wasm: art.wasm };

const hex32 = (v: bigint): string => ethers.toBeHex(v, 32);

describe("circuit tx_validity (Groth16 in Node and on-chain through TxValidityVerifier)", () => {
  let wrapper: TxValidityVerifier;
  let result: EncryptionResult;
  let proven: TxValidityProof;

  before(async () => {
    const [deployer] = await ethers.getSigners();
    const groth16 = await new TxValidityGroth16Verifier__factory(deployer).deploy();
    wrapper = await new TxValidityVerifier__factory(deployer).deploy(await groth16.getAddress());
    result = encryptTransaction(TX, TARGET);
    proven = await proveTxValidity(result);
  });

  /** Verifies `proven.proof` against public signals in Node and on-chain; both must agree. */
  async function verifiesEverywhere(signals: PublicSignals): Promise<boolean> {
    const inNode = await verify(TX_VALIDITY_CIRCUIT, proven.proof, signals);
    const s = toSolidity(proven.proof, signals);
    const [enc, commitment, kx, ky] = s.publicSignals;
    const onChain = await wrapper.verifyTxProof(
      { a: [...s.a], b: [[...s.b[0]], [...s.b[1]]], c: [...s.c] },
      hex32(enc!),
      hex32(commitment!),
      [kx!, ky!],
    );
    expect(onChain, "Node and chain disagree").to.equal(inNode);
    return inNode;
  }

  it("fits the 2^14 powers of tau", async () => {
    const info = (await snarkjs.r1cs.info(art.r1cs)) as { nConstraints: number; nPubInputs: number };
    expect(info.nConstraints).to.be.at.most(16_384);
    expect(info.nPubInputs).to.equal(4);
  });

  it("accepts an honest proof, with public signals (encTxHash, txCommitment, roundKey)", async () => {
    expect(proven.publicSignals).to.deep.equal(txValidityPublicSignals(result));
    expect(await verifiesEverywhere(proven.publicSignals)).to.equal(true);
  });

  it("passes requireValidTxProof for an honest proof and reverts with InvalidTxValidityProof otherwise", async () => {
    const s = toSolidity(proven.proof, proven.publicSignals);
    const proof: Groth16ProofStruct = { a: [...s.a], b: [[...s.b[0]], [...s.b[1]]], c: [...s.c] };
    await wrapper.requireValidTxProof(proof, hex32(result.encTxHash), hex32(result.txCommitment), [PK[0], PK[1]]);
    await expect(
      wrapper.requireValidTxProof(proof, hex32(result.encTxHash), hex32(result.txCommitment + 1n), [PK[0], PK[1]]),
    )
      .to.be.revertedWithCustomError(wrapper, "InvalidTxValidityProof")
      .withArgs(hex32(result.encTxHash));
  });

  it("rejects a tampered txCommitment or an out-of-field public input", async () => {
    const tampered = txValidityPublicSignals({ ...result, txCommitment: result.txCommitment + 1n });
    expect(await verifiesEverywhere(tampered)).to.equal(false);
    const outOfField = txValidityPublicSignals({ ...result, encTxHash: result.encTxHash + FIELD });
    expect(await verifiesEverywhere(outOfField)).to.equal(false);
  });

  it("rejects the proof replayed for another height or another rollup (their encTxHash differs)", async () => {
    for (const encrypted of [
      { ...result.encrypted, height: blockHeight(501) },
      { ...result.encrypted, rollupId: rollupId(4) },
    ]) {
      const replayed = txValidityPublicSignals({ ...result, encTxHash: encTxHash(encrypted) });
      expect(await verifiesEverywhere(replayed)).to.equal(false);
    }
  });

  it("rejects the proof for a tampered ciphertext and for another round key", async () => {
    const ciphertext = [...result.encrypted.ciphertext];
    ciphertext[3] = (ciphertext[3]! + 1n) % FIELD;
    const tampered = txValidityPublicSignals({ ...result, encTxHash: encTxHash({ ...result.encrypted, ciphertext }) });
    expect(await verifiesEverywhere(tampered)).to.equal(false);
    const otherKey = txValidityPublicSignals({ ...result, roundKey: mulBase(SK + 1n) });
    expect(await verifiesEverywhere(otherKey)).to.equal(false);
  });

  describe("witnesses of the production circuit", () => {
    const failure = (input: Record<string, unknown>): Promise<string | undefined> =>
      calculateWitness(production, input as never).then(
        () => undefined,
        (err: Error) => err.message,
      );

    it("has an honest witness that satisfies the r1cs, and constraints that reject a changed public input", async () => {
      const wtns = await calculateWitness(production, txValidityWitnessInput(result));
      expect(await satisfies(art.r1cs, wtns)).to.equal(true);
      // Witness index 1..4 are the public inputs, in order.
      for (let i = 1; i <= 4; i++) {
        expect(await satisfies(art.r1cs, tamper(wtns, i, 12345n)), `public signal ${i}`).to.equal(false);
      }
    });

    it("cannot be built for another plaintext, key, height or rollup than the public inputs bind", async () => {
      const honest = txValidityWitnessInput(result);
      const plaintext = [...(honest.plaintext as string[])];
      plaintext[2] = (BigInt(plaintext[2]!) + 1n).toString();
      expect(await failure({ ...honest, plaintext })).to.match(/TxValidity/);
      expect(await failure({ ...honest, roundKey: mulBase(SK + 1n).map(String) })).to.match(/TxValidity/);
      expect(await failure({ ...honest, height: "501" })).to.match(/TxValidity/);
      expect(await failure({ ...honest, rollupId: "4" })).to.match(/TxValidity/);
      expect(await failure({ ...honest, rho: (result.secrets.rho + 1n).toString() })).to.match(/TxValidity/);
    });

    it("cannot be built for a non-canonical plaintext, even with matching public hashes", async () => {
      // A byte past the length, encrypted and hashed consistently: only the packing constraints object.
      const padded = [...result.secrets.plaintext];
      padded[17] = padded[17]! | (1n << 200n);
      const ciphertext = poseidonEncrypt(padded, mul(PK, result.secrets.rho), result.encrypted.nonce);
      const encrypted = { ...result.encrypted, ciphertext };
      const forged: EncryptionResult = {
        ...result,
        encrypted,
        secrets: { ...result.secrets, plaintext: padded as never },
        encTxHash: encTxHash(encrypted),
        txCommitment: txCommitment(padded),
      };
      expect(await failure(txValidityWitnessInput(forged))).to.match(/PackedBytes/);
    });
  });
});
