// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {VeilMerkle} from "./libraries/VeilMerkle.sol";

/**
 * @title ClusterRegistry
 * @notice Who sequences which rollup. Clusters of bonded sequencer nodes, the rollups they serve (owner,
 * executors, key-generator committee, block and time-lock parameters) and the leader schedule derived from
 * each cluster's ordered member list, epoch by epoch.
 * @dev Membership changes by epochs of `epochLength` L1 blocks. A join, an exit or a slash made in epoch c
 * changes the member list from the first epoch at or after c + EPOCH_LEAD in which the cluster has no other
 * change: an epoch's members are fixed a whole epoch before it starts, a transaction built for an epoch sees
 * that epoch's schedule, and two consecutive epochs differ by at most one member, so that their majorities
 * always share a member (conflicting certificates of neighbouring epochs stay slashable).
 * Bonds can only be slashed by the slasher (the ValidationServiceManager), which proves faults. A member
 * that leaves keeps its bond locked for `memberWithdrawalDelay` blocks after its last epoch, longer than every
 * challenge window, so that it cannot escape a slash by leaving. Every ETH transfer is the last step of its
 * function, after the bond record is deleted (checks-effects-interactions).
 */
contract ClusterRegistry {
    using EnumerableSet for EnumerableSet.AddressSet;

    /// @notice Lifecycle of a member's bond in one cluster.
    enum MemberStatus {
        None,
        Active,
        Exiting,
        Slashed
    }

    /// @notice A member's bond in one cluster, and the epochs it is in the schedule: from `fromEpoch` to
    /// before `untilEpoch` (type(uint32).max while it stays).
    struct Member {
        uint128 bond;
        uint48 unlockBlock;
        MemberStatus status;
        uint32 fromEpoch;
        uint32 untilEpoch;
    }

    /// @notice One entry of a cluster's record: a member and the epochs it is in the schedule (as in its
    /// {Member}), packed in one storage slot so that listing an epoch's members reads one slot per entry.
    struct Seat {
        address member;
        uint32 fromEpoch;
        uint32 untilEpoch;
    }

    /// @notice A cluster: its owner, the bond each member posts, its size limit, how many members stay (have
    /// not asked to leave, nor been slashed), the epoch of its latest scheduled change, and a seat for every
    /// member of an epoch still on record, in join order (the schedule's order).
    struct Cluster {
        address owner;
        uint96 minBond;
        uint32 maxMembers;
        uint32 staying;
        uint32 lastChangeEpoch;
        Seat[] seats;
    }

    /// @notice What nodes need to serve a rollup. `maxTxsPerBlock` bounds the block tree (at most 2^16);
    /// `timeLockSquarings` (T, at least the deployment's `minTimeLockSquarings`) and `timeLockModulus` (the
    /// deployment's modulus N, big-endian) parameterise the round-key puzzles of the key-generator committee;
    /// `timeLockH` is h = g^(2^T) mod N and `timeLockHProof` its Wesolowski proof, computed once by whoever
    /// registers the rollup (`veil timelock setup`), so that every process checks h in milliseconds instead of
    /// squaring T times (a wrong h is refused by every process, which makes only this rollup unusable);
    /// `minContributors` is how many of the committee's members must have contributed to a round key for
    /// anyone to encrypt to it (0: all but one, at least one).
    struct RollupConfig {
        uint64 clusterId;
        uint32 maxTxsPerBlock;
        uint64 blockGasLimit;
        uint64 timeLockSquarings;
        bytes timeLockModulus;
        bytes timeLockH;
        bytes timeLockHProof;
        uint32 minContributors;
    }

    /// @notice The deployment's time-lock rules, fixed at construction. Without `insecureTestModulus` the only
    /// modulus is the RSA-2048 challenge number, whose factors nobody is known to hold; any other modulus
    /// (for tests: its maker knows the factors and opens every puzzle at once) needs that flag, which every
    /// process reading the rollup reports. `minSquarings` is the least T a rollup may choose (see
    /// docs/round-keys.md for how it follows from look-ahead, block time and leader timeout).
    struct TimeLockPolicy {
        bytes modulus;
        uint64 minSquarings;
        bool insecureTestModulus;
    }

    struct Rollup {
        address owner;
        RollupConfig config;
        EnumerableSet.AddressSet executors;
        address[] keyGenerators;
    }

    /// @notice The least bond any cluster may require.
    uint256 public immutable minimumBond;
    /// @notice Blocks a leaving member's bond stays locked (and slashable) after its last epoch ends.
    uint256 public immutable memberWithdrawalDelay;
    /// @notice L1 blocks per membership epoch.
    uint256 public immutable epochLength;
    /// @notice A change made in epoch c applies from epoch c + EPOCH_LEAD at the earliest.
    uint32 public constant EPOCH_LEAD = 2;
    /// @notice keccak256 of the RSA-2048 challenge modulus (256 bytes, big-endian).
    bytes32 public constant RSA_2048_MODULUS_HASH = 0xbe1d9f9820679db7822e3726e7781cb1ba292acdd86a4786cdd7009ed92a017b;
    /// @notice keccak256 of the one modulus every rollup of this deployment uses.
    bytes32 public immutable timeLockModulusHash;
    /// @notice The least T (sequential squarings) of any rollup's puzzles.
    uint64 public immutable minTimeLockSquarings;
    /// @notice True when the deployment allows a modulus other than RSA-2048: its puzzles protect nothing
    /// against whoever made the modulus (development chains and tests only).
    bool public immutable insecureTestModulus;
    /// @notice The largest cluster: every schedule scan, exit and slash reads the record, at most twice this.
    uint32 public constant MAX_MEMBERS = 256;
    /// @notice `untilEpoch` of a member that stays.
    uint32 private constant FOREVER = type(uint32).max;

    /// @notice The contract allowed to slash bonds (the ValidationServiceManager); set once.
    address public slasher;
    /// @notice Total of slashed bonds not paid to challengers; locked in this contract forever.
    uint256 public totalBurned;
    /// @notice The id the next cluster gets (ids start at 1).
    uint64 public nextClusterId = 1;

    address private immutable _deployer;
    mapping(uint64 clusterId => Cluster) private _clusters;
    mapping(uint64 clusterId => mapping(address member => Member)) private _members;
    mapping(uint64 rollupId => Rollup) private _rollups;
    mapping(uint64 clusterId => mapping(uint64 rollupId => address owner)) private _rollupApprovals;

    /// @notice A cluster was created.
    event ClusterCreated(uint64 indexed clusterId, address indexed owner, uint96 minBond, uint32 maxMembers);
    /// @notice A member joined a cluster with `bond`; it is now last in the schedule order.
    event MemberJoined(uint64 indexed clusterId, address indexed member, uint256 bond, uint32 fromEpoch);
    /// @notice A member left the schedule; its bond unlocks at `unlockBlock`.
    event MemberExitRequested(uint64 indexed clusterId, address indexed member, uint32 untilEpoch, uint256 unlockBlock);
    /// @notice A slashed member's record was removed once its last epoch and the withdrawal delay passed.
    event MemberPruned(uint64 indexed clusterId, address indexed member);
    /// @notice A former member took its bond back.
    event BondWithdrawn(uint64 indexed clusterId, address indexed member, uint256 amount);
    /// @notice A member's whole bond was slashed for `faultId`; `reward` went to `challenger`, the rest burned.
    event MemberSlashed(
        uint64 indexed clusterId,
        address indexed member,
        bytes32 indexed faultId,
        uint256 amount,
        address challenger,
        uint256 reward
    );
    /// @notice The slasher was set.
    event SlasherSet(address slasher);
    /// @notice The deployment's time-lock rules (emitted once, by the constructor).
    event TimeLockPolicySet(bytes32 modulusHash, uint64 minSquarings, bool insecureTestModulus);
    /// @notice A rollup was registered with its configuration.
    event RollupRegistered(uint64 indexed rollupId, uint64 indexed clusterId, address indexed owner);
    /// @notice A cluster's owner agreed that `owner` registers rollup `rollupId` on it (zero: withdrawn).
    event RollupApproved(uint64 indexed clusterId, uint64 indexed rollupId, address owner);
    /// @notice A rollup's configuration changed (the cluster never changes).
    event RollupConfigUpdated(uint64 indexed rollupId);
    /// @notice An executor was allowed (or no longer allowed) to seal the rollup's blocks.
    event ExecutorSet(uint64 indexed rollupId, address indexed executor, bool allowed);
    /// @notice The rollup's key-generator committee was replaced.
    event KeyGeneratorsSet(uint64 indexed rollupId, address[] keyGenerators);
    /// @notice A rollup's ownership moved.
    event RollupOwnershipTransferred(uint64 indexed rollupId, address indexed previousOwner, address indexed newOwner);

    error Unauthorized(address caller);
    error SlasherAlreadySet();
    error ZeroAddress();
    error BondBelowMinimum(uint256 bond, uint256 minimum);
    error InvalidMaxMembers();
    error UnknownCluster(uint64 clusterId);
    error ClusterFull(uint64 clusterId);
    error AlreadyMember(uint64 clusterId, address member);
    error NotActiveMember(uint64 clusterId, address member);
    error NotExiting(uint64 clusterId, address member);
    error BondLocked(uint256 unlockBlock);
    error NothingToSlash(uint64 clusterId, address member);
    error InvalidRewardBps(uint256 rewardBps);
    error NoMembers(uint64 clusterId);
    error InvalidEpochLength();
    /// @notice The members of `epoch` may still change (it is more than one epoch ahead).
    error EpochNotFinal(uint32 epoch);
    /// @notice The members of `epoch` are no longer on record (its leavers' bonds may be withdrawn).
    error EpochExpired(uint32 epoch);
    error NotPrunable(uint64 clusterId, address member);
    error InvalidRollupId();
    error RollupExists(uint64 rollupId);
    error UnknownRollup(uint64 rollupId);
    error InvalidRollupConfig();
    /// @notice The deployment's modulus is not RSA-2048 and the insecure flag was not given, or it is malformed.
    error InvalidTimeLockPolicy();
    /// @notice A rollup's modulus is not the deployment's.
    error TimeLockModulusNotAllowed();
    /// @notice A rollup's T is below the deployment's minimum.
    error TimeLockTooShort(uint64 squarings, uint64 minimum);
    error NoExecutors();
    error ExecutorUnchanged(address executor);
    error KeyGeneratorsNotSorted();
    /// @notice The cluster's owner has not agreed that the caller registers this rollup on it.
    error RollupNotApproved(uint64 clusterId, uint64 rollupId, address caller);
    /// @notice A rollup would require more round-key contributors than its committee has members.
    error MinContributorsAboveCommittee(uint32 minContributors, uint256 committeeSize);

    modifier onlyRollupOwner(uint64 rollupId) {
        address owner = _rollups[rollupId].owner;
        if (owner == address(0)) revert UnknownRollup(rollupId);
        if (msg.sender != owner) revert Unauthorized(msg.sender);
        _;
    }

    /// @param minimumBond_ the least bond a cluster may require of its members.
    /// @param memberWithdrawalDelay_ blocks a leaving member's bond stays slashable; must exceed the
    /// ValidationServiceManager's challenge window (the manager checks this when it is deployed).
    /// @param epochLength_ L1 blocks per membership epoch (non-zero).
    /// @param timeLock the deployment's modulus and least T; see {TimeLockPolicy}.
    constructor(
        uint256 minimumBond_,
        uint256 memberWithdrawalDelay_,
        uint256 epochLength_,
        TimeLockPolicy memory timeLock
    ) {
        if (epochLength_ == 0) revert InvalidEpochLength();
        bytes32 modulusHash = keccak256(timeLock.modulus);
        bytes memory n = timeLock.modulus;
        if (
            timeLock.minSquarings == 0 ||
            n.length == 0 ||
            n[0] == 0 ||
            uint8(n[n.length - 1]) % 2 == 0 ||
            (modulusHash != RSA_2048_MODULUS_HASH && !timeLock.insecureTestModulus)
        ) revert InvalidTimeLockPolicy();
        minimumBond = minimumBond_;
        memberWithdrawalDelay = memberWithdrawalDelay_;
        epochLength = epochLength_;
        timeLockModulusHash = modulusHash;
        minTimeLockSquarings = timeLock.minSquarings;
        insecureTestModulus = timeLock.insecureTestModulus;
        _deployer = msg.sender;
        emit TimeLockPolicySet(modulusHash, timeLock.minSquarings, timeLock.insecureTestModulus);
    }

    // ---------------------------------------------------------------- slasher

    /// @notice Sets the one contract allowed to slash bonds. Callable once, by the deployer.
    /// @param slasher_ the ValidationServiceManager.
    function setSlasher(address slasher_) external {
        if (msg.sender != _deployer) revert Unauthorized(msg.sender);
        if (slasher != address(0)) revert SlasherAlreadySet();
        if (slasher_ == address(0)) revert ZeroAddress();
        slasher = slasher_;
        emit SlasherSet(slasher_);
    }

    /// @notice Slashes a member's whole bond (active or exiting) for a fault the slasher proved, takes it out
    /// of the schedule from the next free epoch (if it was staying), pays `rewardBps` of the bond to
    /// `challenger` and burns the rest.
    /// @return amount the bond slashed.
    function slash(
        uint64 clusterId,
        address member,
        address payable challenger,
        uint256 rewardBps,
        bytes32 faultId
    ) external returns (uint256 amount) {
        if (msg.sender != slasher) revert Unauthorized(msg.sender);
        if (rewardBps > 10_000) revert InvalidRewardBps(rewardBps);
        Member storage m = _members[clusterId][member];
        amount = m.bond;
        if (amount == 0) revert NothingToSlash(clusterId, member);
        if (m.status == MemberStatus.Active) _leave(clusterId, member, m);
        m.bond = 0;
        m.status = MemberStatus.Slashed;
        uint256 reward = (amount * rewardBps) / 10_000;
        totalBurned += amount - reward;
        emit MemberSlashed(clusterId, member, faultId, amount, challenger, reward);
        if (reward > 0) Address.sendValue(challenger, reward);
    }

    // ---------------------------------------------------------------- clusters and members

    /// @notice Creates a cluster owned by the caller.
    /// @param minBond the bond each member must post (at least `minimumBond`).
    /// @param maxMembers the largest member list (and leader rotation) the cluster accepts, 1..MAX_MEMBERS.
    function createCluster(uint96 minBond, uint32 maxMembers) external returns (uint64 clusterId) {
        if (minBond < minimumBond) revert BondBelowMinimum(minBond, minimumBond);
        if (maxMembers == 0 || maxMembers > MAX_MEMBERS) revert InvalidMaxMembers();
        clusterId = nextClusterId++;
        Cluster storage c = _clusters[clusterId];
        c.owner = msg.sender;
        c.minBond = minBond;
        c.maxMembers = maxMembers;
        emit ClusterCreated(clusterId, msg.sender, minBond, maxMembers);
    }

    /// @notice Joins a cluster as a sequencer node with the attached ETH as bond. The caller becomes the last
    /// member of the schedule order from the first free epoch at or after the current one + EPOCH_LEAD.
    function join(uint64 clusterId) external payable {
        Cluster storage c = _clusters[clusterId];
        if (c.owner == address(0)) revert UnknownCluster(clusterId);
        if (msg.value < c.minBond) revert BondBelowMinimum(msg.value, c.minBond);
        // Leavers stay on record until their bonds unlock: bounding the record bounds every schedule scan
        // (each createNewTask reads it) and how far join-and-exit churn can push later changes back.
        if (c.staying >= c.maxMembers || c.seats.length >= 2 * uint256(c.maxMembers)) revert ClusterFull(clusterId);
        Member storage m = _members[clusterId][msg.sender];
        if (m.status != MemberStatus.None) revert AlreadyMember(clusterId, msg.sender);
        uint32 fromEpoch = _scheduleChange(c);
        m.bond = SafeCast.toUint128(msg.value);
        m.status = MemberStatus.Active;
        m.fromEpoch = fromEpoch;
        m.untilEpoch = FOREVER;
        c.staying += 1;
        c.seats.push(Seat(msg.sender, fromEpoch, FOREVER));
        emit MemberJoined(clusterId, msg.sender, msg.value, fromEpoch);
    }

    /// @notice Leaves the schedule from the first free epoch at or after the current one + EPOCH_LEAD; the
    /// bond stays locked and slashable for `memberWithdrawalDelay` blocks after that epoch starts.
    function requestExit(uint64 clusterId) external {
        Member storage m = _members[clusterId][msg.sender];
        if (m.status != MemberStatus.Active) revert NotActiveMember(clusterId, msg.sender);
        _leave(clusterId, msg.sender, m);
        m.status = MemberStatus.Exiting;
        emit MemberExitRequested(clusterId, msg.sender, m.untilEpoch, m.unlockBlock);
    }

    /// @notice Takes back the bond once the exit delay has passed; the member leaves the record.
    function withdrawBond(uint64 clusterId) external {
        Member storage m = _members[clusterId][msg.sender];
        if (m.status != MemberStatus.Exiting) revert NotExiting(clusterId, msg.sender);
        if (block.number < m.unlockBlock) revert BondLocked(m.unlockBlock);
        uint256 amount = m.bond;
        _removeFromRecord(clusterId, msg.sender);
        delete _members[clusterId][msg.sender];
        emit BondWithdrawn(clusterId, msg.sender, amount);
        Address.sendValue(payable(msg.sender), amount);
    }

    /// @notice Removes a slashed member from the record once its last epoch and the withdrawal delay have
    /// passed (nobody withdraws a slashed bond). Anyone may call it; it keeps the schedule scans short.
    function prune(uint64 clusterId, address member) external {
        Member storage m = _members[clusterId][member];
        if (m.status != MemberStatus.Slashed || block.number < m.unlockBlock) revert NotPrunable(clusterId, member);
        _removeFromRecord(clusterId, member);
        delete _members[clusterId][member];
        emit MemberPruned(clusterId, member);
    }

    // ---------------------------------------------------------------- rollups

    /// @notice Registers a rollup served by an existing cluster whose owner approved the caller for this id
    /// (`approveRollup`); the caller becomes its owner.
    /// @param rollupId the rollup's id (its chain id), non-zero and unique.
    /// @param config cluster and parameters; see {RollupConfig}.
    /// @param executors rollup operators allowed to seal blocks (at least one).
    /// @param keyGenerators the key-generator committee, strictly ascending (no duplicates, no zero address).
    function registerRollup(
        uint64 rollupId,
        RollupConfig calldata config,
        address[] calldata executors,
        address[] calldata keyGenerators
    ) external {
        if (rollupId == 0) revert InvalidRollupId();
        Rollup storage r = _rollups[rollupId];
        if (r.owner != address(0)) revert RollupExists(rollupId);
        if (_clusters[config.clusterId].owner == address(0)) revert UnknownCluster(config.clusterId);
        _checkConfig(config);
        if (executors.length == 0) revert NoExecutors();
        _checkKeyGenerators(keyGenerators);
        _checkMinContributors(config.minContributors, keyGenerators.length);
        r.owner = msg.sender;
        r.config = config;
        r.keyGenerators = keyGenerators;
        emit RollupRegistered(rollupId, config.clusterId, msg.sender);
        for (uint256 i = 0; i < executors.length; ++i) {
            if (executors[i] == address(0)) revert ZeroAddress();
            if (!r.executors.add(executors[i])) revert ExecutorUnchanged(executors[i]);
            emit ExecutorSet(rollupId, executors[i], true);
        }
        emit KeyGeneratorsSet(rollupId, keyGenerators);
        // Last, so that a malformed registration says what is wrong with it first (no call is made above).
        if (_rollupApprovals[config.clusterId][rollupId] != msg.sender) {
            revert RollupNotApproved(config.clusterId, rollupId, msg.sender);
        }
        delete _rollupApprovals[config.clusterId][rollupId];
    }

    /// @notice Agrees, as the cluster's owner, that `owner` registers rollup `rollupId` (its chain id) on the
    /// cluster; the zero address withdraws the agreement. A rollup is served only with its cluster's consent,
    /// and its id is one the cluster's owner vouched for, not the first caller's pick.
    function approveRollup(uint64 clusterId, uint64 rollupId, address owner) external {
        Cluster storage c = _clusters[clusterId];
        if (c.owner == address(0)) revert UnknownCluster(clusterId);
        if (msg.sender != c.owner) revert Unauthorized(msg.sender);
        if (rollupId == 0) revert InvalidRollupId();
        _rollupApprovals[clusterId][rollupId] = owner;
        emit RollupApproved(clusterId, rollupId, owner);
    }

    /// @notice Updates a rollup's parameters. The serving cluster cannot change.
    function updateRollupConfig(uint64 rollupId, RollupConfig calldata config) external onlyRollupOwner(rollupId) {
        Rollup storage r = _rollups[rollupId];
        if (config.clusterId != r.config.clusterId) revert InvalidRollupConfig();
        _checkConfig(config);
        _checkMinContributors(config.minContributors, r.keyGenerators.length);
        r.config = config;
        emit RollupConfigUpdated(rollupId);
    }

    /// @notice Allows or disallows an executor; at least one executor always remains.
    function setExecutor(uint64 rollupId, address executor, bool allowed) external onlyRollupOwner(rollupId) {
        if (executor == address(0)) revert ZeroAddress();
        EnumerableSet.AddressSet storage set = _rollups[rollupId].executors;
        bool changed = allowed ? set.add(executor) : set.remove(executor);
        if (!changed) revert ExecutorUnchanged(executor);
        if (set.length() == 0) revert NoExecutors();
        emit ExecutorSet(rollupId, executor, allowed);
    }

    /// @notice Replaces the key-generator committee (strictly ascending addresses).
    function setKeyGenerators(uint64 rollupId, address[] calldata keyGenerators) external onlyRollupOwner(rollupId) {
        _checkKeyGenerators(keyGenerators);
        _checkMinContributors(_rollups[rollupId].config.minContributors, keyGenerators.length);
        _rollups[rollupId].keyGenerators = keyGenerators;
        emit KeyGeneratorsSet(rollupId, keyGenerators);
    }

    /// @notice Hands the rollup to a new owner.
    function transferRollupOwnership(uint64 rollupId, address newOwner) external onlyRollupOwner(rollupId) {
        if (newOwner == address(0)) revert ZeroAddress();
        _rollups[rollupId].owner = newOwner;
        emit RollupOwnershipTransferred(rollupId, msg.sender, newOwner);
    }

    // ---------------------------------------------------------------- views

    /// @notice The current membership epoch.
    function currentEpoch() public view returns (uint32) {
        return SafeCast.toUint32(block.number / epochLength);
    }

    /// @notice The leader of `height` at `viewNumber` in the current epoch: view 0 is the scheduled leader,
    /// view v the v-th fallback, i.e. members[(height + view) mod n] in join order.
    function leaderOf(uint64 clusterId, uint64 height, uint32 viewNumber) public view returns (address) {
        return leaderAt(clusterId, currentEpoch(), height, viewNumber);
    }

    /// @notice The leader of `height` at `viewNumber` among the members of `epoch`.
    function leaderAt(uint64 clusterId, uint32 epoch, uint64 height, uint32 viewNumber) public view returns (address) {
        address[] memory members_ = membersAt(clusterId, epoch);
        if (members_.length == 0) revert NoMembers(clusterId);
        return members_[(uint256(height) + viewNumber) % members_.length];
    }

    /// @notice The leader of a rollup's `height` at `viewNumber`, and the cluster that serves the rollup.
    function leaderOfRollup(
        uint64 rollupId,
        uint64 height,
        uint32 viewNumber
    ) external view returns (address leader, uint64 clusterId) {
        clusterId = clusterOfRollup(rollupId);
        leader = leaderOf(clusterId, height, viewNumber);
    }

    /// @notice The cluster serving a rollup; reverts for unknown rollups.
    function clusterOfRollup(uint64 rollupId) public view returns (uint64) {
        Rollup storage r = _rollups[rollupId];
        if (r.owner == address(0)) revert UnknownRollup(rollupId);
        return r.config.clusterId;
    }

    /// @notice A cluster's owner, member bond, size limit and the size of the current epoch's member list.
    function clusterInfo(
        uint64 clusterId
    ) external view returns (address owner, uint96 minBond, uint32 maxMembers, uint256 memberCount) {
        Cluster storage c = _clusters[clusterId];
        if (c.owner == address(0)) revert UnknownCluster(clusterId);
        return (c.owner, c.minBond, c.maxMembers, membersAt(clusterId, currentEpoch()).length);
    }

    /// @notice The cluster's members in the current epoch, in schedule order.
    function membersOf(uint64 clusterId) external view returns (address[] memory) {
        return membersAt(clusterId, currentEpoch());
    }

    /// @notice The cluster's members in `epoch`, in schedule (join) order. Known up to the next epoch; on
    /// record while the bonds of that epoch's leavers are still locked.
    function membersAt(uint64 clusterId, uint32 epoch) public view returns (address[] memory members_) {
        uint32 current = currentEpoch();
        if (epoch > current + 1) revert EpochNotFinal(epoch);
        // A member leaving at epoch e + 1 (the earliest that drops it from e) is removed from the record at
        // block (e + 1) * epochLength + memberWithdrawalDelay at the earliest.
        if ((uint256(epoch) + 1) * epochLength + memberWithdrawalDelay <= block.number) revert EpochExpired(epoch);
        Seat[] storage seats = _clusters[clusterId].seats;
        uint256 total = seats.length;
        members_ = new address[](total);
        uint256 n = 0;
        for (uint256 i = 0; i < total; ++i) {
            Seat memory seat = seats[i];
            if (seat.fromEpoch <= epoch && epoch < seat.untilEpoch) members_[n++] = seat.member;
        }
        // Shrink the array to the n members found (memory-safe: it only shortens a fresh array).
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            mstore(members_, n)
        }
    }

    /// @notice A member's bond, status and unlock block in a cluster.
    function memberInfo(uint64 clusterId, address member) external view returns (Member memory) {
        return _members[clusterId][member];
    }

    /// @notice A rollup's owner and configuration.
    function rollupInfo(uint64 rollupId) external view returns (address owner, RollupConfig memory config) {
        Rollup storage r = _rollups[rollupId];
        if (r.owner == address(0)) revert UnknownRollup(rollupId);
        return (r.owner, r.config);
    }

    /// @notice The executors allowed to seal a rollup's blocks.
    function executorsOf(uint64 rollupId) external view returns (address[] memory) {
        return _rollups[rollupId].executors.values();
    }

    /// @notice Whether `account` may seal the rollup's blocks.
    function isExecutor(uint64 rollupId, address account) external view returns (bool) {
        return _rollups[rollupId].executors.contains(account);
    }

    /// @notice The rollup's key-generator committee, ascending.
    function keyGeneratorsOf(uint64 rollupId) external view returns (address[] memory) {
        return _rollups[rollupId].keyGenerators;
    }

    // ---------------------------------------------------------------- internals

    /// @dev The epoch a change made now applies from: current + EPOCH_LEAD, or the one after the cluster's
    /// latest scheduled change, whichever is later (one change per epoch).
    function _scheduleChange(Cluster storage c) private returns (uint32 epoch) {
        epoch = currentEpoch() + EPOCH_LEAD;
        if (c.lastChangeEpoch >= epoch) epoch = c.lastChangeEpoch + 1;
        c.lastChangeEpoch = epoch;
    }

    /// @dev Takes a staying member out of the schedule from the next free epoch (in its record and its seat)
    /// and locks its bond until `memberWithdrawalDelay` blocks after that epoch starts.
    function _leave(uint64 clusterId, address member, Member storage m) private {
        Cluster storage c = _clusters[clusterId];
        uint32 untilEpoch = _scheduleChange(c);
        m.untilEpoch = untilEpoch;
        m.unlockBlock = SafeCast.toUint48(uint256(untilEpoch) * epochLength + memberWithdrawalDelay);
        c.staying -= 1;
        c.seats[_seatOf(c.seats, member)].untilEpoch = untilEpoch;
    }

    function _removeFromRecord(uint64 clusterId, address member) private {
        // Shift to keep join order (and so the schedule of the others) stable; clusters are small.
        Seat[] storage seats = _clusters[clusterId].seats;
        uint256 n = seats.length;
        for (uint256 i = _seatOf(seats, member); i + 1 < n; ++i) seats[i] = seats[i + 1];
        seats.pop();
    }

    /// @dev The index of `member`'s seat; the caller knows it has one (a member on record).
    function _seatOf(Seat[] storage seats, address member) private view returns (uint256 i) {
        while (seats[i].member != member) ++i;
    }

    function _checkConfig(RollupConfig calldata config) private view {
        if (keccak256(config.timeLockModulus) != timeLockModulusHash) revert TimeLockModulusNotAllowed();
        uint256 size = config.timeLockModulus.length;
        if (
            config.maxTxsPerBlock == 0 ||
            config.maxTxsPerBlock > VeilMerkle.CAPACITY ||
            config.blockGasLimit == 0 ||
            config.timeLockH.length == 0 ||
            config.timeLockH.length > size ||
            config.timeLockHProof.length == 0 ||
            config.timeLockHProof.length > size
        ) revert InvalidRollupConfig();
        if (config.timeLockSquarings < minTimeLockSquarings) {
            revert TimeLockTooShort(config.timeLockSquarings, minTimeLockSquarings);
        }
    }

    /// @dev A round key can only be complete enough if the committee has at least `minContributors` members.
    function _checkMinContributors(uint32 minContributors, uint256 committeeSize) private pure {
        if (minContributors > committeeSize) revert MinContributorsAboveCommittee(minContributors, committeeSize);
    }

    function _checkKeyGenerators(address[] calldata keyGenerators) private pure {
        if (keyGenerators.length == 0) revert KeyGeneratorsNotSorted();
        address previous = address(0);
        for (uint256 i = 0; i < keyGenerators.length; ++i) {
            if (keyGenerators[i] <= previous) revert KeyGeneratorsNotSorted();
            previous = keyGenerators[i];
        }
    }
}
