/**
 * Veil's EIP-712 messages, defined once for every TypeScript component (node, SDK, key generators,
 * validators) and mirrored by contracts/libraries/VeilTypes.sol.
 *
 * One domain: name "Veil", version "1", the chain id, and verifyingContract = the deployment's
 * ValidationServiceManager (the contract that checks these signatures on-chain; messages only checked
 * off-chain use the same domain so that a signature can never be replayed across deployments or chains).
 *
 * Solidity types: rollupId, clusterId, heights and deadlines uint64 (bigint here); txIndex, txCount and
 * viewNumber, epoch uint32 and kind uint8 (number here); hashes and roots bytes32 (0x-hex strings). An
 * `epoch` is the ClusterRegistry membership epoch whose members the signer acts for.
 */
import {
  AbiCoder,
  TypedDataEncoder,
  keccak256,
  getAddress,
  verifyTypedData,
  type Signature,
  type TypedDataDomain,
  type TypedDataField,
} from "ethers";
import { z } from "zod";

export const DOMAIN_NAME = "Veil";
export const DOMAIN_VERSION = "1";

export interface VeilDomain extends TypedDataDomain {
  readonly name: typeof DOMAIN_NAME;
  readonly version: typeof DOMAIN_VERSION;
  readonly chainId: bigint;
  readonly verifyingContract: string;
}

/** The one domain of a deployment: `verifyingContract` is its ValidationServiceManager. */
export function veilDomain(chainId: bigint | number, validationServiceManager: string): VeilDomain {
  return {
    name: DOMAIN_NAME,
    version: DOMAIN_VERSION,
    chainId: BigInt(chainId),
    verifyingContract: getAddress(validationServiceManager),
  };
}

export const TYPES = {
  OrderCommitment: [
    { name: "rollupId", type: "uint64" },
    { name: "blockHeight", type: "uint64" },
    { name: "txIndex", type: "uint32" },
    { name: "encTxHash", type: "bytes32" },
    { name: "preRoot", type: "bytes32" },
    { name: "viewNumber", type: "uint32" },
    { name: "epoch", type: "uint32" },
  ],
  BlockCommitment: [
    { name: "rollupId", type: "uint64" },
    { name: "height", type: "uint64" },
    { name: "txCount", type: "uint32" },
    { name: "encRoot", type: "bytes32" },
    { name: "inboxBlock", type: "uint64" },
    { name: "forcedCount", type: "uint32" },
    { name: "rawRoot", type: "bytes32" },
    { name: "viewNumber", type: "uint32" },
  ],
  Seal: [
    { name: "rollupId", type: "uint64" },
    { name: "height", type: "uint64" },
    { name: "txCount", type: "uint32" },
    { name: "encRoot", type: "bytes32" },
    { name: "inboxBlock", type: "uint64" },
    { name: "viewNumber", type: "uint32" },
    { name: "epoch", type: "uint32" },
  ],
  /**
   * A member's vote to leave every view below `viewNumber` of one height; a majority of them proves that
   * view (sequencer/chain/certificate.ts). Checked off-chain only.
   */
  ViewChange: [
    { name: "rollupId", type: "uint64" },
    { name: "height", type: "uint64" },
    { name: "viewNumber", type: "uint32" },
    { name: "epoch", type: "uint32" },
  ],
  OperatorResponse: [
    { name: "taskId", type: "bytes32" },
    { name: "commitmentHash", type: "bytes32" },
    { name: "approve", type: "bool" },
  ],
  FinalizeRequest: [
    { name: "rollupId", type: "uint64" },
    { name: "height", type: "uint64" },
    { name: "deadline", type: "uint64" },
  ],
  ClusterMessage: [
    { name: "clusterId", type: "uint64" },
    { name: "viewNumber", type: "uint32" },
    { name: "sender", type: "address" },
    { name: "kind", type: "uint8" },
    { name: "payloadHash", type: "bytes32" },
  ],
  /** A key generator's round-key contribution; contributionHash is defined by sequencer/crypto/roundkey.ts. */
  Contribution: [
    { name: "rollupId", type: "uint64" },
    { name: "height", type: "uint64" },
    { name: "generator", type: "address" },
    { name: "contributionHash", type: "bytes32" },
  ],
} as const satisfies Record<string, readonly TypedDataField[]>;

export type MessageType = keyof typeof TYPES;

// Zod schemas validate messages arriving from outside (JSON-RPC, peers) and convert to the TS types.
const u64 = z
  .union([z.bigint(), z.number().int(), z.string().regex(/^(0|[1-9][0-9]*|0x[0-9a-fA-F]+)$/)])
  .transform((v) => BigInt(v))
  .refine((v) => v >= 0n && v < 1n << 64n, "must fit uint64");
const u32 = z
  .number()
  .int()
  .min(0)
  .max(2 ** 32 - 1);
const u8 = z.number().int().min(0).max(255);
const bytes32 = z
  .string()
  .regex(/^0x[0-9a-fA-F]{64}$/, "must be 32 bytes of 0x-hex")
  .transform((v) => v.toLowerCase());
const address = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, "must be an address")
  .transform((v) => getAddress(v));

export const schemas = {
  OrderCommitment: z.strictObject({
    rollupId: u64,
    blockHeight: u64,
    txIndex: u32,
    encTxHash: bytes32,
    preRoot: bytes32,
    viewNumber: u32,
    epoch: u32,
  }),
  BlockCommitment: z.strictObject({
    rollupId: u64,
    height: u64,
    txCount: u32,
    encRoot: bytes32,
    inboxBlock: u64,
    forcedCount: u32,
    rawRoot: bytes32,
    viewNumber: u32,
  }),
  Seal: z.strictObject({
    rollupId: u64,
    height: u64,
    txCount: u32,
    encRoot: bytes32,
    inboxBlock: u64,
    viewNumber: u32,
    epoch: u32,
  }),
  ViewChange: z.strictObject({ rollupId: u64, height: u64, viewNumber: u32, epoch: u32 }),
  OperatorResponse: z.strictObject({ taskId: bytes32, commitmentHash: bytes32, approve: z.boolean() }),
  FinalizeRequest: z.strictObject({ rollupId: u64, height: u64, deadline: u64 }),
  ClusterMessage: z.strictObject({ clusterId: u64, viewNumber: u32, sender: address, kind: u8, payloadHash: bytes32 }),
  Contribution: z.strictObject({ rollupId: u64, height: u64, generator: address, contributionHash: bytes32 }),
} as const;

export type OrderCommitment = z.output<typeof schemas.OrderCommitment>;
export type BlockCommitment = z.output<typeof schemas.BlockCommitment>;
export type Seal = z.output<typeof schemas.Seal>;
export type ViewChange = z.output<typeof schemas.ViewChange>;
export type OperatorResponse = z.output<typeof schemas.OperatorResponse>;
export type FinalizeRequest = z.output<typeof schemas.FinalizeRequest>;
export type ClusterMessage = z.output<typeof schemas.ClusterMessage>;
export type ContributionMessage = z.output<typeof schemas.Contribution>;

export interface Messages {
  OrderCommitment: OrderCommitment;
  BlockCommitment: BlockCommitment;
  Seal: Seal;
  ViewChange: ViewChange;
  OperatorResponse: OperatorResponse;
  FinalizeRequest: FinalizeRequest;
  ClusterMessage: ClusterMessage;
  Contribution: ContributionMessage;
}

/** Kinds of ClusterMessage (the `kind` field); the payload encoding of each is owned by the node. */
export const ClusterMessageKind = {
  // 1 and 3-9 were the old node's per-message kinds: retired for good, so old signed messages never read as new kinds.
  /** A follower's acknowledgement of a built block (BlockBuilt). */
  Ack: 2,
  /** The leader's built block of a sealed height (BlockCommitment signature and round secret) for followers. */
  BlockBuilt: 10,
  /** Not a message: a member's permit to send one cluster body over the public size limit (upload-permit.ts). */
  UploadPermit: 11,
  /** A member's replica messages of one height (node/host/, `cluster_replica`). */
  Replica: 12,
  /** A member that missed a height asks a peer for its built block (`cluster_get_block`). */
  BlockRequest: 13,
} as const;

function typesOf<T extends MessageType>(type: T): Record<string, TypedDataField[]> {
  return { [type]: TYPES[type].map((f) => ({ ...f })) };
}

/** Parses untrusted input into a message of `type`, throwing a zod error that names the bad field. */
export function parseMessage<T extends MessageType>(type: T, input: unknown): Messages[T] {
  return schemas[type].parse(input) as Messages[T];
}

/** The EIP-712 type string of `type`, e.g. "Seal(uint64 rollupId,...)". */
export function encodeType(type: MessageType): string {
  return TypedDataEncoder.from(typesOf(type)).encodeType(type);
}

/** hashStruct(message): what VeilTypes.hash returns, and what OperatorResponse.commitmentHash refers to. */
export function structHash<T extends MessageType>(type: T, message: Messages[T]): string {
  return TypedDataEncoder.hashStruct(type, typesOf(type), message);
}

/** The digest that is signed: keccak256(0x1901 ‖ domainSeparator ‖ structHash). */
export function typedDataDigest<T extends MessageType>(domain: VeilDomain, type: T, message: Messages[T]): string {
  return TypedDataEncoder.hash(domain, typesOf(type), message);
}

/** Anything that signs typed data: an ethers Wallet, a HardhatEthersSigner, a JsonRpcSigner. */
export interface TypedDataSigner {
  signTypedData(
    domain: TypedDataDomain,
    types: Record<string, TypedDataField[]>,
    value: Record<string, unknown>,
  ): Promise<string>;
}

export function signMessage<T extends MessageType>(
  signer: TypedDataSigner,
  domain: VeilDomain,
  type: T,
  message: Messages[T],
): Promise<string> {
  return signer.signTypedData(domain, typesOf(type), message);
}

/** The address that signed `message` (checksummed). Throws on a malformed signature. */
export function recoverSigner<T extends MessageType>(
  domain: VeilDomain,
  type: T,
  message: Messages[T],
  signature: string | Signature,
): string {
  return verifyTypedData(domain, typesOf(type), message, signature);
}

/** Whether `signature` over `message` is by `expected`; false (not a throw) for malformed signatures. */
export function isSignedBy<T extends MessageType>(
  domain: VeilDomain,
  type: T,
  message: Messages[T],
  signature: string,
  expected: string,
): boolean {
  try {
    return recoverSigner(domain, type, message, signature) === getAddress(expected);
  } catch {
    return false;
  }
}

/** The on-chain task id of (rollupId, height): keccak256(abi.encode(uint64 rollupId, uint64 height)). */
export function taskIdOf(rollupId: bigint, height: bigint): string {
  return keccak256(AbiCoder.defaultAbiCoder().encode(["uint64", "uint64"], [rollupId, height]));
}
