/**
 * secp256k1 signing and recovery over 32-byte digests for the node's hot paths (order commitments,
 * cluster envelopes). It uses libsecp256k1 through the `secp256k1` package when its binary loads and
 * passes a self-test against ethers, and ethers otherwise. Both sign with RFC 6979 nonces and low s,
 * so the signatures are byte-identical; the native code is about 20× faster. Recovery takes the
 * native path only for a canonical 65-byte signature (v 27/28, low s); anything else goes through
 * ethers, so odd encodings are accepted or refused exactly as before.
 */
import { createRequire } from "node:module";
import { SigningKey, getAddress, recoverAddress } from "ethers";
import { keccak256Bytes } from "./keccak";

/** The two calls of the `secp256k1` package's native binding that are used here. */
interface NativeSecp256k1 {
  ecdsaSign(message: Uint8Array, privateKey: Uint8Array): { signature: Uint8Array; recid: number };
  ecdsaRecover(signature: Uint8Array, recid: number, message: Uint8Array, compressed: boolean): Uint8Array;
}

/** Half the group order: a canonical (low) s is at most this. */
const HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n;
const SIGNATURE = /^0x[0-9a-fA-F]{128}(1b|1c)$/;
const DIGEST = /^0x[0-9a-fA-F]{64}$/;

function loadNative(): NativeSecp256k1 | undefined {
  try {
    const native = createRequire(__filename)("secp256k1/bindings") as NativeSecp256k1;
    // Trusted only after it agrees with ethers on signatures and recovery.
    for (let i = 1; i <= 4; i++) {
      const key = new SigningKey(keccak256Bytes(Buffer.from(`veil ecdsa self-test key ${i}`)));
      const digest = keccak256Bytes(Buffer.from(`veil ecdsa self-test digest ${i}`));
      if (nativeSign(native, key, digest) !== key.sign(digest).serialized) return undefined;
      if (nativeRecover(native, digest, key.sign(digest).serialized) !== recoverAddress(digest, key.sign(digest))) {
        return undefined;
      }
    }
    return native;
  } catch {
    return undefined;
  }
}

const hexBytes = (hex: string): Buffer => Buffer.from(hex.slice(2), "hex");

function nativeSign(native: NativeSecp256k1, key: SigningKey, digest: string): string {
  const { signature, recid } = native.ecdsaSign(hexBytes(digest), hexBytes(key.privateKey));
  return `0x${Buffer.from(signature).toString("hex")}${(27 + recid).toString(16)}`;
}

function nativeRecover(native: NativeSecp256k1, digest: string, signature: string): string {
  const bytes = hexBytes(signature);
  const publicKey = native.ecdsaRecover(bytes.subarray(0, 64), bytes[64]! - 27, hexBytes(digest), false);
  return getAddress(`0x${keccak256Bytes(Buffer.from(publicKey).subarray(1)).slice(-40)}`);
}

const native = loadNative();

/** Which implementation is in use (for benchmarks and logs). */
export const ecdsaImplementation: "native" | "js" = native === undefined ? "js" : "native";

/** `key`'s signature over a 32-byte digest as 65-byte 0x-hex (r ‖ s ‖ v), as SigningKey.sign gives it. */
export function signDigest(key: SigningKey, digest: string): string {
  if (native === undefined || !DIGEST.test(digest)) return key.sign(digest).serialized;
  return nativeSign(native, key, digest);
}

/** The checksummed address that signed `digest`; throws for a signature that recovers nothing. */
export function recoverDigest(digest: string, signature: string): string {
  if (native !== undefined && DIGEST.test(digest) && SIGNATURE.test(signature)) {
    const s = BigInt(`0x${signature.slice(66, 130)}`);
    if (s >= 1n && s <= HALF_N) {
      try {
        return nativeRecover(native, digest, signature);
      } catch {
        /* e.g. r not below the order: let ethers decide, as it always did */
      }
    }
  }
  return recoverAddress(digest, signature);
}
