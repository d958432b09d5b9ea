/**
 * Verifies an order receipt before the SDK believes it: the signed commitment is for our round and our
 * encrypted transaction, the EIP-712 signature recovers to the leader the registry schedules for that height
 * and view in the membership epoch the commitment names, above view 0 a majority of the cluster certified that view (the schedule names a leader for every
 * view, so a member's own word that its view began proves nothing), and the PRE proof opens the signed
 * preRoot at the signed index. A receipt that passes is
 * evidence: if the leader later breaks it, it is enough (with the sealed block) to slash the leader.
 */
import { getAddress } from "ethers";
import { CertificateError, verifyViewCertificate } from "../chain/certificate";
import { recoverSigner, type OrderCommitment, type VeilDomain } from "../chain/eip712";
import { hashLeaf, verifyPreProof, MERKLE_DEPTH, type Hash } from "../chain/merkle";
import { orderReceipt } from "../api/wire";
import { ReceiptError } from "./errors";

/** What the client knows independently of the node: the round it targeted and the hash it computed. */
export interface ExpectedOrder {
  readonly rollupId: bigint;
  readonly height: bigint;
  /** The encTxHash the client computed, as bytes32 (big-endian, lower-case 0x-hex). */
  readonly encTxHash: Hash;
}

/** A receipt that passed every check; `leader` is the registry's leader of (height, viewNumber). */
export interface VerifiedReceipt {
  readonly commitment: OrderCommitment;
  readonly signature: string;
  readonly leader: string;
  readonly viewNumber: number;
  readonly preProof: readonly Hash[];
}

/** The registry reads a receipt is checked against (sdk/chain.ts's ChainView has them). */
export interface Schedule {
  readonly domain: VeilDomain;
  /** The registry's leader of (height, view) in `epoch`: members[(height + view) mod n] of that epoch. */
  leaderAt(rollupId: bigint, epoch: number, height: bigint, viewNumber: number): Promise<string>;
  /** The members of the cluster serving the rollup in `epoch`. */
  membersAt(rollupId: bigint, epoch: number): Promise<readonly string[]>;
}

/** Checks an untrusted receipt (as received from the node) against what the client expects. */
export async function verifyReceipt(
  raw: unknown,
  expected: ExpectedOrder,
  schedule: Schedule,
): Promise<VerifiedReceipt> {
  const { domain } = schedule;
  const parsed = orderReceipt.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ReceiptError("malformed", `${issue?.path.join(".") || "receipt"}: ${issue?.message ?? "invalid"}`);
  }
  const { commitment, signature, viewNumber, preProof } = parsed.data;
  if (commitment.rollupId !== expected.rollupId || commitment.blockHeight !== expected.height) {
    throw new ReceiptError(
      "wrong-round",
      `receipt is for rollup ${commitment.rollupId} height ${commitment.blockHeight}, ` +
        `the transaction was encrypted for rollup ${expected.rollupId} height ${expected.height}`,
    );
  }
  if (commitment.encTxHash !== expected.encTxHash.toLowerCase()) {
    throw new ReceiptError(
      "enc-tx-hash-mismatch",
      `receipt orders ${commitment.encTxHash}, the transaction sent hashes to ${expected.encTxHash}`,
    );
  }
  let signer: string;
  try {
    signer = recoverSigner(domain, "OrderCommitment", commitment, signature);
  } catch (error) {
    throw new ReceiptError("bad-signature", `signature does not recover: ${(error as Error).message}`);
  }
  let scheduled: string;
  try {
    scheduled = getAddress(
      await schedule.leaderAt(commitment.rollupId, commitment.epoch, commitment.blockHeight, viewNumber),
    );
  } catch (error) {
    throw new ReceiptError("unknown-epoch", `no schedule of epoch ${commitment.epoch}: ${(error as Error).message}`);
  }
  if (signer !== scheduled) {
    throw new ReceiptError(
      "signer-not-leader",
      `signed by ${signer}, but the registry's leader of height ${commitment.blockHeight} in view ${viewNumber} is ${scheduled}`,
    );
  }
  if (getAddress(parsed.data.leader) !== signer) {
    throw new ReceiptError("leader-mismatch", `receipt names ${parsed.data.leader} as leader but ${signer} signed it`);
  }
  if (viewNumber > 0) {
    const proof = parsed.data.viewCertificate; // the schema checked it names this height, view and epoch
    if (proof === undefined) {
      throw new ReceiptError("view-unproven", `view ${viewNumber} comes without the certificate that it began`);
    }
    try {
      verifyViewCertificate(domain, proof, await schedule.membersAt(commitment.rollupId, commitment.epoch));
    } catch (error) {
      if (!(error instanceof CertificateError)) throw error;
      throw new ReceiptError("view-unproven", `the certificate of view ${viewNumber}: ${error.message}`);
    }
  }
  if (
    preProof.length !== MERKLE_DEPTH ||
    !verifyPreProof(commitment.preRoot, hashLeaf(commitment.encTxHash), commitment.txIndex, preProof)
  ) {
    throw new ReceiptError(
      "pre-proof-invalid",
      `PRE proof does not open preRoot ${commitment.preRoot} at index ${commitment.txIndex}`,
    );
  }
  return { commitment, signature: signature.toLowerCase(), leader: signer, viewNumber, preProof };
}
