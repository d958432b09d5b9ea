/**
 * The Poseidon cipher (Khovratovich, "Encryption with Poseidon", 2019) in the exact construction of
 * @zk-kit/poseidon-cipher and MACI, so that either side can decrypt what the other encrypts:
 *
 *   state  = (0, K.x, K.y, nonce + L·2^128)          L = number of message elements, nonce < 2^128
 *   for each block of 3 message elements (the message is zero-padded to a multiple of 3):
 *     state = Perm(state); state[1..3] += block; emit state[1..3]
 *   state = Perm(state); emit state[1]                (the authentication tag)
 *
 * Perm is the width-4 Poseidon permutation. A ciphertext has 3·⌈L/3⌉ + 1 elements.
 */
import type { Point } from "./babyjub";
import { FIELD } from "./babyjub";
import { poseidonPermutation } from "./poseidon";

/** Nonces live below 2^128 so that nonce + L·2^128 encodes both without overlap. */
export const NONCE_LIMIT = 1n << 128n;

export function ciphertextLength(messageLength: number): number {
  return 3 * Math.ceil(messageLength / 3) + 1;
}

function initialState(key: Point, nonce: bigint, length: number): bigint[] {
  if (nonce < 0n || nonce >= NONCE_LIMIT) throw new Error("cipher nonce must be in [0, 2^128)");
  if (!Number.isSafeInteger(length) || length < 1) throw new Error("cipher message length must be ≥ 1");
  return [0n, key[0] % FIELD, key[1] % FIELD, (nonce + BigInt(length) * NONCE_LIMIT) % FIELD];
}

/** Encrypts field elements under a shared point K with a nonce below 2^128. */
export function poseidonEncrypt(message: readonly bigint[], key: Point, nonce: bigint): bigint[] {
  const length = message.length;
  let state = initialState(key, nonce, length);
  const ciphertext: bigint[] = [];
  for (let i = 0; i < length; i += 3) {
    state = poseidonPermutation(state);
    for (let j = 0; j < 3; j++) {
      const m = message[i + j] ?? 0n;
      if (m < 0n || m >= FIELD) throw new Error("cipher message element is not a field element");
      state[j + 1] = (state[j + 1]! + m) % FIELD;
      ciphertext.push(state[j + 1]!);
    }
  }
  ciphertext.push(poseidonPermutation(state)[1]!);
  return ciphertext;
}

export class DecryptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DecryptionError";
  }
}

/**
 * Decrypts and authenticates: throws DecryptionError when the tag does not match (wrong key,
 * nonce or length, or a tampered ciphertext) or when the padding of the last block is not zero.
 */
export function poseidonDecrypt(ciphertext: readonly bigint[], key: Point, nonce: bigint, length: number): bigint[] {
  let state = initialState(key, nonce, length);
  if (ciphertext.length !== ciphertextLength(length)) {
    throw new DecryptionError(`ciphertext has ${ciphertext.length} elements, want ${ciphertextLength(length)}`);
  }
  const message: bigint[] = [];
  for (let i = 0; i + 1 < ciphertext.length; i += 3) {
    state = poseidonPermutation(state);
    for (let j = 0; j < 3; j++) {
      const c = ciphertext[i + j]!;
      if (c < 0n || c >= FIELD) throw new DecryptionError("ciphertext element is not a field element");
      message.push((c - state[j + 1]! + FIELD) % FIELD);
      state[j + 1] = c;
    }
  }
  if (poseidonPermutation(state)[1] !== ciphertext[ciphertext.length - 1]) {
    throw new DecryptionError("ciphertext does not authenticate under this key and nonce");
  }
  if (message.slice(length).some((m) => m !== 0n)) throw new DecryptionError("ciphertext padding is not zero");
  return message.slice(0, length);
}
