import { expect } from "chai";
import fc from "fast-check";
import { Transaction, Wallet, getBytes, hexlify, keccak256, parseEther, toUtf8Bytes } from "ethers";
import { mulBase, randomScalar } from "../../sequencer/crypto/babyjub";
import { blockHeight, encryptTransaction, rollupId, type EncryptionResult } from "../../sequencer/crypto/encryption";
import { DecryptionPool } from "../../sequencer/block/decrypt-pool";
import { IncrementalMerkleTree, hashLeaf, rootOfLeafHashes, toBytes32 } from "../../sequencer/chain/merkle";
import { structHash } from "../../sequencer/chain/eip712";
import { FIELD } from "../../sequencer/crypto/babyjub";
import {
  INVALID_SLOT_LEAF,
  RoundSecretMismatch,
  buildBlock,
  encRootOf,
  entryFromWire,
  leafDataOf,
  leafDataOfEntries,
  rawTransactionsOf,
  type BlockDecrypter,
  type BuildInput,
  type BuildTimings,
  type SealedEntry,
} from "../../sequencer/block";
import { noForcedEntries } from "../../sequencer/block/forced";
import type { ForcedEntry } from "../../sequencer/chain/inbox";

const ROLLUP = 4242n;
const HEIGHT = 7n;
const SECRET = randomScalar();
const ROUND_KEY = mulBase(SECRET);
const sender = new Wallet(`0x${"42".repeat(32)}`);

async function signedTx(nonce: number, chainId = ROLLUP): Promise<string> {
  return sender.signTransaction({
    type: 2,
    chainId,
    nonce,
    to: `0x${"22".repeat(20)}`,
    value: parseEther("0.01"),
    gasLimit: 21_000n,
    maxFeePerGas: 2_000_000_000n,
    maxPriorityFeePerGas: 1_000_000_000n,
  });
}

function encrypt(bytes: Uint8Array, height = HEIGHT): EncryptionResult {
  return encryptTransaction(bytes, { rollupId: rollupId(ROLLUP), height: blockHeight(height), roundKey: ROUND_KEY });
}

const encryptedEntry = (r: EncryptionResult, txCommitment = r.txCommitment): SealedEntry => ({
  kind: "encrypted",
  tx: r.encrypted,
  txCommitment,
});

/** A forced-inclusion entry as the inbox reader returns it, at place `index`, proven against `roundKey`. */
const forcedEntry = (r: EncryptionResult, index: number, roundKey = ROUND_KEY): ForcedEntry => ({
  index,
  postedBlock: 100n + BigInt(index),
  sender: sender.address,
  tx: r.encrypted,
  encTxHash: r.encTxHash,
  txCommitment: r.txCommitment,
  roundKey,
});

const build = (entries: readonly SealedEntry[], extra: Partial<BuildInput> = { chainId: ROLLUP }) =>
  buildBlock({
    rollupId: ROLLUP,
    height: HEIGHT,
    entries,
    forced: noForcedEntries(0n),
    roundKey: ROUND_KEY,
    secretKey: SECRET,
    viewNumber: 0,
    ...extra,
  });

describe("block builder", function () {
  this.timeout(60_000);

  it("decrypts encrypted slots and keeps raw slots, with encRoot equal to the node's append-only tree", async () => {
    const txs = await Promise.all([0, 1, 2].map((n) => signedTx(n)));
    const enc0 = encrypt(getBytes(txs[0]!));
    const enc2 = encrypt(getBytes(txs[2]!));
    const entries: SealedEntry[] = [encryptedEntry(enc0), { kind: "raw", rawTx: txs[1]! }, encryptedEntry(enc2)];
    const block = await build(entries);

    const tree = new IncrementalMerkleTree();
    tree.append(toBytes32(enc0.encTxHash));
    tree.append(keccak256(txs[1]!));
    tree.append(toBytes32(enc2.encTxHash));
    expect(block.encRoot).to.equal(tree.root);
    expect(encRootOf(entries)).to.equal(tree.root);
    expect(block.slots.map((s) => s.status)).to.deep.equal(["valid", "valid", "valid"]);
    expect(rawTransactionsOf(block)).to.deep.equal(txs.map((t) => t.toLowerCase()));
    expect(block.slots.map((s) => (s.status === "valid" ? s.txHash : ""))).to.deep.equal(txs.map((t) => keccak256(t)));
    expect(block.rawRoot).to.equal(rootOfLeafHashes(txs.map((t) => hashLeaf(keccak256(t)))));
    expect(block.commitment).to.deep.equal({
      rollupId: ROLLUP,
      height: HEIGHT,
      txCount: 3,
      encRoot: block.encRoot,
      inboxBlock: 0n,
      forcedCount: 0,
      rawRoot: block.rawRoot,
      viewNumber: 0,
    });
    expect(block.commitmentHash).to.equal(structHash("BlockCommitment", block.commitment));
    // Built under another view's certificate: the same slots and roots, committed in that view.
    const later = await build(entries, { chainId: ROLLUP, viewNumber: 3 });
    expect(later.slots).to.deep.equal(block.slots);
    expect(later.commitment).to.deep.equal({ ...block.commitment, viewNumber: 3 });
    expect(later.commitmentHash).to.not.equal(block.commitmentHash);
  });

  it("marks every kind of bad slot invalid in place, and commits the invalid-slot constant for it", async () => {
    const good = await signedTx(0);
    const otherTx = await signedTx(1);
    const unsigned = Transaction.from(await signedTx(2)).unsignedSerialized;
    const tampered = encrypt(getBytes(await signedTx(3)));
    const tamperedTx = {
      ...tampered.encrypted,
      ciphertext: tampered.encrypted.ciphertext.map((c, i) => (i === 0 ? c + 1n : c)),
    };
    const entries: SealedEntry[] = [
      encryptedEntry(encrypt(getBytes(good))),
      encryptedEntry(encrypt(getBytes(otherTx)), encrypt(getBytes(good)).txCommitment),
      encryptedEntry(encrypt(toUtf8Bytes("not a transaction at all"))),
      encryptedEntry(encrypt(getBytes(await signedTx(4, 1n)))),
      encryptedEntry(encrypt(getBytes(unsigned))),
      { kind: "encrypted", tx: tamperedTx, txCommitment: tampered.txCommitment },
      encryptedEntry(encrypt(getBytes(await signedTx(5)), HEIGHT + 1n)),
      { kind: "raw", rawTx: "0xdeadbeef" },
      { kind: "raw", rawTx: await signedTx(6) },
    ];
    const block = await build(entries);
    const summary = block.slots.map((s) => [s.index, s.status === "valid" ? "valid" : s.reason]);
    expect(summary).to.deep.equal([
      [0, "valid"],
      [1, "commitment-mismatch"],
      [2, "malformed-tx"],
      [3, "wrong-chain-id"],
      [4, "unsigned"],
      [5, "undecryptable"],
      [6, "wrong-round"],
      [7, "malformed-tx"],
      [8, "valid"],
    ]);
    const leafData = block.slots.map((s) => (s.status === "valid" ? keccak256(s.rawTx) : INVALID_SLOT_LEAF));
    expect(block.rawRoot).to.equal(rootOfLeafHashes(leafData.map(hashLeaf)));
    expect(block.encRoot).to.equal(encRootOf(entries));
    expect(INVALID_SLOT_LEAF).to.equal(keccak256(toUtf8Bytes("veil.block.invalid-slot.v1")));
  });

  describe("forced-inclusion slots", () => {
    it("places the due entries after the sealed ones in inbox order, decrypted like any slot", async () => {
      const sealed = [
        encryptedEntry(encrypt(getBytes(await signedTx(0)))),
        { kind: "raw" as const, rawTx: await signedTx(1) },
      ];
      const forcedTxs = [await signedTx(2), await signedTx(3)];
      const forced = forcedTxs.map((tx, j) => forcedEntry(encrypt(getBytes(tx)), j));
      const block = await build(sealed, { chainId: ROLLUP, forced: { inboxBlock: 120n, entries: forced } });
      expect(block.slots.map((s) => [s.index, s.status])).to.deep.equal([
        [0, "valid"],
        [1, "valid"],
        [2, "valid"],
        [3, "valid"],
      ]);
      expect(rawTransactionsOf(block).slice(2)).to.deep.equal(forcedTxs.map((t) => t.toLowerCase()));
      expect(block.slots.slice(2).map((s) => s.encTxHash)).to.deep.equal(forced.map((f) => toBytes32(f.encTxHash)));
      // encRoot is the seal's, over the sealed entries only; rawRoot covers every slot.
      expect(block.encRoot).to.equal(encRootOf(sealed));
      expect(block.rawRoot).to.equal(
        rootOfLeafHashes(block.slots.map((s) => hashLeaf(keccak256((s as { rawTx: string }).rawTx)))),
      );
      expect(block.commitment).to.include({ txCount: 2, inboxBlock: 120n, forcedCount: 2 });
      // Without the forced entries the same sealed log commits another block.
      const without = await build(sealed, { chainId: ROLLUP, forced: noForcedEntries(120n) });
      expect(without.encRoot).to.equal(block.encRoot);
      expect(without.rawRoot).to.not.equal(block.rawRoot);
      expect(without.commitment.forcedCount).to.equal(0);
    });

    it("skips, in place and for the same reason on every builder, an entry that cannot run", async () => {
      const otherKey = mulBase(randomScalar());
      const good = encrypt(getBytes(await signedTx(0)));
      const toOtherKey = encryptTransaction(getBytes(await signedTx(1)), {
        rollupId: rollupId(ROLLUP),
        height: blockHeight(HEIGHT),
        roundKey: otherKey,
      });
      const relabelled = encrypt(getBytes(await signedTx(2)));
      const tampered = encrypt(getBytes(await signedTx(3)));
      const mismatched = encrypt(getBytes(await signedTx(4)));
      const notATx = encrypt(toUtf8Bytes("not a transaction"));
      const entries: ForcedEntry[] = [
        forcedEntry(good, 0),
        // Proven against a key nobody holds the secret of (the contract checks the proof against it).
        forcedEntry(toOtherKey, 1, otherKey),
        // Posted with an encTxHash its fields do not hash to (the contract does not hash the ciphertext).
        { ...forcedEntry(relabelled, 2), encTxHash: good.encTxHash },
        // Fields that hash to the claimed encTxHash cannot be tampered with; a changed nonce changes the hash.
        { ...forcedEntry(tampered, 3), tx: { ...tampered.encrypted, nonce: tampered.encrypted.nonce + 1n } },
        // A plaintext other than its txCommitment.
        { ...forcedEntry(mismatched, 4), txCommitment: good.txCommitment },
        forcedEntry(notATx, 5),
        // A ciphertext element outside the field: cannot be hashed.
        {
          ...forcedEntry(good, 6),
          tx: { ...good.encrypted, ciphertext: good.encrypted.ciphertext.map((c, i) => (i === 0 ? c + FIELD : c)) },
        },
      ];
      const forced = { inboxBlock: 99n, entries };
      const block = await build([], { chainId: ROLLUP, forced });
      const verdicts = block.slots.map((s) => [s.index, s.status === "valid" ? "valid" : s.reason]);
      expect(verdicts).to.deep.equal([
        [0, "valid"],
        [1, "wrong-round-key"],
        [2, "hash-mismatch"],
        [3, "hash-mismatch"],
        [4, "commitment-mismatch"],
        [5, "malformed-tx"],
        [6, "hash-mismatch"],
      ]);
      const leaves = block.slots.map((s) => (s.status === "valid" ? keccak256(s.rawTx) : INVALID_SLOT_LEAF));
      expect(block.rawRoot).to.equal(rootOfLeafHashes(leaves.map(hashLeaf)));
      expect(block.commitment.forcedCount).to.equal(entries.length);
      // The worker path reaches the same verdicts byte for byte.
      const pool = new DecryptionPool({ threads: 2 });
      try {
        const onPool = await build([], { chainId: ROLLUP, forced, decrypter: pool, poolThreshold: 1 });
        expect(onPool).to.deep.equal(block);
      } finally {
        await pool.close();
      }
    });

    it("refuses entries out of inbox order or of another height: a reader's error, not a slot", async () => {
      const r = encrypt(getBytes(await signedTx(0)));
      const cases: ForcedEntry[][] = [
        [forcedEntry(r, 1)],
        [forcedEntry(r, 0), forcedEntry(r, 0)],
        [forcedEntry(encrypt(getBytes(await signedTx(1)), HEIGHT + 1n), 0)],
      ];
      for (const entries of cases) {
        let error: unknown;
        await build([], { forced: { inboxBlock: 1n, entries } }).catch((e: unknown) => (error = e));
        expect((error as Error).message).to.match(/^forced entry \d+ is entry/);
      }
    });
  });

  it("accepts any chain id when the rollup has none configured", async () => {
    const block = await build([encryptedEntry(encrypt(getBytes(await signedTx(0, 1n))))], {});
    expect(block.slots[0]!.status).to.equal("valid");
  });

  it("refuses a round secret that does not open the round key", async () => {
    const entries: SealedEntry[] = [{ kind: "raw", rawTx: await signedTx(0) }];
    for (const secretKey of [SECRET + 1n, 0n]) {
      let error: unknown;
      try {
        await buildBlock({
          rollupId: ROLLUP,
          height: HEIGHT,
          entries,
          forced: noForcedEntries(0n),
          roundKey: ROUND_KEY,
          secretKey,
          viewNumber: 0,
        });
      } catch (e) {
        error = e;
      }
      expect(error).to.be.instanceOf(RoundSecretMismatch);
    }
  });

  it("gives the same block on worker threads as on this thread", async () => {
    const entries: SealedEntry[] = [];
    for (let i = 0; i < 12; i++) {
      const tx = await signedTx(i);
      if (i % 4 === 3) entries.push({ kind: "raw", rawTx: tx });
      else if (i % 5 === 4) entries.push(encryptedEntry(encrypt(getBytes(tx)), 1n));
      else entries.push(encryptedEntry(encrypt(getBytes(tx))));
    }
    // One slice per thread here; the worker-path tests below use the default (several per thread).
    const pool = new DecryptionPool({ threads: 2, slicesPerThread: 1 });
    try {
      const onPool = await buildBlock({
        rollupId: ROLLUP,
        height: HEIGHT,
        entries,
        forced: noForcedEntries(0n),
        roundKey: ROUND_KEY,
        secretKey: SECRET,
        viewNumber: 0,
        chainId: ROLLUP,
        decrypter: pool,
        poolThreshold: 1,
      });
      const local = await build(entries);
      expect(onPool).to.deep.equal(local);
      expect(local.slots.filter((s) => s.status === "invalid").length).to.equal(2);
    } finally {
      await pool.close();
    }
  });

  it("reads the node's wire format of both entry kinds", async () => {
    const tx = await signedTx(0);
    const r = encrypt(getBytes(tx));
    const wire = {
      kind: "encrypted",
      submission: {
        tx: {
          rollupId: ROLLUP.toString(),
          height: HEIGHT.toString(),
          ephemeralKey: r.encrypted.ephemeralKey.map(String),
          nonce: r.encrypted.nonce.toString(),
          ciphertext: r.encrypted.ciphertext.map(String),
        },
        txCommitment: r.txCommitment.toString(),
        proof: {
          pi_a: ["1", "2"],
          pi_b: [
            ["1", "2"],
            ["3", "4"],
          ],
          pi_c: ["1", "2"],
          protocol: "groth16",
          curve: "bn128",
        },
      },
    };
    const entry = entryFromWire(wire);
    expect(entry).to.deep.equal(encryptedEntry(r));
    expect(entryFromWire({ kind: "raw", rawTx: tx.toUpperCase().replace("0X", "0x") })).to.deep.equal({
      kind: "raw",
      rawTx: tx,
    });
    expect(() => entryFromWire({ kind: "raw", rawTx: "0x1" })).to.throw();
    expect(() => entryFromWire({ ...wire, kind: "other" })).to.throw();
  });

  it("is deterministic and index-preserving for any mix of valid and invalid slots (property)", async () => {
    const pool = await Promise.all(Array.from({ length: 6 }, (_, i) => signedTx(i)));
    const variants = pool.map((tx) => {
      const r = encrypt(getBytes(tx));
      return {
        valid: encryptedEntry(r),
        badCommitment: encryptedEntry(r, r.txCommitment ^ 1n),
        raw: { kind: "raw", rawTx: tx },
        garbage: { kind: "raw", rawTx: hexlify(getBytes(keccak256(tx))) },
      };
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            tx: fc.integer({ min: 0, max: 5 }),
            kind: fc.constantFrom("valid", "badCommitment", "raw", "garbage"),
          }),
          { minLength: 0, maxLength: 10 },
        ),
        async (picks) => {
          const entries = picks.map((p) => variants[p.tx]![p.kind as "valid"]);
          const a = await build(entries);
          const b = await build(entries);
          expect(a).to.deep.equal(b);
          expect(a.slots.map((s) => s.index)).to.deep.equal(entries.map((_, i) => i));
          picks.forEach((p, i) => {
            const slot = a.slots[i]!;
            expect(slot.status).to.equal(p.kind === "valid" || p.kind === "raw" ? "valid" : "invalid");
            if (slot.status === "valid") expect(slot.rawTx).to.equal(pool[p.tx]!.toLowerCase());
          });
          expect(a.commitment.txCount).to.equal(entries.length);
          expect(a.encRoot).to.equal(encRootOf(entries));
        },
      ),
      { numRuns: 25 },
    );
  });

  describe("worker path (decrypt, decode and leaf data on the pool) against the single-thread reference", function () {
    let pool: DecryptionPool;
    before(async () => {
      pool = new DecryptionPool({ threads: 2 });
      await pool.ready();
    });
    after(async () => {
      await pool.close();
    });

    const onPool = (entries: readonly SealedEntry[], extra: Partial<BuildInput> = { chainId: ROLLUP }) =>
      build(entries, { decrypter: pool, poolThreshold: 1, ...extra });

    /** One entry of every kind per signed transaction. */
    async function variantsOf(nonce: number) {
      const tx = await signedTx(nonce);
      const r = encrypt(getBytes(tx));
      const tampered = { ...r.encrypted, ciphertext: r.encrypted.ciphertext.map((c, i) => (i === 4 ? c ^ 1n : c)) };
      const unsigned = Transaction.from(tx).unsignedSerialized;
      return {
        valid: encryptedEntry(r),
        commitmentMismatch: encryptedEntry(r, r.txCommitment ^ 1n),
        undecryptable: { kind: "encrypted", tx: tampered, txCommitment: r.txCommitment } as SealedEntry,
        wrongRound: encryptedEntry(encrypt(getBytes(tx), HEIGHT + 1n)),
        wrongChain: encryptedEntry(encrypt(getBytes(await signedTx(nonce, 1n)))),
        unsigned: encryptedEntry(encrypt(getBytes(unsigned))),
        notATransaction: encryptedEntry(encrypt(toUtf8Bytes(`plain text ${nonce}`))),
        raw: { kind: "raw", rawTx: tx } as SealedEntry,
        rawGarbage: { kind: "raw", rawTx: keccak256(tx) } as SealedEntry,
      };
    }
    type Kind = keyof Awaited<ReturnType<typeof variantsOf>>;
    const KINDS: readonly Kind[] = [
      "valid",
      "commitmentMismatch",
      "undecryptable",
      "wrongRound",
      "wrongChain",
      "unsigned",
      "notATransaction",
      "raw",
      "rawGarbage",
    ];

    it("builds the same block byte for byte on any mix of slot kinds, with leaves recomputed or given (property)", async () => {
      const variants = await Promise.all(Array.from({ length: 4 }, (_, i) => variantsOf(i)));
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.record({ tx: fc.integer({ min: 0, max: 3 }), kind: fc.constantFrom(...KINDS) }), {
            minLength: 1,
            maxLength: 40,
          }),
          fc.boolean(),
          async (picks, withChainId) => {
            const entries = picks.map((p) => variants[p.tx]![p.kind]);
            const chain = withChainId ? { chainId: ROLLUP } : {};
            const reference = await build(entries, chain);
            const workers = await onPool(entries, chain);
            const given = await onPool(entries, { ...chain, encTxHashes: entries.map(leafDataOf) });
            expect(workers).to.deep.equal(reference);
            expect(given).to.deep.equal(reference);
            expect(JSON.stringify(workers.slots)).to.equal(JSON.stringify(reference.slots));
          },
        ),
        { numRuns: 15 },
      );
    });

    it("reports which path built the block and where the time went", async () => {
      const entries = [encryptedEntry(encrypt(getBytes(await signedTx(0))))];
      const seen: BuildTimings[] = [];
      await onPool(entries, { onTimings: (t) => seen.push(t) });
      await build(entries, { chainId: ROLLUP, onTimings: (t) => seen.push(t) });
      await onPool(entries, { poolThreshold: 2, onTimings: (t) => seen.push(t) });
      const raws: SealedEntry[] = [
        { kind: "raw", rawTx: await signedTx(1) },
        { kind: "raw", rawTx: await signedTx(2) },
      ];
      await onPool(raws, { poolThreshold: 2, onTimings: (t) => seen.push(t) });
      expect(seen.map((t) => t.path)).to.deep.equal(["workers", "main-thread", "main-thread", "workers"]);
      seen.pop();
      for (const t of seen) {
        expect(t.decryptMs).to.be.greaterThan(0);
        expect(t.totalMs).to.be.at.least(t.openMs);
      }
    });

    it("still works with a decrypter that only decrypts (decode and hashing stay on this thread)", async () => {
      const variants = await variantsOf(7);
      const entries = KINDS.map((k) => variants[k]);
      const decryptOnly: BlockDecrypter = { decryptBlock: (items, secret) => pool.decryptBlock(items, secret) };
      const paths: string[] = [];
      const block = await build(entries, {
        chainId: ROLLUP,
        decrypter: decryptOnly,
        poolThreshold: 1,
        onTimings: (t) => paths.push(t.path),
      });
      expect(paths).to.deep.equal(["main-thread"]);
      expect(block).to.deep.equal(await build(entries));
    });

    it("fails like the reference on an entry whose leaf data cannot be computed", async () => {
      const r = encrypt(getBytes(await signedTx(0)));
      const short = { ...r.encrypted, ciphertext: r.encrypted.ciphertext.slice(1) };
      const entries: SealedEntry[] = [encryptedEntry(r), { kind: "encrypted", tx: short, txCommitment: 1n }];
      const message = async (run: () => Promise<unknown>): Promise<string> => {
        try {
          await run();
        } catch (error) {
          return (error as Error).message;
        }
        return "no error";
      };
      const expected = await message(() => build(entries));
      expect(expected).to.match(/ciphertext must have/);
      expect(await message(() => onPool(entries))).to.equal(expected);
    });

    it("computes every entry's leaf data on the pool as on this thread, and fails like it on a bad entry", async () => {
      const variants = await variantsOf(9);
      const entries = KINDS.map((k) => variants[k]);
      const expected = entries.map(leafDataOf);
      expect(await leafDataOfEntries(entries, pool, 1)).to.deep.equal(expected);
      expect(await leafDataOfEntries(entries)).to.deep.equal(expected);
      const r = encrypt(getBytes(await signedTx(0)));
      const bad: SealedEntry = { kind: "encrypted", tx: { ...r.encrypted, nonce: FIELD }, txCommitment: 1n };
      let error: unknown;
      try {
        await leafDataOfEntries([...entries, bad], pool, 1);
      } catch (e) {
        error = e;
      }
      expect((error as Error).message).to.match(/not a field element/);
    });

    it("uses given encTxHashes as they are (trusted), after checking their count and shape", async () => {
      const entries = [encryptedEntry(encrypt(getBytes(await signedTx(0)))), { kind: "raw", rawTx: await signedTx(1) }];
      const leaves = (entries as SealedEntry[]).map(leafDataOf);
      const other = [toBytes32(1n), leaves[1]!];
      for (const run of [onPool, (e: readonly SealedEntry[], x: Partial<BuildInput>) => build(e, x)]) {
        const block = await run(entries as SealedEntry[], { encTxHashes: other });
        expect(block.encRoot).to.equal(rootOfLeafHashes(other.map(hashLeaf)));
        expect(block.slots[0]!.encTxHash).to.equal(toBytes32(1n));
        expect(block.slots[0]!.status).to.equal("valid");
        for (const bad of [
          leaves.slice(1),
          [...leaves, leaves[0]!],
          [leaves[0]!.toUpperCase(), leaves[1]!],
          ["0x12", leaves[1]!],
        ]) {
          let error: unknown;
          try {
            await run(entries as SealedEntry[], { encTxHashes: bad });
          } catch (e) {
            error = e;
          }
          expect(error, JSON.stringify(bad)).to.be.instanceOf(Error);
        }
      }
    });
  });
});
