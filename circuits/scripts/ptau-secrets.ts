import { createHash } from "node:crypto";
import { ChaCha } from "ffjavascript";
import type { Bn128 } from "./ptau-curve";

/**
 * Entropy of the development powers of tau. It is public on purpose: whoever knows it can forge
 * proofs for every circuit set up against the resulting file. Development and tests only.
 */
export const DEV_ENTROPY = "veil development powers of tau: known entropy, NOT a trusted setup ceremony";

/**
 * The development setup is one snarkjs *beacon* contribution on top of a fresh accumulator. Its beacon
 * is SHA-256 of the public entropy, iterated 2^10 times (the smallest count snarkjs accepts): the file
 * then records, verifiably, that its secrets come from a public value.
 */
export interface Beacon {
  /** Beacon value as hex, the form `snarkjs powersoftau beacon` takes. */
  readonly hashHex: string;
  /** log2 of the number of SHA-256 iterations applied to the beacon before seeding the RNG. */
  readonly iterationsExp: number;
}

export function beaconFromEntropy(entropy: string): Beacon {
  return { hashHex: createHash("sha256").update(entropy, "utf8").digest("hex"), iterationsExp: 10 };
}

export const DEV_BEACON: Beacon = beaconFromEntropy(DEV_ENTROPY);

/** The toxic waste of a one-contribution powers of tau, as integers modulo r. */
export interface PtauSecrets {
  readonly tau: bigint;
  readonly alpha: bigint;
  readonly beta: bigint;
}

/**
 * Derives (τ, α, β) exactly as `snarkjs powersoftau beacon` does: SHA-256 applied 2^iterationsExp
 * times to the beacon, the 32-byte result read as eight big-endian u32 words seeding ChaCha20, and
 * then τ, α, β drawn in that order with the scalar field's `fromRng`.
 */
export function deriveSecrets(curve: Bn128, beacon: Beacon): PtauSecrets {
  return drawSecrets(curve, beaconRng(beacon));
}

/** τ, α, β: the first three draws of the beacon's RNG (the public key continues from the same RNG). */
export function drawSecrets(curve: Bn128, rng: ChaCha): PtauSecrets {
  const draw = (): bigint => curve.Fr.toObject(curve.Fr.fromRng(rng));
  const tau = draw();
  const alpha = draw();
  const beta = draw();
  return { tau, alpha, beta };
}

/** ChaCha20 seeded from SHA-256^(2^iterationsExp)(beacon), as snarkjs seeds a beacon contribution. */
export function beaconRng(beacon: Beacon): ChaCha {
  if (!/^([0-9a-f]{2})+$/i.test(beacon.hashHex)) throw new Error("beacon hash must be non-empty hex");
  if (!Number.isInteger(beacon.iterationsExp) || beacon.iterationsExp < 10 || beacon.iterationsExp > 30) {
    throw new Error("beacon iterationsExp must be an integer in [10, 30]");
  }
  let digest: Buffer = Buffer.from(beacon.hashHex, "hex");
  for (let i = 0; i < 2 ** beacon.iterationsExp; i++) digest = createHash("sha256").update(digest).digest();
  const seed = Array.from({ length: 8 }, (_, i) => digest.readUInt32BE(i * 4));
  return new ChaCha(seed);
}
