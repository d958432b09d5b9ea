import { expect } from "chai";
import { circuitArtifacts, circuitSpec } from "../../circuits/manifest";
import { toSolidity, type Groth16Proof } from "../../sequencer/zk/groth16";

describe("zk helpers", () => {
  const proof: Groth16Proof = {
    pi_a: ["1", "2", "1"],
    pi_b: [
      ["3", "4"],
      ["5", "6"],
      ["1", "0"],
    ],
    pi_c: ["7", "8", "1"],
    protocol: "groth16",
    curve: "bn128",
  };

  it("lays a proof out for the Solidity verifier with G2 coordinates swapped (EIP-197)", () => {
    const s = toSolidity(proof, ["9", "10"]);
    expect(s.a).to.deep.equal([1n, 2n]);
    expect(s.b).to.deep.equal([
      [4n, 3n],
      [6n, 5n],
    ]);
    expect(s.c).to.deep.equal([7n, 8n]);
    expect(s.publicSignals).to.deep.equal([9n, 10n]);
  });

  it("rejects a proof with a missing G2 point", () => {
    expect(() => toSolidity({ ...proof, pi_b: [["3", "4"]] }, [])).to.throw(/missing G2 point/);
  });

  it("rejects a proof with a missing coordinate", () => {
    expect(() => toSolidity({ ...proof, pi_a: ["1"] }, [])).to.throw(/missing coordinate/);
  });

  it("names artifacts after the circuit and fails clearly on an unknown circuit", () => {
    expect(circuitArtifacts("poseidon_commitment").wasm).to.match(/poseidon_commitment_js\/poseidon_commitment\.wasm$/);
    expect(() => circuitSpec("nope")).to.throw(/unknown circuit "nope"/);
  });
});
