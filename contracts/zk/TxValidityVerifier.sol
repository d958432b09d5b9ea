// SPDX-License-Identifier: GPL-3.0-or-later
pragma solidity ^0.8.28;

import {Groth16Proof, ITxValidityVerifier} from "./ITxValidityVerifier.sol";
import {TxValidityGroth16Verifier} from "../generated/TxValidityGroth16Verifier.sol";

/// @title TxValidityVerifier
/// @notice Typed entry point to the generated Groth16 verifier of the tx-validity circuit. It fixes the order
/// of the public signals (encTxHash, txCommitment, roundKey.x, roundKey.y) in one place, so that callers
/// pass named values instead of a raw signal array.
/// @dev The generated verifier reads its arguments from calldata, so it is called externally.
contract TxValidityVerifier is ITxValidityVerifier {
    /// @notice The generated verifier holding the circuit's verification key.
    TxValidityGroth16Verifier public immutable GROTH16;

    /// @notice The generated verifier address is zero.
    error ZeroVerifier();

    /// @param groth16 The deployed `TxValidityGroth16Verifier`.
    constructor(TxValidityGroth16Verifier groth16) {
        if (address(groth16) == address(0)) revert ZeroVerifier();
        GROTH16 = groth16;
    }

    /// @inheritdoc ITxValidityVerifier
    function verifyTxProof(
        Groth16Proof calldata proof,
        bytes32 encTxHash,
        bytes32 txCommitment,
        uint256[2] calldata roundKey
    ) public view returns (bool valid) {
        uint256[4] memory signals = [uint256(encTxHash), uint256(txCommitment), roundKey[0], roundKey[1]];
        return GROTH16.verifyProof(proof.a, proof.b, proof.c, signals);
    }

    /// @inheritdoc ITxValidityVerifier
    function requireValidTxProof(
        Groth16Proof calldata proof,
        bytes32 encTxHash,
        bytes32 txCommitment,
        uint256[2] calldata roundKey
    ) external view {
        if (!verifyTxProof(proof, encTxHash, txCommitment, roundKey)) revert InvalidTxValidityProof(encTxHash);
    }
}
