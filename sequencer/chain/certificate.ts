/**
 * Veil's one majority certificate, mirrored by contracts/libraries/VeilCertificate.sol: EIP-712 signatures
 * of more than half of a cluster's members over one identical message, ordered by strictly ascending
 * signer. It is how a view is proven: a member signs a Seal only for the view it has installed, after it
 * stored that log and that seal, so a majority's signatures on a Seal of view v prove that a majority was
 * in view v with that log. A view or a leadership claimed by one member proves nothing.
 *
 * The same rules prove a view before anything is sealed in it: a member signs ViewChange{height, v} when it
 * leaves every lower view of the height, so a majority of them (a view certificate) proves that view v
 * legitimately began. A leader of a view above 0 hands it out with its order commitments and StartView.
 *
 * Every consumer (key generators, the node, the rollup operator, the contracts) checks certificates here
 * or in the Solidity mirror, with the same rules: the same message, a majority of the members, no signer
 * twice, no outsider, canonical (low-s) signatures as OpenZeppelin's ECDSA requires.
 *
 * The seal's JSON codec lives here too, once for every place a seal goes as JSON (the API's `get_block`,
 * the cluster messages, the node's store, certificates): a Seal as JSON, and a SealResult, the leader's
 * signed seal of a height.
 */
import { getAddress } from "ethers";
import { z } from "zod";
import { recoverDigest } from "./ecdsa";
import {
  schemas,
  signMessage,
  typedDataDigest,
  type Seal,
  type TypedDataSigner,
  type VeilDomain,
  type ViewChange,
} from "./eip712";

/** The least number of members that is more than half of `memberCount`. */
export function majorityOf(memberCount: number): number {
  return Math.floor(memberCount / 2) + 1;
}

const signature65 = z.string().regex(/^0x[0-9a-fA-F]{130}$/, "must be a 65-byte 0x-hex signature");

// ---- seals as JSON -----------------------------------------------------------------------------------

/** A seal as JSON (uint64 fields as decimal strings); `parseMessage("Seal", json)` parses it back. */
export type SealJson = z.input<typeof schemas.Seal>;

/** The JSON form of a seal. */
export function sealToJson(seal: Seal): SealJson {
  return {
    ...seal,
    rollupId: seal.rollupId.toString(),
    height: seal.height.toString(),
    inboxBlock: seal.inboxBlock.toString(),
  };
}

/** The leader's seal of a height, signed (EIP-712 Seal) by the leader of the seal's view. */
export const sealResultSchema = z.strictObject({
  seal: schemas.Seal,
  signature: signature65,
  leader: z.string().regex(/^0x[0-9a-fA-F]{40}$/, "must be a 20-byte 0x-hex address"),
});
export type SealResult = z.output<typeof sealResultSchema>;
export type SealResultJson = z.input<typeof sealResultSchema>;

/** The JSON form of a signed seal (the inverse of `sealResultSchema.parse`). */
export function sealResultToJson(result: SealResult): SealResultJson {
  return { seal: sealToJson(result.seal), signature: result.signature, leader: result.leader };
}

// ---- seal certificates -------------------------------------------------------------------------------

/** A seal and a majority's signatures on it, ascending by signer: what `createNewTask` takes. */
export interface SealCertificate {
  readonly seal: Seal;
  readonly signatures: readonly string[];
}

/** The wire form of a seal certificate (the clusters Veil serves have at most 256 members). */
export const sealCertificateSchema = z.strictObject({
  seal: schemas.Seal,
  signatures: z.array(signature65).min(1).max(256),
});
export type SealCertificateJson = z.input<typeof sealCertificateSchema>;

/** A certificate that does not verify, with the reason (a JSON-RPC handler maps it to its error). */
export class CertificateError extends Error {
  override readonly name = "CertificateError";
}

/** The upper half of secp256k1's order: OpenZeppelin's ECDSA refuses such an s, so the certificate does too. */
const HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n;

/** The signer of `signature` over `digest`, refusing what the Solidity verifier refuses. */
function signerOf(digest: string, signature: string, position: number): string {
  const s = BigInt(`0x${signature.slice(66, 130)}`);
  const v = Number.parseInt(signature.slice(130, 132), 16);
  if (s > HALF_N || (v !== 27 && v !== 28)) {
    throw new CertificateError(`signature ${position} is not canonical (high s or v not 27/28)`);
  }
  try {
    return recoverDigest(digest, signature);
  } catch {
    throw new CertificateError(`signature ${position} recovers no signer`);
  }
}

/**
 * Checks that `signatures` over `digest` come from a majority of `members`, in strictly ascending signer
 * order, and returns the signers. Throws a CertificateError that says which rule failed.
 */
export function verifyMajority(digest: string, signatures: readonly string[], members: readonly string[]): string[] {
  const memberSet = new Set(members.map((m) => getAddress(m)));
  const needed = majorityOf(memberSet.size);
  if (signatures.length < needed) {
    throw new CertificateError(`${signatures.length} signatures, a majority of ${memberSet.size} members is ${needed}`);
  }
  const signers: string[] = [];
  let previous = 0n;
  signatures.forEach((signature, i) => {
    const signer = signerOf(digest, signature, i);
    if (BigInt(signer) <= previous) {
      throw new CertificateError(`signers must ascend strictly; ${signer} (signature ${i}) does not`);
    }
    if (!memberSet.has(signer)) throw new CertificateError(`${signer} (signature ${i}) is not a member of the cluster`);
    signers.push(signer);
    previous = BigInt(signer);
  });
  return signers;
}

/** Checks a seal certificate against the cluster's members; returns the signers, ascending. */
export function verifySealCertificate(
  domain: VeilDomain,
  certificate: SealCertificate,
  members: readonly string[],
): string[] {
  return verifyMajority(typedDataDigest(domain, "Seal", certificate.seal), certificate.signatures, members);
}

/** Parses an untrusted seal certificate (a zod error names the bad field). */
export function parseSealCertificate(input: unknown): SealCertificate {
  return sealCertificateSchema.parse(input);
}

/** The JSON form of a seal certificate (uint64 fields as decimal strings). */
export function sealCertificateToJson(certificate: SealCertificate): SealCertificateJson {
  return { seal: sealToJson(certificate.seal), signatures: [...certificate.signatures] };
}

/** Signatures by signer (each already checked by whoever collected it), ascending by signer as verifiers require. */
function ascendingBySigner(bySigner: ReadonlyMap<string, string>): string[] {
  return [...bySigner.entries()]
    .map(([signer, signature]) => ({ signer: BigInt(getAddress(signer)), signature }))
    .sort((a, b) => (a.signer < b.signer ? -1 : a.signer > b.signer ? 1 : 0))
    .map((s) => s.signature);
}

/** Assembles a seal certificate from its signatures by signer. */
export function assembleCertificate(seal: Seal, bySigner: ReadonlyMap<string, string>): SealCertificate {
  return { seal, signatures: ascendingBySigner(bySigner) };
}

/** Whether two seals end the same height of the same rollup differently (the views aside): a conflict. */
export function sealsConflict(a: Seal, b: Seal): boolean {
  return (
    a.rollupId === b.rollupId &&
    a.height === b.height &&
    (a.txCount !== b.txCount || a.encRoot.toLowerCase() !== b.encRoot.toLowerCase())
  );
}

/**
 * A certificate of `seal` signed by each of `signers` (tests and tools; a node gathers its certificate from
 * its peers' Acks). Whether they are a majority of anything is for the verifier to say.
 */
export async function certifySeal(
  signers: readonly (TypedDataSigner & { readonly address: string })[],
  domain: VeilDomain,
  seal: Seal,
): Promise<SealCertificate> {
  const signatures = await Promise.all(signers.map((s) => signMessage(s, domain, "Seal", seal)));
  return assembleCertificate(seal, new Map(signers.map((s, i) => [s.address, signatures[i]!])));
}

// ---- view certificates -------------------------------------------------------------------------------

/** A majority's ViewChange votes for one view of one height: the proof that the view began. */
export interface ViewCertificate {
  readonly view: ViewChange;
  readonly signatures: readonly string[];
}

export const viewCertificateSchema = z.strictObject({
  view: schemas.ViewChange,
  signatures: z.array(signature65).min(1).max(256),
});
export type ViewCertificateJson = z.input<typeof viewCertificateSchema>;

/** Checks a view certificate against the cluster's members; returns the signers, ascending. */
export function verifyViewCertificate(
  domain: VeilDomain,
  certificate: ViewCertificate,
  members: readonly string[],
): string[] {
  return verifyMajority(typedDataDigest(domain, "ViewChange", certificate.view), certificate.signatures, members);
}

/** Parses an untrusted view certificate (a zod error names the bad field). */
export function parseViewCertificate(input: unknown): ViewCertificate {
  return viewCertificateSchema.parse(input);
}

/** The JSON form of a view certificate (uint64 fields as decimal strings). */
export function viewCertificateToJson(certificate: ViewCertificate): ViewCertificateJson {
  const { view } = certificate;
  return {
    view: { ...view, rollupId: view.rollupId.toString(), height: view.height.toString() },
    signatures: [...certificate.signatures],
  };
}

/** Assembles a view certificate from the members' ViewChange signatures by signer. */
export function assembleViewCertificate(view: ViewChange, bySigner: ReadonlyMap<string, string>): ViewCertificate {
  return { view, signatures: ascendingBySigner(bySigner) };
}

/** A certificate of `view` signed by each of `signers` (tests and tools). */
export async function certifyView(
  signers: readonly (TypedDataSigner & { readonly address: string })[],
  domain: VeilDomain,
  view: ViewChange,
): Promise<ViewCertificate> {
  const signatures = await Promise.all(signers.map((s) => signMessage(s, domain, "ViewChange", view)));
  return assembleViewCertificate(view, new Map(signers.map((s, i) => [s.address, signatures[i]!])));
}
