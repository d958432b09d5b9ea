/**
 * JSON-safe encodings of the time-lock objects: every integer is a 0x-prefixed hex string, points
 * are pairs of them. The zod schemas parse untrusted input into bigints (shape and size only);
 * the cryptographic checks (ranges, units, proofs) happen in the verifiers.
 */
import { z } from "zod";
import type { Point } from "../babyjub";
import type { Puzzle } from "./puzzle";
import type { ShareProof } from "./share-proof";

/** Largest accepted integer: 8,192 bits, enough for elements mod N² of a 4,096-bit N. */
const MAX_HEX_DIGITS = 2048;

export const hexInt = z
  .string()
  .max(MAX_HEX_DIGITS + 2)
  .regex(/^0x[0-9a-fA-F]+$/, "expected a 0x-prefixed hex integer")
  .transform((s) => BigInt(s));

export const toHex = (x: bigint): string => {
  if (x < 0n) throw new RangeError("cannot encode a negative integer");
  return `0x${x.toString(16)}`;
};

export const pointSchema = z.tuple([hexInt, hexInt]).transform((p): Point => [p[0], p[1]]);
export const pointToJson = (p: Point): [string, string] => [toHex(p[0]), toHex(p[1])];

export const puzzleSchema = z.object({ u: hexInt, v: hexInt }).strict();
export const puzzleToJson = (p: Puzzle): z.input<typeof puzzleSchema> => ({ u: toHex(p.u), v: toHex(p.v) });

export const shareProofSchema = z
  .object({ c: hexInt, A: hexInt, B: hexInt, C: pointSchema, D: hexInt, zr: hexInt, zs: hexInt, zt: hexInt })
  .strict();
export const shareProofToJson = (p: ShareProof): z.input<typeof shareProofSchema> => ({
  c: toHex(p.c),
  A: toHex(p.A),
  B: toHex(p.B),
  C: pointToJson(p.C),
  D: toHex(p.D),
  zr: toHex(p.zr),
  zs: toHex(p.zs),
  zt: toHex(p.zt),
});

/** A 20-byte Ethereum address, any case. */
export const addressSchema = z.string().regex(/^0x[0-9a-fA-F]{40}$/, "expected a 20-byte hex address");
