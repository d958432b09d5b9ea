import { readFileSync } from "node:fs";
import * as snarkjs from "snarkjs";
import type { Groth16Proof, PublicSignals } from "snarkjs";
import { circuitArtifacts } from "../../circuits/manifest";

export type { Groth16Proof, PublicSignals };

/** A Groth16 proof in the argument layout of the generated Solidity verifiers. */
export interface SolidityGroth16Proof {
  readonly a: readonly [bigint, bigint];
  readonly b: readonly [readonly [bigint, bigint], readonly [bigint, bigint]];
  readonly c: readonly [bigint, bigint];
  readonly publicSignals: readonly bigint[];
}

/** Computes the witness from the circuit's wasm and proves it with the circuit's zkey. */
export async function prove(
  circuit: string,
  input: snarkjs.CircuitSignals,
): Promise<{ proof: Groth16Proof; publicSignals: PublicSignals }> {
  const art = circuitArtifacts(circuit);
  return snarkjs.groth16.fullProve(input, art.wasm, art.zkey);
}

const vkeys = new Map<string, unknown>();

/** The circuit's verification key, read once per process. */
export function verificationKey(circuit: string): unknown {
  let vkey = vkeys.get(circuit);
  if (vkey === undefined) {
    vkey = JSON.parse(readFileSync(circuitArtifacts(circuit).vkey, "utf8"));
    vkeys.set(circuit, vkey);
  }
  return vkey;
}

/** Verifies a proof against the circuit's verification key; malformed proofs verify as false. */
export async function verify(circuit: string, proof: Groth16Proof, publicSignals: PublicSignals): Promise<boolean> {
  try {
    return await snarkjs.groth16.verify(verificationKey(circuit), publicSignals, proof);
  } catch {
    return false;
  }
}

/**
 * Reorders a snarkjs proof for the Solidity verifier: G2 coordinates are (imaginary, real) on the
 * EVM side (EIP-197), and the projective z coordinate is dropped.
 */
export function toSolidity(proof: Groth16Proof, publicSignals: PublicSignals): SolidityGroth16Proof {
  const n = (v: string | undefined): bigint => {
    if (v === undefined) throw new Error("malformed Groth16 proof: missing coordinate");
    return BigInt(v);
  };
  const [a0, a1] = proof.pi_a;
  const [b0, b1] = proof.pi_b;
  const [c0, c1] = proof.pi_c;
  if (!b0 || !b1) throw new Error("malformed Groth16 proof: missing G2 point");
  return {
    a: [n(a0), n(a1)],
    b: [
      [n(b0[1]), n(b0[0])],
      [n(b1[1]), n(b1[0])],
    ],
    c: [n(c0), n(c1)],
    publicSignals: publicSignals.map((s) => BigInt(s)),
  };
}
