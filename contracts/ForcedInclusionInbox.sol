// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ClusterRegistry} from "./ClusterRegistry.sol";
import {Groth16Proof, ITxValidityVerifier} from "./zk/ITxValidityVerifier.sol";

/// @notice An encrypted transaction posted to the inbox: the fields of the off-chain submission
/// (`send_encrypted_transaction`), with the round key the proof was made against.
/// @dev `encTxHash` is the Poseidon hash the circuit binds to (rollupId, height, ephemeralKey, nonce, ciphertext);
/// the contract does not recompute it (a Poseidon chain over 24 inputs costs more than the proof check), so a
/// submission whose fields do not hash to it is posted, kept in its place and skipped at decryption by every
/// validator alike (docs/forced-inclusion.md, "Entries that cannot run").
struct ForcedSubmission {
    uint64 rollupId;
    uint64 height;
    uint256[2] ephemeralKey;
    uint256 nonce;
    uint256[] ciphertext;
    bytes32 encTxHash;
    bytes32 txCommitment;
    uint256[2] roundKey;
    Groth16Proof proof;
}

/**
 * @title ForcedInclusionInbox
 * @notice The L1 path around a censoring leader. A user posts an encrypted transaction for (rollup, height)
 * with its tx-validity proof, checked here on-chain, and a fee. The entry is due at that height once the
 * height's seal names an inbox block at or after the one it was posted in: the block of that height then holds
 * every due entry, in inbox order, in the slots after its sealed transactions, and the ValidationServiceManager
 * slashes a leader whose signed block commitment counts them otherwise (`dueCount`).
 * @dev Entries stay encrypted: the ciphertext is only published here, and the height's round secret, released
 * after its seal, opens it with the rest of the block. The proof is checked against the round key the
 * submitter names; whether that is the height's key is checked off-chain by every validator against the
 * released secret (docs/forced-inclusion.md, "Round keys"). Fees are never paid out: they are burned, so that
 * nobody, a leader included, profits from posting entries. Entries of one height are appended in block order,
 * so their posting blocks never decrease and the due entries of any inbox block are a prefix.
 */
contract ForcedInclusionInbox {
    /// @notice One entry: the hash of its submission (as `submissionHash` computes it, the proof left out) and
    /// the L1 block it was posted in.
    struct Entry {
        bytes32 submissionHash;
        uint64 postedBlock;
    }

    /// @notice Field elements in a ciphertext: the Poseidon cipher over the circuit's 18 packed plaintext
    /// elements (sequencer/crypto/encryption.ts, CIPHERTEXT_ELEMENTS).
    uint256 public constant CIPHERTEXT_ELEMENTS = 19;

    /// @notice The registry of rollups (an entry for an unknown rollup is refused).
    ClusterRegistry public immutable registry;
    /// @notice The on-chain check of tx-validity proofs.
    ITxValidityVerifier public immutable verifier;
    /// @notice The fee of one entry, in wei; burned.
    uint256 public immutable submissionFee;
    /// @notice The most entries one (rollup, height) takes: the block space forced entries can claim.
    uint32 public immutable maxEntriesPerHeight;

    /// @notice Fees taken so far; locked in this contract forever.
    uint256 public totalBurned;

    mapping(uint64 rollupId => mapping(uint64 height => Entry[])) private _entries;

    /// @notice An entry was posted: every field a builder needs to decrypt it, in the order of the submission.
    event ForcedTransactionSubmitted(
        uint64 indexed rollupId,
        uint64 indexed height,
        uint32 indexed index,
        address sender,
        bytes32 encTxHash,
        bytes32 txCommitment,
        uint256[2] roundKey,
        uint256[2] ephemeralKey,
        uint256 nonce,
        uint256[] ciphertext
    );

    /// @notice A constructor argument is zero.
    error InvalidParameters();
    /// @notice The value sent is not the submission fee.
    error WrongFee(uint256 sent, uint256 fee);
    /// @notice The ciphertext does not have CIPHERTEXT_ELEMENTS elements.
    error WrongCiphertextLength(uint256 length);
    /// @notice The height already holds `maxEntriesPerHeight` entries; a later height takes more.
    error HeightFull(uint64 rollupId, uint64 height);
    /// @notice The tx-validity proof does not verify for these public inputs.
    error InvalidTxValidityProof(bytes32 encTxHash);
    /// @notice No entry at this index.
    error NoSuchEntry(uint64 rollupId, uint64 height, uint256 index);
    /// @notice `dueCount` was asked about a block that is not in the past yet.
    error InboxBlockNotPast(uint256 inboxBlock, uint256 currentBlock);

    /// @param registry_ the ClusterRegistry of the deployment.
    /// @param verifier_ the deployed TxValidityVerifier.
    /// @param submissionFee_ the fee of one entry, in wei (> 0: entries cost block space).
    /// @param maxEntriesPerHeight_ the most entries per (rollup, height) (> 0).
    constructor(
        ClusterRegistry registry_,
        ITxValidityVerifier verifier_,
        uint256 submissionFee_,
        uint32 maxEntriesPerHeight_
    ) {
        if (
            address(registry_) == address(0) ||
            address(verifier_) == address(0) ||
            submissionFee_ == 0 ||
            maxEntriesPerHeight_ == 0
        ) revert InvalidParameters();
        registry = registry_;
        verifier = verifier_;
        submissionFee = submissionFee_;
        maxEntriesPerHeight = maxEntriesPerHeight_;
    }

    /// @notice Posts an encrypted transaction for (rollupId, height) with its proof and the fee.
    /// @param s the submission; its proof must verify against its own `roundKey`.
    /// @return index the entry's place among the height's entries (its slot is the block's txCount + index).
    function submit(ForcedSubmission calldata s) external payable returns (uint32 index) {
        if (msg.value != submissionFee) revert WrongFee(msg.value, submissionFee);
        if (s.ciphertext.length != CIPHERTEXT_ELEMENTS) revert WrongCiphertextLength(s.ciphertext.length);
        registry.clusterOfRollup(s.rollupId); // reverts UnknownRollup
        Entry[] storage entries = _entries[s.rollupId][s.height];
        if (entries.length >= maxEntriesPerHeight) revert HeightFull(s.rollupId, s.height);
        if (!verifier.verifyTxProof(s.proof, s.encTxHash, s.txCommitment, s.roundKey)) {
            revert InvalidTxValidityProof(s.encTxHash);
        }
        index = SafeCast.toUint32(entries.length);
        entries.push(Entry({submissionHash: submissionHash(s), postedBlock: SafeCast.toUint64(block.number)}));
        totalBurned += msg.value;
        emit ForcedTransactionSubmitted(
            s.rollupId,
            s.height,
            index,
            msg.sender,
            s.encTxHash,
            s.txCommitment,
            s.roundKey,
            s.ephemeralKey,
            s.nonce,
            s.ciphertext
        );
    }

    /// @notice How many entries of (rollupId, height) were posted at or before `inboxBlock`: the entries a block
    /// of that height whose seal names `inboxBlock` must hold. `inboxBlock` must be in the past, where no entry
    /// can be added any more.
    function dueCount(uint64 rollupId, uint64 height, uint64 inboxBlock) external view returns (uint32) {
        if (inboxBlock >= block.number) revert InboxBlockNotPast(inboxBlock, block.number);
        Entry[] storage entries = _entries[rollupId][height];
        // The first entry posted after inboxBlock (posting blocks never decrease).
        uint256 low = 0;
        uint256 high = entries.length;
        while (low < high) {
            uint256 mid = (low + high) / 2;
            if (entries[mid].postedBlock <= inboxBlock) low = mid + 1;
            else high = mid;
        }
        return uint32(low);
    }

    /// @notice The number of entries of (rollupId, height).
    function entryCount(uint64 rollupId, uint64 height) external view returns (uint32) {
        return uint32(_entries[rollupId][height].length);
    }

    /// @notice The entry at `index` of (rollupId, height).
    function entryAt(uint64 rollupId, uint64 height, uint256 index) external view returns (Entry memory) {
        Entry[] storage entries = _entries[rollupId][height];
        if (index >= entries.length) revert NoSuchEntry(rollupId, height, index);
        return entries[index];
    }

    /// @notice The hash an entry records: keccak-256 of the ABI encoding of every submission field but the
    /// proof, so that the fields in the entry's event can be checked against storage.
    function submissionHash(ForcedSubmission calldata s) public pure returns (bytes32) {
        return
            keccak256(
                abi.encode(
                    s.rollupId,
                    s.height,
                    s.ephemeralKey,
                    s.nonce,
                    s.ciphertext,
                    s.encTxHash,
                    s.txCommitment,
                    s.roundKey
                )
            );
    }
}
