import { readFileSync } from "node:fs";
import path from "node:path";
import { expect } from "chai";
import fc from "fast-check";
import { Transaction, Wallet, parseEther, type TransactionLike } from "ethers";
import { Admission } from "../../sequencer/proxy/admission";
import { intrinsicGas } from "../../sequencer/proxy/intrinsic-gas";
import type { L2StateReader } from "../../sequencer/proxy/l2-state";
import type { ForcedTransaction, SentTransaction } from "../../sequencer/sdk/client";
import { decodeSignedTransaction } from "../../sequencer/sdk/raw-tx";
import { FORWARDED, REFUSED, ANSWERED, policyOf } from "../../sequencer/proxy/methods";
import { PendingPool, maxCostOf, type PendingTx } from "../../sequencer/proxy/pending";
import {
  DEFAULT_PRECHECK_POLICY,
  precheck,
  type BlockState,
  type RefusalReason,
  type SenderState,
} from "../../sequencer/proxy/prechecks";

const wallet = new Wallet(`0x${"11".repeat(32)}`);
const GWEI = 1_000_000_000n;

function tx(fields: TransactionLike = {}): Transaction {
  return Transaction.from({
    type: 2,
    chainId: 31338n,
    nonce: 0,
    to: `0x${"33".repeat(20)}`,
    value: parseEther("1"),
    gasLimit: 21_000n,
    maxFeePerGas: 2n * GWEI,
    maxPriorityFeePerGas: GWEI,
    data: "0x",
    ...fields,
  });
}

const rich: SenderState = { nonce: 5, balance: parseEther("10") };
const block: BlockState = { baseFee: GWEI, gasLimit: 30_000_000n };

function pendingAt(nonce: number, cost = 0n, from = wallet.address): Omit<PendingTx, "orderedAtMs"> {
  const t = tx({ nonce });
  return { hash: `0x${nonce.toString(16).padStart(64, "0")}`, from, nonce, maxCost: cost, tx: t, height: 1n };
}

function pool(now: { ms: number } = { ms: 0 }, maxAgeMs = 60_000): PendingPool {
  return new PendingPool({ maxAgeMs, now: () => now.ms });
}

describe("encrypting RPC pre-checks: intrinsic gas", () => {
  it("charges a plain transfer 21,000", () => {
    expect(intrinsicGas(tx())).to.deep.equal({ intrinsic: 21_000n, floor: 21_000n });
  });

  it("charges calldata 4 per zero byte and 16 per other byte, with the EIP-7623 floor of 10 per token", () => {
    const gas = intrinsicGas(tx({ data: "0x0000ff01" }));
    expect(gas.intrinsic).to.equal(21_000n + 2n * 4n + 2n * 16n);
    expect(gas.floor).to.equal(21_000n + 10n * (2n + 2n * 4n));
  });

  it("charges a creation 32,000 and 2 per word of init code", () => {
    const code = `0x${"60".repeat(33)}`; // 33 non-zero bytes: two words
    expect(intrinsicGas(tx({ to: null, data: code })).intrinsic).to.equal(21_000n + 32_000n + 2n * 2n + 33n * 16n);
  });

  it("charges access lists 2,400 per address and 1,900 per storage key", () => {
    const accessList = [
      { address: `0x${"44".repeat(20)}`, storageKeys: [`0x${"00".repeat(32)}`, `0x${"01".repeat(32)}`] },
    ];
    expect(intrinsicGas(tx({ accessList })).intrinsic).to.equal(21_000n + 2_400n + 2n * 1_900n);
  });
});

describe("encrypting RPC pre-checks: what the L2 would refuse", () => {
  const cases: {
    name: string;
    fields: TransactionLike;
    sender?: SenderState;
    reason: RefusalReason;
    message: RegExp;
  }[] = [
    {
      name: "a nonce below the sender's",
      fields: { nonce: 4 },
      reason: "nonce-too-low",
      message: /^nonce too low: address 0x[0-9a-fA-F]{40}, tx: 4 state: 5$/,
    },
    {
      name: "a nonce that leaves a gap",
      fields: { nonce: 6 },
      reason: "nonce-too-high",
      message: /^nonce too high: address .*, tx: 6 state: 5$/,
    },
    {
      name: "a sender that cannot pay value + gas × fee",
      fields: { nonce: 5, value: parseEther("10") },
      reason: "insufficient-funds",
      message:
        /^insufficient funds for gas \* price \+ value: address .* have 10000000000000000000 want 10000042000000000000$/,
    },
    {
      name: "a fee cap below the base fee",
      fields: { nonce: 5, maxFeePerGas: 1n, maxPriorityFeePerGas: 1n },
      reason: "fee-cap-below-base-fee",
      message: /^max fee per gas less than block base fee: address .*, maxFeePerGas: 1, baseFee: 1000000000$/,
    },
    {
      name: "a tip above the fee cap",
      fields: { nonce: 5, maxFeePerGas: 2n * GWEI, maxPriorityFeePerGas: 3n * GWEI },
      reason: "tip-above-fee-cap",
      message: /^max priority fee per gas higher than max fee per gas/,
    },
    {
      name: "a gas limit below the intrinsic gas",
      fields: { nonce: 5, gasLimit: 20_999n },
      reason: "intrinsic-gas-too-low",
      message: /^intrinsic gas too low: gas 20999, minimum needed 21000$/,
    },
    {
      name: "a gas limit below the calldata floor",
      fields: { nonce: 5, gasLimit: 21_000n + 16n * 100n, data: `0x${"ff".repeat(100)}` },
      reason: "floor-data-gas-too-low",
      message: /^insufficient gas for floor data gas cost: gas 22600, minimum needed 25000$/,
    },
    {
      name: "a gas limit above the block's",
      fields: { nonce: 5, gasLimit: 30_000_001n },
      reason: "gas-limit-exceeds-block",
      message: /^exceeds block gas limit$/,
    },
    {
      name: "a gas limit above the per-transaction cap",
      fields: { nonce: 5, gasLimit: (1n << 24n) + 1n },
      reason: "gas-limit-too-high",
      message: /^transaction gas limit too high \(cap: 16777216, tx: 16777217\)$/,
    },
  ];
  for (const c of cases) {
    it(`refuses ${c.name} with geth's message`, () => {
      const refusal = precheck(tx(c.fields), wallet.address, c.sender ?? rich, [], block);
      expect(refusal?.reason).to.equal(c.reason);
      expect(refusal?.message).to.match(c.message);
    });
  }

  it("takes a transaction at the sender's next nonce that it can pay for", () => {
    expect(precheck(tx({ nonce: 5 }), wallet.address, rich, [], block)).to.equal(undefined);
  });

  it("takes the next nonce after the pending ones, and counts their cost against the balance", () => {
    const pending = [pendingAt(5, parseEther("4")), pendingAt(6, parseEther("4"))].map((p) => ({
      ...p,
      orderedAtMs: 0,
    }));
    expect(precheck(tx({ nonce: 7, value: parseEther("1") }), wallet.address, rich, pending, block)).to.equal(
      undefined,
    );
    expect(precheck(tx({ nonce: 7, value: parseEther("2") }), wallet.address, rich, pending, block)?.reason).to.equal(
      "insufficient-funds",
    );
    expect(precheck(tx({ nonce: 9 }), wallet.address, rich, pending, block)?.reason).to.equal("nonce-too-high");
  });

  it("refuses to replace an ordered transaction, whatever it pays, with geth's replacement message", () => {
    const pending = [{ ...pendingAt(5), orderedAtMs: 0 }];
    const bumped = tx({ nonce: 5, maxFeePerGas: 100n * GWEI, maxPriorityFeePerGas: 50n * GWEI });
    const refusal = precheck(bumped, wallet.address, rich, pending, block);
    expect(refusal?.reason).to.equal("replacement-underpriced");
    expect(refusal?.message).to.match(/^replacement transaction underpriced/);
  });

  it("allows a gap up to the configured nonce window", () => {
    const policy = { ...DEFAULT_PRECHECK_POLICY, nonceWindow: 2 };
    expect(precheck(tx({ nonce: 7 }), wallet.address, rich, [], block, policy)).to.equal(undefined);
    expect(precheck(tx({ nonce: 8 }), wallet.address, rich, [], block, policy)?.reason).to.equal("nonce-too-high");
  });

  it("checks legacy transactions' gas price against the base fee", () => {
    const legacy = tx({ type: 0, nonce: 5, gasPrice: GWEI - 1n, maxFeePerGas: null, maxPriorityFeePerGas: null });
    expect(precheck(legacy, wallet.address, rich, [], block)?.reason).to.equal("fee-cap-below-base-fee");
  });

  it("never takes a transaction whose cost exceeds what the sender has left (property)", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: parseEther("20") }),
        fc.bigInt({ min: 0n, max: parseEther("5") }),
        fc.bigInt({ min: GWEI, max: 1_000n * GWEI }),
        (balance, value, fee) => {
          const t = tx({ nonce: 5, value, maxFeePerGas: fee, maxPriorityFeePerGas: GWEI });
          const refusal = precheck(t, wallet.address, { nonce: 5, balance }, [], block);
          expect(refusal === undefined).to.equal(balance >= maxCostOf(t));
        },
      ),
    );
  });
});

describe("encrypting RPC pending pool", () => {
  it("gives the next nonce past the L2's and past every pending one in a row", () => {
    const p = pool();
    p.add(pendingAt(3));
    p.add(pendingAt(4));
    p.add(pendingAt(6));
    expect(p.nextNonce(wallet.address, 3)).to.equal(5);
    expect(p.nextNonce(wallet.address.toLowerCase(), 3)).to.equal(5);
    expect(p.nextNonce(`0x${"55".repeat(20)}`, 3)).to.equal(3);
  });

  it("drops what the L2 has passed, and keeps the rest findable by hash", () => {
    const p = pool();
    const [a, b] = [pendingAt(3), pendingAt(4)];
    p.add(a);
    p.add(b);
    expect(p.settle(wallet.address, 4).map((e) => e.nonce)).to.deep.equal([4]);
    expect(p.byHash(a.hash)).to.equal(undefined);
    expect(p.byHash(b.hash.toUpperCase().replace("0X", "0x"))?.nonce).to.equal(4);
    expect(p.size).to.equal(1);
  });

  it("forgets an entry once it is older than maxAgeMs, so a skipped transaction frees its nonce", () => {
    const now = { ms: 0 };
    const p = pool(now, 1_000);
    p.add(pendingAt(3));
    now.ms = 999;
    p.add(pendingAt(4));
    expect(p.nextNonce(wallet.address, 3)).to.equal(5);
    now.ms = 1_001;
    expect(p.nextNonce(wallet.address, 3)).to.equal(3);
    expect(p.size).to.equal(1);
  });

  it("refuses a second entry at a pending nonce", () => {
    const p = pool();
    p.add(pendingAt(3));
    expect(() => p.add(pendingAt(3))).to.throw(/already pending/);
  });

  it("matches a model of pending nonces under random adds and settles (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.record({ add: fc.nat(20) }), fc.record({ settle: fc.nat(20) })), { maxLength: 60 }),
        (ops) => {
          const p = pool();
          const model = new Set<number>();
          let l2 = 0;
          for (const op of ops) {
            if ("add" in op) {
              if (op.add < l2 || model.has(op.add)) continue;
              p.add(pendingAt(op.add));
              model.add(op.add);
            } else {
              l2 = Math.max(l2, op.settle);
              for (const n of [...model]) if (n < l2) model.delete(n);
              expect(p.settle(wallet.address, l2).map((e) => e.nonce)).to.deep.equal([...model].sort((a, b) => a - b));
            }
            let next = l2;
            while (model.has(next)) next++;
            expect(p.nextNonce(wallet.address, l2)).to.equal(next);
          }
        },
      ),
    );
  });
});

describe("encrypting RPC method policy", () => {
  it("forwards only reads, and refuses every method that would send or sign in the clear", () => {
    for (const m of FORWARDED)
      expect(m).to.match(
        /^(eth_(get|call|chainId|blockNumber|estimateGas|feeHistory|gasPrice|max|new|uninstall|syncing|create|blob)|net_|web3_)/,
      );
    for (const m of [
      "eth_sendTransaction",
      "eth_sign",
      "eth_signTransaction",
      "eth_signTypedData_v4",
      "personal_sign",
    ]) {
      expect(policyOf(m).kind).to.equal("refuse");
    }
    expect(Object.keys(REFUSED).some((m) => FORWARDED.has(m) || m in ANSWERED)).to.equal(false);
  });

  it("is the table docs/sdk.md shows: every method listed there, each with the same treatment", () => {
    const doc = readFileSync(path.resolve(__dirname, "../../docs/sdk.md"), "utf8");
    const table = doc.slice(doc.indexOf("### Methods"), doc.indexOf("### Health and metrics"));
    const rows = new Map(
      [...table.matchAll(/^\| `([a-z0-9_A-Z]+)` +\| ([^|]+)\|$/gm)].map((m) => [m[1]!, m[2]!.trim()] as const),
    );
    const listed = [...Object.keys(ANSWERED), ...FORWARDED, ...Object.keys(REFUSED)];
    expect([...rows.keys()].sort()).to.deep.equal([...listed].sort());
    for (const [method, here] of rows) {
      const kind = policyOf(method).kind;
      expect(here, method).to.match(
        kind === "forward"
          ? /^forwarded$/
          : kind === "refuse"
            ? /^refused, `-32004`/
            : /^(answered by Veil|forwarded; )/,
      );
    }
  });

  it("knows no node-control method and no name inherited from Object", () => {
    for (const m of [
      "hardhat_mine",
      "evm_mine",
      "debug_traceTransaction",
      "admin_peers",
      "txpool_content",
      "constructor",
      "toString",
      "__proto__",
    ]) {
      expect(policyOf(m).kind).to.equal("unknown");
    }
  });
});

describe("encrypting RPC admission: a sender's transactions reach the sequencer in nonce order", () => {
  it("encrypts a sender's next transaction for no lower height than its latest pending one", async () => {
    const p = pool();
    p.add({ ...pendingAt(5), height: 9n });
    p.add({ ...pendingAt(6), height: 7n });
    const floors: bigint[] = [];
    const admission = new Admission({
      // The L2's view of the sender (pending nonce 5, funded) and of its next block.
      l2: { read: () => Promise.resolve({ sender: rich, block }) } as unknown as L2StateReader,
      pool: p,
      policy: DEFAULT_PRECHECK_POLICY,
      send: (_tx, notBelow) => {
        floors.push(notBelow);
        return Promise.resolve({ kind: "ordered", sent: { height: notBelow + 1n } as unknown as SentTransaction });
      },
    });
    const signed = await wallet.signTransaction(tx({ nonce: 7 }));
    const result = await admission.admit(decodeSignedTransaction(signed, 31338n));
    expect(result.kind).to.equal("ordered");
    expect(floors).to.deep.equal([9n]);
    expect(p.nextNonce(wallet.address, 5)).to.equal(8);
  });

  it("counts a transaction the fallback forced through the L1 inbox as pending at its forced height", async () => {
    const p = pool();
    p.add({ ...pendingAt(5), height: 9n });
    const forced = { height: 40n, index: 0, postedBlock: 77n } as unknown as ForcedTransaction;
    const admission = new Admission({
      l2: { read: () => Promise.resolve({ sender: rich, block }) } as unknown as L2StateReader,
      pool: p,
      policy: DEFAULT_PRECHECK_POLICY,
      send: () => Promise.resolve({ kind: "forced", forced, failures: [new Error("refused"), new Error("refused")] }),
    });
    const signed = await wallet.signTransaction(tx({ nonce: 6 }));
    const result = await admission.admit(decodeSignedTransaction(signed, 31338n));
    if (result.kind !== "forced") throw new Error(`expected forced, got ${result.kind}`);
    expect(result.failures).to.have.length(2);
    expect(result.pending.height).to.equal(40n);
    expect(p.nextNonce(wallet.address, 5)).to.equal(7);
  });
});
