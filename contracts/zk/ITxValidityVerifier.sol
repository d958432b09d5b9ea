// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice A Groth16 proof over BN254 in the EVM's layout (G2 coordinates as (imaginary, real)).
struct Groth16Proof {
    uint256[2] a;
    uint256[2][2] b;
    uint256[2] c;
}

/// @title ITxValidityVerifier
/// @notice Checks tx-validity proofs: the ciphertext hashed into `encTxHash` decrypts, under the round key
/// `roundKey`, to a canonically packed transaction whose Poseidon commitment is `txCommitment`.
interface ITxValidityVerifier {
    /// @notice A proof was rejected by `requireValidTxProof`.
    error InvalidTxValidityProof(bytes32 encTxHash);

    /// @notice Whether `proof` proves the tx-validity statement for these public inputs.
    /// @param proof The Groth16 proof.
    /// @param encTxHash The encrypted-transaction hash (PoseidonChain of rollupId, height, R, nonce, ciphertext).
    /// @param txCommitment The Poseidon commitment of the packed plaintext.
    /// @param roundKey The BabyJubJub round key (x, y) of the target (rollup, height); the caller vouches that it
    /// is the registered key.
    /// @return valid True if and only if the proof verifies; false for any field element out of range.
    function verifyTxProof(
        Groth16Proof calldata proof,
        bytes32 encTxHash,
        bytes32 txCommitment,
        uint256[2] calldata roundKey
    ) external view returns (bool valid);

    /// @notice Like `verifyTxProof`, but reverts with `InvalidTxValidityProof` when the proof does not verify.
    /// @param proof The Groth16 proof.
    /// @param encTxHash The encrypted-transaction hash.
    /// @param txCommitment The Poseidon commitment of the packed plaintext.
    /// @param roundKey The registered round key (x, y).
    function requireValidTxProof(
        Groth16Proof calldata proof,
        bytes32 encTxHash,
        bytes32 txCommitment,
        uint256[2] calldata roundKey
    ) external view;
}
