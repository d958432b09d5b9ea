/**
 * Cluster messages between members: the payload travels as JSON next to an EIP-712 ClusterMessage
 * {clusterId, viewNumber, sender, kind, payloadHash} signed by the sender, where payloadHash is the
 * keccak-256 of the payload's canonical JSON (keys sorted). The receiver recomputes the hash from the
 * payload it got, so payload and signature cannot be separated.
 */
import type { Wallet } from "ethers";
import { z } from "zod";
import type { ClusterMessageKind } from "../../chain/eip712";
import { schemas, type ClusterMessage, type VeilDomain } from "../../chain/eip712";
import { keccak256Bytes } from "../../chain/keccak";
import { RpcError, veilError } from "../../rpc/errors";
import { ClusterMessageHasher } from "../order-signing";
import { encodeValue } from "../storage/codec";

export type ClusterKind = (typeof ClusterMessageKind)[keyof typeof ClusterMessageKind];

/** JSON with sorted keys (bigints as {$big}), so both sides hash the same bytes. */
export function canonicalJson(value: unknown): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v !== null && typeof v === "object" && !(v instanceof Uint8Array)) {
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, sort((v as Record<string, unknown>)[k])]),
      );
    }
    return v;
  };
  return encodeValue(sort(value));
}

/** Node's native UTF-8 encoder gives the same bytes as ethers' toUtf8Bytes, several times faster on big batches. */
export const payloadHash = (payload: unknown): string => keccak256Bytes(Buffer.from(canonicalJson(payload), "utf8"));

/** One digest helper per domain object (a node keeps one domain for its lifetime). */
const hashers = new WeakMap<VeilDomain, ClusterMessageHasher>();
function hasherFor(domain: VeilDomain): ClusterMessageHasher {
  let h = hashers.get(domain);
  if (h === undefined) hashers.set(domain, (h = new ClusterMessageHasher(domain)));
  return h;
}

/** What goes over the wire. */
export const envelopeParams = {
  message: schemas.ClusterMessage,
  signature: z.string().regex(/^0x[0-9a-fA-F]{130}$/),
  payload: z.unknown(),
} as const;

export interface Envelope {
  readonly message: ClusterMessage;
  readonly signature: string;
  readonly payload: unknown;
}

export type EnvelopeJson = {
  readonly message: Record<string, unknown>;
  readonly signature: string;
  readonly payload: unknown;
};

/** Signs `payload` as a ClusterMessage of `kind` from `wallet` (a promise, as signing used to be). */
export function sealEnvelope(
  wallet: Wallet,
  domain: VeilDomain,
  clusterId: bigint,
  view: number,
  kind: ClusterKind,
  payload: unknown,
): Promise<EnvelopeJson> {
  try {
    const message: ClusterMessage = {
      clusterId,
      viewNumber: view,
      sender: wallet.address,
      kind,
      payloadHash: payloadHash(payload),
    };
    // Byte-identical to signTypedData (RFC 6979 over the same digest), without its per-call encoder setup.
    const signature = hasherFor(domain).sign(wallet.signingKey, message);
    return Promise.resolve({ message: { ...message, clusterId: clusterId.toString() }, signature, payload });
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}

/**
 * Checks an envelope: our cluster, the expected kind, a member as sender, the payload hash and the
 * signature. View checks are the caller's (they depend on the height). Throws RpcError.
 */
export function openEnvelope<T>(
  envelope: Envelope,
  expect: {
    readonly domain: VeilDomain;
    readonly clusterId: bigint;
    readonly kind: ClusterKind;
    readonly isMember: (a: string) => boolean;
    readonly schema: z.ZodType<T>;
  },
): T {
  const { message } = envelope;
  if (message.clusterId !== expect.clusterId)
    throw veilError.unauthorized(`message is for cluster ${message.clusterId}`);
  if (message.kind !== expect.kind) throw veilError.unauthorized(`message kind ${message.kind} on the wrong method`);
  if (!expect.isMember(message.sender)) throw veilError.unauthorized(`${message.sender} is not a cluster member`);
  if (payloadHash(envelope.payload) !== message.payloadHash) {
    throw veilError.invalidSignature("the payload does not match the signed payloadHash");
  }
  if (!hasherFor(expect.domain).isSignedBy(message, envelope.signature, message.sender)) {
    throw veilError.invalidSignature("the cluster message is not signed by its sender");
  }
  const parsed = expect.schema.safeParse(envelope.payload);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue === undefined || issue.path.length === 0 ? "" : `${issue.path.join(".")}: `;
    throw new RpcError("INVALID_PARAMS", `invalid cluster payload: ${where}${issue?.message ?? "invalid"}`);
  }
  return parsed.data;
}
