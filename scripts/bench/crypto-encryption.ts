/**
 * Encryption benchmark: tx-validity circuit size, proving time, encrypt and decrypt per transaction
 * (and the parts of decryption: scalar multiplication, Poseidon permutation, cipher, commitment),
 * decrypting a block of 1,000 transactions with one round key (this thread, and worker threads), and
 * the gas of one on-chain verification through TxValidityVerifier on Hardhat's in-process network.
 *
 * Run alone: `npx tsx scripts/bench/crypto-encryption.ts`.
 */
import { randomBytes } from "node:crypto";
import * as snarkjs from "snarkjs";
import { circuitArtifacts } from "../../circuits/manifest";
import { mul, mulBase, randomScalar } from "../../sequencer/crypto/babyjub";
import { DecryptionPool } from "../../sequencer/block/decrypt-pool";
import { poseidonPermutationWasm, scalarMulWasm } from "../../sequencer/crypto/decrypt-wasm";
import {
  blockHeight,
  decryptBlock,
  decryptTransaction,
  encryptTransaction,
  rollupId,
  txCommitment,
  type BlockItem,
} from "../../sequencer/crypto/encryption";
import { MAX_PLAINTEXT_BYTES, PLAINTEXT_ELEMENTS } from "../../sequencer/crypto/packing";
import { poseidonPermutation } from "../../sequencer/crypto/poseidon";
import { poseidonDecrypt } from "../../sequencer/crypto/poseidon-cipher";
import { toSolidity } from "../../sequencer/zk/groth16";
import { TX_VALIDITY_CIRCUIT, proveTxValidity } from "../../sequencer/zk/prover";
import { emit, median, progress, timeRuns } from "./report";

const TX_BYTES = 300; // a typical signed Ethereum transaction with calldata
const BLOCK_SIZE = 1_000;
const PROVE_RUNS = 5;
const BLOCK_RUNS = 3;
const THREADS = 2;

/** Median time of one call, from `runs` timed loops of `perRun` calls. */
async function perCall(runs: number, perRun: number, fn: () => unknown): Promise<number> {
  const times = await timeRuns(runs, () => {
    for (let i = 0; i < perRun; i++) fn();
  });
  return median(times) / perRun;
}

export async function runEncryptionBench(): Promise<void> {
  const sk = randomScalar();
  const roundKey = mulBase(sk);
  const target = { rollupId: rollupId(1), height: blockHeight(1), roundKey };
  const tx = randomBytes(TX_BYTES);

  const info = (await snarkjs.r1cs.info(circuitArtifacts(TX_VALIDITY_CIRCUIT).r1cs)) as { nConstraints: number };
  emit("tx_validity_constraints", info.nConstraints, "count", {
    budget: 16_384,
    maxPlaintextBytes: MAX_PLAINTEXT_BYTES,
  });

  progress(`proving ${PROVE_RUNS} tx-validity proofs (+1 warm-up)`);
  const result = encryptTransaction(tx, target);
  const proveTimes = await timeRuns(PROVE_RUNS, () => proveTxValidity(result));
  emit("tx_validity_prove_ms", median(proveTimes), "ms", { runs: PROVE_RUNS, txBytes: TX_BYTES, target: 2000 });

  progress("encrypt and decrypt per transaction");
  emit("encrypt_per_tx_ms", await perCall(5, 50, () => encryptTransaction(tx, target)), "ms", { txBytes: TX_BYTES });
  emit(
    "decrypt_per_tx_ms",
    await perCall(5, 50, () => decryptTransaction(result.encrypted, sk, result.txCommitment)),
    "ms",
    {
      txBytes: TX_BYTES,
      includes: "K = sk·R, Poseidon decryption, unpacking, txCommitment check",
    },
  );
  // The parts of one decryption: the path it takes (WebAssembly field) beside the BigInt reference.
  const R = result.encrypted.ephemeralKey;
  const key = mul(R, sk);
  const state4 = [1n, 2n, 3n, 4n];
  const state17 = Array.from({ length: 17 }, (_, i) => BigInt(i));
  const wasm = { implementation: "wasm field (decryption path)" };
  const bigint = { implementation: "BigInt reference (client side)" };
  emit("decrypt_part_scalar_mul_ms", await perCall(5, 50, () => scalarMulWasm(R, sk)), "ms", wasm);
  emit("decrypt_part_scalar_mul_ms", await perCall(5, 50, () => mul(R, sk)), "ms", bigint);
  emit("poseidon_permutation_t4_us", 1000 * (await perCall(5, 200, () => poseidonPermutationWasm(state4))), "us", wasm);
  emit("poseidon_permutation_t4_us", 1000 * (await perCall(5, 200, () => poseidonPermutation(state4))), "us", bigint);
  emit(
    "poseidon_permutation_t17_us",
    1000 * (await perCall(5, 50, () => poseidonPermutationWasm(state17))),
    "us",
    wasm,
  );
  emit("poseidon_permutation_t17_us", 1000 * (await perCall(5, 50, () => poseidonPermutation(state17))), "us", bigint);
  emit(
    "decrypt_part_poseidon_cipher_ms",
    await perCall(5, 50, () =>
      poseidonDecrypt(result.encrypted.ciphertext, key, result.encrypted.nonce, PLAINTEXT_ELEMENTS),
    ),
    "ms",
    { ...bigint, permutations: 7 },
  );
  emit("decrypt_part_commitment_ms", await perCall(5, 50, () => txCommitment(result.secrets.plaintext)), "ms", bigint);

  progress(`encrypting a block of ${BLOCK_SIZE} transactions`);
  const items: BlockItem[] = Array.from({ length: BLOCK_SIZE }, () => {
    const r = encryptTransaction(randomBytes(TX_BYTES), target);
    return { tx: r.encrypted, txCommitment: r.txCommitment };
  });
  const single = await timeRuns(BLOCK_RUNS, () => {
    const outcomes = decryptBlock(items, sk);
    if (outcomes.some((o) => !o.ok)) throw new Error("a block transaction failed to decrypt");
  });
  emit("decrypt_block_1000_ms", median(single), "ms", { threads: 1, runs: BLOCK_RUNS, target: 1000 });
  const pool = new DecryptionPool({ threads: THREADS });
  try {
    await pool.ready();
    const parallel = await timeRuns(BLOCK_RUNS, async () => {
      const outcomes = await pool.decryptBlock(items, sk);
      if (outcomes.some((o) => !o.ok)) throw new Error("a block transaction failed to decrypt");
    });
    emit("decrypt_block_1000_ms", median(parallel), "ms", { threads: THREADS, runs: BLOCK_RUNS, target: 1000 });
  } finally {
    await pool.close();
  }

  progress("gas of one on-chain verification");
  const hre = (await import("hardhat")).default;
  const [deployer] = await hre.ethers.getSigners();
  const { TxValidityGroth16Verifier__factory, TxValidityVerifier__factory } = await import("../../typechain-types");
  const groth16 = await new TxValidityGroth16Verifier__factory(deployer).deploy();
  const wrapper = await new TxValidityVerifier__factory(deployer).deploy(await groth16.getAddress());
  const { proof, publicSignals } = await proveTxValidity(result);
  const s = toSolidity(proof, publicSignals);
  const args: Parameters<typeof wrapper.verifyTxProof.staticCall> = [
    { a: [...s.a], b: [[...s.b[0]], [...s.b[1]]], c: [...s.c] },
    hre.ethers.toBeHex(result.encTxHash, 32),
    hre.ethers.toBeHex(result.txCommitment, 32),
    [roundKey[0], roundKey[1]],
  ];
  if (!(await wrapper.verifyTxProof(...args))) throw new Error("honest proof rejected on-chain");
  const gas = await wrapper.requireValidTxProof.estimateGas(...args);
  emit("tx_validity_verify_gas", Number(gas), "gas", {
    path: "TxValidityVerifier.requireValidTxProof, including the 21k transaction base cost",
    publicInputs: 4,
    target: 250_000,
  });
}

if (require.main === module) {
  runEncryptionBench()
    .then(async () => {
      const curve = (globalThis as { curve_bn128?: { terminate(): Promise<void> } }).curve_bn128;
      if (curve) await curve.terminate();
      process.exit(0);
    })
    .catch((err: unknown) => {
      console.error(err);
      process.exit(1);
    });
}
