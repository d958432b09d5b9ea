import { expect } from "chai";
import { ethers } from "hardhat";
import { poseidon4 } from "poseidon-lite";
import type { PoseidonCommitmentVerifier } from "../../typechain-types";
import { PoseidonCommitmentVerifier__factory } from "../../typechain-types";
import { prove, toSolidity, verify, type Groth16Proof, type PublicSignals } from "../../sequencer/zk/groth16";

const CIRCUIT = "poseidon_commitment";
const MESSAGE = [1n, 2n, 3n, 0x76656966n];

describe("circuit poseidon_commitment (proved in Node, verified in Node and on-chain)", () => {
  let verifier: PoseidonCommitmentVerifier;
  let proof: Groth16Proof;
  let publicSignals: PublicSignals;

  before(async () => {
    const [deployer] = await ethers.getSigners();
    verifier = await new PoseidonCommitmentVerifier__factory(deployer).deploy();
    ({ proof, publicSignals } = await prove(CIRCUIT, { message: MESSAGE }));
  });

  async function verifiesOnChain(p: Groth16Proof, signals: PublicSignals): Promise<boolean> {
    const s = toSolidity(p, signals);
    const [first] = s.publicSignals;
    if (first === undefined) throw new Error("no public signal");
    return verifier.verifyProof([...s.a], [[...s.b[0]], [...s.b[1]]], [...s.c], [first]);
  }

  it("outputs the same Poseidon commitment as an independent implementation", () => {
    expect(publicSignals).to.deep.equal([poseidon4(MESSAGE).toString()]);
  });

  it("accepts an honest proof in Node", async () => {
    expect(await verify(CIRCUIT, proof, publicSignals)).to.equal(true);
  });

  it("accepts an honest proof on-chain through the generated verifier", async () => {
    expect(await verifiesOnChain(proof, publicSignals)).to.equal(true);
  });

  it("rejects a tampered public input in Node and on-chain", async () => {
    const tampered = [(BigInt(publicSignals[0] ?? 0) + 1n).toString()];
    expect(await verify(CIRCUIT, proof, tampered)).to.equal(false);
    expect(await verifiesOnChain(proof, tampered)).to.equal(false);
  });

  it("rejects a tampered proof in Node and on-chain", async () => {
    // Replace pi_c by pi_a: still a valid curve point, but not the proof's.
    const tampered: Groth16Proof = { ...proof, pi_c: [...proof.pi_a] };
    expect(await verify(CIRCUIT, tampered, publicSignals)).to.equal(false);
    expect(await verifiesOnChain(tampered, publicSignals)).to.equal(false);
  });

  it("rejects an honest proof presented with another message's commitment", async () => {
    const other = [poseidon4([9n, 9n, 9n, 9n]).toString()];
    expect(await verify(CIRCUIT, proof, other)).to.equal(false);
    expect(await verifiesOnChain(proof, other)).to.equal(false);
  });
});
