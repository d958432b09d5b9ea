import { createRequire } from "node:module";
import * as binFile from "@iden3/binfileutils";
import { ChaCha } from "ffjavascript";
import type { Bn128, WasmGroup } from "./ptau-curve";
import { SECTION, writeLagrangeSections, type Progress } from "./ptau-fast";
import { multiplyGenerator, type GroupName } from "./ptau-generator";
import { geometricScalars } from "./ptau-lagrange";
import { beaconRng, drawSecrets, type Beacon, type PtauSecrets } from "./ptau-secrets";

/**
 * The incremental BLAKE2b-512 that snarkjs uses. The contribution record stores a hasher's internal
 * state (the "partial hash", so a verifier can finish the response hash without the points), so this
 * must be the very implementation snarkjs reads that state back with: its own copy of @noble/hashes.
 */
interface Blake2b {
  update(data: Uint8Array): Blake2b;
  digest(): Uint8Array;
  buffer: Uint8Array;
  pos: number;
  length: number;
  [word: string]: unknown;
}
const snarkjsRequire = createRequire(require.resolve("snarkjs"));
const { blake2b } = snarkjsRequire("@noble/hashes/blake2b") as { blake2b: { create(o: { dkLen: number }): Blake2b } };
const newHasher = (): Blake2b => blake2b.create({ dkLen: 64 });

/** The hasher state in the 216-byte layout of snarkjs's contribution record (block buffer, h, counters). */
function partialHash(h: Blake2b): Uint8Array {
  const out = new Uint8Array(216);
  out.set(h.buffer.subarray(0, 128));
  const words = new DataView(out.buffer, 128);
  const names = [
    "v0l",
    "v0h",
    "v1l",
    "v1h",
    "v2l",
    "v2h",
    "v3l",
    "v3h",
    "v4l",
    "v4h",
    "v5l",
    "v5h",
    "v6l",
    "v6h",
    "v7l",
    "v7h",
  ];
  names.forEach((name, i) => {
    const word = h[name];
    if (typeof word !== "number") throw new Error(`blake2b has no state word ${name}`);
    words.setUint32(i * 4, word >>> 0, true);
  });
  words.setUint32(64, h.length - h.pos, true);
  words.setUint32(72, h.pos, true);
  return out;
}

/** One secret's public key: a random base g1_s, g1_s·x, and g2_sp (hashed from them) times x. */
interface KeyPart {
  readonly g1s: Uint8Array;
  readonly g1sx: Uint8Array;
  readonly g2spx: Uint8Array;
}

/** snarkjs's public key of a contribution, binding the secret to the challenge it answered. */
function publicKeyPart(
  curve: Bn128,
  secret: bigint,
  personalization: number,
  challenge: Uint8Array,
  rng: ChaCha,
): KeyPart {
  const g1s = curve.G1.toAffine(curve.G1.fromRng(rng));
  const g1sx = curve.G1.toAffine(curve.G1.timesScalar(g1s, secret));
  const h = newHasher();
  h.update(new Uint8Array([personalization]));
  h.update(challenge);
  h.update(curve.G1.toUncompressed(g1s));
  h.update(curve.G1.toUncompressed(g1sx));
  const digest = h.digest();
  const view = new DataView(digest.buffer, digest.byteOffset, 32);
  const g2sp = curve.G2.toAffine(
    curve.G2.fromRng(new ChaCha(Array.from({ length: 8 }, (_, i) => view.getUint32(i * 4)))),
  );
  const g2spx = curve.G2.toAffine(curve.G2.timesScalar(g2sp, secret));
  return { g1s, g1sx, g2spx };
}

/** The public key in snarkjs's order: six G1 points then three G2 points, LEM or uncompressed. */
function encodePublicKey(curve: Bn128, parts: readonly KeyPart[], lem: boolean): Uint8Array {
  const encode = (group: WasmGroup, p: Uint8Array): Uint8Array => {
    if (!lem) return group.toUncompressed(p);
    const out = new Uint8Array(group.F.n8 * 2);
    group.toRprLEM(out, 0, p);
    return out;
  };
  return Buffer.concat([
    ...parts.flatMap((k) => [encode(curve.G1, k.g1s), encode(curve.G1, k.g1sx)]),
    ...parts.map((k) => encode(curve.G2, k.g2spx)),
  ]);
}

function u32(value: number): Uint8Array {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value);
  return b;
}

/** The challenge a fresh accumulator (every point the generator) presents to its first contributor. */
function firstChallengeHash(curve: Bn128, power: number): Uint8Array {
  const h = newHasher();
  h.update(newHasher().digest());
  const g1 = curve.G1.toUncompressed(curve.G1.oneAffine);
  const g2 = curve.G2.toUncompressed(curve.G2.oneAffine);
  const repeat = (point: Uint8Array, count: number): void => {
    const block = Buffer.concat(Array.from({ length: Math.min(count, 4096) }, () => point));
    for (let left = count; left > 0; left -= 4096)
      h.update(left >= 4096 ? block : block.subarray(0, left * point.length));
  };
  const n = 2 ** power;
  repeat(g1, 2 * n - 1);
  repeat(g2, n);
  repeat(g1, n);
  repeat(g1, n);
  h.update(g2);
  return h.digest();
}

/** The accumulator sections 2–6 after one contribution (τ, α, β) on a fresh accumulator. */
interface AccumulatorSection {
  readonly id: number;
  readonly group: GroupName;
  readonly scalars: (s: PtauSecrets, n: number, r: bigint) => bigint[];
}

const ACCUMULATOR_SECTIONS: readonly AccumulatorSection[] = [
  { id: SECTION.tauG1, group: "G1", scalars: (s, n, r) => geometricScalars(1n, s.tau, 2 * n - 1, r) },
  { id: SECTION.tauG2, group: "G2", scalars: (s, n, r) => geometricScalars(1n, s.tau, n, r) },
  { id: SECTION.alphaTauG1, group: "G1", scalars: (s, n, r) => geometricScalars(s.alpha, s.tau, n, r) },
  { id: SECTION.betaTauG1, group: "G1", scalars: (s, n, r) => geometricScalars(s.beta, s.tau, n, r) },
  { id: SECTION.betaG2, group: "G2", scalars: (s) => [s.beta] },
];

/**
 * Writes, without intermediate files, the prepared powers of tau that `snarkjs powersoftau new`, then
 * `beacon` with `beacon`, then `prepare phase2` would write, byte for byte: the accumulator is computed
 * directly from the beacon's secrets and the contribution record (public key, partial response hash,
 * next challenge hash, beacon parameters) is what snarkjs records, so `powersoftau verify` accepts it.
 */
export async function writeBeaconPtau(
  curve: Bn128,
  power: number,
  beacon: Beacon,
  name: string,
  outputFile: string,
  progress: Progress,
): Promise<PtauSecrets> {
  const rng = beaconRng(beacon);
  const secrets = drawSecrets(curve, rng);
  const challenge = firstChallengeHash(curve, power);
  const key = [secrets.tau, secrets.alpha, secrets.beta].map((x, i) => publicKeyPart(curve, x, i, challenge, rng));
  const n = 2 ** power;

  const output = await binFile.createBinFile(outputFile, "ptau", 1, 11);
  try {
    await binFile.startWriteSection(output, SECTION.header);
    const q = new Uint8Array(32);
    let rest = curve.q;
    for (let i = 0; i < 32; i++, rest >>= 8n) q[i] = Number(rest & 0xffn);
    await output.write(Buffer.concat([u32(32), q, u32(power), u32(power)]));
    await binFile.endWriteSection(output);

    const response = newHasher().update(challenge);
    const sections: Uint8Array[] = [];
    for (const section of ACCUMULATOR_SECTIONS) {
      const points = await multiplyGenerator(curve, section.group, section.scalars(secrets, n, curve.r));
      await binFile.startWriteSection(output, section.id);
      await output.write(points);
      await binFile.endWriteSection(output);
      response.update(await curve[section.group].batchLEMtoC(points));
      sections.push(points);
      progress(`accumulator section ${section.id}: ${points.length / (curve[section.group].F.n8 * 2)} points`);
    }
    const partial = partialHash(response);
    const responseHash = response.update(encodePublicKey(curve, key, false)).digest();
    const next = newHasher().update(responseHash);
    for (const [i, section] of ACCUMULATOR_SECTIONS.entries())
      next.update(await curve[section.group].batchLEMtoU(sections[i]!));

    const pointAt = (i: number, index: number): Uint8Array => {
      const group = curve[ACCUMULATOR_SECTIONS[i]!.group];
      const size = group.F.n8 * 2;
      return sections[i]!.subarray(index * size, (index + 1) * size);
    };
    const nameBytes = Buffer.from(name.substring(0, 64), "utf8");
    const beaconBytes = Buffer.from(beacon.hashHex, "hex");
    const params = Buffer.concat([
      Buffer.from([1, nameBytes.length]),
      nameBytes,
      Buffer.from([2, beacon.iterationsExp, 3, beaconBytes.length]),
      beaconBytes,
    ]);
    await binFile.startWriteSection(output, SECTION.contributions);
    await output.write(
      Buffer.concat([
        u32(1),
        pointAt(0, 1), // τ·G1
        pointAt(1, 1), // τ·G2
        pointAt(2, 0), // α·G1
        pointAt(3, 0), // β·G1
        pointAt(4, 0), // β·G2
        encodePublicKey(curve, key, true),
        partial,
        next.digest(),
        u32(1), // type: beacon
        u32(params.length),
        params,
      ]),
    );
    await binFile.endWriteSection(output);

    await writeLagrangeSections(curve, output, power, secrets, progress);
  } finally {
    await output.close();
  }
  return secrets;
}
