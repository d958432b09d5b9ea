/**
 * The vocabulary of a height's replica (replica.ts): what goes in (requests, messages, ticks), what comes
 * out (effects), what it keeps durably, and the ports through which it signs, checks signatures and asks
 * who leads. No I/O, clock or randomness lives here: the host (the node, or the simulator) supplies them.
 */

/** A member, as a checksummed address. */
export type Address = string;
/** A 32-byte hash as 0x-hex. */
export type Hash = string;

/** What a leader signs for one index: the EIP-712 OrderCommitment, less the (rollup, height) the replica is for. */
export interface Commitment {
  readonly index: number;
  readonly leaf: Hash;
  /** The root of leaves 0..index. */
  readonly preRoot: Hash;
  readonly view: number;
  readonly epoch: number;
}

/** One slot of a height's log, as a leader signed it. `tx` is the host's payload, opaque here. */
export interface Entry<Tx = unknown> {
  readonly commitment: Commitment;
  readonly signature: string;
  readonly leader: Address;
  readonly tx: Tx;
  /** What the entry weighs in a cluster message (the host measures it; the log has a byte budget). */
  readonly bytes: number;
  /**
   * The left frontier at the entry's insertion (the Merkle path that opens `preRoot`), for the receipt. The
   * log computes it from its own tree on every append; one a member sends is never trusted.
   */
  readonly preProof: readonly Hash[];
}

/**
 * A leader's seal of the height: the log ends at `count` entries with root `root`, and the block holds after
 * them the forced-inclusion entries posted to the L1 inbox at or before block `inboxBlock`
 * (docs/forced-inclusion.md). A seal adopted by a view change keeps its inbox block.
 */
export interface Seal {
  readonly count: number;
  readonly root: Hash;
  readonly inboxBlock: number;
  readonly view: number;
  readonly epoch: number;
}

export interface SignedSeal {
  readonly seal: Seal;
  readonly leader: Address;
  readonly signature: string;
}

/** Signatures of a majority, each over the same statement (a seal, or a view's ViewChange vote). */
export interface Certificate<T> {
  readonly statement: T;
  readonly signatures: ReadonlyMap<Address, string>;
}

/** The statement a ViewChange vote signs: the members leave the views of the height below `view`. */
export interface ViewVote {
  readonly view: number;
  readonly epoch: number;
}

export type SealCertificate = Certificate<Seal>;
export type ViewCertificate = Certificate<ViewVote>;

/** A log as one member reports it in a view change or a state transfer. */
export interface LogReport<Tx = unknown> {
  readonly view: number;
  readonly normalView: number;
  /** The certificate of `normalView` when it is above 0: without it, a claimed normal view is only a word. */
  readonly normalViewCertificate: ViewCertificate | undefined;
  readonly entries: readonly Entry<Tx>[];
  readonly seal: SignedSeal | undefined;
}

/** Cluster messages between the replicas of one height. Their sender is authenticated by the transport. */
export type Message<Tx = unknown> =
  /**
   * Normal-view traffic. A follower answers with `challenge`, a fresh random number; the leader's next
   * replicate or heartbeat to it carries it back as `echo`. Only a message that echoes the follower's current
   * challenge resets its leader timer (the challenge then changes), so a recorded one replayed later holds
   * nothing off.
   */
  | {
      readonly type: "replicate";
      readonly view: number;
      readonly firstIndex: number;
      readonly entries: readonly Entry<Tx>[];
      readonly echo?: number;
    }
  | { readonly type: "ack"; readonly view: number; readonly count: number; readonly challenge: number }
  | { readonly type: "behind"; readonly view: number; readonly count: number; readonly challenge: number }
  | { readonly type: "heartbeat"; readonly view: number; readonly count: number; readonly echo?: number }
  | { readonly type: "seal"; readonly view: number; readonly seal: SignedSeal }
  | { readonly type: "seal-vote"; readonly view: number; readonly seal: Seal; readonly signature: string }
  | { readonly type: "start-view-change"; readonly view: number; readonly vote: string }
  | { readonly type: "do-view-change"; readonly view: number; readonly vote: string; readonly log: LogReport<Tx> }
  | {
      readonly type: "start-view";
      readonly view: number;
      readonly certificate: ViewCertificate;
      readonly entries: readonly Entry<Tx>[];
      readonly seal: SignedSeal | undefined;
    }
  /** "I am in a later view than the message you sent": the receiver may ask for the log (recovery). */
  | { readonly type: "newer-view"; readonly view: number }
  | { readonly type: "recovery"; readonly nonce: number }
  | { readonly type: "recovery-response"; readonly nonce: number; readonly log: LogReport<Tx> }
  /**
   * "The height is decided": a decided or built member's answer to view-change, recovery and normal-view
   * traffic of the height, which it no longer takes part in. Worth nothing until the receiver has checked
   * the certificate's majority itself.
   */
  | { readonly type: "decided"; readonly certificate: SealCertificate };

/** A client's transaction, admitted by the host (deduplicated, round key and proof checked). */
export interface Proposal<Tx = unknown> {
  readonly leaf: Hash;
  readonly tx: Tx;
  readonly bytes: number;
}

/** What a request is answered with. */
export type Reply<Tx = unknown> =
  | { readonly ok: true; readonly receipt: Entry<Tx>; readonly viewCertificate: ViewCertificate | undefined }
  | { readonly ok: true; readonly sealed: SealCertificate }
  | { readonly ok: false; readonly error: ReplicaError };

/** Why a request was refused, in words the host maps to its own errors. */
export interface ReplicaError {
  readonly code: "not-leader" | "view-change" | "recovering" | "sealed" | "full" | "not-committed";
  readonly message: string;
  /** For `not-leader`: who leads, as far as this replica knows. */
  readonly leader?: Address;
}

export type Input<Tx = unknown> =
  /** A group commit: every proposal becomes an entry of one batch (one write, one replication). */
  | { readonly type: "propose"; readonly batch: readonly { readonly id: number; readonly proposal: Proposal<Tx> }[] }
  /** Seal the height; a new seal names `inboxBlock`, the host's recent L1 block (an adopted one keeps its own). */
  | { readonly type: "seal"; readonly id: number; readonly inboxBlock: number }
  | { readonly type: "receive"; readonly from: Address; readonly message: Message<Tx> }
  | { readonly type: "tick" }
  /**
   * The host learnt that the height is in use elsewhere (a client, a validator or the chain asked about it):
   * watch its leader, so that silence leads to a view change, which a decided member answers (the node's
   * `suspectLeader`). A replica that never heard of its height's traffic otherwise stays quiet.
   * `leaderDown`: the host's call to the leader of `view` was refused at connection (nothing listens at its
   * address): it is down now, whatever it did earlier in the view.
   */
  | { readonly type: "watch"; readonly leaderDown?: { readonly view: number } }
  /** The host needs to know where the height stands (it seals a later one): ask a majority (a recovery). */
  | { readonly type: "sync" }
  /**
   * The height's block is built or fetched, checked against `certificate` and stored by the host: the
   * height needs no leader any more.
   */
  | { readonly type: "built"; readonly certificate: SealCertificate }
  /**
   * The host checked `certificate`, which came with the height's block from `from`, and is storing that
   * block: the height is decided here, and its replica waits for the block instead of for a leader.
   */
  | { readonly type: "block-arriving"; readonly certificate: SealCertificate; readonly from: Address };

/** Durable writes, applied by the host in order, each synced before any later effect of the same step. */
export type Write<Tx = unknown> =
  | { readonly type: "append"; readonly firstIndex: number; readonly entries: readonly Entry<Tx>[] }
  | { readonly type: "view"; readonly view: number; readonly normalView: number }
  | {
      readonly type: "install";
      readonly view: number;
      readonly normalView: number;
      /** Entries 0..keep stay; the rest are replaced by `entries`. */
      readonly keep: number;
      readonly entries: readonly Entry<Tx>[];
      readonly seal: SignedSeal | undefined;
      readonly viewCertificate: ViewCertificate | undefined;
      /** Indices at which this member signed an entry that the install drops: it never signs them again. */
      readonly signedDropped: readonly number[];
    }
  | { readonly type: "seal"; readonly seal: SignedSeal }
  /** The seal this member signed last (as leader or voter): it never signs another in that seal's view. */
  | { readonly type: "seal-signed"; readonly seal: Seal }
  /** A majority certified this seal (this member assembled or checked the certificate): the height is decided. */
  | { readonly type: "decided"; readonly certificate: SealCertificate }
  /** The height's block, built under this certificate, is stored here. */
  | { readonly type: "built"; readonly certificate: SealCertificate };

export type Effect<Tx = unknown> =
  | { readonly type: "persist"; readonly write: Write<Tx> }
  | { readonly type: "send"; readonly to: Address; readonly message: Message<Tx> }
  | { readonly type: "reply"; readonly id: number; readonly reply: Reply<Tx> }
  /** Deliver a tick at (or after) this logical time. */
  | { readonly type: "schedule"; readonly at: number }
  /** The seal is certified by a majority: the height's round key may be released, its block built. */
  | { readonly type: "certified"; readonly certificate: SealCertificate }
  /**
   * The height is decided but its block is not here: ask `from` for it (the block carries the sealed log and
   * its certificate). The host checks what comes back against a certificate and steps `built`; an answer
   * that never comes is retried by the replica, at another member, after a timeout.
   */
  | { readonly type: "fetch-block"; readonly from: Address; readonly certificate: SealCertificate };

/**
 * A height that is over on this member, whatever its views: a majority's seal certificate, checked (or
 * assembled) here and durable. `decided`: the block is not here yet; `built`: it is stored (the node's
 * `builtElsewhere` is `decided` until the block is pulled). Both carry the certificate, so neither can be
 * claimed without one.
 */
export interface Decision {
  readonly status: "decided" | "built";
  readonly certificate: SealCertificate;
}

/** Everything a replica keeps across a restart (what its persist effects wrote). */
export interface Durable<Tx = unknown> {
  readonly entries: readonly Entry<Tx>[];
  readonly view: number;
  readonly normalView: number;
  readonly seal: SignedSeal | undefined;
  readonly viewCertificate: ViewCertificate | undefined;
  /** Set once the height is decided here; a decided replica never writes its log, view or seal again. */
  readonly decision: Decision | undefined;
  readonly signedDropped: readonly number[];
  readonly sealSigned: Seal | undefined;
}

export const EMPTY_DURABLE: Durable<never> = {
  entries: [],
  view: 0,
  normalView: 0,
  seal: undefined,
  viewCertificate: undefined,
  decision: undefined,
  signedDropped: [],
  sealSigned: undefined,
};

/** Who runs the height: the members of its epoch, in schedule order. */
export interface Membership {
  readonly epoch: number;
  readonly members: readonly Address[];
}

/** Signing and checking, for one (rollup, height), by one member's key. Pure functions of their inputs. */
export interface Signatures {
  readonly self: Address;
  signCommitment(c: Commitment): string;
  signSeal(s: Seal): string;
  signVote(v: ViewVote): string;
  isCommitmentSignedBy(c: Commitment, signature: string, signer: Address): boolean;
  isSealSignedBy(s: Seal, signature: string, signer: Address): boolean;
  isVoteSignedBy(v: ViewVote, signature: string, signer: Address): boolean;
}

/** Timing of failure detection (logical milliseconds). */
export interface Timing {
  readonly heartbeatIntervalMs: number;
  readonly leaderTimeoutMs: number;
}

export interface ReplicaConfig {
  readonly membership: Membership;
  readonly signatures: Signatures;
  readonly timing: Timing;
  /** The largest log (entries), and the most bytes its entries may weigh. */
  readonly maxEntries: number;
  readonly maxLogBytes: number;
  /** Share of entries of the message's own signer whose signature a follower recovers on the append path. */
  readonly signatureSampleRate: number;
  /** Uniform in [0, 1): the host's seeded or real randomness. */
  readonly random: () => number;
  /**
   * The epoch a seal names, when not the height's own: the latest epoch with the height's members unchanged
   * (the VSM and the key generators take certificates of recent epochs only). A seal of another epoch is
   * accepted only if `acceptsSealEpoch` says its members are the height's. Both default to the height's.
   */
  readonly sealEpoch?: () => number;
  readonly acceptsSealEpoch?: (epoch: number) => boolean;
  /**
   * Whether a new seal's inbox block is recent enough to sign, by this member's own view of the L1: a majority
   * that checks it keeps one leader from naming a stale block to drop the forced entries posted since
   * (docs/forced-inclusion.md). Default: any block.
   */
  readonly acceptsInboxBlock?: (inboxBlock: number) => boolean;
  /**
   * Whether the host suspects `member` of being down (replica/suspects.ts): a watched height whose leader is
   * suspected and silent moves to the next view at once. Default: nobody is suspected.
   */
  readonly suspects?: (member: Address) => boolean;
}
