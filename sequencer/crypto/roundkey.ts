/**
 * Round keys: for each (rollupId, height) a committee of key generators produces one BabyJubJub key
 * whose secret nobody holds alone, hidden in one time-lock puzzle that anyone can open after T
 * sequential squarings.
 *
 *   generator i:  sk_i < ℓ, pk_i = sk_i·B8, puzzle (u_i, v_i) of sk_i, proof that both hide sk_i
 *   round key:    PK = Σ pk_i, puzzle (Π u_i, Π v_i) of S = Σ sk_i, sk = S mod ℓ
 *   fast path:    each generator reveals (sk_i, r_i) after the seal; anyone checks them
 *   slow path:    anyone solves the aggregated puzzle and publishes w with a Wesolowski proof
 *
 * Everything that travels between generators and nodes has a JSON form (hex strings) and a zod
 * schema. See docs/round-keys.md for the protocol and why it is sound.
 */
import { AbiCoder, getAddress, keccak256, toBeArray } from "ethers";
import {
  isSignedBy,
  signMessage,
  type ContributionMessage,
  type TypedDataSigner,
  type VeilDomain,
} from "../chain/eip712";
import { z } from "zod";
import { IDENTITY, SUBGROUP_ORDER, add, assertPublicKey, equals, mulBase, randomScalar, type Point } from "./babyjub";
import { loadBigMath } from "./timelock/bigmath";
import type { TimelockParams } from "./timelock/params";
import {
  assertWellFormedPuzzle,
  combinePuzzles,
  decodeSolved,
  lockInteger,
  opensPuzzle,
  puzzleRandomnessBits,
  randomBits,
  type Puzzle,
} from "./timelock/puzzle";
import { proveShare, verifyShare, type ShareProof, type Verdict } from "./timelock/share-proof";
import { squareAndProve, type ProverOptions } from "./timelock/prover";
import { verifyExponentiation } from "./timelock/wesolowski";
import {
  addressSchema,
  hexInt,
  pointSchema,
  pointToJson,
  puzzleSchema,
  puzzleToJson,
  shareProofSchema,
  shareProofToJson,
  toHex,
} from "./timelock/wire";

export type { Verdict } from "./timelock/share-proof";

/** One round: the block `height` of rollup `rollupId`. */
export interface Round {
  readonly rollupId: bigint;
  readonly height: bigint;
}

/** The body of a contribution: the share's public key and puzzle with the proof that they agree. */
export interface ContributionBody {
  readonly round: Round;
  /** Checksummed address of the key generator. */
  readonly generator: string;
  readonly publicKey: Point;
  readonly puzzle: Puzzle;
  readonly proof: ShareProof;
}

/**
 * What a key generator publishes for a round: the body signed by the generator's Ethereum key
 * (EIP-712 `Contribution` in the Veil domain). The proof binds the address but anyone can compute
 * a proof for any address; only the signature shows the generator made it.
 */
export interface Contribution extends ContributionBody {
  readonly signature: string;
}

/** What a key generator keeps until the round is sealed. */
export interface ShareSecret {
  readonly secretShare: bigint;
  readonly randomness: bigint;
}

/** The fast path: a generator opens its share once it sees a valid seal. */
export interface ShareReveal {
  readonly round: Round;
  readonly generator: string;
  readonly secretShare: bigint;
  readonly randomness: bigint;
}

/** The public round key: what `get_encryption_key` serves. */
export interface RoundKey {
  readonly round: Round;
  readonly publicKey: Point;
  readonly puzzle: Puzzle;
  /** Generators whose contributions were accepted, in the order aggregated. */
  readonly generators: readonly string[];
}

/** The slow path's output: w = U^(2^T) with its Wesolowski proof, and the secret it yields. */
export interface PuzzleSolution {
  readonly round: Round;
  readonly w: bigint;
  readonly proof: bigint;
  readonly secretKey: bigint;
}

const sameRound = (a: Round, b: Round): boolean => a.rollupId === b.rollupId && a.height === b.height;
const fail = (reason: string): Verdict => ({ ok: false, reason });
const modL = (x: bigint): bigint => ((x % SUBGROUP_ORDER) + SUBGROUP_ORDER) % SUBGROUP_ORDER;

function assertRound(round: Round): void {
  if (round.rollupId < 0n || round.height < 0n) throw new RangeError("rollupId and height must be non-negative");
}

/** A key generator's contribution for `round` (sk_i drawn at random unless given, for tests). */
export async function createContribution(
  params: TimelockParams,
  round: Round,
  generator: string,
  secretShare: bigint = randomScalar(),
): Promise<{ contribution: ContributionBody; secret: ShareSecret }> {
  assertRound(round);
  const math = await loadBigMath();
  const address = getAddress(generator);
  if (secretShare <= 0n || secretShare >= SUBGROUP_ORDER) throw new RangeError("secret share must be in [1, ℓ)");
  const randomness = randomBits(puzzleRandomnessBits(params));
  const publicKey = mulBase(secretShare);
  const puzzle = lockInteger(math, params, secretShare, randomness);
  const proof = proveShare(
    math,
    params,
    { ...round, generator: address },
    { puzzle, publicKey },
    { s: secretShare, r: randomness },
  );
  return { contribution: { round, generator: address, publicKey, puzzle, proof }, secret: { secretShare, randomness } };
}

// ---- signatures ------------------------------------------------------------------------------

// Every integer of the body as minimal big-endian bytes (none is negative; BabyJubJub coordinates
// are below 2^254), behind a domain tag, in one fixed order: the canonical encoding.
const CONTRIBUTION_TAG = "veil/contribution/v1";
const CONTRIBUTION_LAYOUT = [
  "string",
  "uint64",
  "uint64",
  "address",
  "uint256[2]",
  "bytes",
  "bytes",
  "bytes",
  "bytes",
  "bytes",
  "uint256[2]",
  "bytes",
  "bytes",
  "bytes",
  "bytes",
] as const;

/** keccak256 of the canonical encoding of a contribution body: what the generator's signature covers. */
export function contributionHash(c: ContributionBody): string {
  const { puzzle, proof } = c;
  const bytes = (x: bigint): Uint8Array => toBeArray(x);
  return keccak256(
    AbiCoder.defaultAbiCoder().encode(
      [...CONTRIBUTION_LAYOUT],
      [
        CONTRIBUTION_TAG,
        c.round.rollupId,
        c.round.height,
        getAddress(c.generator),
        [c.publicKey[0], c.publicKey[1]],
        bytes(puzzle.u),
        bytes(puzzle.v),
        bytes(proof.c),
        bytes(proof.A),
        bytes(proof.B),
        [proof.C[0], proof.C[1]],
        bytes(proof.D),
        bytes(proof.zr),
        bytes(proof.zs),
        bytes(proof.zt),
      ],
    ),
  );
}

/** The EIP-712 message a generator signs for its contribution. */
export function contributionMessage(c: ContributionBody): ContributionMessage {
  return {
    rollupId: c.round.rollupId,
    height: c.round.height,
    generator: getAddress(c.generator),
    contributionHash: contributionHash(c),
  };
}

/** Signs a contribution body; the signer must be the body's generator. */
export async function signContribution(
  signer: TypedDataSigner & { readonly address: string },
  domain: VeilDomain,
  body: ContributionBody,
): Promise<Contribution> {
  if (getAddress(signer.address) !== getAddress(body.generator)) {
    throw new Error(`${signer.address} cannot sign the contribution of ${body.generator}`);
  }
  const { round, generator, publicKey, puzzle, proof } = body;
  const signature = await signMessage(signer, domain, "Contribution", contributionMessage(body));
  return { round, generator, publicKey, puzzle, proof, signature };
}

/** Whether the contribution's signature recovers to its generator (false for anything malformed). */
export function verifyContributionSignature(domain: VeilDomain, c: Contribution): Verdict {
  let message: ContributionMessage;
  try {
    message = contributionMessage(c);
  } catch (error) {
    return fail((error as Error).message);
  }
  if (typeof c.signature !== "string" || c.signature.length === 0) return fail("contribution is not signed");
  if (!isSignedBy(domain, "Contribution", message, c.signature, message.generator)) {
    return fail("contribution is not signed by its generator");
  }
  return { ok: true };
}

/** Signature first (cheap), then the proof (and the round when given). */
export async function verifySignedContribution(
  params: TimelockParams,
  domain: VeilDomain,
  contribution: Contribution,
  round?: Round,
): Promise<Verdict> {
  const signed = verifyContributionSignature(domain, contribution);
  if (!signed.ok) return signed;
  return verifyContribution(params, contribution, round);
}

/** A key generator's signed contribution for `round` (sk_i drawn at random unless given, for tests). */
export async function createSignedContribution(
  params: TimelockParams,
  domain: VeilDomain,
  round: Round,
  signer: TypedDataSigner & { readonly address: string },
  secretShare?: bigint,
): Promise<{ contribution: Contribution; secret: ShareSecret }> {
  const created = await createContribution(params, round, signer.address, secretShare);
  return { contribution: await signContribution(signer, domain, created.contribution), secret: created.secret };
}

/** Checks a contribution's proof (and that it is for `round` when given); not its signature. */
export async function verifyContribution(
  params: TimelockParams,
  contribution: ContributionBody,
  round?: Round,
): Promise<Verdict> {
  if (round && !sameRound(round, contribution.round)) return fail("contribution is for another round");
  let generator: string;
  try {
    assertRound(contribution.round);
    generator = getAddress(contribution.generator);
  } catch (error) {
    return fail((error as Error).message);
  }
  const math = await loadBigMath();
  return verifyShare(
    math,
    params,
    { ...contribution.round, generator },
    { puzzle: contribution.puzzle, publicKey: contribution.publicKey },
    contribution.proof,
  );
}

/**
 * Verifies every contribution and aggregates the accepted ones into the round key. A contribution
 * whose proof fails, that is for another round, or that repeats a generator is excluded and listed.
 */
export async function aggregateRoundKey(
  params: TimelockParams,
  round: Round,
  contributions: readonly ContributionBody[],
): Promise<{ key: RoundKey; rejected: { generator: string; reason: string }[] }> {
  assertRound(round);
  const accepted: ContributionBody[] = [];
  const rejected: { generator: string; reason: string }[] = [];
  const seen = new Set<string>();
  for (const contribution of contributions) {
    const verdict = await verifyContribution(params, contribution, round);
    const id = contribution.generator.toLowerCase();
    if (!verdict.ok) rejected.push({ generator: contribution.generator, reason: verdict.reason });
    else if (seen.has(id)) rejected.push({ generator: contribution.generator, reason: "duplicate generator" });
    else {
      seen.add(id);
      accepted.push(contribution);
    }
  }
  if (accepted.length === 0) throw new Error("no valid contribution for the round");
  const publicKey = accepted.map((c) => c.publicKey).reduce((acc, pk) => add(acc, pk), IDENTITY);
  assertPublicKey(publicKey, "aggregated round key");
  const key: RoundKey = {
    round,
    publicKey,
    puzzle: combinePuzzles(
      params,
      accepted.map((c) => c.puzzle),
    ),
    generators: accepted.map((c) => getAddress(c.generator)),
  };
  return { key, rejected };
}

/**
 * What every consumer of published contributions uses: a contribution whose signature does not
 * recover to its generator is rejected and excluded like one whose proof fails.
 */
export async function aggregateSignedRoundKey(
  params: TimelockParams,
  domain: VeilDomain,
  round: Round,
  contributions: readonly Contribution[],
): Promise<{ key: RoundKey; rejected: { generator: string; reason: string }[] }> {
  const signed: Contribution[] = [];
  const rejected: { generator: string; reason: string }[] = [];
  for (const c of contributions) {
    const verdict = verifyContributionSignature(domain, c);
    if (verdict.ok) signed.push(c);
    else rejected.push({ generator: c.generator, reason: verdict.reason });
  }
  if (signed.length === 0) throw new Error("no validly signed contribution for the round");
  const aggregated = await aggregateRoundKey(params, round, signed);
  return { key: aggregated.key, rejected: [...rejected, ...aggregated.rejected] };
}

/**
 * The one rule for a round key complete enough to encrypt to, used by the node, the SDK and the encrypting
 * RPC: at least `minContributors` of the committee's members contributed (the rollup's registered value),
 * or by default all but one (at least one). The trade-off: the secret of a key is safe while one of its
 * contributors is honest, so every contributor fewer is one fewer generator that must be honest, and with
 * the default a key is still published when one generator is dead, which keeps encrypted traffic flowing.
 */
export function requiredContributors(committeeSize: number, minContributors: number): number {
  if (minContributors > 0) return minContributors;
  return Math.max(1, committeeSize - 1);
}

/** Why a round key is not complete enough (`requiredContributors`), or undefined when it is. */
export function incompleteness(key: RoundKey, committeeSize: number, minContributors: number): string | undefined {
  const needed = requiredContributors(committeeSize, minContributors);
  return key.generators.length >= needed
    ? undefined
    : `${key.generators.length} of ${committeeSize} generators contributed, ${needed} required`;
}

/** The reveal a generator sends on the fast path. */
export function revealShare(contribution: ContributionBody, secret: ShareSecret): ShareReveal {
  return {
    round: contribution.round,
    generator: contribution.generator,
    secretShare: secret.secretShare,
    randomness: secret.randomness,
  };
}

/** Checks a revealed share against its contribution: sk_i·B8 = pk_i and (sk_i, r_i) opens the puzzle. */
export async function verifyReveal(
  params: TimelockParams,
  contribution: ContributionBody,
  reveal: ShareReveal,
): Promise<Verdict> {
  if (!sameRound(contribution.round, reveal.round)) return fail("reveal is for another round");
  if (contribution.generator.toLowerCase() !== reveal.generator.toLowerCase())
    return fail("reveal is from another generator");
  const { secretShare, randomness } = reveal;
  if (secretShare <= 0n || secretShare >= SUBGROUP_ORDER) return fail("revealed share is not in [1, ℓ)");
  if (!equals(mulBase(secretShare), contribution.publicKey))
    return fail("revealed share does not match the public key");
  const math = await loadBigMath();
  if (randomness < 0n || randomness >= 1n << BigInt(puzzleRandomnessBits(params)))
    return fail("revealed randomness out of range");
  if (!opensPuzzle(math, params, contribution.puzzle, secretShare, randomness)) {
    return fail("revealed share does not open the puzzle");
  }
  return { ok: true };
}

/** True when sk is the round secret: sk·B8 = PK. */
export function isRoundSecret(key: RoundKey, secretKey: bigint): boolean {
  return secretKey > 0n && secretKey < SUBGROUP_ORDER && equals(mulBase(secretKey), key.publicKey);
}

/** The round secret from the (already verified) reveals of every generator in the key. */
export function secretFromReveals(key: RoundKey, reveals: readonly ShareReveal[]): bigint {
  const byGenerator = new Map(reveals.map((r) => [r.generator.toLowerCase(), r]));
  let sum = 0n;
  for (const generator of key.generators) {
    const reveal = byGenerator.get(generator.toLowerCase());
    if (!reveal || !sameRound(reveal.round, key.round))
      throw new Error(`no reveal from ${generator}: solve the puzzle`);
    sum += reveal.secretShare;
  }
  const secretKey = modL(sum);
  if (!isRoundSecret(key, secretKey)) throw new Error("revealed shares do not add up to the round key");
  return secretKey;
}

/**
 * The slow path: T sequential squarings of the aggregated puzzle and a Wesolowski proof, so that others
 * adopt the result in milliseconds (off the event loop, cancellable, with progress and an optional
 * checkpoint: prover.ts), the hidden sum S read in the centred range, sk = S mod ℓ checked against PK.
 */
export async function solveRoundKey(
  params: TimelockParams,
  key: RoundKey,
  options: ProverOptions = {},
): Promise<PuzzleSolution> {
  const math = await loadBigMath();
  assertWellFormedPuzzle(math, params, key.puzzle, "round puzzle");
  const { y: w, proof } = await squareAndProve(params.N, key.puzzle.u, params.T, options);
  const secretKey = modL(decodeSolved(math, params, key.puzzle, w));
  if (!isRoundSecret(key, secretKey)) throw new Error("the solved puzzle does not yield the round key");
  return { round: key.round, w, proof, secretKey };
}

/** Checks a published solution without re-solving: Wesolowski proof, decoding, and sk·B8 = PK. */
export async function verifySolution(
  params: TimelockParams,
  key: RoundKey,
  solution: PuzzleSolution,
): Promise<Verdict> {
  if (!sameRound(key.round, solution.round)) return fail("solution is for another round");
  const math = await loadBigMath();
  if (!verifyExponentiation(math, params.N, key.puzzle.u, solution.w, params.T, solution.proof)) {
    return fail("proof of exponentiation does not verify");
  }
  let secretKey: bigint;
  try {
    secretKey = modL(decodeSolved(math, params, key.puzzle, solution.w));
  } catch (error) {
    return fail((error as Error).message);
  }
  if (secretKey !== solution.secretKey) return fail("secret key does not match the puzzle");
  if (!isRoundSecret(key, secretKey)) return fail("secret key fails sk·B8 = PK");
  return { ok: true };
}

// ---- JSON forms -------------------------------------------------------------------------------

const roundSchema = z.object({ rollupId: hexInt, height: hexInt }).strict();
const roundToJson = (r: Round): z.input<typeof roundSchema> => ({
  rollupId: toHex(r.rollupId),
  height: toHex(r.height),
});

export const contributionSchema = z
  .object({
    round: roundSchema,
    generator: addressSchema,
    publicKey: pointSchema,
    puzzle: puzzleSchema,
    proof: shareProofSchema,
    signature: z.string().regex(/^0x[0-9a-fA-F]{130}$/, "must be a 65-byte signature"),
  })
  .strict();
export type ContributionJson = z.input<typeof contributionSchema>;

export const contributionToJson = (c: Contribution): ContributionJson => ({
  round: roundToJson(c.round),
  generator: c.generator,
  publicKey: pointToJson(c.publicKey),
  puzzle: puzzleToJson(c.puzzle),
  proof: shareProofToJson(c.proof),
  signature: c.signature,
});
export const contributionFromJson = (json: unknown): Contribution => contributionSchema.parse(json);

export const shareRevealSchema = z
  .object({ round: roundSchema, generator: addressSchema, secretShare: hexInt, randomness: hexInt })
  .strict();
export type ShareRevealJson = z.input<typeof shareRevealSchema>;
export const shareRevealToJson = (r: ShareReveal): ShareRevealJson => ({
  round: roundToJson(r.round),
  generator: r.generator,
  secretShare: toHex(r.secretShare),
  randomness: toHex(r.randomness),
});
export const shareRevealFromJson = (json: unknown): ShareReveal => shareRevealSchema.parse(json);

export const roundKeySchema = z
  .object({
    round: roundSchema,
    publicKey: pointSchema,
    puzzle: puzzleSchema,
    generators: z.array(addressSchema).min(1).max(1024),
  })
  .strict();
export type RoundKeyJson = z.input<typeof roundKeySchema>;
export const roundKeyToJson = (k: RoundKey): RoundKeyJson => ({
  round: roundToJson(k.round),
  publicKey: pointToJson(k.publicKey),
  puzzle: puzzleToJson(k.puzzle),
  generators: [...k.generators],
});
export const roundKeyFromJson = (json: unknown): RoundKey => roundKeySchema.parse(json);

export const puzzleSolutionSchema = z
  .object({ round: roundSchema, w: hexInt, proof: hexInt, secretKey: hexInt })
  .strict();
export type PuzzleSolutionJson = z.input<typeof puzzleSolutionSchema>;
export const puzzleSolutionToJson = (s: PuzzleSolution): PuzzleSolutionJson => ({
  round: roundToJson(s.round),
  w: toHex(s.w),
  proof: toHex(s.proof),
  secretKey: toHex(s.secretKey),
});
export const puzzleSolutionFromJson = (json: unknown): PuzzleSolution => puzzleSolutionSchema.parse(json);
