import { expect } from "chai";
import { keccak256, type Wallet } from "ethers";
import type { OrderCommitment } from "../../sequencer/chain/eip712";
import { IncrementalMerkleTree } from "../../sequencer/chain/merkle";
import { OrderCommitmentHasher } from "../../sequencer/node/order-signing";
import { ROLLUP, deployWorld, sendReplica, startMember, teardown, until, type ClusterWorld } from "./cluster-harness";

/** Raw-transaction entries at 0..n-1 of height `height`, signed per entry by `signer` in the name of `leader`. */
function entries(
  w: ClusterWorld,
  height: number,
  raws: readonly string[],
  opts: { leader: Wallet; signer: Wallet; viewNumber: number; tamper?: (c: OrderCommitment) => OrderCommitment },
): unknown[] {
  const hasher = new OrderCommitmentHasher(w.domain);
  const tree = new IncrementalMerkleTree();
  return raws.map((rawTx) => {
    const leaf = keccak256(rawTx).toLowerCase();
    const a = tree.append(leaf);
    const honest: OrderCommitment = {
      rollupId: ROLLUP,
      blockHeight: BigInt(height),
      txIndex: a.index,
      encTxHash: leaf,
      preRoot: a.preRoot,
      viewNumber: opts.viewNumber,
      epoch: w.epoch,
    };
    const signature = hasher.sign(opts.signer.signingKey, honest);
    const c = opts.tamper ? opts.tamper(honest) : honest;
    return {
      encTxHash: leaf,
      encryptedTx: { kind: "raw", rawTx },
      orderCommitment: {
        commitment: { ...c, rollupId: c.rollupId.toString(), blockHeight: c.blockHeight.toString() },
        signature,
        leader: opts.leader.address,
        viewNumber: opts.viewNumber,
        preProof: [...a.preProof],
      },
    };
  });
}

const replicate = (w: ClusterWorld, to: number, height: number, list: unknown[]): Promise<void> =>
  sendReplica(w, 0, to, height, [{ type: "replicate", view: 0, firstIndex: 0, entries: list }]);

describe("follower checks of replicated entries: per-entry signatures sampled, everything else always", function () {
  this.timeout(120_000);
  let w: ClusterWorld;
  // Member 0 leads view 0 of heights 0, 3, 6 (members[(height + view) % 3]) and does not run: the test speaks for it.
  before(async () => {
    w = await deployWorld([]);
    await startMember(w, 1, { ordering: { followerSignatureSampleRate: 1 } });
    await startMember(w, 2, { ordering: { followerSignatureSampleRate: 0 } });
  });
  after(() => teardown(w));

  it("with sampling at 1 a follower refuses an entry whose own signature is not the leader's", async () => {
    const list = entries(w, 0, ["0xaa01"], { leader: w.members[0]!, signer: w.members[2]!, viewNumber: 0 });
    await replicate(w, 1, 0, list);
    expect((await w.nodes[1]!.store.blockState(ROLLUP, 0)).count).to.equal(0);
  });

  it("with sampling at 0 a follower stores the envelope-signed entries of the leader that sent them", async () => {
    const list = entries(w, 0, ["0xbb01", "0xbb02"], { leader: w.members[0]!, signer: w.members[0]!, viewNumber: 0 });
    await replicate(w, 2, 0, list);
    await until("stored", async () => ((await w.nodes[2]!.store.blockState(ROLLUP, 0)).count === 2 ? true : undefined));
  });

  it("with sampling at 0 a follower still checks the signature of an entry another leader signed", async () => {
    // Member 1 leads view 1 of height 3; its entry arrives inside member 0's view-0 envelope, signed by member 2.
    const list = entries(w, 3, ["0xcc01"], { leader: w.members[1]!, signer: w.members[2]!, viewNumber: 1 });
    await replicate(w, 2, 3, list);
    expect((await w.nodes[2]!.store.blockState(ROLLUP, 3)).count).to.equal(0);
  });

  it("with sampling at 0 a follower still re-derives every commitment field", async () => {
    const badRoot = entries(w, 6, ["0xdd01"], {
      leader: w.members[0]!,
      signer: w.members[0]!,
      viewNumber: 0,
      tamper: (c) => ({ ...c, preRoot: "0x" + "01".repeat(32) }),
    });
    await replicate(w, 2, 6, badRoot);
    const badLeaf = entries(w, 6, ["0xdd02"], {
      leader: w.members[0]!,
      signer: w.members[0]!,
      viewNumber: 0,
      tamper: (c) => ({ ...c, encTxHash: keccak256("0xdd03") }),
    });
    await replicate(w, 2, 6, badLeaf);
    expect((await w.nodes[2]!.store.blockState(ROLLUP, 6)).count).to.equal(0);
  });
});
