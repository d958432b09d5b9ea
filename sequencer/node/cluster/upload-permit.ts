/**
 * Upload permits for the members' cluster path. A cluster message may be far larger than a public
 * request (a view change carries a whole log, up to `rpc.clusterMaxBodyBytes`), but its envelope's
 * signature can only be checked once the body is read. So that nobody who can reach the path makes a
 * node buffer that much first, a body over the public limit is read only when its request carries a
 * member's permit for exactly that many bytes, signed in the last few minutes; others get 413 before
 * the body is read.
 *
 * A permit is a ClusterMessage of kind UploadPermit (view 0) whose payloadHash commits to
 * {bodyBytes, issuedAt}, sent as `sender.issuedAt.signature` in one header. It binds the size, not the
 * bytes (the envelope inside does that): replaying one within its lifetime takes a copy of a member's
 * request and gets a body of the same size read, which is then refused like any unsigned message.
 */
import type { Wallet } from "ethers";
import { ClusterMessageKind, type ClusterMessage, type VeilDomain } from "../../chain/eip712";
import { MIN_BODY_BYTES } from "../../config/fields";
import { UPLOAD_PERMIT_HEADER } from "../../rpc/server";
import { ClusterMessageHasher } from "../order-signing";
import { payloadHash } from "./envelope";

/** How long a permit admits its body, and how far ahead of this node's clock its issuer's may be. */
export const PERMIT_LIFETIME_SECONDS = 120;

/** Bodies up to this size never need a permit: no node's public limit can be smaller. */
export const PERMIT_FREE_BYTES = MIN_BODY_BYTES;

const HEADER = /^(0x[0-9a-fA-F]{40})\.([0-9]{1,12})\.(0x[0-9a-fA-F]{130})$/;

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

export class UploadPermits {
  private readonly hasher: ClusterMessageHasher;

  constructor(
    private readonly o: {
      readonly wallet: Wallet;
      readonly domain: VeilDomain;
      readonly clusterId: bigint;
      readonly isMember: (address: string) => boolean;
    },
  ) {
    this.hasher = new ClusterMessageHasher(o.domain);
  }

  /** The header value admitting a body of `bodyBytes` this node sends now. */
  issue(bodyBytes: number, issuedAt = nowSeconds()): string {
    const message = this.message(this.o.wallet.address, bodyBytes, issuedAt);
    return `${this.o.wallet.address}.${issuedAt}.${this.hasher.sign(this.o.wallet.signingKey, message)}`;
  }

  /** Why `header` does not admit a body of `bodyBytes` now, or undefined when it does. */
  refusal(header: string | undefined, bodyBytes: number, now = nowSeconds()): string | undefined {
    if (header === undefined) return `no ${UPLOAD_PERMIT_HEADER} header`;
    const parts = HEADER.exec(header);
    if (parts === null) return `${UPLOAD_PERMIT_HEADER} is not sender.issuedAt.signature`;
    const [, sender, issued, signature] = parts as unknown as [string, string, string, string];
    const issuedAt = Number(issued);
    if (issuedAt > now + PERMIT_LIFETIME_SECONDS || issuedAt < now - PERMIT_LIFETIME_SECONDS) {
      return `the permit was issued at ${issuedAt}, more than ${PERMIT_LIFETIME_SECONDS} s from now (${now})`;
    }
    if (!this.o.isMember(sender)) return `${sender} is not a cluster member`;
    if (!this.hasher.isSignedBy(this.message(sender, bodyBytes, issuedAt), signature, sender)) {
      return `the permit is not ${sender}'s for a body of ${bodyBytes} bytes`;
    }
    return undefined;
  }

  private message(sender: string, bodyBytes: number, issuedAt: number): ClusterMessage {
    return {
      clusterId: this.o.clusterId,
      viewNumber: 0,
      sender,
      kind: ClusterMessageKind.UploadPermit,
      payloadHash: payloadHash({ bodyBytes, issuedAt }),
    };
  }
}
