/**
 * Client-side encryption of a rollup transaction to a round key, and its decryption once the round
 * secret is released. Definitions (docs/encryption.md is the reference):
 *
 *   R = ρ·B8, K = ρ·PK_h                                   ephemeral ECDH on BabyJubJub
 *   ciphertext   = PoseidonEncrypt(pack(tx), K, nonce)     19 field elements
 *   txCommitment = PoseidonChain(pack(tx))                 18 inputs
 *   encTxHash    = PoseidonChain(rollupId, height, R.x, R.y, nonce, ciphertext[0..18])   24 inputs
 */
import type { Point } from "./babyjub";
import { FIELD, SUBGROUP_ORDER, assertPublicKey, isOnCurve, mul, mulBase, randomScalar } from "./babyjub";
import { decryptInWasm, poseidonChainWasm, prepareScalar, type PreparedScalar } from "./decrypt-wasm";
import { DecryptionError, NONCE_LIMIT, ciphertextLength, poseidonEncrypt } from "./poseidon-cipher";
import { PLAINTEXT_ELEMENTS, packBytes, unpackBytes, type PackedPlaintext } from "./packing";
import { poseidonChain } from "./poseidon";
import { randomBytes } from "node:crypto";

const UINT64_LIMIT = 1n << 64n;

/** A rollup's identifier: an unsigned 64-bit integer (uint64 in Solidity), as a bigint. */
export type RollupId = bigint & { readonly __brand: "RollupId" };
/** A block height of one rollup: an unsigned 64-bit integer (uint64 in Solidity), as a bigint. */
export type BlockHeight = bigint & { readonly __brand: "BlockHeight" };

function uint64(value: bigint | number, what: string): bigint {
  const v = typeof value === "number" ? (Number.isSafeInteger(value) ? BigInt(value) : NaN) : value;
  if (typeof v !== "bigint" || v < 0n || v >= UINT64_LIMIT) throw new Error(`${what} must be a uint64, got ${value}`);
  return v;
}
export const rollupId = (value: bigint | number): RollupId => uint64(value, "rollupId") as RollupId;
export const blockHeight = (value: bigint | number): BlockHeight => uint64(value, "height") as BlockHeight;

/** Number of field elements of every ciphertext (the packed plaintext is always the same size). */
export const CIPHERTEXT_ELEMENTS = ciphertextLength(PLAINTEXT_ELEMENTS);

/** What a client submits and a node stores: everything public about one encrypted transaction. */
export interface EncryptedTransaction {
  readonly rollupId: RollupId;
  readonly height: BlockHeight;
  /** R = ρ·B8, the ephemeral public key. */
  readonly ephemeralKey: Point;
  /** Cipher nonce, below 2^128. */
  readonly nonce: bigint;
  /** CIPHERTEXT_ELEMENTS field elements. */
  readonly ciphertext: readonly bigint[];
}

/** What only the client knows: the witness of the tx-validity proof. Never leaves its process. */
export interface EncryptionSecrets {
  readonly rho: bigint;
  readonly plaintext: PackedPlaintext;
}

export interface EncryptionResult {
  readonly encrypted: EncryptedTransaction;
  readonly secrets: EncryptionSecrets;
  readonly encTxHash: bigint;
  readonly txCommitment: bigint;
  /** The round key the transaction is encrypted to. */
  readonly roundKey: Point;
}

export function txCommitment(plaintext: readonly bigint[]): bigint {
  if (plaintext.length !== PLAINTEXT_ELEMENTS) throw new Error(`plaintext must have ${PLAINTEXT_ELEMENTS} elements`);
  return poseidonChain(plaintext);
}

/**
 * The Merkle leaf the leader orders: binds rollup, height, R, nonce and the whole ciphertext. The one
 * implementation, for clients and for the node's hot paths (a leader admitting a transaction, a follower
 * checking a replicated entry, the block builder's workers): PoseidonChain on the wasm permutation of
 * decrypt-wasm.ts, about twice as fast as BigInt arithmetic (test/sequencer/encryption.test.ts compares it
 * with a BigInt reference on poseidon.ts).
 */
export function encTxHash(tx: EncryptedTransaction): bigint {
  if (tx.ciphertext.length !== CIPHERTEXT_ELEMENTS)
    throw new Error(`ciphertext must have ${CIPHERTEXT_ELEMENTS} elements`);
  uint64(tx.rollupId, "rollupId");
  uint64(tx.height, "height");
  const inputs = [tx.rollupId, tx.height, tx.ephemeralKey[0], tx.ephemeralKey[1], tx.nonce, ...tx.ciphertext];
  // The wasm field reduces silently; the BigInt permutation refuses anything outside [0, p), and so does this.
  if (inputs.some((x) => x < 0n || x >= FIELD)) throw new Error("Poseidon input is not a field element");
  return poseidonChainWasm(inputs);
}

function randomNonce(): bigint {
  return BigInt(`0x${randomBytes(16).toString("hex")}`);
}

export interface EncryptOptions {
  /** Ephemeral scalar in [1, ℓ); random unless given (tests only). */
  readonly rho?: bigint;
  /** Nonce below 2^128; random unless given (tests only). */
  readonly nonce?: bigint;
}

/**
 * Encrypts raw transaction bytes to the round key PK_h of (rollupId, height). Throws
 * PlaintextTooLargeError for a transaction above MAX_PLAINTEXT_BYTES.
 */
export function encryptTransaction(
  tx: Uint8Array,
  target: { readonly rollupId: RollupId; readonly height: BlockHeight; readonly roundKey: Point },
  options: EncryptOptions = {},
): EncryptionResult {
  const plaintext = packBytes(tx);
  assertPublicKey(target.roundKey, "round key");
  const rho = options.rho ?? randomScalar();
  if (rho <= 0n || rho >= SUBGROUP_ORDER) throw new Error("ephemeral scalar must be in [1, ℓ)");
  const nonce = options.nonce ?? randomNonce();
  if (nonce < 0n || nonce >= NONCE_LIMIT) throw new Error("nonce must be in [0, 2^128)");
  const sharedKey = mul(target.roundKey, rho);
  const encrypted: EncryptedTransaction = {
    rollupId: rollupId(target.rollupId),
    height: blockHeight(target.height),
    ephemeralKey: mulBase(rho),
    nonce,
    ciphertext: poseidonEncrypt(plaintext, sharedKey, nonce),
  };
  return {
    encrypted,
    secrets: { rho, plaintext },
    encTxHash: encTxHash(encrypted),
    txCommitment: txCommitment(plaintext),
    roundKey: target.roundKey,
  };
}

export interface DecryptedTransaction {
  readonly bytes: Uint8Array;
  readonly plaintext: PackedPlaintext;
}

/**
 * Decrypts with the round secret sk (K = sk·R), authenticates the ciphertext, checks that the
 * plaintext is a canonical packing and that it matches the public txCommitment. Throws otherwise.
 * The arithmetic runs in WebAssembly (decrypt-wasm.ts); pass a scalar prepared once per block.
 */
export function decryptTransaction(
  tx: EncryptedTransaction,
  roundSecret: bigint | PreparedRoundSecret,
  expectedCommitment: bigint,
): DecryptedTransaction {
  const secret = typeof roundSecret === "bigint" ? prepareRoundSecret(roundSecret) : roundSecret;
  if (!isOnCurve(tx.ephemeralKey)) throw new Error("ephemeral key is not on BabyJubJub");
  if (tx.ciphertext.length !== CIPHERTEXT_ELEMENTS)
    throw new Error(`ciphertext must have ${CIPHERTEXT_ELEMENTS} elements`);
  if (tx.ciphertext.some((c) => c < 0n || c >= FIELD)) throw new Error("ciphertext element is not a field element");
  const result = decryptInWasm(tx.ephemeralKey, secret.scalar, tx.nonce, tx.ciphertext, PLAINTEXT_ELEMENTS);
  if (!result.ok) throw new DecryptionError(result.reason);
  const bytes = unpackBytes(result.message);
  if (result.commitment !== expectedCommitment) throw new Error("decrypted plaintext does not match its txCommitment");
  return { bytes, plaintext: result.message as unknown as PackedPlaintext };
}

/** A round secret checked and prepared once for the many decryptions of its block. */
export interface PreparedRoundSecret {
  readonly scalar: PreparedScalar;
}

export function prepareRoundSecret(roundSecret: bigint): PreparedRoundSecret {
  if (roundSecret <= 0n || roundSecret >= SUBGROUP_ORDER) throw new Error("round secret must be in [1, ℓ)");
  return { scalar: prepareScalar(roundSecret) };
}

/** One slot of a block to decrypt: the stored ciphertext and its public commitment. */
export interface BlockItem {
  readonly tx: EncryptedTransaction;
  readonly txCommitment: bigint;
}

/** The outcome of one slot: its bytes, or why it is invalid (the slot stays, marked invalid). */
export type DecryptOutcome =
  { readonly ok: true; readonly bytes: Uint8Array } | { readonly ok: false; readonly error: string };

/** Decrypts every slot of a block with the one round secret, in order, on this thread. */
export function decryptBlock(items: readonly BlockItem[], roundSecret: bigint): DecryptOutcome[] {
  const secret = prepareRoundSecret(roundSecret);
  return items.map((item) => {
    try {
      return { ok: true, bytes: decryptTransaction(item.tx, secret, item.txCommitment).bytes };
    } catch (err) {
      return { ok: false, error: err instanceof Error ? err.message : String(err) };
    }
  });
}
