import path from "node:path";

/** Root of the repository, so every caller resolves the same build paths. */
export const REPO_ROOT = path.resolve(__dirname, "..");

/** Where generated circuit artifacts live (never tracked in git). */
export const BUILD_DIR = process.env.VEIL_BUILD_DIR
  ? path.resolve(process.env.VEIL_BUILD_DIR)
  : path.join(REPO_ROOT, "build");

/** Size of the powers-of-tau file every circuit is set up against: 2^14 constraints at most. */
export const PTAU_POWER = 14;

/** One circuit of the project: its entry point and the Solidity verifier exported for it. */
export interface CircuitSpec {
  /** File-system friendly name, also the base name of the r1cs, wasm and zkey. */
  readonly name: string;
  /** The circom file that instantiates `component main`. */
  readonly main: string;
  /** Contract name of the generated Groth16 verifier (snarkjs names them all `Groth16Verifier`). */
  readonly verifierContract: string;
}

export const CIRCUITS: readonly CircuitSpec[] = [
  {
    name: "poseidon_commitment",
    main: "circuits/main/poseidon_commitment.circom",
    verifierContract: "PoseidonCommitmentVerifier",
  },
  {
    name: "tx_validity",
    main: "circuits/main/tx_validity.circom",
    verifierContract: "TxValidityGroth16Verifier",
  },
];

/** Paths of the artifacts that the build produces for one circuit. */
export interface CircuitArtifacts {
  readonly dir: string;
  readonly r1cs: string;
  readonly wasm: string;
  readonly zkey: string;
  readonly vkey: string;
  readonly verifierSol: string;
}

export function circuitSpec(name: string): CircuitSpec {
  const spec = CIRCUITS.find((c) => c.name === name);
  if (!spec) throw new Error(`unknown circuit "${name}"; known: ${CIRCUITS.map((c) => c.name).join(", ")}`);
  return spec;
}

export function circuitArtifacts(name: string): CircuitArtifacts {
  const spec = circuitSpec(name);
  const dir = path.join(BUILD_DIR, "circuits", spec.name);
  return {
    dir,
    r1cs: path.join(dir, `${spec.name}.r1cs`),
    wasm: path.join(dir, `${spec.name}_js`, `${spec.name}.wasm`),
    zkey: path.join(dir, `${spec.name}.zkey`),
    vkey: path.join(dir, "verification_key.json"),
    verifierSol: path.join(REPO_ROOT, "contracts", "generated", `${spec.verifierContract}.sol`),
  };
}
