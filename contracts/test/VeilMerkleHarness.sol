// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {VeilMerkle, MERKLE_DEPTH} from "../libraries/VeilMerkle.sol";

/**
 * @title VeilMerkleHarness
 * @notice Test-only wrapper exposing VeilMerkle's internal functions so that the TypeScript suite can
 * compare both implementations. Not deployed by scripts/deploy.ts.
 */
contract VeilMerkleHarness {
    /// @notice See {VeilMerkle-hashLeaf}.
    function hashLeaf(bytes32 data) external pure returns (bytes32) {
        return VeilMerkle.hashLeaf(data);
    }

    /// @notice See {VeilMerkle-hashNode}.
    function hashNode(bytes32 left, bytes32 right) external pure returns (bytes32) {
        return VeilMerkle.hashNode(left, right);
    }

    /// @notice See {VeilMerkle-zeroHash}.
    function zeroHash(uint256 height) external pure returns (bytes32) {
        return VeilMerkle.zeroHash(height);
    }

    /// @notice See {VeilMerkle-computeRoot}.
    function computeRoot(
        bytes32 leafHash,
        uint256 index,
        bytes32[MERKLE_DEPTH] calldata siblings
    ) external pure returns (bytes32) {
        return VeilMerkle.computeRoot(leafHash, index, siblings);
    }

    /// @notice See {VeilMerkle-verify}.
    function verify(
        bytes32 root,
        bytes32 leafHash,
        uint256 index,
        bytes32[MERKLE_DEPTH] calldata siblings
    ) external pure returns (bool) {
        return VeilMerkle.verify(root, leafHash, index, siblings);
    }

    /// @notice See {VeilMerkle-verifyPre}.
    function verifyPre(
        bytes32 preRoot,
        bytes32 leafHash,
        uint256 index,
        bytes32[MERKLE_DEPTH] calldata siblings
    ) external pure returns (bool) {
        return VeilMerkle.verifyPre(preRoot, leafHash, index, siblings);
    }

    /// @notice See {VeilMerkle-preAndPostAgree}.
    function preAndPostAgree(
        uint256 index,
        bytes32[MERKLE_DEPTH] calldata pre,
        bytes32[MERKLE_DEPTH] calldata post
    ) external pure returns (bool) {
        return VeilMerkle.preAndPostAgree(index, pre, post);
    }

    /// @notice See {VeilMerkle-rootOf}.
    function rootOf(bytes32[] calldata leafHashes) external pure returns (bytes32) {
        return VeilMerkle.rootOf(leafHashes);
    }

    /// @notice {VeilMerkle-rootOf} of `count` empty slots, allocated in memory (cheaper than calldata).
    function rootOfEmptySlots(uint256 count) external pure returns (bytes32) {
        return VeilMerkle.rootOf(new bytes32[](count));
    }
}
