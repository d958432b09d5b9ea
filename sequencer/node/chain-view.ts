/**
 * What the node knows of L1: the cluster's members epoch by epoch (the leader schedule; ClusterRegistry
 * fixes an epoch's members a whole epoch before it starts) and, per rollup, its config, key-generator
 * committee and executors. Read through TypeChain and cached: an epoch's member list never changes once
 * final, so `leaderAt` and the majorities are computed locally with the registry's own formula.
 */
import { getAddress } from "ethers";
import type { ClusterRegistry } from "../../typechain-types";
import { majorityOf } from "../chain/certificate";
import { publishedTimelockOf } from "../chain/timelock-config";
import type { PublishedTimelock } from "../crypto/timelock/params";

export interface RollupInfo {
  readonly rollupId: bigint;
  readonly clusterId: bigint;
  readonly maxTxsPerBlock: number;
  /** The published time-lock parameters (verified by whoever adopts them: round-keys.ts). */
  readonly timelock: PublishedTimelock;
  readonly keyGenerators: readonly string[];
  /** The registry's minimum of round-key contributors (0: all but one; roundkey.ts `requiredContributors`). */
  readonly minContributors: number;
}

/** How long a rollup lookup (found or not) is trusted before it is read again. */
const ROLLUP_TTL_MS = 10_000;
/** The most ids remembered as not served here: reads of made-up rollups cannot grow memory past it. */
export const MAX_UNKNOWN_ROLLUPS = 4_096;
/** Epochs kept in memory below the current one (a height lives for seconds; an epoch for many minutes). */
const EPOCHS_KEPT = 256;

/** An act named an epoch whose members this node does not know (too old, or not final yet). */
export class UnknownEpochError extends Error {
  override readonly name = "UnknownEpochError";
}

export class ChainView {
  private epochLength = 0n;
  private current = -1;
  /** Final member lists by epoch, in schedule order (checksummed). */
  private readonly epochs = new Map<number, readonly string[]>();
  /** Rollups served by this cluster, and ids that are not (kept apart, bounded: anyone may ask for any id). */
  private readonly rollups = new Map<bigint, { at: number; info: RollupInfo }>();
  private readonly unknownRollups = new Map<bigint, number>();
  /** Lookups on L1 in flight: concurrent asks for one id share one. */
  private readonly rollupLookups = new Map<bigint, Promise<RollupInfo | undefined>>();
  private head = -1;

  constructor(
    readonly registry: ClusterRegistry,
    readonly clusterId: bigint,
  ) {}

  /**
   * Reads the current epoch and the member lists of the previous, current and next epochs (the next one is
   * final already); throws when the current epoch has no members (a node cannot serve an empty cluster).
   */
  async refresh(): Promise<void> {
    if (this.epochLength === 0n) this.epochLength = await this.registry.epochLength();
    const provider = this.registry.runner?.provider;
    if (provider === undefined || provider === null) throw new Error("the registry has no provider");
    const block = await provider.getBlockNumber();
    this.head = Math.max(this.head, block);
    const current = Number(BigInt(block) / this.epochLength);
    for (const epoch of [current - 1, current, current + 1]) {
      if (epoch >= 0 && !this.epochs.has(epoch)) await this.load(epoch);
    }
    for (const epoch of this.epochs.keys()) if (epoch < current - EPOCHS_KEPT) this.epochs.delete(epoch);
    this.current = Math.max(this.current, current);
    if (this.membersAt(current).length === 0)
      throw new Error(`cluster ${this.clusterId} has no members in the registry`);
  }

  private async load(epoch: number): Promise<readonly string[]> {
    const members = (await this.registry.membersAt(this.clusterId, epoch)).map((m) => getAddress(m));
    this.epochs.set(epoch, members);
    return members;
  }

  /** The L1 block number the last refresh read (-1 before the first). */
  get l1Head(): number {
    return this.head;
  }

  /** The current epoch as of the last refresh (-1 before the first). */
  get epoch(): number {
    return this.current;
  }

  /** Whether this node holds the member list of `epoch`. */
  knows(epoch: number): boolean {
    return this.epochs.has(epoch);
  }

  /** The members of `epoch` in schedule order; throws UnknownEpochError when it is not loaded. */
  membersAt(epoch: number): readonly string[] {
    const members = this.epochs.get(epoch);
    if (members === undefined) throw new UnknownEpochError(`the members of epoch ${epoch} are not known here`);
    return members;
  }

  /** The members of `epoch`, read from L1 when they are not in memory (an older certificate, say). */
  async fetchMembersAt(epoch: number): Promise<readonly string[]> {
    return this.epochs.get(epoch) ?? this.load(epoch);
  }

  /** Votes needed for a majority of the members of `epoch`, the leader included. */
  majorityAt(epoch: number): number {
    return majorityOf(this.membersAt(epoch).length);
  }

  isMemberAt(epoch: number, address: string): boolean {
    const a = address.toLowerCase();
    return this.epochs.get(epoch)?.some((m) => m.toLowerCase() === a) ?? false;
  }

  /** Whether `address` is a member of any epoch this node holds (the first check of a cluster message). */
  isMember(address: string): boolean {
    for (const epoch of this.epochs.keys()) if (this.isMemberAt(epoch, address)) return true;
    return false;
  }

  /** ClusterRegistry.leaderAt: members[(height + view) % n] among the members of `epoch`. */
  leaderAt(epoch: number, height: number, view: number): string {
    const members = this.membersAt(epoch);
    if (members.length === 0) throw new UnknownEpochError(`epoch ${epoch} has no members`);
    return members[Number((BigInt(height) + BigInt(view)) % BigInt(members.length))]!;
  }

  /**
   * The latest epoch, from `epoch` up to the current one, whose member list is the same as `epoch`'s: a seal
   * names it, so that a height begun in an earlier epoch is still certified in the window the VSM and the
   * key generators accept (the current or the previous epoch). The same list means the same signers make a
   * majority, so the certificate is exactly as strong in either epoch, whatever happened in between.
   */
  latestSameMembers(epoch: number): number {
    const members = this.membersAt(epoch).join();
    for (let later = this.current; later > epoch; later--) {
      if (this.epochs.get(later)?.join() === members) return later;
    }
    return epoch;
  }

  /** Whether `a` and `b` are known epochs with the same member list in the same order. */
  sameMembers(a: number, b: number): boolean {
    const x = this.epochs.get(a);
    const y = this.epochs.get(b);
    return x !== undefined && y !== undefined && x.join() === y.join();
  }

  /** The current epoch's members (status pages and start-up checks). */
  get memberList(): readonly string[] {
    return this.epochs.get(this.current) ?? [];
  }

  get size(): number {
    return this.memberList.length;
  }

  /** The rollup's config if it is registered and served by this cluster, otherwise undefined. */
  async rollup(rollupId: bigint): Promise<RollupInfo | undefined> {
    const now = performance.now();
    const cached = this.rollups.get(rollupId);
    if (cached !== undefined && now - cached.at < ROLLUP_TTL_MS) return cached.info;
    const refused = this.unknownRollups.get(rollupId);
    if (refused !== undefined && now - refused < ROLLUP_TTL_MS) return undefined;
    let lookup = this.rollupLookups.get(rollupId);
    if (lookup === undefined) {
      lookup = this.lookUpRollup(rollupId).finally(() => this.rollupLookups.delete(rollupId));
      this.rollupLookups.set(rollupId, lookup);
    }
    return lookup;
  }

  private async lookUpRollup(rollupId: bigint): Promise<RollupInfo | undefined> {
    let info: RollupInfo | undefined;
    if (rollupId > 0n && rollupId < 1n << 64n) {
      try {
        const [owner, config] = await this.registry.rollupInfo(rollupId);
        if (BigInt(owner) !== 0n && config.clusterId === this.clusterId) {
          const keyGenerators = (await this.registry.keyGeneratorsOf(rollupId)).map((g) => getAddress(g));
          info = {
            rollupId,
            clusterId: config.clusterId,
            maxTxsPerBlock: Number(config.maxTxsPerBlock),
            timelock: publishedTimelockOf(config, rollupId),
            keyGenerators,
            minContributors: Number(config.minContributors),
          };
        }
      } catch {
        info = undefined; // reverts with UnknownRollup
      }
    }
    const at = performance.now();
    if (info !== undefined) {
      this.rollups.set(rollupId, { at, info });
      this.unknownRollups.delete(rollupId);
    } else {
      this.rollups.delete(rollupId);
      // Oldest first: when full, the id asked about longest ago goes.
      this.unknownRollups.delete(rollupId);
      if (this.unknownRollups.size >= MAX_UNKNOWN_ROLLUPS) {
        this.unknownRollups.delete(this.unknownRollups.keys().next().value!);
      }
      this.unknownRollups.set(rollupId, at);
    }
    return info;
  }

  isExecutor(rollupId: bigint, account: string): Promise<boolean> {
    return this.registry.isExecutor(rollupId, account);
  }
}
