// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {Checkpoints} from "@openzeppelin/contracts/utils/structs/Checkpoints.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ClusterRegistry} from "./ClusterRegistry.sol";
import {ForcedInclusionInbox} from "./ForcedInclusionInbox.sol";
import {VeilCertificate} from "./libraries/VeilCertificate.sol";
import {VeilMerkle, MERKLE_DEPTH} from "./libraries/VeilMerkle.sol";
import {
    VeilTypes,
    OrderCommitment,
    BlockCommitment,
    Seal,
    SealCertificate,
    OperatorResponse
} from "./libraries/VeilTypes.sol";

/**
 * @title ValidationServiceManager
 * @notice Staked operators validate the block commitments leaders post as tasks; anyone can prove a fault
 * (a broken order commitment, an equivocation, conflicting seal certificates, a block commitment no seal
 * certificate backs, a block that leaves out due forced-inclusion entries, an operator's double vote) and have
 * the faulty party slashed.
 * @dev A task counts only with a seal certificate (a majority of the cluster signed the height's seal in some
 * view) and the signature of that view's leader: the certificate proves the view, so no caller-chosen view is
 * ever trusted. Every certificate counts against the members of the membership epoch its seal names
 * (ClusterRegistry.membersAt); a task's seal must name the current or the previous epoch, so that a
 * transaction in flight is checked against the schedule it was built for, whatever joins or exits land
 * before it.
 * @dev This contract is the `verifyingContract` of Veil's one EIP-712 domain ("Veil", "1"). Stake history is
 * kept in OpenZeppelin Checkpoints by block number, so a task's quorum is measured at the block before it was
 * created. Leader bonds live in the ClusterRegistry, which lets only this contract slash them.
 * Checks-effects-interactions throughout: every ETH transfer or registry call is the last step, after all
 * state (fault replay guards, stake, pending withdrawals) is written, so re-entry finds nothing to exploit.
 */
contract ValidationServiceManager is EIP712 {
    using Checkpoints for Checkpoints.Trace208;

    /// @notice Lifecycle of a task. Pending until an answer reaches quorum or the response window passes.
    enum TaskStatus {
        None,
        Pending,
        Validated,
        Rejected,
        Expired
    }

    /// @notice A task: the struct hash of the leader's block commitment, who signed it, when it was posted, and
    /// the view of the seal certificate it was posted with.
    struct Task {
        bytes32 commitmentHash;
        address leader;
        uint48 createdBlock;
        uint32 viewNumber;
        TaskStatus status;
    }

    /// @notice An operator's stake awaiting withdrawal (the active stake is in the checkpoints).
    struct PendingWithdrawal {
        uint208 amount;
        uint48 unlockBlock;
    }

    /// @notice The kinds of fault, part of every fault id (each fault is slashable once).
    enum Fault {
        BrokenOrderCommitment,
        OrderEquivocation,
        BlockEquivocation,
        SealEquivocation,
        OperatorDoubleVote,
        UncertifiedBlockCommitment,
        ForcedInclusionOmission
    }

    /// @notice The registry of clusters, members, bonds and rollups.
    ClusterRegistry public immutable registry;
    /// @notice The forced-inclusion inbox whose due entries every block must hold (`slashForcedInclusionOmission`).
    ForcedInclusionInbox public immutable inbox;
    /// @notice Share of the stake at the reference block that one answer needs, in basis points (> 50%).
    uint256 public immutable quorumBps;
    /// @notice Blocks after a task's creation during which responses are accepted.
    uint256 public immutable responseWindow;
    /// @notice Blocks after a task's creation during which a broken order commitment can be proven against it.
    uint256 public immutable challengeWindow;
    /// @notice Blocks an operator's withdrawn stake stays locked (and slashable); longer than the challenge window.
    uint256 public immutable operatorWithdrawalDelay;
    /// @notice The least stake a registered operator holds.
    uint256 public immutable minOperatorStake;
    /// @notice Share of a slashed bond or stake paid to the challenger, in basis points; the rest is burned.
    uint256 public immutable challengerRewardBps;
    /// @notice The largest challenger's share of a slash, in basis points (half the bond).
    uint256 public constant MAX_REWARD_BPS = 5_000;
    /// @notice Blocks between a slashing claim's commitment and the slash that reveals it.
    uint256 public constant CLAIM_DELAY = 2;

    /// @notice Slashed operator stake not paid to challengers; locked in this contract forever.
    uint256 public totalBurned;

    mapping(address operator => Checkpoints.Trace208) private _stake;
    Checkpoints.Trace208 private _totalStake;
    mapping(address operator => PendingWithdrawal) private _pending;
    mapping(bytes32 taskId => Task) private _tasks;
    mapping(bytes32 faultId => bool) private _faultSettled;
    mapping(bytes32 claim => uint256 committedBlock) private _claims;

    /// @notice An operator's active stake changed to `stake` (registration, top-up, withdrawal request, slash).
    event OperatorStakeUpdated(address indexed operator, uint256 stake);
    /// @notice An operator asked to withdraw `amount`, unlocked at `unlockBlock`.
    event WithdrawalRequested(address indexed operator, uint256 amount, uint256 unlockBlock);
    /// @notice An operator received its withdrawn stake.
    event Withdrawn(address indexed operator, uint256 amount);
    /// @notice A leader posted the block commitment of (rollupId, height) for validation.
    event TaskCreated(
        bytes32 indexed taskId,
        uint64 indexed rollupId,
        uint64 indexed height,
        address leader,
        uint32 viewNumber,
        bytes32 commitmentHash,
        uint32 txCount,
        bytes32 encRoot,
        uint64 inboxBlock,
        uint32 forcedCount,
        bytes32 rawRoot
    );
    /// @notice A pending or rejected task was replaced by one certified in the later view `viewNumber`.
    event TaskReplaced(bytes32 indexed taskId, address previousLeader, uint32 previousView, uint32 viewNumber);
    /// @notice An answer reached quorum: the task is Validated or Rejected.
    event TaskResolved(bytes32 indexed taskId, TaskStatus status, uint256 answerStake, uint256 totalStake);
    /// @notice The response window passed without quorum.
    event TaskExpired(bytes32 indexed taskId);
    /// @notice A fault was proven and its party slashed by `amount`, of which `reward` went to `challenger`.
    /// @notice A slashing claim was committed (see `commitClaim`).
    event ClaimCommitted(bytes32 indexed claim, address indexed committer);

    event FaultSlashed(
        bytes32 indexed faultId,
        Fault indexed fault,
        address indexed offender,
        address challenger,
        uint256 amount
    );

    error InvalidParameters();
    /// @notice The slash was not committed to by its caller at least CLAIM_DELAY blocks earlier (`commitClaim`).
    error ClaimNotMatured(bytes32 claim);
    error AlreadyRegistered(address operator);
    error NotRegistered(address operator);
    error StakeBelowMinimum(uint256 stake, uint256 minimum);
    error InvalidAmount();
    error NothingToWithdraw();
    error WithdrawalLocked(uint256 unlockBlock);
    error InvalidSigner(address signer, address expected);
    /// @notice A block commitment has more slots (sealed plus forced) than a VeilMerkle tree holds.
    error TooManySlots(uint256 slots);
    error TaskExists(bytes32 taskId);
    error SealMismatch();
    /// @notice A task's seal names `epoch`, neither the current membership epoch `current` nor the one before.
    error EpochOutOfWindow(uint32 epoch, uint32 current);
    error OtherView(uint32 orderView, uint32 taskView);
    error UnknownTask(bytes32 taskId);
    error TaskNotPending(bytes32 taskId, TaskStatus status);
    error ResponseWindowClosed(bytes32 taskId);
    error ResponseWindowOpen(bytes32 taskId);
    error SignersNotSorted();
    error NoStakeAtReference(address signer);
    error QuorumNotReached(uint256 answerStake, uint256 totalStake);
    error CommitmentMismatch();
    error ChallengeWindowClosed(bytes32 taskId);
    error InvalidProof();
    error NoFault();
    error NotConflicting();
    error SignersDiffer(address first, address second);
    error FaultAlreadySlashed(bytes32 faultId);
    error NothingToSlash(address operator);

    /// @param registry_ the ClusterRegistry whose slasher this contract becomes.
    /// @param inbox_ the ForcedInclusionInbox of the same registry.
    /// @param quorumBps_ share of stake one answer needs (basis points, 5001..10000).
    /// @param responseWindow_ blocks during which responses are accepted (> 0).
    /// @param challengeWindow_ blocks during which a broken order commitment can be proven (>= response window).
    /// The registry's `memberWithdrawalDelay` must be at least this window plus one `epochLength`: a task may
    /// be created up to the last block of the epoch after its seal's, one epoch after its leader's last epoch
    /// ended, and the leader's bond must stay locked until the window of that task has closed.
    /// @param operatorWithdrawalDelay_ blocks withdrawn stake stays slashable (> challenge window).
    /// @param minOperatorStake_ least stake of an operator (> 0).
    /// @param challengerRewardBps_ challenger's share of a slash (basis points, at most MAX_REWARD_BPS: an
    /// offender that slashes itself must lose at least half of its bond, or slashing is a cheap exit).
    constructor(
        ClusterRegistry registry_,
        ForcedInclusionInbox inbox_,
        uint256 quorumBps_,
        uint256 responseWindow_,
        uint256 challengeWindow_,
        uint256 operatorWithdrawalDelay_,
        uint256 minOperatorStake_,
        uint256 challengerRewardBps_
    ) EIP712("Veil", "1") {
        if (
            quorumBps_ <= 5_000 ||
            quorumBps_ > 10_000 ||
            responseWindow_ == 0 ||
            challengeWindow_ < responseWindow_ ||
            operatorWithdrawalDelay_ <= challengeWindow_ ||
            registry_.memberWithdrawalDelay() < challengeWindow_ + registry_.epochLength() ||
            minOperatorStake_ == 0 ||
            challengerRewardBps_ > MAX_REWARD_BPS ||
            inbox_.registry() != registry_
        ) revert InvalidParameters();
        registry = registry_;
        inbox = inbox_;
        quorumBps = quorumBps_;
        responseWindow = responseWindow_;
        challengeWindow = challengeWindow_;
        operatorWithdrawalDelay = operatorWithdrawalDelay_;
        minOperatorStake = minOperatorStake_;
        challengerRewardBps = challengerRewardBps_;
    }

    // ---------------------------------------------------------------- operators

    /// @notice Registers the caller as an operator with the attached ETH as stake.
    function registerOperator() external payable {
        if (_stake[msg.sender].length() != 0) revert AlreadyRegistered(msg.sender);
        if (msg.value < minOperatorStake) revert StakeBelowMinimum(msg.value, minOperatorStake);
        _setStake(msg.sender, 0, msg.value);
    }

    /// @notice Adds the attached ETH to the caller's stake.
    function addStake() external payable {
        if (_stake[msg.sender].length() == 0) revert NotRegistered(msg.sender);
        if (msg.value == 0) revert InvalidAmount();
        uint256 current = _stake[msg.sender].latest();
        if (current + msg.value < minOperatorStake) revert StakeBelowMinimum(current + msg.value, minOperatorStake);
        _setStake(msg.sender, current, current + msg.value);
    }

    /// @notice Stops `amount` of the caller's stake from counting for new tasks and locks it for
    /// `operatorWithdrawalDelay` blocks (the lock restarts with every request). What remains must be zero or
    /// at least the minimum.
    function requestWithdrawal(uint256 amount) external {
        uint256 current = _stake[msg.sender].latest();
        if (amount == 0 || amount > current) revert InvalidAmount();
        uint256 remaining = current - amount;
        if (remaining != 0 && remaining < minOperatorStake) revert StakeBelowMinimum(remaining, minOperatorStake);
        _setStake(msg.sender, current, remaining);
        PendingWithdrawal storage p = _pending[msg.sender];
        uint256 unlockBlock = block.number + operatorWithdrawalDelay;
        p.amount += SafeCast.toUint208(amount);
        p.unlockBlock = SafeCast.toUint48(unlockBlock);
        emit WithdrawalRequested(msg.sender, amount, unlockBlock);
    }

    /// @notice Pays out the caller's pending withdrawal once unlocked.
    function withdraw() external {
        PendingWithdrawal memory p = _pending[msg.sender];
        if (p.amount == 0) revert NothingToWithdraw();
        if (block.number < p.unlockBlock) revert WithdrawalLocked(p.unlockBlock);
        delete _pending[msg.sender];
        emit Withdrawn(msg.sender, p.amount);
        Address.sendValue(payable(msg.sender), p.amount);
    }

    // ---------------------------------------------------------------- tasks

    /// @notice Posts the block commitment of (rollupId, height) for validation. Anyone may relay it. It counts
    /// only with the height's seal certificate (a majority of the members of the seal's epoch signed the seal
    /// in view v, which proves that view) whose count, encRoot, inbox block and view v it carries, and only signed by the
    /// leader of the height at v among those members. The seal's epoch must be the current membership epoch or
    /// the previous one (`EpochOutOfWindow` otherwise): a join or an exit landing just before the task does not
    /// change the schedule it is checked against, and a task sent in the last block of an epoch still counts
    /// when it lands in the next. One task per (rollup, height); a pending or rejected task is replaced by one
    /// certified in a later view (its leader took over the height), never by one of the same or an earlier view.
    /// @param commitment the block commitment.
    /// @param certificate the height's seal and a majority's signatures on it.
    /// @param signature the leader's EIP-712 signature over the commitment.
    /// @return taskId keccak256(abi.encode(rollupId, height)).
    function createNewTask(
        BlockCommitment calldata commitment,
        SealCertificate calldata certificate,
        bytes calldata signature
    ) external returns (bytes32 taskId) {
        uint256 slots = uint256(commitment.txCount) + commitment.forcedCount;
        if (slots > VeilMerkle.CAPACITY) revert TooManySlots(slots);
        Seal calldata seal = certificate.seal;
        if (
            seal.rollupId != commitment.rollupId ||
            seal.height != commitment.height ||
            seal.txCount != commitment.txCount ||
            seal.encRoot != commitment.encRoot ||
            seal.inboxBlock != commitment.inboxBlock ||
            seal.viewNumber != commitment.viewNumber
        ) revert SealMismatch();
        uint32 current = registry.currentEpoch();
        if (seal.epoch > current || current - seal.epoch > 1) revert EpochOutOfWindow(seal.epoch, current);
        (address[] memory members, ) = _checkCertificate(certificate);
        address leader = members[(uint256(seal.height) + seal.viewNumber) % members.length];
        bytes32 commitmentHash = VeilTypes.hash(commitment);
        address signer = ECDSA.recover(_hashTypedDataV4(commitmentHash), signature);
        if (signer != leader) revert InvalidSigner(signer, leader);
        taskId = taskIdOf(commitment.rollupId, commitment.height);
        Task storage t = _tasks[taskId];
        if (t.status != TaskStatus.None) {
            bool replaceable = t.status == TaskStatus.Pending || t.status == TaskStatus.Rejected;
            if (!replaceable || seal.viewNumber <= t.viewNumber) revert TaskExists(taskId);
            emit TaskReplaced(taskId, t.leader, t.viewNumber, seal.viewNumber);
        }
        t.commitmentHash = commitmentHash;
        t.leader = leader;
        t.createdBlock = SafeCast.toUint48(block.number);
        t.viewNumber = seal.viewNumber;
        t.status = TaskStatus.Pending;
        _emitTaskCreated(taskId, commitment, leader, seal.viewNumber, commitmentHash);
    }

    /// @notice Settles a pending task with an aggregate of operator responses that all give the same answer.
    /// Signatures must come from distinct operators in strictly ascending signer order; their stake at the
    /// block before the task was created must reach `quorumBps` of the total stake at that block.
    /// @param taskId the task.
    /// @param approve the answer every signature gives.
    /// @param signatures EIP-712 OperatorResponse signatures (65 bytes each), sorted by signer address.
    function respondToTask(bytes32 taskId, bool approve, bytes[] calldata signatures) external {
        Task storage t = _tasks[taskId];
        _requirePending(taskId, t.status);
        uint256 created = t.createdBlock;
        if (block.number > created + responseWindow) revert ResponseWindowClosed(taskId);
        bytes32 digest = _hashTypedDataV4(VeilTypes.hash(OperatorResponse(taskId, t.commitmentHash, approve)));
        uint48 referenceBlock = SafeCast.toUint48(created - 1);
        uint256 answerStake = 0;
        address previous = address(0);
        for (uint256 i = 0; i < signatures.length; ++i) {
            address signer = ECDSA.recover(digest, signatures[i]);
            if (signer <= previous) revert SignersNotSorted();
            previous = signer;
            uint256 stake = _stake[signer].upperLookupRecent(referenceBlock);
            if (stake == 0) revert NoStakeAtReference(signer);
            answerStake += stake;
        }
        uint256 total = _totalStake.upperLookupRecent(referenceBlock);
        if (total == 0 || answerStake * 10_000 < total * quorumBps) revert QuorumNotReached(answerStake, total);
        TaskStatus status = approve ? TaskStatus.Validated : TaskStatus.Rejected;
        t.status = status;
        emit TaskResolved(taskId, status, answerStake, total);
    }

    /// @notice Marks a task whose response window passed without quorum as expired.
    function expireTask(bytes32 taskId) external {
        Task storage t = _tasks[taskId];
        _requirePending(taskId, t.status);
        if (block.number <= t.createdBlock + responseWindow) revert ResponseWindowOpen(taskId);
        t.status = TaskStatus.Expired;
        emit TaskExpired(taskId);
    }

    // ---------------------------------------------------------------- slashing claims

    /// @notice Commits to a slashing call to be made later by the beneficiary: `claim` is
    /// `claimOf(beneficiary, calldata)`. Evidence is public calldata, so a slash sent without a claim could be
    /// copied from the mempool for its reward; a slash pays only the caller that committed to exactly that
    /// call CLAIM_DELAY blocks or more before. The earliest commitment of a claim counts.
    /// @param claim keccak256(abi.encode(beneficiary, keccak256(calldata of the slash call))).
    function commitClaim(bytes32 claim) external {
        if (_claims[claim] != 0) return;
        _claims[claim] = block.number;
        emit ClaimCommitted(claim, msg.sender);
    }

    /// @notice The claim a beneficiary commits to before it sends `slashCall` (the full calldata).
    function claimOf(address beneficiary, bytes calldata slashCall) external pure returns (bytes32) {
        return keccak256(abi.encode(beneficiary, keccak256(slashCall)));
    }

    /// @notice The block a claim was first committed in (0: never).
    function claimedAt(bytes32 claim) external view returns (uint256) {
        return _claims[claim];
    }

    // ---------------------------------------------------------------- slashing

    /// @notice Slashes the leader who broke an order commitment: in the view of the task's seal certificate it
    /// signed that `order.encTxHash` sits at `order.txIndex` of the block, then signed the block commitment
    /// (the task's) in which
    /// (a) `txIndex >= txCount`, or (b) `postSiblings` open another leaf hash at `txIndex` under `encRoot`, or
    /// (c) the same leaf is there but its left siblings differ from the PRE frontier `preSiblings` that opens
    /// `order.preRoot` (the prefix was rewritten). Only within the challenge window of the task, and only for
    /// a commitment of the task's view: a leader's log only grows within its view, while a later view may
    /// rightly drop an entry a majority never stored (its leader never answered with the commitment).
    /// @param order the order commitment, signed by the task's leader.
    /// @param orderSignature the leader's EIP-712 signature over it.
    /// @param commitment the task's block commitment (checked against its stored hash).
    /// @param postLeafHash the leaf hash at `txIndex` in the sealed tree (case b/c; ignored in case a).
    /// @param postSiblings its path under `encRoot` (case b/c).
    /// @param preSiblings the PRE proof of the order commitment (case c only).
    function slashBrokenOrderCommitment(
        OrderCommitment calldata order,
        bytes calldata orderSignature,
        BlockCommitment calldata commitment,
        bytes32 postLeafHash,
        bytes32[MERKLE_DEPTH] calldata postSiblings,
        bytes32[MERKLE_DEPTH] calldata preSiblings
    ) external {
        bytes32 taskId = taskIdOf(order.rollupId, order.blockHeight);
        Task storage t = _tasks[taskId];
        if (t.status == TaskStatus.None) revert UnknownTask(taskId);
        if (block.number > t.createdBlock + challengeWindow) revert ChallengeWindowClosed(taskId);
        if (VeilTypes.hash(commitment) != t.commitmentHash) revert CommitmentMismatch();
        address leader = t.leader;
        if (order.viewNumber != t.viewNumber) revert OtherView(order.viewNumber, t.viewNumber);
        address signer = ECDSA.recover(_hashTypedDataV4(VeilTypes.hash(order)), orderSignature);
        if (signer != leader) revert InvalidSigner(signer, leader);
        if (order.txIndex < commitment.txCount) {
            if (!VeilMerkle.verify(commitment.encRoot, postLeafHash, order.txIndex, postSiblings)) {
                revert InvalidProof();
            }
            if (postLeafHash == VeilMerkle.hashLeaf(order.encTxHash)) {
                if (!VeilMerkle.verifyPre(order.preRoot, postLeafHash, order.txIndex, preSiblings)) {
                    revert InvalidProof();
                }
                if (VeilMerkle.preAndPostAgree(order.txIndex, preSiblings, postSiblings)) revert NoFault();
            }
        }
        bytes32 faultId = keccak256(
            abi.encode(Fault.BrokenOrderCommitment, order.rollupId, order.blockHeight, order.txIndex, leader)
        );
        _slashMember(faultId, Fault.BrokenOrderCommitment, order.rollupId, leader);
    }

    /// @notice Slashes a member that signed two different order commitments for the same
    /// (rollup, height, index).
    function slashOrderEquivocation(
        OrderCommitment calldata a,
        bytes calldata signatureA,
        OrderCommitment calldata b,
        bytes calldata signatureB
    ) external {
        if (
            a.rollupId != b.rollupId ||
            a.blockHeight != b.blockHeight ||
            a.txIndex != b.txIndex ||
            (a.encTxHash == b.encTxHash && a.preRoot == b.preRoot)
        ) revert NotConflicting();
        address signer = _sameSigner(VeilTypes.hash(a), signatureA, VeilTypes.hash(b), signatureB);
        bytes32 faultId = keccak256(abi.encode(Fault.OrderEquivocation, a.rollupId, a.blockHeight, a.txIndex, signer));
        _slashMember(faultId, Fault.OrderEquivocation, a.rollupId, signer);
    }

    /// @notice Slashes a member that signed two block commitments of the same (rollup, height) with different
    /// content (another txCount, encRoot, inbox block, forced count or rawRoot), in any views. The same content
    /// signed in two views is no fault: a member that leads the height again after a view change re-signs its
    /// block under the new view.
    function slashBlockEquivocation(
        BlockCommitment calldata a,
        bytes calldata signatureA,
        BlockCommitment calldata b,
        bytes calldata signatureB
    ) external {
        if (
            a.rollupId != b.rollupId ||
            a.height != b.height ||
            (a.txCount == b.txCount &&
                a.encRoot == b.encRoot &&
                a.inboxBlock == b.inboxBlock &&
                a.forcedCount == b.forcedCount &&
                a.rawRoot == b.rawRoot)
        ) revert NotConflicting();
        address signer = _sameSigner(VeilTypes.hash(a), signatureA, VeilTypes.hash(b), signatureB);
        bytes32 faultId = keccak256(abi.encode(Fault.BlockEquivocation, a.rollupId, a.height, uint32(0), signer));
        _slashMember(faultId, Fault.BlockEquivocation, a.rollupId, signer);
    }

    /// @notice Slashes a member that signed a block commitment outside any certified view: its count, encRoot or
    /// inbox block differs from a valid seal certificate of the same (rollup, height). A leader signs its block
    /// only under that view's certificate, and every valid certificate of a height carries the same of each
    /// (two that differ are a majority's equivocation, slashable by `slashConflictingCertificates`), so no
    /// certificate can back this commitment, whatever view it names. Its rawRoot and view are not compared.
    /// @param commitment the block commitment.
    /// @param signature its signer's EIP-712 signature; the signer must hold a bond in the rollup's cluster.
    /// @param certificate a seal certificate of the same (rollup, height), valid for the members of its seal's
    /// epoch (any epoch the registry still has on record).
    function slashUncertifiedBlockCommitment(
        BlockCommitment calldata commitment,
        bytes calldata signature,
        SealCertificate calldata certificate
    ) external {
        Seal calldata seal = certificate.seal;
        if (seal.rollupId != commitment.rollupId || seal.height != commitment.height) revert SealMismatch();
        if (
            seal.txCount == commitment.txCount &&
            seal.encRoot == commitment.encRoot &&
            seal.inboxBlock == commitment.inboxBlock
        ) revert NoFault();
        _checkCertificate(certificate);
        address signer = ECDSA.recover(_hashTypedDataV4(VeilTypes.hash(commitment)), signature);
        bytes32 faultId = keccak256(
            abi.encode(Fault.UncertifiedBlockCommitment, commitment.rollupId, commitment.height, uint32(0), signer)
        );
        _slashMember(faultId, Fault.UncertifiedBlockCommitment, commitment.rollupId, signer);
    }

    /// @notice Slashes a member that signed a block commitment whose forced count is not the number of
    /// forced-inclusion entries due at its inbox block (`ForcedInclusionInbox.dueCount`): it left due entries
    /// out, or claimed entries that were not posted by then. The forced slots are fixed by the commitment
    /// itself (`txCount + j` holds entry j, in inbox order), so the count is the whole evidence: no proof, no
    /// certificate and no task are needed, and an honest leader, which reads the inbox at the seal's cut, never
    /// signs such a commitment. What a forced slot holds (the decrypted transaction, or an invalid-slot marker
    /// when the entry cannot run) is checked by the validators, like every other slot's content.
    /// @param commitment the block commitment; its `inboxBlock` must be before the current block
    /// (`ForcedInclusionInbox.InboxBlockNotPast` otherwise).
    /// @param signature its signer's EIP-712 signature; the signer must hold a bond in the rollup's cluster.
    function slashForcedInclusionOmission(BlockCommitment calldata commitment, bytes calldata signature) external {
        uint32 due = inbox.dueCount(commitment.rollupId, commitment.height, commitment.inboxBlock);
        if (commitment.forcedCount == due) revert NoFault();
        address signer = ECDSA.recover(_hashTypedDataV4(VeilTypes.hash(commitment)), signature);
        bytes32 faultId = keccak256(
            abi.encode(Fault.ForcedInclusionOmission, commitment.rollupId, commitment.height, uint32(0), signer)
        );
        _slashMember(faultId, Fault.ForcedInclusionOmission, commitment.rollupId, signer);
    }

    /// @notice Slashes a member that signed two seals of the same (rollup, height) and view that end the height
    /// differently (another count, encRoot or inbox block). An honest member signs one seal per view, and records it before
    /// it signs. Seals of different views are no fault by themselves: a view change adopts any seal a majority
    /// may have certified, so an uncertified seal may rightly give way to another log in a later view, and two
    /// certified seals that differ are caught by `slashConflictingCertificates`.
    function slashSealEquivocation(
        Seal calldata a,
        bytes calldata signatureA,
        Seal calldata b,
        bytes calldata signatureB
    ) external {
        if (a.viewNumber != b.viewNumber || !_sealsConflict(a, b)) revert NotConflicting();
        address signer = _sameSigner(VeilTypes.hash(a), signatureA, VeilTypes.hash(b), signatureB);
        _slashMember(_sealFaultId(a, signer), Fault.SealEquivocation, a.rollupId, signer);
    }

    /// @notice Slashes, in one call, every member that signed both of two conflicting seal certificates of one
    /// height (each a majority, so they share at least one signer). Each certificate counts against the members
    /// of its own seal's epoch (any epoch still on record); two neighbouring epochs differ by one member at
    /// most, so their majorities intersect too. Members already slashed for that height's seals, or without a
    /// bond left, are skipped; at least one must be slashed.
    function slashConflictingCertificates(SealCertificate calldata a, SealCertificate calldata b) external {
        if (!_sealsConflict(a.seal, b.seal)) revert NotConflicting();
        (, address[] memory signersA) = _checkCertificate(a);
        (, address[] memory signersB) = _checkCertificate(b);
        // Both lists ascend: walk them together; every signer in both is an equivocator. Faults are
        // settled before any bond is slashed (each slash pays the caller).
        address[] memory offenders = new address[](signersA.length);
        uint256 count = 0;
        uint64 clusterId = registry.clusterOfRollup(a.seal.rollupId);
        uint256 i = 0;
        uint256 j = 0;
        while (i < signersA.length && j < signersB.length) {
            if (signersA[i] < signersB[j]) ++i;
            else if (signersB[j] < signersA[i]) ++j;
            else {
                address signer = signersA[i];
                bytes32 faultId = _sealFaultId(a.seal, signer);
                if (!_faultSettled[faultId] && registry.memberInfo(clusterId, signer).bond != 0) {
                    _faultSettled[faultId] = true;
                    offenders[count++] = signer;
                }
                ++i;
                ++j;
            }
        }
        if (count == 0) revert NoFault();
        _consumeClaim();
        for (uint256 k = 0; k < count; ++k) {
            address signer = offenders[k];
            bytes32 faultId = _sealFaultId(a.seal, signer);
            uint256 amount = registry.slash(clusterId, signer, payable(msg.sender), challengerRewardBps, faultId);
            emit FaultSlashed(faultId, Fault.SealEquivocation, signer, msg.sender, amount);
        }
    }

    /// @notice Slashes an operator that signed both answers for the same task and commitment. Its whole stake,
    /// active and pending withdrawal, is slashed. Votes on two commitments of one task are no fault: a task
    /// replaced by a later view's carries another commitment, and each gets its own vote.
    function slashOperatorDoubleVote(
        OperatorResponse calldata a,
        bytes calldata signatureA,
        OperatorResponse calldata b,
        bytes calldata signatureB
    ) external {
        bytes32 hashA = VeilTypes.hash(a);
        bytes32 hashB = VeilTypes.hash(b);
        if (a.taskId != b.taskId || a.commitmentHash != b.commitmentHash || hashA == hashB) revert NotConflicting();
        address operator = _sameSigner(hashA, signatureA, hashB, signatureB);
        bytes32 faultId = keccak256(abi.encode(Fault.OperatorDoubleVote, a.taskId, operator));
        _settle(faultId);
        _consumeClaim();
        uint256 active = _stake[operator].latest();
        uint256 amount = active + _pending[operator].amount;
        if (amount == 0) revert NothingToSlash(operator);
        if (active != 0) _setStake(operator, active, 0);
        delete _pending[operator];
        uint256 reward = (amount * challengerRewardBps) / 10_000;
        totalBurned += amount - reward;
        emit FaultSlashed(faultId, Fault.OperatorDoubleVote, operator, msg.sender, amount);
        if (reward > 0) Address.sendValue(payable(msg.sender), reward);
    }

    // ---------------------------------------------------------------- views

    /// @notice The id of the task of (rollupId, height).
    function taskIdOf(uint64 rollupId, uint64 height) public pure returns (bytes32) {
        return keccak256(abi.encode(rollupId, height));
    }

    /// @notice A task's record.
    function getTask(bytes32 taskId) external view returns (Task memory) {
        return _tasks[taskId];
    }

    /// @notice An operator's current active stake.
    function stakeOf(address operator) external view returns (uint256) {
        return _stake[operator].latest();
    }

    /// @notice An operator's active stake at the end of `blockNumber` (a past block).
    function stakeAt(address operator, uint48 blockNumber) external view returns (uint256) {
        return _stake[operator].upperLookupRecent(blockNumber);
    }

    /// @notice Total active stake now.
    function totalStake() external view returns (uint256) {
        return _totalStake.latest();
    }

    /// @notice Total active stake at the end of `blockNumber`.
    function totalStakeAt(uint48 blockNumber) external view returns (uint256) {
        return _totalStake.upperLookupRecent(blockNumber);
    }

    /// @notice An operator's pending withdrawal.
    function pendingWithdrawal(address operator) external view returns (PendingWithdrawal memory) {
        return _pending[operator];
    }

    /// @notice Whether the fault with this id was already slashed.
    function isFaultSettled(bytes32 faultId) external view returns (bool) {
        return _faultSettled[faultId];
    }

    /// @notice Checks a seal certificate against the members of its seal's epoch in the cluster serving its
    /// rollup (the check `createNewTask` makes, without its window on the epoch: any epoch the registry still
    /// has on record) and returns its signers, ascending; reverts with the reason otherwise.
    function verifySealCertificate(
        SealCertificate calldata certificate
    ) external view returns (address[] memory signers) {
        (, signers) = _checkCertificate(certificate);
    }

    /// @notice The EIP-712 digest this contract verifies for a struct hash (for off-chain tooling).
    function hashTypedData(bytes32 structHash) external view returns (bytes32) {
        return _hashTypedDataV4(structHash);
    }

    // ---------------------------------------------------------------- internals

    function _setStake(address operator, uint256 previous, uint256 next) private {
        _stake[operator].push(SafeCast.toUint48(block.number), SafeCast.toUint208(next));
        uint256 total = _totalStake.latest();
        _totalStake.push(SafeCast.toUint48(block.number), SafeCast.toUint208(total + next - previous));
        emit OperatorStakeUpdated(operator, next);
    }

    function _emitTaskCreated(
        bytes32 taskId,
        BlockCommitment calldata c,
        address leader,
        uint32 viewNumber,
        bytes32 commitmentHash
    ) private {
        emit TaskCreated(
            taskId,
            c.rollupId,
            c.height,
            leader,
            viewNumber,
            commitmentHash,
            c.txCount,
            c.encRoot,
            c.inboxBlock,
            c.forcedCount,
            c.rawRoot
        );
    }

    /// @dev Checks `certificate` against the members of its seal's epoch in the cluster serving its rollup
    /// (the registry reverts `EpochNotFinal` or `EpochExpired` for an epoch it cannot answer); returns those
    /// members (schedule order) and the signers (ascending).
    function _checkCertificate(
        SealCertificate calldata certificate
    ) private view returns (address[] memory members, address[] memory signers) {
        Seal calldata seal = certificate.seal;
        members = registry.membersAt(registry.clusterOfRollup(seal.rollupId), seal.epoch);
        bytes32 digest = _hashTypedDataV4(VeilTypes.hash(seal));
        signers = VeilCertificate.verify(digest, certificate.signatures, members);
    }

    /// @dev Two seals conflict when they end the same height of the same rollup differently: another count, root
    /// or inbox cut (views and epochs aside: two certified seals must never differ, one member's seals must not
    /// differ within a view).
    function _sealsConflict(Seal calldata a, Seal calldata b) private pure returns (bool) {
        return
            a.rollupId == b.rollupId &&
            a.height == b.height &&
            (a.txCount != b.txCount || a.encRoot != b.encRoot || a.inboxBlock != b.inboxBlock);
    }

    /// @dev One seal fault per (rollup, height, member), whichever call proves it.
    function _sealFaultId(Seal calldata seal, address signer) private pure returns (bytes32) {
        return keccak256(abi.encode(Fault.SealEquivocation, seal.rollupId, seal.height, uint32(0), signer));
    }

    function _requirePending(bytes32 taskId, TaskStatus status) private pure {
        if (status == TaskStatus.None) revert UnknownTask(taskId);
        if (status != TaskStatus.Pending) revert TaskNotPending(taskId, status);
    }

    function _sameSigner(
        bytes32 hashA,
        bytes calldata signatureA,
        bytes32 hashB,
        bytes calldata signatureB
    ) private view returns (address signer) {
        signer = ECDSA.recover(_hashTypedDataV4(hashA), signatureA);
        address other = ECDSA.recover(_hashTypedDataV4(hashB), signatureB);
        if (signer != other) revert SignersDiffer(signer, other);
    }

    function _settle(bytes32 faultId) private {
        if (_faultSettled[faultId]) revert FaultAlreadySlashed(faultId);
        _faultSettled[faultId] = true;
    }

    /// @dev Spends the caller's matured claim on this very call; every slash checks its evidence first, so an
    /// invalid one still reverts with its own reason.
    function _consumeClaim() private {
        bytes32 claim = keccak256(abi.encode(msg.sender, keccak256(msg.data)));
        uint256 at = _claims[claim];
        if (at == 0 || block.number < at + CLAIM_DELAY) revert ClaimNotMatured(claim);
        delete _claims[claim];
    }

    function _slashMember(bytes32 faultId, Fault fault, uint64 rollupId, address member) private {
        _settle(faultId);
        _consumeClaim();
        uint64 clusterId = registry.clusterOfRollup(rollupId);
        uint256 amount = registry.slash(clusterId, member, payable(msg.sender), challengerRewardBps, faultId);
        emit FaultSlashed(faultId, fault, member, msg.sender, amount);
    }
}
