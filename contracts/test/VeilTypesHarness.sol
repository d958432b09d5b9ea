// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {
    VeilTypes,
    OrderCommitment,
    BlockCommitment,
    Seal,
    OperatorResponse,
    FinalizeRequest,
    ClusterMessage
} from "../libraries/VeilTypes.sol";

/**
 * @title VeilTypesHarness
 * @notice Test-only contract with Veil's EIP-712 domain that recovers the signer of every message type,
 * so that the TypeScript suite can sign with sequencer/chain/eip712.ts and check Solidity agrees.
 */
contract VeilTypesHarness is EIP712 {
    constructor() EIP712("Veil", "1") {}

    /// @notice The signer of an order commitment.
    function recoverOrderCommitment(OrderCommitment calldata c, bytes calldata sig) external view returns (address) {
        return ECDSA.recover(_hashTypedDataV4(VeilTypes.hash(c)), sig);
    }

    /// @notice The signer of a block commitment.
    function recoverBlockCommitment(BlockCommitment calldata c, bytes calldata sig) external view returns (address) {
        return ECDSA.recover(_hashTypedDataV4(VeilTypes.hash(c)), sig);
    }

    /// @notice The signer of a seal.
    function recoverSeal(Seal calldata s, bytes calldata sig) external view returns (address) {
        return ECDSA.recover(_hashTypedDataV4(VeilTypes.hash(s)), sig);
    }

    /// @notice The signer of an operator response.
    function recoverOperatorResponse(OperatorResponse calldata r, bytes calldata sig) external view returns (address) {
        return ECDSA.recover(_hashTypedDataV4(VeilTypes.hash(r)), sig);
    }

    /// @notice The signer of a finalize request.
    function recoverFinalizeRequest(FinalizeRequest calldata f, bytes calldata sig) external view returns (address) {
        return ECDSA.recover(_hashTypedDataV4(VeilTypes.hash(f)), sig);
    }

    /// @notice The signer of a cluster message envelope.
    function recoverClusterMessage(ClusterMessage calldata m, bytes calldata sig) external view returns (address) {
        return ECDSA.recover(_hashTypedDataV4(VeilTypes.hash(m)), sig);
    }

    /// @notice The struct hash of a block commitment (what operator responses refer to).
    function blockCommitmentHash(BlockCommitment calldata c) external pure returns (bytes32) {
        return VeilTypes.hash(c);
    }

    /// @notice The struct hash of a seal (what a certificate's signers sign, under the domain).
    function sealHash(Seal calldata s) external pure returns (bytes32) {
        return VeilTypes.hash(s);
    }

    /// @notice The struct hash of an order commitment.
    function orderCommitmentHash(OrderCommitment calldata c) external pure returns (bytes32) {
        return VeilTypes.hash(c);
    }
}
