/**
 * Packing of a transaction's bytes into the fixed-size vector of field elements that the Poseidon
 * cipher encrypts and the tx-validity circuit constrains:
 *
 *   element 0       = the byte length n (1 ≤ n ≤ MAX_PLAINTEXT_BYTES)
 *   element 1 + i   = bytes [31·i, 31·i + 31) read little-endian (byte 31·i + k weighs 256^k)
 *
 * for i = 0 .. PLAINTEXT_CHUNKS − 1. Bytes past n are zero, so every chunk is below 2^248 and the
 * chunks past ⌈n/31⌉ are zero. The vector always has PLAINTEXT_ELEMENTS elements whatever n is, so a
 * ciphertext does not reveal the length of its transaction.
 */

/** Bytes per field element: the largest whole number of bytes below the 254-bit field. */
export const BYTES_PER_ELEMENT = 31;
/** Chunks of 31 bytes in one plaintext (the circuit is compiled for exactly this many). */
export const PLAINTEXT_CHUNKS = 17;
/** Field elements of a packed plaintext: the length, then the chunks. A multiple of 3 (the cipher's rate). */
export const PLAINTEXT_ELEMENTS = PLAINTEXT_CHUNKS + 1;
/** Largest transaction that can be encrypted: 17 · 31 = 527 bytes. */
export const MAX_PLAINTEXT_BYTES = PLAINTEXT_CHUNKS * BYTES_PER_ELEMENT;

/** A packed plaintext: exactly PLAINTEXT_ELEMENTS field elements, canonical for its bytes. */
export type PackedPlaintext = readonly bigint[] & { readonly __brand: "PackedPlaintext" };

export class PlaintextTooLargeError extends Error {
  constructor(readonly byteLength: number) {
    super(
      `transaction of ${byteLength} bytes is too large to encrypt: the tx-validity circuit takes at most ` +
        `${MAX_PLAINTEXT_BYTES} bytes (${PLAINTEXT_CHUNKS} field elements of ${BYTES_PER_ELEMENT} bytes)`,
    );
    this.name = "PlaintextTooLargeError";
  }
}

/** Packs 1..MAX_PLAINTEXT_BYTES bytes; throws PlaintextTooLargeError for a larger transaction. */
export function packBytes(bytes: Uint8Array): PackedPlaintext {
  if (bytes.length === 0) throw new Error("cannot encrypt an empty transaction");
  if (bytes.length > MAX_PLAINTEXT_BYTES) throw new PlaintextTooLargeError(bytes.length);
  const elements: bigint[] = [BigInt(bytes.length)];
  for (let i = 0; i < PLAINTEXT_CHUNKS; i++) {
    let chunk = 0n;
    const start = i * BYTES_PER_ELEMENT;
    const end = Math.min(start + BYTES_PER_ELEMENT, bytes.length);
    for (let j = end - 1; j >= start; j--) chunk = (chunk << 8n) | BigInt(bytes[j]!);
    elements.push(chunk);
  }
  return elements as unknown as PackedPlaintext;
}

/**
 * Unpacks a vector of field elements, accepting only the canonical packing of some byte string
 * (the exact inverse of packBytes): a decryptor must never read two byte strings into one vector.
 */
export function unpackBytes(elements: readonly bigint[]): Uint8Array {
  if (elements.length !== PLAINTEXT_ELEMENTS) {
    throw new Error(`packed plaintext has ${elements.length} elements, want ${PLAINTEXT_ELEMENTS}`);
  }
  const lengthElement = elements[0]!;
  if (lengthElement < 1n || lengthElement > BigInt(MAX_PLAINTEXT_BYTES)) {
    throw new Error(`packed plaintext length ${lengthElement} outside 1..${MAX_PLAINTEXT_BYTES}`);
  }
  const length = Number(lengthElement);
  const bytes = new Uint8Array(length);
  for (let i = 0; i < PLAINTEXT_CHUNKS; i++) {
    let chunk = elements[i + 1]!;
    const start = i * BYTES_PER_ELEMENT;
    for (let k = 0; k < BYTES_PER_ELEMENT; k++) {
      const byte = Number(chunk & 0xffn);
      chunk >>= 8n;
      if (start + k < length) bytes[start + k] = byte;
      else if (byte !== 0) throw new Error(`packed plaintext has a non-zero byte at ${start + k}, past its length`);
    }
    if (chunk !== 0n) throw new Error(`packed plaintext chunk ${i} does not fit ${BYTES_PER_ELEMENT} bytes`);
  }
  return bytes;
}
