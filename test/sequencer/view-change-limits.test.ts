import { expect } from "chai";
import fc from "fast-check";
import { Wallet } from "ethers";
import type { OrderReceiptJson, OrderedTransactionJson } from "../../sequencer/api/wire";
import { orderReceipt } from "../../sequencer/api/wire";
import { MERKLE_DEPTH } from "../../sequencer/chain/merkle";
import {
  MESSAGE_OVERHEAD_BYTES,
  entryBytes,
  entryBytesBound,
  logBytesBudget,
} from "../../sequencer/node/cluster/message-size";
import { MAX_TIMEOUT_DOUBLINGS, leaderTimeoutMs } from "../../sequencer/replica/view-change";

const hex = (bytes: number): fc.Arbitrary<string> =>
  fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => `0x${Buffer.from(b).toString("hex")}`);

/** A receipt as the leader signs one: any numbers in range, real-length hashes, a checksummed address. */
const receipt: fc.Arbitrary<OrderReceiptJson> = fc
  .record({
    rollupId: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
    blockHeight: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
    txIndex: fc.integer({ min: 0, max: 2 ** 16 - 1 }),
    encTxHash: hex(32),
    preRoot: hex(32),
    signature: hex(65),
    viewNumber: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
    epoch: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
    preProof: fc.array(hex(32), { minLength: MERKLE_DEPTH, maxLength: MERKLE_DEPTH }),
  })
  .map((r) => ({
    commitment: {
      rollupId: r.rollupId.toString(),
      blockHeight: r.blockHeight.toString(),
      txIndex: r.txIndex,
      encTxHash: r.encTxHash,
      preRoot: r.preRoot,
      viewNumber: r.viewNumber,
      epoch: r.epoch,
    },
    signature: r.signature,
    leader: Wallet.createRandom().address,
    viewNumber: r.viewNumber,
    preProof: r.preProof,
  }));

const rawTx: fc.Arbitrary<OrderedTransactionJson> = fc
  .integer({ min: 1, max: 4_096 })
  .chain((n) => hex(n))
  .map((t) => ({ kind: "raw", rawTx: t }));

describe("view change limits: the log's size in a cluster message", () => {
  it("bounds every entry the leader can make of a transaction before it signs it", () => {
    fc.assert(
      fc.property(rawTx, receipt, hex(32), (tx, r, encTxHash) => {
        expect(() => orderReceipt.parse(r)).to.not.throw();
        const entry = { encTxHash, encryptedTx: tx, orderCommitment: r };
        expect(entryBytes(entry)).to.be.at.most(entryBytesBound(tx));
      }),
      { numRuns: 50 },
    );
  });

  it("counts an entry as its JSON plus one separator, so a log's entries sum to its JSON array", () => {
    fc.assert(
      fc.property(fc.array(fc.record({ a: fc.string(), b: fc.nat() }), { minLength: 1, maxLength: 20 }), (entries) => {
        const sum = entries.reduce((s, e) => s + entryBytes(e), 0);
        expect(sum).to.equal(Buffer.byteLength(JSON.stringify(entries)) - 1); // "[...]" has n-1 commas and 2 brackets
      }),
    );
  });

  it("leaves the message overhead out of the budget and refuses a limit that leaves no room", () => {
    expect(logBytesBudget(64 * 1024 * 1024)).to.equal(64 * 1024 * 1024 - MESSAGE_OVERHEAD_BYTES);
    expect(() => logBytesBudget(MESSAGE_OVERHEAD_BYTES)).to.throw(/no room/);
  });
});

describe("view change limits: the leader timeout backs off while a height has no normal view", () => {
  it("is the randomised base timeout while the height operates normally", () => {
    expect(leaderTimeoutMs(1_000, 0, 0)).to.equal(1_000);
    expect(leaderTimeoutMs(1_000, 0, 0.999)).to.be.closeTo(1_499, 1);
  });

  it("doubles for each view change since the last normal view, up to the cap", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 600_000 }),
        fc.integer({ min: 0, max: 100 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (base, changes, random) => {
          const t = leaderTimeoutMs(base, changes, random);
          const factor = 2 ** Math.min(changes, MAX_TIMEOUT_DOUBLINGS);
          expect(t).to.be.at.least(base * factor);
          expect(t).to.be.below(base * factor * 1.5 + 1e-6);
          if (changes < MAX_TIMEOUT_DOUBLINGS) {
            expect(leaderTimeoutMs(base, changes + 1, random)).to.be.closeTo(2 * t, 1e-6 * t);
          } else {
            expect(leaderTimeoutMs(base, changes + 1, random)).to.equal(t);
          }
        },
      ),
    );
  });

  it("treats a negative count (never produced) as a normal view", () => {
    expect(leaderTimeoutMs(500, -3, 0)).to.equal(500);
  });
});
