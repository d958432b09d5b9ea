/**
 * Client-side prover of the tx-validity circuit: turns an encryption result into the circuit's
 * witness input and proves it with Groth16. The witness (plaintext, ρ) stays in this process; only
 * the proof and the public signals leave it.
 */
import type { Point } from "../crypto/babyjub";
import type { EncryptionResult } from "../crypto/encryption";
import { prove, type Groth16Proof, type PublicSignals } from "./groth16";

export const TX_VALIDITY_CIRCUIT = "tx_validity";

/** The public inputs of the tx-validity circuit, in the order of its public signals. */
export interface TxValidityPublicInputs {
  readonly encTxHash: bigint;
  readonly txCommitment: bigint;
  readonly roundKey: Point;
}

/** The public signals a verifier must use: built from its own view (recomputed encTxHash, registered key). */
export function txValidityPublicSignals(inputs: TxValidityPublicInputs): PublicSignals {
  return [inputs.encTxHash, inputs.txCommitment, inputs.roundKey[0], inputs.roundKey[1]].map((v) => v.toString());
}

/** The witness input of the circuit (signal name → decimal strings), derived from one encryption. */
export function txValidityWitnessInput(result: EncryptionResult): Record<string, string | string[]> {
  return {
    encTxHash: result.encTxHash.toString(),
    txCommitment: result.txCommitment.toString(),
    roundKey: result.roundKey.map(String),
    rollupId: result.encrypted.rollupId.toString(),
    height: result.encrypted.height.toString(),
    nonce: result.encrypted.nonce.toString(),
    rho: result.secrets.rho.toString(),
    plaintext: result.secrets.plaintext.map(String),
  };
}

export interface TxValidityProof {
  readonly proof: Groth16Proof;
  readonly publicSignals: PublicSignals;
}

/** Proves that `result.encrypted` is a well-formed encryption of a plaintext with `result.txCommitment`. */
export async function proveTxValidity(result: EncryptionResult): Promise<TxValidityProof> {
  const { proof, publicSignals } = await prove(TX_VALIDITY_CIRCUIT, txValidityWitnessInput(result));
  const expected = txValidityPublicSignals(result);
  if (publicSignals.length !== expected.length || publicSignals.some((s, i) => s !== expected[i])) {
    throw new Error("tx-validity circuit produced unexpected public signals");
  }
  return { proof, publicSignals };
}
