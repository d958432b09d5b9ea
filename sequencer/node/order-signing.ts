/**
 * EIP-712 digests of the ordering path's messages (OrderCommitment, ClusterMessage, Seal) computed directly:
 * the domain separator and the type hash are computed once per domain (through ethers'
 * TypedDataEncoder), and each message costs two keccak-256 calls over fixed-width ABI words. ethers' signTypedData / verifyTypedData re-derive the
 * type string, domain and field encoders on every call, which made them the ordering path's largest
 * cost per entry (docs/ordering-performance.md). The digest is byte-identical to `typedDataDigest`.
 */
import { TypedDataEncoder, getAddress, toUtf8Bytes, type SigningKey } from "ethers";
import {
  encodeType,
  type ClusterMessage,
  type OrderCommitment,
  type Seal,
  type VeilDomain,
  type ViewChange,
} from "../chain/eip712";
import { recoverDigest, signDigest } from "../chain/ecdsa";
import { keccak256Bytes } from "../chain/keccak";

const BYTES32 = /^0x[0-9a-f]{64}$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

/** A 0x-free 64-digit hex word of an unsigned integer below 2^bits. */
function uintWord(value: bigint, bits: number, what: string): string {
  if (value < 0n || value >= 1n << BigInt(bits)) throw new RangeError(`${what} does not fit uint${bits}`);
  return value.toString(16).padStart(64, "0");
}

function bytes32Word(value: string, what: string): string {
  const lower = value.toLowerCase();
  if (!BYTES32.test(lower)) throw new RangeError(`${what} must be 32 bytes of 0x-hex`);
  return lower.slice(2);
}

function addressWord(value: string, what: string): string {
  if (!ADDRESS.test(value)) throw new RangeError(`${what} must be a 20-byte 0x-hex address`);
  return value.slice(2).toLowerCase().padStart(64, "0");
}

const keccakHex = (hex: string): string => keccak256Bytes(Buffer.from(hex, "hex"));

/**
 * The EIP-712 digest of one struct type of a domain: keccak256(0x1901 ‖ domainSeparator ‖
 * keccak256(typeHash ‖ the fields as 32-byte words)). Subclasses say how the fields become words.
 */
abstract class StructDigest<M> {
  private readonly prefix: string;
  private readonly typeHash: string;

  protected constructor(domain: VeilDomain, type: "OrderCommitment" | "ClusterMessage" | "Seal" | "ViewChange") {
    // 0x1901 ‖ domainSeparator, the fixed head of every digest of this domain.
    this.prefix = `1901${TypedDataEncoder.hashDomain(domain).slice(2)}`;
    this.typeHash = keccak256Bytes(toUtf8Bytes(encodeType(type))).slice(2);
  }

  /** The struct's fields as concatenated 32-byte hex words, in declaration order. */
  protected abstract words(message: M): string;

  /** hashStruct(message): keccak256(typeHash ‖ fields). */
  structHash(message: M): string {
    return keccakHex(this.typeHash + this.words(message));
  }

  /** The signed digest: keccak256(0x1901 ‖ domainSeparator ‖ hashStruct(message)). */
  digest(message: M): string {
    return keccakHex(this.prefix + this.structHash(message).slice(2));
  }

  /** The signature over a message, as a 65-byte 0x-hex string (r ‖ s ‖ v), RFC 6979 like signTypedData. */
  sign(key: SigningKey, message: M): string {
    return signDigest(key, this.digest(message));
  }

  /** Whether `signature` over `message` is by `expected`; false (not a throw) for malformed input. */
  isSignedBy(message: M, signature: string, expected: string): boolean {
    try {
      return recoverDigest(this.digest(message), signature) === getAddress(expected);
    } catch {
      return false;
    }
  }
}

export class OrderCommitmentHasher extends StructDigest<OrderCommitment> {
  constructor(domain: VeilDomain) {
    super(domain, "OrderCommitment");
  }

  protected words(c: OrderCommitment): string {
    if (!Number.isSafeInteger(c.txIndex) || !Number.isSafeInteger(c.viewNumber) || !Number.isSafeInteger(c.epoch)) {
      throw new RangeError("txIndex, viewNumber and epoch must be integers");
    }
    return (
      uintWord(c.rollupId, 64, "rollupId") +
      uintWord(c.blockHeight, 64, "blockHeight") +
      uintWord(BigInt(c.txIndex), 32, "txIndex") +
      bytes32Word(c.encTxHash, "encTxHash") +
      bytes32Word(c.preRoot, "preRoot") +
      uintWord(BigInt(c.viewNumber), 32, "viewNumber") +
      uintWord(BigInt(c.epoch), 32, "epoch")
    );
  }
}

/** A seal: signed by the leader and by every member that certifies it (sequencer/chain/certificate.ts). */
export class SealHasher extends StructDigest<Seal> {
  constructor(domain: VeilDomain) {
    super(domain, "Seal");
  }

  protected words(s: Seal): string {
    if (!Number.isSafeInteger(s.txCount) || !Number.isSafeInteger(s.viewNumber) || !Number.isSafeInteger(s.epoch)) {
      throw new RangeError("txCount, viewNumber and epoch must be integers");
    }
    return (
      uintWord(s.rollupId, 64, "rollupId") +
      uintWord(s.height, 64, "height") +
      uintWord(BigInt(s.txCount), 32, "txCount") +
      bytes32Word(s.encRoot, "encRoot") +
      uintWord(s.inboxBlock, 64, "inboxBlock") +
      uintWord(BigInt(s.viewNumber), 32, "viewNumber") +
      uintWord(BigInt(s.epoch), 32, "epoch")
    );
  }
}

/** A member's vote to move a height to a view: a majority of them is the view's certificate. */
export class ViewChangeHasher extends StructDigest<ViewChange> {
  constructor(domain: VeilDomain) {
    super(domain, "ViewChange");
  }

  protected words(v: ViewChange): string {
    if (!Number.isSafeInteger(v.viewNumber) || !Number.isSafeInteger(v.epoch)) {
      throw new RangeError("viewNumber and epoch must be integers");
    }
    return (
      uintWord(v.rollupId, 64, "rollupId") +
      uintWord(v.height, 64, "height") +
      uintWord(BigInt(v.viewNumber), 32, "viewNumber") +
      uintWord(BigInt(v.epoch), 32, "epoch")
    );
  }
}

/** The envelope of every node-to-node message (signed once per message by its sender). */
export class ClusterMessageHasher extends StructDigest<ClusterMessage> {
  constructor(domain: VeilDomain) {
    super(domain, "ClusterMessage");
  }

  protected words(m: ClusterMessage): string {
    if (!Number.isSafeInteger(m.viewNumber) || !Number.isSafeInteger(m.kind)) {
      throw new RangeError("viewNumber and kind must be integers");
    }
    return (
      uintWord(m.clusterId, 64, "clusterId") +
      uintWord(BigInt(m.viewNumber), 32, "viewNumber") +
      addressWord(m.sender, "sender") +
      uintWord(BigInt(m.kind), 8, "kind") +
      bytes32Word(m.payloadHash, "payloadHash")
    );
  }
}
