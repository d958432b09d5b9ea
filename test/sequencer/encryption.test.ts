import { expect } from "chai";
import fc from "fast-check";
import { Base8, mulPointEscalar } from "@zk-kit/baby-jubjub";
import { poseidonDecrypt as zkKitDecrypt, poseidonEncrypt as zkKitEncrypt } from "@zk-kit/poseidon-cipher";
import { FIELD, mulBase, randomScalar } from "../../sequencer/crypto/babyjub";
import { DecryptionPool } from "../../sequencer/block/decrypt-pool";
import {
  CIPHERTEXT_ELEMENTS,
  blockHeight,
  decryptBlock,
  decryptTransaction,
  encTxHash,
  encryptTransaction,
  rollupId,
  txCommitment,
  type BlockItem,
  type EncryptedTransaction,
} from "../../sequencer/crypto/encryption";
import {
  MAX_PLAINTEXT_BYTES,
  PLAINTEXT_ELEMENTS,
  PlaintextTooLargeError,
  packBytes,
} from "../../sequencer/crypto/packing";
import { poseidonChain } from "../../sequencer/crypto/poseidon";

const SK = 0x2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6fn;
const PK = mulBase(SK);
const TARGET = { rollupId: rollupId(7), height: blockHeight(1_000_000), roundKey: PK };
const TX = Uint8Array.from({ length: 210 }, (_, i) => (i * 37) & 0xff);

describe("transaction encryption to a round key", () => {
  it("round-trips random transactions of 1..527 bytes (property)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: MAX_PLAINTEXT_BYTES }), (tx) => {
        const result = encryptTransaction(tx, TARGET);
        const { bytes } = decryptTransaction(result.encrypted, SK, result.txCommitment);
        return Buffer.from(bytes).equals(Buffer.from(tx)) && result.encrypted.ciphertext.length === CIPHERTEXT_ELEMENTS;
      }),
      { numRuns: 20 },
    );
  });

  it("uses R = rho·B8 and K = rho·PK as @zk-kit/baby-jubjub computes them, and zk-kit's cipher decrypts it", () => {
    const rho = randomScalar();
    const { encrypted, secrets } = encryptTransaction(TX, TARGET, { rho, nonce: 5n });
    expect(encrypted.ephemeralKey).to.deep.equal(mulPointEscalar(Base8, rho));
    // The node's view: K = sk·R, computed by the other library.
    const key = mulPointEscalar([...encrypted.ephemeralKey], SK);
    expect(key).to.deep.equal(mulPointEscalar([...PK], rho));
    const plaintext = zkKitDecrypt([...encrypted.ciphertext], key, encrypted.nonce, PLAINTEXT_ELEMENTS);
    expect(plaintext).to.deep.equal([...secrets.plaintext]);
  });

  it("decrypts a ciphertext produced entirely by the zk-kit libraries", () => {
    const rho = 123456789n;
    const key = mulPointEscalar([...PK], rho);
    const plaintext = packBytes(TX);
    const encrypted: EncryptedTransaction = {
      rollupId: TARGET.rollupId,
      height: TARGET.height,
      ephemeralKey: mulPointEscalar(Base8, rho),
      nonce: 77n,
      ciphertext: zkKitEncrypt([...plaintext], key, 77n),
    };
    const { bytes } = decryptTransaction(encrypted, SK, txCommitment(plaintext));
    expect(Buffer.from(bytes).equals(Buffer.from(TX))).to.equal(true);
  });

  it("fails under another round secret", () => {
    const { encrypted, txCommitment: commitment } = encryptTransaction(TX, TARGET);
    expect(() => decryptTransaction(encrypted, SK + 1n, commitment)).to.throw(/authenticate/);
  });

  it("fails on a tampered ciphertext, ephemeral key or nonce (property over the tampered element)", () => {
    const { encrypted, txCommitment: commitment } = encryptTransaction(TX, TARGET);
    fc.assert(
      fc.property(fc.nat({ max: CIPHERTEXT_ELEMENTS - 1 }), fc.bigInt({ min: 1n, max: FIELD - 1n }), (i, delta) => {
        const ciphertext = [...encrypted.ciphertext];
        ciphertext[i] = (ciphertext[i]! + delta) % FIELD;
        expect(() => decryptTransaction({ ...encrypted, ciphertext }, SK, commitment)).to.throw(/authenticate|padding/);
      }),
      { numRuns: 20 },
    );
    const otherR = mulBase(99n);
    expect(() => decryptTransaction({ ...encrypted, ephemeralKey: otherR }, SK, commitment)).to.throw(/authenticate/);
    expect(() => decryptTransaction({ ...encrypted, nonce: encrypted.nonce ^ 1n }, SK, commitment)).to.throw(
      /authenticate/,
    );
    expect(() => decryptTransaction({ ...encrypted, ephemeralKey: [1n, 2n] }, SK, commitment)).to.throw(/not on/);
  });

  it("fails when the plaintext does not match the public txCommitment", () => {
    const { encrypted, txCommitment: commitment } = encryptTransaction(TX, TARGET);
    expect(() => decryptTransaction(encrypted, SK, commitment + 1n)).to.throw(/txCommitment/);
  });

  it("refuses a transaction above the maximum size at encryption time", () => {
    expect(() => encryptTransaction(new Uint8Array(MAX_PLAINTEXT_BYTES + 1), TARGET)).to.throw(PlaintextTooLargeError);
  });

  it("refuses a round key outside the prime-order subgroup and out-of-range rho or nonce", () => {
    expect(() => encryptTransaction(TX, { ...TARGET, roundKey: [0n, 1n] })).to.throw(/round key/);
    expect(() => encryptTransaction(TX, { ...TARGET, roundKey: [1n, 2n] })).to.throw(/round key/);
    expect(() => encryptTransaction(TX, TARGET, { rho: 0n })).to.throw(/ephemeral scalar/);
    expect(() => encryptTransaction(TX, TARGET, { nonce: 1n << 128n })).to.throw(/nonce/);
  });

  it("defines txCommitment and encTxHash as documented", () => {
    const result = encryptTransaction(TX, TARGET, { rho: 3n, nonce: 4n });
    const e = result.encrypted;
    expect(result.txCommitment).to.equal(poseidonChain([...result.secrets.plaintext]));
    expect(result.encTxHash).to.equal(
      poseidonChain([7n, 1_000_000n, e.ephemeralKey[0], e.ephemeralKey[1], 4n, ...e.ciphertext]),
    );
  });

  it("binds rollup, height, R, nonce and every ciphertext element into encTxHash", () => {
    const { encrypted, encTxHash: hash } = encryptTransaction(TX, TARGET);
    const variants: EncryptedTransaction[] = [
      { ...encrypted, rollupId: rollupId(8) },
      { ...encrypted, height: blockHeight(1_000_001) },
      { ...encrypted, ephemeralKey: mulBase(5n) },
      { ...encrypted, nonce: encrypted.nonce + 1n },
      ...encrypted.ciphertext.map((_, i) => ({
        ...encrypted,
        ciphertext: encrypted.ciphertext.map((c, j) => (i === j ? (c + 1n) % FIELD : c)),
      })),
    ];
    for (const v of variants) expect(encTxHash(v)).not.to.equal(hash);
  });

  it("computes encTxHash as the BigInt reference does, and refuses what it refuses with the same message (property)", () => {
    // The reference: PoseidonChain on the BigInt permutation of poseidon.ts, with the checks in the same order.
    const reference = (tx: EncryptedTransaction): bigint => {
      if (tx.ciphertext.length !== CIPHERTEXT_ELEMENTS)
        throw new Error(`ciphertext must have ${CIPHERTEXT_ELEMENTS} elements`);
      for (const [value, what] of [
        [tx.rollupId, "rollupId"],
        [tx.height, "height"],
      ] as const) {
        if (value < 0n || value >= 1n << 64n) throw new Error(`${what} must be a uint64, got ${value}`);
      }
      return poseidonChain([tx.rollupId, tx.height, ...tx.ephemeralKey, tx.nonce, ...tx.ciphertext]);
    };
    const outcome = (hash: (tx: EncryptedTransaction) => bigint, tx: EncryptedTransaction): string => {
      try {
        return hash(tx).toString();
      } catch (error) {
        return `error: ${(error as Error).message}`;
      }
    };
    const base = encryptTransaction(TX, TARGET).encrypted;
    const element = fc.oneof(
      fc.bigInt({ min: 0n, max: FIELD - 1n }),
      fc.constantFrom(0n, FIELD - 1n, FIELD, FIELD + 5n, -1n),
    );
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: (1n << 64n) + 1n }),
        fc.bigInt({ min: 0n, max: (1n << 64n) + 1n }),
        fc.tuple(element, element),
        element,
        fc.array(element, { minLength: base.ciphertext.length - 1, maxLength: base.ciphertext.length + 1 }),
        (rollup, height, ephemeralKey, nonce, ciphertext) => {
          const tx = { rollupId: rollup, height, ephemeralKey, nonce, ciphertext } as unknown as EncryptedTransaction;
          expect(outcome(encTxHash, tx)).to.equal(outcome(reference, tx));
        },
      ),
      { numRuns: 150 },
    );
    expect(encTxHash(base)).to.equal(reference(base));
    expect(outcome(encTxHash, { ...base, nonce: FIELD })).to.match(/not a field element/);
    expect(outcome(encTxHash, { ...base, ciphertext: base.ciphertext.slice(1) })).to.match(/ciphertext must have/);
  });

  it("types rollupId and height as uint64", () => {
    expect(rollupId(0)).to.equal(0n);
    expect(blockHeight((1n << 64n) - 1n)).to.equal((1n << 64n) - 1n);
    expect(() => rollupId(-1)).to.throw(/uint64/);
    expect(() => blockHeight(1n << 64n)).to.throw(/uint64/);
    expect(() => blockHeight(1.5)).to.throw(/uint64/);
    expect(() => encTxHash({ ...encryptTransaction(TX, TARGET).encrypted, height: (1n << 64n) as never })).to.throw(
      /uint64/,
    );
  });

  describe("decrypting a block", () => {
    const items: BlockItem[] = Array.from({ length: 9 }, (_, i) => {
      const r = encryptTransaction(Uint8Array.from([i + 1, 2, 3]), TARGET);
      return { tx: r.encrypted, txCommitment: r.txCommitment };
    });
    // Slot 4 is tampered, slot 6 carries a wrong commitment: both stay in place, marked invalid.
    items[4] = { ...items[4]!, tx: { ...items[4]!.tx, nonce: items[4]!.tx.nonce + 1n } };
    items[6] = { ...items[6]!, txCommitment: 1n };

    it("keeps every slot in order and marks the invalid ones", () => {
      const outcomes = decryptBlock(items, SK);
      expect(outcomes.map((o) => o.ok)).to.deep.equal([true, true, true, true, false, true, false, true, true]);
      expect(outcomes.map((o) => (o.ok ? o.bytes[0] : -1))).to.deep.equal([1, 2, 3, 4, -1, 6, -1, 8, 9]);
      expect(outcomes[6]).to.deep.include({ ok: false, error: "decrypted plaintext does not match its txCommitment" });
    });

    it("gives the same outcomes on worker threads", async () => {
      const pool = new DecryptionPool({ threads: 2 });
      try {
        expect(await pool.decryptBlock(items, SK)).to.deep.equal(decryptBlock(items, SK));
        expect(await pool.decryptBlock([], SK)).to.deep.equal([]);
      } finally {
        await pool.close();
      }
    });
  });
});
