import { expect } from "chai";
import { summarizeDemo, type DemoTransfer } from "../../scripts/devnet/demo";

const hash = (n: number): string => `0x${n.toString(16).padStart(64, "0")}`;
const executed = (n: number, block: number, error?: string): DemoTransfer => ({
  from: `account ${n}`,
  hash: hash(n),
  outcome: "executed",
  l2Block: block,
  ...(error === undefined ? {} : { error }),
});

describe("npm start's demo summary counts what executed on the L2, not what the senders were answered", () => {
  it("counts a transfer that executed although its sender got an error, and names that wrong answer", () => {
    const timeout = "-32008 the leader 0xabc did not answer within 2000 ms";
    const summary = summarizeDemo([
      executed(1, 5),
      executed(2, 5, timeout),
      executed(3, 6),
      executed(4, 6, timeout),
      executed(5, 7),
      executed(6, 7),
    ]);
    expect(summary).to.deep.include({ total: 6, executed: 6, answered: 4, l2Blocks: [5, 6, 7] });
    expect(summary.failures).to.have.length(2);
    expect(summary.failures[0]).to.equal(
      `${hash(2)} (account 2) executed on the L2, but its sender was answered with an error: ${timeout}`,
    );
  });

  it("reports every transfer that did not execute, whatever its sender was answered", () => {
    const summary = summarizeDemo([
      executed(1, 5),
      { from: "account 2", hash: hash(2), outcome: "missing" },
      { from: "account 3", hash: hash(3), outcome: "missing", error: "-32011 invalid proof" },
      { from: "account 4", hash: hash(4), outcome: "reverted", l2Block: 5 },
      { from: "account 5", hash: undefined, outcome: "missing", error: "could not sign: no funds" },
    ]);
    expect(summary).to.deep.include({ total: 5, executed: 1, answered: 3, l2Blocks: [5] });
    expect(summary.failures).to.deep.equal([
      `${hash(2)} (account 2) was answered with its hash but did not execute on the L2`,
      `${hash(3)} (account 3) did not execute: its sender was answered -32011 invalid proof`,
      `${hash(4)} (account 4) reverted on the L2`,
      "a transfer (account 5) did not execute: its sender was answered could not sign: no funds",
    ]);
  });

  it("has nothing to report when every transfer executed and every sender got its hash", () => {
    const summary = summarizeDemo([executed(1, 3), executed(2, 3)]);
    expect(summary).to.deep.equal({ total: 2, executed: 2, answered: 2, l2Blocks: [3], failures: [] });
  });
});
