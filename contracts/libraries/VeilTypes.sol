// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice A leader's promise, made in view `viewNumber` as leader among the members of membership epoch
/// `epoch` (ClusterRegistry): the encrypted transaction `encTxHash` sits at `txIndex` of block `blockHeight`,
/// and `preRoot` is the root of the block's tree holding leaves 0..txIndex.
struct OrderCommitment {
    uint64 rollupId;
    uint64 blockHeight;
    uint32 txIndex;
    bytes32 encTxHash;
    bytes32 preRoot;
    uint32 viewNumber;
    uint32 epoch;
}

/// @notice A leader's commitment to a built block, signed by the leader of view `viewNumber`, the view of the
/// seal certificate the block was built under. The block has `txCount + forcedCount` slots: first the sealed
/// transactions, whose VeilMerkle root is `encRoot`, then the `forcedCount` forced-inclusion entries of the
/// height posted at or before L1 block `inboxBlock` (the seal's cut), in inbox order. `rawRoot` is the
/// VeilMerkle root over every slot's decrypted transaction (or its invalid-slot marker).
struct BlockCommitment {
    uint64 rollupId;
    uint64 height;
    uint32 txCount;
    bytes32 encRoot;
    uint64 inboxBlock;
    uint32 forcedCount;
    bytes32 rawRoot;
    uint32 viewNumber;
}

/// @notice "Height `height` ends with `txCount` transactions under `encRoot`, followed by the forced-inclusion
/// entries of the height posted at or before L1 block `inboxBlock`", signed in view `viewNumber` by the leader
/// that seals it and by each member that stored that log and seal in that view (and found `inboxBlock` recent).
/// `epoch` is the ClusterRegistry membership epoch whose members sign it: the leader and the majority are those
/// of that epoch. A majority's signatures form a SealCertificate; key generators release their shares only
/// against one, so the inbox cut is fixed before anyone can read the entries it admits.
struct Seal {
    uint64 rollupId;
    uint64 height;
    uint32 txCount;
    bytes32 encRoot;
    uint64 inboxBlock;
    uint32 viewNumber;
    uint32 epoch;
}

/// @notice A seal with the signatures of a majority of the members of its epoch on it (identical seal, strictly
/// ascending signers): the only form in which a seal counts (VeilCertificate). Not itself signed.
struct SealCertificate {
    Seal seal;
    bytes[] signatures;
}

/// @notice An operator's vote on a task: approve or reject the block commitment whose struct hash is
/// `commitmentHash`.
struct OperatorResponse {
    bytes32 taskId;
    bytes32 commitmentHash;
    bool approve;
}

/// @notice A registered executor's request to seal `height`, valid until the unix time `deadline`.
struct FinalizeRequest {
    uint64 rollupId;
    uint64 height;
    uint64 deadline;
}

/// @notice The envelope of every node-to-node message: `payloadHash` is the keccak-256 of the encoded
/// payload of message type `kind`.
struct ClusterMessage {
    uint64 clusterId;
    uint32 viewNumber;
    address sender;
    uint8 kind;
    bytes32 payloadHash;
}

/**
 * @title VeilTypes
 * @notice EIP-712 type hashes and struct hashes of Veil's signed messages, mirrored by
 * sequencer/chain/eip712.ts. Every signature is made under one domain: name "Veil", version "1", the chain
 * id and verifyingContract = the ValidationServiceManager of the deployment.
 */
library VeilTypes {
    bytes32 internal constant ORDER_COMMITMENT_TYPEHASH = keccak256(
        "OrderCommitment(uint64 rollupId,uint64 blockHeight,uint32 txIndex,bytes32 encTxHash,bytes32 preRoot,uint32 viewNumber,uint32 epoch)"
    );
    bytes32 internal constant BLOCK_COMMITMENT_TYPEHASH = keccak256(
        "BlockCommitment(uint64 rollupId,uint64 height,uint32 txCount,bytes32 encRoot,uint64 inboxBlock,uint32 forcedCount,bytes32 rawRoot,uint32 viewNumber)"
    );
    bytes32 internal constant SEAL_TYPEHASH = keccak256(
        "Seal(uint64 rollupId,uint64 height,uint32 txCount,bytes32 encRoot,uint64 inboxBlock,uint32 viewNumber,uint32 epoch)"
    );
    bytes32 internal constant OPERATOR_RESPONSE_TYPEHASH = keccak256(
        "OperatorResponse(bytes32 taskId,bytes32 commitmentHash,bool approve)"
    );
    bytes32 internal constant FINALIZE_REQUEST_TYPEHASH = keccak256(
        "FinalizeRequest(uint64 rollupId,uint64 height,uint64 deadline)"
    );
    bytes32 internal constant CLUSTER_MESSAGE_TYPEHASH = keccak256(
        "ClusterMessage(uint64 clusterId,uint32 viewNumber,address sender,uint8 kind,bytes32 payloadHash)"
    );

    /// @notice EIP-712 struct hash of an order commitment.
    function hash(OrderCommitment calldata c) internal pure returns (bytes32) {
        return
            keccak256(
                abi.encode(
                    ORDER_COMMITMENT_TYPEHASH,
                    c.rollupId,
                    c.blockHeight,
                    c.txIndex,
                    c.encTxHash,
                    c.preRoot,
                    c.viewNumber,
                    c.epoch
                )
            );
    }

    /// @notice EIP-712 struct hash of a block commitment.
    function hash(BlockCommitment calldata c) internal pure returns (bytes32) {
        return
            keccak256(
                abi.encode(
                    BLOCK_COMMITMENT_TYPEHASH,
                    c.rollupId,
                    c.height,
                    c.txCount,
                    c.encRoot,
                    c.inboxBlock,
                    c.forcedCount,
                    c.rawRoot,
                    c.viewNumber
                )
            );
    }

    /// @notice EIP-712 struct hash of a seal.
    function hash(Seal calldata s) internal pure returns (bytes32) {
        return
            keccak256(
                abi.encode(
                    SEAL_TYPEHASH,
                    s.rollupId,
                    s.height,
                    s.txCount,
                    s.encRoot,
                    s.inboxBlock,
                    s.viewNumber,
                    s.epoch
                )
            );
    }

    /// @notice EIP-712 struct hash of an operator response.
    function hash(OperatorResponse memory r) internal pure returns (bytes32) {
        return keccak256(abi.encode(OPERATOR_RESPONSE_TYPEHASH, r.taskId, r.commitmentHash, r.approve));
    }

    /// @notice EIP-712 struct hash of a finalize request.
    function hash(FinalizeRequest calldata f) internal pure returns (bytes32) {
        return keccak256(abi.encode(FINALIZE_REQUEST_TYPEHASH, f.rollupId, f.height, f.deadline));
    }

    /// @notice EIP-712 struct hash of a cluster message envelope.
    function hash(ClusterMessage calldata m) internal pure returns (bytes32) {
        return
            keccak256(abi.encode(CLUSTER_MESSAGE_TYPEHASH, m.clusterId, m.viewNumber, m.sender, m.kind, m.payloadHash));
    }
}
