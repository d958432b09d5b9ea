// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @dev Tree depth: 2^16 = 65,536 transactions per block, 16-sibling proofs. File level so that other
/// files can size proof arrays with it.
uint256 constant MERKLE_DEPTH = 16;

/**
 * @title VeilMerkle
 * @notice Veil's fixed-depth, append-only, keccak-256 block tree, mirrored by sequencer/chain/merkle.ts.
 * @dev Leaves and inner nodes are domain separated (0x00 ‖ data, 0x01 ‖ left ‖ right). An empty slot
 * hashes to zero and empty subtrees of height i+1 hash to node(Z[i], Z[i]). A PRE proof is the path of a
 * leaf in the tree that ends with it (its right siblings are empty subtrees, its left siblings the
 * frontier); a POST proof is its path in the sealed tree. Append-only means their left siblings agree.
 */
library VeilMerkle {
    /// @notice Tree depth (see MERKLE_DEPTH).
    uint256 internal constant DEPTH = MERKLE_DEPTH;
    /// @notice Number of leaf slots.
    uint256 internal constant CAPACITY = 1 << DEPTH;

    /// @notice A leaf index does not fit the tree.
    error LeafIndexOutOfRange(uint256 index);
    /// @notice More leaves than the tree can hold.
    error TooManyLeaves(uint256 count);

    /// @notice Leaf hash of one slot's data (for Veil, the keccak-256 hash of an encrypted transaction).
    function hashLeaf(bytes32 data) internal pure returns (bytes32 leaf) {
        // Hashing in scratch space avoids abi.encodePacked's memory allocation on every level.
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            mstore(0x00, 0)
            mstore(0x01, data)
            leaf := keccak256(0x00, 0x21)
        }
    }

    /// @notice Hash of an inner node.
    function hashNode(bytes32 left, bytes32 right) internal pure returns (bytes32 node) {
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            let free := mload(0x40)
            mstore8(free, 1)
            mstore(add(free, 0x01), left)
            mstore(add(free, 0x21), right)
            node := keccak256(free, 0x41)
        }
    }

    /// @notice Root of an empty subtree of the given height (0 = an empty leaf slot).
    function zeroHash(uint256 height) internal pure returns (bytes32 zero) {
        for (uint256 level = 0; level < height; ++level) {
            zero = hashNode(zero, zero);
        }
    }

    /// @notice The root reached by hashing `leafHash` at `index` up through `siblings`.
    function computeRoot(
        bytes32 leafHash,
        uint256 index,
        bytes32[MERKLE_DEPTH] calldata siblings
    ) internal pure returns (bytes32 node) {
        if (index >= CAPACITY) revert LeafIndexOutOfRange(index);
        node = leafHash;
        for (uint256 level = 0; level < DEPTH; ++level) {
            node = (index >> level) & 1 == 1 ? hashNode(siblings[level], node) : hashNode(node, siblings[level]);
        }
    }

    /// @notice Whether `siblings` open `leafHash` at `index` under `root`.
    function verify(
        bytes32 root,
        bytes32 leafHash,
        uint256 index,
        bytes32[MERKLE_DEPTH] calldata siblings
    ) internal pure returns (bool) {
        return computeRoot(leafHash, index, siblings) == root;
    }

    /// @notice Whether `siblings` are a PRE proof of `leafHash` at `index` under `preRoot`: a valid path
    /// whose right siblings are all empty subtrees.
    function verifyPre(
        bytes32 preRoot,
        bytes32 leafHash,
        uint256 index,
        bytes32[MERKLE_DEPTH] calldata siblings
    ) internal pure returns (bool) {
        if (index >= CAPACITY) revert LeafIndexOutOfRange(index);
        bytes32 node = leafHash;
        bytes32 zero;
        for (uint256 level = 0; level < DEPTH; ++level) {
            if ((index >> level) & 1 == 1) {
                node = hashNode(siblings[level], node);
            } else {
                if (siblings[level] != zero) return false;
                node = hashNode(node, zero);
            }
            zero = hashNode(zero, zero);
        }
        return node == preRoot;
    }

    /// @notice Whether a PRE proof and a POST proof of the same index share every left sibling.
    function preAndPostAgree(
        uint256 index,
        bytes32[MERKLE_DEPTH] calldata pre,
        bytes32[MERKLE_DEPTH] calldata post
    ) internal pure returns (bool) {
        if (index >= CAPACITY) revert LeafIndexOutOfRange(index);
        for (uint256 level = 0; level < DEPTH; ++level) {
            if ((index >> level) & 1 == 1 && pre[level] != post[level]) return false;
        }
        return true;
    }

    /// @notice Root of the tree holding exactly `leafHashes`, built by incremental appends over a frontier.
    function rootOf(bytes32[] memory leafHashes) internal pure returns (bytes32 root) {
        uint256 count = leafHashes.length;
        if (count > CAPACITY) revert TooManyLeaves(count);
        bytes32[MERKLE_DEPTH] memory frontier;
        for (uint256 i = 0; i < count; ++i) {
            bytes32 node = leafHashes[i];
            for (uint256 level = 0; level < DEPTH; ++level) {
                if ((i >> level) & 1 == 0) {
                    frontier[level] = node;
                    break;
                }
                node = hashNode(frontier[level], node);
            }
        }
        // Close the tree: hash the frontier with empty subtrees on the right of the last leaf.
        bytes32 zero;
        root = zero;
        for (uint256 level = 0; level < DEPTH; ++level) {
            root = (count >> level) & 1 == 1 ? hashNode(frontier[level], root) : hashNode(root, zero);
            zero = hashNode(zero, zero);
        }
    }
}
