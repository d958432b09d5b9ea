/**
 * The zod field schemas every Veil process's config is built from (node, key generator, encrypting RPC,
 * validator, rollup operator). A field's value comes either typed from a YAML/JSON file or as a string
 * from an environment variable (see layered.ts); the helpers here accept both spellings and produce
 * the same value for them. Where processes differ in a bound or a message, the difference is a
 * parameter, so each process keeps its own.
 */
import { getAddress, isAddress } from "ethers";
import { z } from "zod";
import { LOG_LEVELS } from "../common/logger";
import { Secret } from "../common/secret";
import { parseProxyEntry } from "../rpc/client-address";

/**
 * Which strings count as numbers. "decimal": optionally negative, optionally fractional, so the
 * schema's own checks (int, min) name the problem. "unsigned-integer": digits only; any other string
 * is left as a string and rejected as one.
 */
export type NumberSpelling = "decimal" | "unsigned-integer";

const NUMBER_SPELLINGS: Readonly<Record<NumberSpelling, RegExp>> = {
  decimal: /^\s*-?\d+(\.\d+)?\s*$/,
  "unsigned-integer": /^\s*\d+\s*$/,
};

/** Environment variables are strings: a string that spells a number is validated as that number. */
export function numberFromEnv<T extends z.ZodType>(schema: T, spelling: NumberSpelling = "decimal") {
  const pattern = NUMBER_SPELLINGS[spelling];
  return z.preprocess((v) => (typeof v === "string" && pattern.test(v) ? Number(v) : v), schema);
}

/** A safe integer in [min, max], from a number or a string that spells one. */
export const int = (min: number, max: number, spelling: NumberSpelling = "decimal") =>
  numberFromEnv(z.number().int().min(min).max(max), spelling);

/** Environment variables are strings: exactly "true" and "false" stand for the booleans. */
export const boolean = z.preprocess((v) => (v === "true" ? true : v === "false" ? false : v), z.boolean());

/**
 * Environment variables are strings: a list arrives comma-separated (blanks dropped) or, with `json`,
 * as a JSON array (for lists of objects). A string starting with "[" that is not valid JSON is left
 * as it is and rejected as a string. `arraySchema` validates the resulting array.
 */
export function listFromEnv<T extends z.ZodType>(arraySchema: T, options: { json: boolean } = { json: true }) {
  return z.preprocess((v) => {
    if (typeof v !== "string") return v;
    const text = v.trim();
    if (options.json && text.startsWith("[")) {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        return v;
      }
    }
    return text
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== "");
  }, arraySchema);
}

/** A URL that a JSON-RPC client can call: http or https only. */
export const httpUrl = z.url({ protocol: /^https?$/, error: "expected an http(s) URL" });

/** A 20-byte address in any case; produced in EIP-55 checksum form so comparisons need no folding. */
export const address = z
  .string()
  .refine((v) => isAddress(v), { error: "expected a 20-byte hex address" })
  .transform((v) => getAddress(v));

/** The order of secp256k1's group: a private key is an integer in [1, n). */
const SECP256K1_ORDER = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

const SIGNING_KEY_FORMAT_ERROR = "expected a 32-byte hex private key";

/**
 * A secp256k1 private key as 0x + 64 hex digits, wrapped in Secret so that no log or error message
 * can show it. The format check aborts so the range check never parses a malformed key.
 */
export const signingKey = (formatError: string = SIGNING_KEY_FORMAT_ERROR) =>
  z
    .string()
    .regex(/^0x[0-9a-fA-F]{64}$/, { error: formatError, abort: true })
    .refine((v) => BigInt(v) > 0n && BigInt(v) < SECP256K1_ORDER, { error: "not a valid secp256k1 private key" })
    .transform((v) => new Secret(v));

export interface Uint64Options {
  /** Accept 0x-hex strings as well as decimal ones. */
  readonly hex: boolean;
  /** The smallest value accepted (ids are non-zero). */
  readonly min: 0n | 1n;
  /** The message for an integer outside [min, 2^64). */
  readonly rangeError: string;
  /** The message for a string that is not an integer (zod's own otherwise). */
  readonly formatError?: string;
  /** The message for a value that is neither a string nor a number (zod's own otherwise). */
  readonly typeError?: string;
}

const DECIMAL_UINT = /^(0|[1-9]\d*)$/;
const DECIMAL_OR_HEX_UINT = /^(0|[1-9]\d*|0x[0-9a-fA-F]+)$/;

/**
 * An integer in [min, 2^64) as a bigint. Ids beyond 2^53 only survive as strings (YAML and JSON
 * numbers are doubles), so strings are the main spelling; safe integers are accepted as numbers.
 */
export function uint64(options: Uint64Options) {
  const pattern = options.hex ? DECIMAL_OR_HEX_UINT : DECIMAL_UINT;
  const text =
    options.formatError === undefined ? z.string().regex(pattern) : z.string().regex(pattern, options.formatError);
  const spellings = [text, z.number().int().nonnegative()] as const;
  const spelled =
    options.typeError === undefined ? z.union(spellings) : z.union(spellings, { error: options.typeError });
  return spelled
    .transform((v) => BigInt(v))
    .refine((v) => v >= options.min && v < 1n << 64n, { error: options.rangeError });
}

/** A non-zero id below 2^64 (rollup and chain ids), decimal or 0x-hex, named `what` in the range message. */
export const positiveId = (what: string, typeError?: string) =>
  uint64({ hex: true, min: 1n, rangeError: `expected ${what} in [1, 2^64)`, typeError });

/** The registry contracts on L1 that every process reads. */
export const l1Contracts = z.strictObject({ clusterRegistry: address, validationServiceManager: address });

/** pino's levels (common/logger.ts); "silent" turns logging off. */
export const logLevel = z.enum(LOG_LEVELS);

/** The `log` section: every process logs at "info" unless told otherwise. */
export const logSection = z.strictObject({ level: logLevel.default("info") }).prefault({});

/** Where a process's own JSON-RPC server differs from the others: its port and its limits. */
export interface RpcServerDefaults {
  readonly port: number;
  readonly maxBodyBytes: { readonly max: number; readonly default: number };
  readonly maxBatchSize: { readonly max: number; readonly default: number };
  readonly rateLimit: { readonly ratePerSecond: number; readonly burst: number };
}

/**
 * The `rpc` section of a process that serves JSON-RPC (what sequencer/rpc/server.ts's serverLimits
 * reads): every field has a default, so the section may be left out.
 */
/** The smallest `rpc.maxBodyBytes` a process may be configured with. */
export const MIN_BODY_BYTES = 1_024;

/** A per-client token bucket (`enabled`, `ratePerSecond`, `burst`), on unless switched off. */
export const rateLimitSection = (defaults: { readonly ratePerSecond: number; readonly burst: number }) =>
  z
    .strictObject({
      enabled: boolean.default(true),
      ratePerSecond: numberFromEnv(z.number().positive()).default(defaults.ratePerSecond),
      burst: int(1, 1_000_000).default(defaults.burst),
    })
    .prefault({});

/** An IP address or a CIDR block (`10.0.0.0/8`, `fd00::/8`): one entry of `rpc.trustProxy`. */
export const proxyAddress = z
  .string()
  .refine((v) => parseProxyEntry(v) !== undefined, { error: "expected an IP address or a CIDR block (10.0.0.0/8)" });

export const rpcServerSection = (defaults: RpcServerDefaults) =>
  z
    .strictObject({
      host: z.string().min(1).default("127.0.0.1"),
      port: int(0, 65_535).default(defaults.port),
      maxBodyBytes: int(MIN_BODY_BYTES, defaults.maxBodyBytes.max).default(defaults.maxBodyBytes.default),
      maxBatchSize: int(1, defaults.maxBatchSize.max).default(defaults.maxBatchSize.default),
      requestTimeoutMs: int(100, 600_000).default(30_000),
      rateLimit: rateLimitSection(defaults.rateLimit),
      /**
       * Reverse proxies (addresses or CIDR blocks) whose X-Forwarded-For names the client: the
       * right-most entry that is not one of them (sequencer/rpc/client-address.ts). Empty: the header
       * is ignored, the TCP peer is the client.
       */
      trustProxy: listFromEnv(z.array(proxyAddress), { json: false }).default([]),
    })
    .prefault({});
