import { expect } from "chai";
import fc from "fast-check";
import { ethers } from "hardhat";
import { Wallet, hexlify, randomBytes } from "ethers";
import type { FinalizeResultWire } from "../../sequencer/api/wire";
import { registryClusterMembers } from "../../sequencer/operator/start";
import { InvalidFinalizeAnswer, verifyFinalizeAnswer, type ClusterMembers } from "../../sequencer/operator/verify";
import { devAccounts, signedTransfer, slotsOf } from "./operator-fixture";
import { OPERATOR_ROLLUP, deployOperatorWorld, leaderWallet, signedAnswer, type OperatorWorld } from "./operator-world";

describe("rollup operator: verification of the finalize_block answer", function () {
  this.timeout(120_000);
  let w: OperatorWorld;
  let schedule: ClusterMembers;
  const H = 5n;
  const [alice, bob] = devAccounts(2);
  let answer: FinalizeResultWire;

  const verify = (a: unknown, height = H) =>
    verifyFinalizeAnswer(a, { rollupId: OPERATOR_ROLLUP, height }, w.domain, schedule);
  const rejects = async (a: unknown, pattern: RegExp, height = H): Promise<void> => {
    let error: unknown;
    try {
      await verify(a, height);
    } catch (e) {
      error = e;
    }
    expect(error, "expected a rejection").to.be.instanceOf(InvalidFinalizeAnswer);
    expect((error as Error).message).to.match(pattern);
  };
  const clone = (): FinalizeResultWire => structuredClone(answer);

  before(async () => {
    w = await deployOperatorWorld();
    schedule = registryClusterMembers(ethers.provider, await w.registry.getAddress());
    const slots = slotsOf([
      await signedTransfer(alice!, 0),
      null,
      await signedTransfer(bob!, 0),
      await signedTransfer(alice!, 1),
    ]);
    answer = await signedAnswer(w, H, slots);
  });

  it("accepts the scheduled leader's signed block, slots in index order, at view 0 and after a view change", async () => {
    const verified = await verify(answer);
    expect(verified.block.transactions).to.have.length(4);
    expect(verified.block.transactions.map((s) => s.index)).to.deep.equal([0, 1, 2, 3]);
    const afterFailover = await signedAnswer(w, H, answer.block.transactions, { view: 1 });
    expect((await verify(afterFailover)).block.viewNumber).to.equal(1);
    await verify(await signedAnswer(w, 9n, []), 9n); // an empty block
  });

  it("rejects a forged BlockCommitment signature (another member, or the right leader over other roots)", async () => {
    const notLeader = w.members.find((m) => m.address !== answer.block.leader)!;
    const forged = await signedAnswer(w, H, answer.block.transactions, { signer: notLeader });
    await rejects(forged, /is not the leader of view 0/);
    const claimed = clone();
    claimed.block.signature = forged.block.signature; // claims the leader, signed by someone else
    await rejects(claimed, /BlockCommitment signature is not by the leader/);
    const garbage = clone();
    garbage.block.signature = `0x${"11".repeat(65)}`;
    await rejects(garbage, /BlockCommitment signature is not by the leader/);
    const outsider = await signedAnswer(w, H, answer.block.transactions, {
      signer: Wallet.createRandom() as never,
    });
    await rejects(outsider, /is not the leader/);
  });

  it("rejects a seal certified by a minority (the leader alone), a view the certificate does not prove, or another seal", async () => {
    const leader = await leaderWallet(w, H);
    const alone = await signedAnswer(w, H, answer.block.transactions, { certifiers: [leader] });
    await rejects(alone, /seal certificate does not verify: 1 signatures, a majority of 3 members is 2/);
    // The leader of view 2 signs the block and claims view 2, with the certificate of view 0.
    const claimed = await signedAnswer(w, H, answer.block.transactions, { view: 2 });
    claimed.seal = clone().seal;
    await rejects(claimed, /the block is of view 2, its seal certificate of 0/);
    const forged = clone();
    forged.seal.signatures = [forged.seal.signatures[0]!, `0x${"11".repeat(65)}`];
    await rejects(forged, /seal certificate does not verify/);
    const b = await signedAnswer(w, H, answer.block.transactions.slice(0, 3));
    const mixed = clone();
    mixed.seal = b.seal;
    await rejects(mixed, /differs from the seal/);
  });

  it("rejects a block commitment signed for another view than its seal certificate's", async () => {
    // The leader of the certified view 0 signs its block for view 1 (a view no certificate proves).
    const later = await signedAnswer(w, H, answer.block.transactions, { commitmentView: 1 });
    await rejects(later, /the commitment is signed for view 1, its seal certificate is of view 0/);
    // Certified in view 1, signed by view 1's leader, but the commitment names view 0.
    const earlier = await signedAnswer(w, H, answer.block.transactions, { view: 1, commitmentView: 0 });
    await rejects(earlier, /the commitment is signed for view 0, its seal certificate is of view 1/);
  });

  it("rejects a transaction list whose count or indices do not match the commitment", async () => {
    const fewer = clone();
    fewer.block.transactions.pop();
    await rejects(fewer, /3 transactions answered for a commitment of 4/);
    const more = clone();
    more.block.transactions.push({ ...more.block.transactions[0]!, index: 4 });
    await rejects(more, /5 transactions answered for a commitment of 4/);
    const swapped = clone();
    const [t0, t2] = [swapped.block.transactions[0]!, swapped.block.transactions[2]!];
    swapped.block.transactions[0] = { ...t2, index: 0 };
    swapped.block.transactions[2] = { ...t0, index: 2 };
    await rejects(swapped, /do not make the committed encRoot/);
    const reindexed = clone();
    reindexed.block.transactions[1] = { ...reindexed.block.transactions[1]!, index: 7 };
    await rejects(reindexed, /slot 1 carries index 7/);
  });

  it("rejects any changed transaction byte, hash or validity, whichever slot (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: 3 }),
        fc.constantFrom("bytes", "hash", "validity", "encTxHash"),
        async (i, what) => {
          const a = clone();
          const slot = a.block.transactions[i]!;
          if (what === "encTxHash") {
            slot.encTxHash = hexlify(randomBytes(32));
            return rejects(a, /encRoot/);
          }
          if (slot.status === "valid") {
            if (what === "bytes") {
              slot.rawTx = await signedTransfer(bob!, 5);
              return rejects(a, /txHash is not the hash of its bytes/);
            }
            if (what === "hash") {
              const other = await signedTransfer(bob!, 6);
              slot.rawTx = other;
              slot.txHash = ethers.keccak256(other);
              return rejects(a, /rawRoot/);
            }
            a.block.transactions[i] = {
              index: i,
              status: "invalid",
              encTxHash: slot.encTxHash,
              reason: "x",
              detail: "",
            };
            return rejects(a, /rawRoot/);
          }
          const raw = await signedTransfer(bob!, 7);
          a.block.transactions[i] = {
            index: i,
            status: "valid",
            encTxHash: slot.encTxHash,
            rawTx: raw,
            txHash: ethers.keccak256(raw),
          };
          return rejects(a, /rawRoot/);
        },
      ),
      { numRuns: 16 },
    );
  });

  it("rejects the answer of another height or rollup, a wrong commitmentHash or taskId, and malformed JSON", async () => {
    await rejects(answer, /the commitment is of rollup 11 height 5/, 6n);
    const hash = clone();
    hash.block.commitmentHash = `0x${"00".repeat(32)}`;
    await rejects(hash, /commitmentHash/);
    const task = clone();
    task.block.taskId = `0x${"00".repeat(32)}`;
    await rejects(task, /taskId/);
    await rejects({ seal: answer.seal }, /malformed answer: block/);
    await rejects({ ...clone(), extra: 1 }, /malformed answer/);
    await rejects(answer.seal, /malformed answer/); // the pre-pipeline answer (the seal only)
  });
});
