/**
 * The replica's signing port (replica/types.ts `Signatures`) for a real node: every statement the replica
 * signs or checks for one (rollup, height) becomes its EIP-712 message of the deployment's domain
 * (OrderCommitment, Seal, ViewChange), the same bytes the contracts and every other role check. The
 * replica speaks of one height, so the rollup and height are added here and nowhere else.
 */
import { computeAddress, type SigningKey } from "ethers";
import type { OrderCommitment, Seal as ChainSeal, VeilDomain, ViewChange } from "../../chain/eip712";
import type { Address, Commitment, Seal, Signatures, ViewVote } from "../../replica/types";
import { recoverDigest } from "../../chain/ecdsa";
import { OrderCommitmentHasher, SealHasher, ViewChangeHasher } from "../order-signing";
import type { SignerRecovery } from "./wire";

/** The OrderCommitment a replica's commitment stands for at (rollupId, height). */
export function orderCommitmentOf(rollupId: bigint, height: number, c: Commitment): OrderCommitment {
  return {
    rollupId,
    blockHeight: BigInt(height),
    txIndex: c.index,
    encTxHash: c.leaf,
    preRoot: c.preRoot,
    viewNumber: c.view,
    epoch: c.epoch,
  };
}

/** The chain's Seal for a replica's seal of (rollupId, height). */
export function chainSealOf(rollupId: bigint, height: number, s: Seal): ChainSeal {
  return {
    rollupId,
    height: BigInt(height),
    txCount: s.count,
    encRoot: s.root,
    inboxBlock: BigInt(s.inboxBlock),
    viewNumber: s.view,
    epoch: s.epoch,
  };
}

/** The replica's seal inside a chain Seal (the caller checked its rollup and height). */
export function replicaSealOf(s: ChainSeal): Seal {
  return {
    count: s.txCount,
    root: s.encRoot.toLowerCase(),
    inboxBlock: Number(s.inboxBlock),
    view: s.viewNumber,
    epoch: s.epoch,
  };
}

/** The chain's ViewChange for a replica's view vote of (rollupId, height). */
export function viewChangeOf(rollupId: bigint, height: number, v: ViewVote): ViewChange {
  return { rollupId, height: BigInt(height), viewNumber: v.view, epoch: v.epoch };
}

/**
 * One node's key and domain, with the digest helpers built once (deriving a domain separator costs far
 * more than a signature); `forHeight` hands a replica its port.
 */
export class ReplicaSigner implements SignerRecovery {
  readonly address: Address;
  private readonly orders: OrderCommitmentHasher;
  private readonly seals: SealHasher;
  private readonly views: ViewChangeHasher;

  constructor(
    private readonly key: SigningKey,
    domain: VeilDomain,
  ) {
    this.address = computeAddress(key.publicKey);
    this.orders = new OrderCommitmentHasher(domain);
    this.seals = new SealHasher(domain);
    this.views = new ViewChangeHasher(domain);
  }

  sealSigner(rollupId: bigint, height: number, seal: Seal, signature: string): Address | undefined {
    return recovered(() => recoverDigest(this.seals.digest(chainSealOf(rollupId, height, seal)), signature));
  }

  voteSigner(rollupId: bigint, height: number, vote: ViewVote, signature: string): Address | undefined {
    return recovered(() => recoverDigest(this.views.digest(viewChangeOf(rollupId, height, vote)), signature));
  }

  forHeight(rollupId: bigint, height: number): Signatures {
    const { key, orders, seals, views } = this;
    return {
      self: this.address,
      signCommitment: (c) => orders.sign(key, orderCommitmentOf(rollupId, height, c)),
      signSeal: (s) => seals.sign(key, chainSealOf(rollupId, height, s)),
      signVote: (v) => views.sign(key, viewChangeOf(rollupId, height, v)),
      isCommitmentSignedBy: (c, signature, signer) =>
        safely(() => orders.isSignedBy(orderCommitmentOf(rollupId, height, c), signature, signer)),
      isSealSignedBy: (s, signature, signer) =>
        safely(() => seals.isSignedBy(chainSealOf(rollupId, height, s), signature, signer)),
      isVoteSignedBy: (v, signature, signer) =>
        safely(() => views.isSignedBy(viewChangeOf(rollupId, height, v), signature, signer)),
    };
  }
}

/** A statement that cannot even be encoded (a field out of range) is signed by nobody. */
function safely(check: () => boolean): boolean {
  try {
    return check();
  } catch {
    return false;
  }
}

function recovered(recover: () => string): Address | undefined {
  try {
    return recover();
  } catch {
    return undefined;
  }
}
