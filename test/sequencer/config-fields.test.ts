import { expect } from "chai";
import { getAddress } from "ethers";
import fc from "fast-check";
import { z } from "zod";
import {
  address,
  boolean,
  httpUrl,
  int,
  l1Contracts,
  listFromEnv,
  logSection,
  numberFromEnv,
  positiveId,
  rpcServerSection,
  signingKey,
  uint64,
} from "../../sequencer/config/fields";
import { Secret } from "../../sequencer/common/secret";

const SECP256K1_ORDER = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const UINT64_LIMIT = 1n << 64n;

type Outcome = { readonly ok: unknown } | { readonly messages: readonly string[] };

/** What a schema makes of a value: the parsed value (Secrets revealed) or its issues' messages. */
function outcome(schema: z.ZodType, value: unknown): Outcome {
  const result = schema.safeParse(value);
  if (!result.success) return { messages: result.error.issues.map((issue) => issue.message) };
  return { ok: result.data instanceof Secret ? ["Secret", result.data.reveal()] : result.data };
}

function messagesOf(schema: z.ZodType, value: unknown): readonly string[] {
  const result = outcome(schema, value);
  if ("ok" in result) throw new Error(`expected ${String(value)} to be rejected`);
  return result.messages;
}

const hex64 = (value: bigint) => "0x" + value.toString(16).padStart(64, "0");
const padding = fc.constantFrom("", " ", "  ", "\t");

describe("config field helpers", () => {
  describe("int and numberFromEnv", () => {
    it("read a string that spells an integer as that integer, surrounding blanks included", () => {
      fc.assert(
        fc.property(fc.integer({ min: -1_000_000, max: 1_000_000 }), padding, padding, (n, before, after) => {
          const schema = int(-500_000, 500_000);
          expect(outcome(schema, `${before}${n}${after}`)).to.deep.equal(outcome(schema, n));
        }),
      );
    });

    it("give a decimal fraction from the environment the number's own messages", () => {
      fc.assert(
        fc.property(fc.nat(10_000), fc.integer({ min: 1, max: 999 }), fc.boolean(), (whole, fraction, negative) => {
          const text = `${negative ? "-" : ""}${whole}.${fraction}`;
          expect(outcome(int(0, 100), text)).to.deep.equal(outcome(int(0, 100), Number(text)));
          expect(outcome(numberFromEnv(z.number().min(0).max(1)), text)).to.deep.equal(
            outcome(numberFromEnv(z.number().min(0).max(1)), Number(text)),
          );
        }),
      );
    });

    it("refuse a number outside the bounds", () => {
      expect(messagesOf(int(1, 10), 0)[0]).to.match(/>=1/);
      expect(messagesOf(int(1, 10), "11")[0]).to.match(/<=10/);
      expect(messagesOf(int(0, 10), 1.5)[0]).to.match(/expected int/);
    });

    it("leave other strings as strings, which the number schema refuses", () => {
      for (const text of ["", "abc", "1e3", "0x10", "1,5", "--1"]) {
        expect(messagesOf(int(0, 10_000), text)[0], text).to.match(/expected number, received string/);
      }
    });

    it("with unsigned-integer spelling, read only digits from strings; -1 and 1.5 are refused as strings", () => {
      fc.assert(
        fc.property(fc.nat(1_000_000), padding, (n, pad) => {
          const schema = int(0, 500_000, "unsigned-integer");
          expect(outcome(schema, `${pad}${n}${pad}`)).to.deep.equal(outcome(schema, n));
        }),
      );
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 1_000_000 }), (n) => {
          const schema = int(0, 2_000_000, "unsigned-integer");
          expect(messagesOf(schema, `-${n}`)[0]).to.match(/expected number, received string/);
          expect(messagesOf(schema, `${n}.5`)[0]).to.match(/expected number, received string/);
          expect(messagesOf(schema, -n)[0]).to.match(/>=0/);
        }),
      );
    });
  });

  describe("boolean", () => {
    it("reads exactly 'true' and 'false' as the booleans", () => {
      expect(boolean.parse("true")).to.equal(true);
      expect(boolean.parse("false")).to.equal(false);
      expect(boolean.parse(true)).to.equal(true);
      expect(boolean.parse(false)).to.equal(false);
    });

    it("refuses every other value", () => {
      fc.assert(
        fc.property(
          fc.oneof(
            fc.constantFrom("1", "0", "TRUE", "False", "yes", " true", "false "),
            fc.string().filter((s) => s !== "true" && s !== "false"),
            fc.integer(),
            fc.constantFrom(null, undefined),
          ),
          (value) => {
            expect(messagesOf(boolean, value)[0]).to.match(/expected boolean/);
          },
        ),
      );
    });
  });

  describe("listFromEnv", () => {
    const hosts = fc.array(fc.stringMatching(/^[a-z][a-z0-9]{0,8}$/), { maxLength: 5 });
    const urls = (names: readonly string[]) => names.map((n) => `http://${n}:8545/`);

    it("reads a comma-separated string (blanks around items and empty items dropped) as the array", () => {
      fc.assert(
        fc.property(hosts, padding, fc.boolean(), fc.boolean(), (names, pad, trailingComma, json) => {
          const schema = listFromEnv(z.array(httpUrl), { json });
          const text = urls(names).join(`${pad},${pad}`) + (trailingComma ? "," : "");
          expect(outcome(schema, text)).to.deep.equal(outcome(schema, urls(names)));
        }),
      );
    });

    it("reads a JSON array string as the array when json is on, so lists of objects can come from a variable", () => {
      fc.assert(
        fc.property(hosts, padding, (names, pad) => {
          const items = urls(names).map((url, i) => ({ url, weight: i }));
          const schema = listFromEnv(z.array(z.strictObject({ url: httpUrl, weight: z.number() })));
          expect(outcome(schema, `${pad}${JSON.stringify(items)}${pad}`)).to.deep.equal(outcome(schema, items));
        }),
      );
    });

    it("with json off, splits a JSON array string at its commas, so its items are refused", () => {
      const schema = listFromEnv(z.array(httpUrl), { json: false });
      expect(messagesOf(schema, JSON.stringify(["http://a:1", "http://b:2"]))).to.deep.equal([
        "expected an http(s) URL",
        "expected an http(s) URL",
      ]);
    });

    it("refuses a string that starts like JSON but is not, as a string", () => {
      const schema = listFromEnv(z.array(httpUrl));
      expect(messagesOf(schema, '["http://a:1",')[0]).to.match(/expected array, received string/);
    });

    it("applies the array schema's own checks, with their messages", () => {
      const schema = listFromEnv(z.array(httpUrl).min(1, { error: "list at least one" }));
      expect(messagesOf(schema, " , ")).to.deep.equal(["list at least one"]);
      expect(messagesOf(schema, "[]")).to.deep.equal(["list at least one"]);
    });
  });

  describe("httpUrl", () => {
    it("accepts http and https URLs and refuses every other scheme with its message", () => {
      expect(httpUrl.parse("http://127.0.0.1:8545")).to.equal("http://127.0.0.1:8545");
      expect(httpUrl.parse("https://rpc.example")).to.equal("https://rpc.example");
      for (const bad of ["ftp://x", "ws://x", "file:///etc/passwd", "127.0.0.1:8545", ""]) {
        expect(messagesOf(httpUrl, bad), bad).to.deep.equal(["expected an http(s) URL"]);
      }
    });
  });

  describe("address", () => {
    it("accepts any case spelling of a 20-byte address and gives its checksum form", () => {
      fc.assert(
        fc.property(fc.uint8Array({ minLength: 20, maxLength: 20 }), fc.boolean(), (bytes, upper) => {
          const hex = Buffer.from(bytes).toString("hex");
          const spelled = "0x" + (upper ? hex.toUpperCase() : hex);
          expect(address.parse(spelled)).to.equal(getAddress("0x" + hex));
        }),
      );
    });

    it("refuses wrong lengths, non-hex and broken checksums with its message", () => {
      const checksummed = getAddress("0x" + "ab".repeat(20));
      const letter = checksummed.slice(2).search(/[a-fA-F]/) + 2;
      const flipped = checksummed[letter]!;
      const broken =
        checksummed.slice(0, letter) +
        (flipped === flipped.toUpperCase() ? flipped.toLowerCase() : flipped.toUpperCase()) +
        checksummed.slice(letter + 1);
      for (const bad of ["0x" + "ab".repeat(19), "0x" + "zz".repeat(20), "0x" + "ab".repeat(21), broken]) {
        expect(messagesOf(address, bad), bad).to.deep.equal(["expected a 20-byte hex address"]);
      }
      expect(messagesOf(address, 5)[0]).to.match(/expected string/);
    });
  });

  describe("signingKey", () => {
    it("wraps every private key in [1, n) in a Secret that reveals it unchanged", () => {
      fc.assert(
        fc.property(
          fc.oneof(fc.constantFrom(1n, SECP256K1_ORDER - 1n), fc.bigInt({ min: 1n, max: SECP256K1_ORDER - 1n })),
          (k) => {
            const parsed = signingKey().parse(hex64(k));
            expect(parsed).to.be.instanceOf(Secret);
            expect(parsed.reveal()).to.equal(hex64(k));
            expect(JSON.stringify({ key: parsed })).not.to.contain(hex64(k).slice(2));
          },
        ),
      );
    });

    it("refuses 0 and keys at or above the group order, without echoing them", () => {
      fc.assert(
        fc.property(
          fc.oneof(
            fc.constantFrom(0n, SECP256K1_ORDER, (1n << 256n) - 1n),
            fc.bigInt({ min: SECP256K1_ORDER, max: (1n << 256n) - 1n }),
          ),
          (k) => {
            const messages = messagesOf(signingKey(), hex64(k));
            expect(messages).to.deep.equal(["not a valid secp256k1 private key"]);
          },
        ),
      );
    });

    it("refuses other spellings with the format message, the caller's when given", () => {
      for (const bad of ["0x" + "11".repeat(31), "11".repeat(32), "0x" + "1g".repeat(32), "0x" + "11".repeat(33)]) {
        expect(messagesOf(signingKey(), bad), bad).to.deep.equal(["expected a 32-byte hex private key"]);
        expect(messagesOf(signingKey("expected 0x and 64 hex digits"), bad)).to.deep.equal([
          "expected 0x and 64 hex digits",
        ]);
      }
    });
  });

  describe("uint64 and positiveId", () => {
    const inRange = (min: bigint) => fc.bigInt({ min, max: UINT64_LIMIT - 1n });

    it("reads decimal strings, 0x-hex strings and safe integers alike", () => {
      const schema = uint64({ hex: true, min: 0n, rangeError: "out of range" });
      fc.assert(
        fc.property(inRange(0n), (v) => {
          expect(schema.parse(v.toString())).to.equal(v);
          expect(schema.parse("0x" + v.toString(16))).to.equal(v);
          if (v <= BigInt(Number.MAX_SAFE_INTEGER)) expect(schema.parse(Number(v))).to.equal(v);
        }),
      );
    });

    it("refuses values at or above 2^64 and below min with the range message", () => {
      fc.assert(
        fc.property(fc.bigInt({ min: UINT64_LIMIT, max: 1n << 80n }), fc.constantFrom(0n, 1n), (v, min) => {
          const schema = uint64({ hex: true, min, rangeError: "out of range" });
          expect(messagesOf(schema, v.toString())).to.deep.equal(["out of range"]);
          expect(messagesOf(schema, "0x" + v.toString(16))).to.deep.equal(["out of range"]);
        }),
      );
      expect(messagesOf(uint64({ hex: true, min: 1n, rangeError: "out of range" }), "0")).to.deep.equal([
        "out of range",
      ]);
      expect(uint64({ hex: true, min: 0n, rangeError: "out of range" }).parse("0")).to.equal(0n);
    });

    it("without hex, refuses 0x strings with the format message; leading zeros and signs are refused too", () => {
      const schema = uint64({ hex: false, min: 0n, rangeError: "out of range", formatError: "decimal please" });
      fc.assert(
        fc.property(inRange(0n), (v) => {
          expect(schema.parse(v.toString())).to.equal(v);
          expect(messagesOf(schema, "0x" + v.toString(16))).to.deep.equal(["decimal please"]);
        }),
      );
      for (const bad of ["01", "-1", "+1", " 1", "1.0", ""]) {
        expect(messagesOf(schema, bad), bad).to.deep.equal(["decimal please"]);
      }
    });

    it("names a value of the wrong type with the type message when given", () => {
      const plain = uint64({ hex: true, min: 1n, rangeError: "out of range" });
      const named = uint64({ hex: true, min: 1n, rangeError: "out of range", typeError: "expected an id" });
      for (const bad of [true, null, {}, 1.5]) {
        expect(messagesOf(named, bad)).to.deep.equal(["expected an id"]);
        expect(messagesOf(plain, bad)).to.deep.equal(["Invalid input"]);
      }
    });

    it("positiveId names what it reads in its range message", () => {
      fc.assert(
        fc.property(inRange(1n), (v) => {
          expect(positiveId("a rollup id").parse(v.toString())).to.equal(v);
        }),
      );
      expect(messagesOf(positiveId("a rollup id"), 0)).to.deep.equal(["expected a rollup id in [1, 2^64)"]);
      expect(messagesOf(positiveId("a chain id"), (UINT64_LIMIT + 1n).toString())).to.deep.equal([
        "expected a chain id in [1, 2^64)",
      ]);
    });
  });

  describe("sections", () => {
    const defaults = {
      port: 8999,
      maxBodyBytes: { max: 4_096, default: 2_048 },
      maxBatchSize: { max: 50, default: 10 },
      rateLimit: { ratePerSecond: 7, burst: 9 },
    };

    it("rpcServerSection fills every field from the caller's defaults when the section is absent", () => {
      expect(rpcServerSection(defaults).parse(undefined)).to.deep.equal({
        host: "127.0.0.1",
        port: 8999,
        maxBodyBytes: 2_048,
        maxBatchSize: 10,
        requestTimeoutMs: 30_000,
        rateLimit: { enabled: true, ratePerSecond: 7, burst: 9 },
        trustProxy: [],
      });
    });

    it("rpcServerSection reads environment strings as the typed values", () => {
      fc.assert(
        fc.property(
          fc.record({
            port: fc.integer({ min: 0, max: 65_535 }),
            maxBodyBytes: fc.integer({ min: 1_000, max: 5_000 }),
            maxBatchSize: fc.integer({ min: 0, max: 60 }),
            requestTimeoutMs: fc.integer({ min: 50, max: 700_000 }),
            enabled: fc.boolean(),
            ratePerSecond: fc.integer({ min: -2, max: 1_000 }),
            burst: fc.integer({ min: 0, max: 2_000_000 }),
            trustProxy: fc.array(fc.constantFrom("10.0.0.0/8", "::1", "192.0.2.7", "fd00::/8", "not-an-ip"), {
              maxLength: 3,
            }),
          }),
          (v) => {
            const typed = {
              port: v.port,
              maxBodyBytes: v.maxBodyBytes,
              maxBatchSize: v.maxBatchSize,
              requestTimeoutMs: v.requestTimeoutMs,
              rateLimit: { enabled: v.enabled, ratePerSecond: v.ratePerSecond, burst: v.burst },
              trustProxy: v.trustProxy,
            };
            const fromEnv = {
              port: String(v.port),
              maxBodyBytes: String(v.maxBodyBytes),
              maxBatchSize: String(v.maxBatchSize),
              requestTimeoutMs: String(v.requestTimeoutMs),
              rateLimit: { enabled: String(v.enabled), ratePerSecond: String(v.ratePerSecond), burst: String(v.burst) },
              trustProxy: v.trustProxy.join(","),
            };
            const schema = rpcServerSection(defaults);
            expect(outcome(schema, fromEnv)).to.deep.equal(outcome(schema, typed));
          },
        ),
      );
    });

    it("rpcServerSection enforces the caller's upper bounds and refuses unknown fields", () => {
      const schema = rpcServerSection(defaults);
      expect(messagesOf(schema, { maxBodyBytes: 4_097 })[0]).to.match(/<=4096/);
      expect(messagesOf(schema, { maxBatchSize: "51" })[0]).to.match(/<=50/);
      expect(messagesOf(schema, { rateLimit: { ratePerSecond: 0 } })[0]).to.match(/>0/);
      expect(messagesOf(schema, { trustProxy: ["10.0.0.0/40"] })[0]).to.match(/IP address or a CIDR block/);
      expect(messagesOf(schema, { prot: 1 })[0]).to.match(/Unrecognized key/);
    });

    it("logSection defaults to info and accepts only pino's levels", () => {
      expect(logSection.parse(undefined)).to.deep.equal({ level: "info" });
      expect(logSection.parse({ level: "silent" })).to.deep.equal({ level: "silent" });
      expect(messagesOf(logSection, { level: "verbose" })[0]).to.match(/Invalid option/);
    });

    it("l1Contracts checksums both addresses and refuses unknown contracts", () => {
      const lower = "0x" + "ab".repeat(20);
      expect(l1Contracts.parse({ clusterRegistry: lower, validationServiceManager: lower })).to.deep.equal({
        clusterRegistry: getAddress(lower),
        validationServiceManager: getAddress(lower),
      });
      expect(messagesOf(l1Contracts, { clusterRegistry: lower, validationServiceManager: "0x12" })).to.deep.equal([
        "expected a 20-byte hex address",
      ]);
      expect(
        messagesOf(l1Contracts, { clusterRegistry: lower, validationServiceManager: lower, registry: lower })[0],
      ).to.match(/Unrecognized key/);
    });
  });
});
