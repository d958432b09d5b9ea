import { expect } from "chai";
import fc from "fast-check";
import {
  MAX_PLAINTEXT_BYTES,
  PLAINTEXT_ELEMENTS,
  PlaintextTooLargeError,
  packBytes,
  unpackBytes,
} from "../../sequencer/crypto/packing";

describe("plaintext packing (31 bytes per field element, with the length)", () => {
  it("packs little-endian: byte 31·i + k of the tx weighs 256^k in element 1 + i, element 0 is the length", () => {
    const bytes = Uint8Array.from({ length: 33 }, (_, i) => i + 1);
    const packed = packBytes(bytes);
    expect(packed.length).to.equal(PLAINTEXT_ELEMENTS);
    expect(packed[0]).to.equal(33n);
    expect(packed[1]! & 0xffn).to.equal(1n);
    expect(packed[1]! >> 240n).to.equal(31n);
    expect(packed[2]).to.equal(32n + (33n << 8n));
    expect(packed.slice(3).every((e) => e === 0n)).to.equal(true);
  });

  it("round-trips every byte string of 1..527 bytes (property)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: MAX_PLAINTEXT_BYTES }), (bytes) => {
        const packed = packBytes(bytes);
        return packed.length === PLAINTEXT_ELEMENTS && Buffer.from(unpackBytes(packed)).equals(Buffer.from(bytes));
      }),
      { numRuns: 300 },
    );
  });

  it("keeps every element below 2^248 and zero past the length (property)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: MAX_PLAINTEXT_BYTES }), (bytes) => {
        const packed = packBytes(bytes);
        const used = Math.ceil(bytes.length / 31);
        return packed.slice(1).every((e, i) => e < 1n << 248n && (i < used || e === 0n));
      }),
    );
  });

  it("packs the largest transaction and refuses one byte more with a clear error", () => {
    expect(() => packBytes(new Uint8Array(MAX_PLAINTEXT_BYTES).fill(0xff))).not.to.throw();
    expect(() => packBytes(new Uint8Array(MAX_PLAINTEXT_BYTES + 1)))
      .to.throw(PlaintextTooLargeError)
      .with.property("message")
      .that.matches(/528 bytes is too large to encrypt: .* at most 527 bytes/);
  });

  it("refuses an empty transaction", () => {
    expect(() => packBytes(new Uint8Array(0))).to.throw(/empty/);
  });

  it("rejects non-canonical vectors when unpacking", () => {
    const packed = [...packBytes(Uint8Array.from([1, 2, 3]))];
    expect(() => unpackBytes(packed.slice(1))).to.throw(/elements/);
    expect(() => unpackBytes([0n, ...packed.slice(1)])).to.throw(/length 0/);
    expect(() => unpackBytes([528n, ...packed.slice(1)])).to.throw(/length 528/);
    const byteBeyondLength = [...packed];
    byteBeyondLength[1] = byteBeyondLength[1]! | (9n << 24n);
    expect(() => unpackBytes(byteBeyondLength)).to.throw(/non-zero byte at 3/);
    const laterChunk = [...packed];
    laterChunk[5] = 1n;
    expect(() => unpackBytes(laterChunk)).to.throw(/non-zero byte at 124/);
    const oversizedChunk = [...packBytes(new Uint8Array(31).fill(1))];
    oversizedChunk[1] = oversizedChunk[1]! + (1n << 248n);
    expect(() => unpackBytes(oversizedChunk)).to.throw(/does not fit 31 bytes/);
  });
});
