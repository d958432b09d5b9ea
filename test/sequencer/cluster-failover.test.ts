import { parseViewCertificate, verifySealCertificate, verifyViewCertificate } from "../../sequencer/chain/certificate";
import { expect } from "chai";
import { SigningKey, keccak256 } from "ethers";
import { ReplicaSigner } from "../../sequencer/node/host/signatures";
import { HeightWire, type NodeMessage } from "../../sequencer/node/host/wire";
import { ClusterMessageKind, parseMessage, signMessage } from "../../sequencer/chain/eip712";
import { hashLeaf, preAndPostAgree, verifyProof } from "../../sequencer/chain/merkle";
import { finalizeResult, type OrderReceiptJson } from "../../sequencer/api/wire";
import { sealEnvelope } from "../../sequencer/node/cluster/envelope";
import { rankLogs } from "../../sequencer/replica/view-change";
import { RpcClient } from "../../sequencer/rpc/client";
import {
  ROLLUP,
  deployWorld,
  rejects,
  sendReplica,
  startMember,
  stopMember,
  teardown,
  epochNow,
  type ClusterWorld,
} from "./cluster-harness";

/** Fast failover for tests: heartbeats every 100 ms, a silent leader is replaced after 600-900 ms. */
const FAST = { timeouts: { peerRequestMs: 8_000, heartbeatIntervalMs: 100, leaderTimeoutMs: 600 } };

const raw = (tag: string): string => `0x${Buffer.from(tag).toString("hex")}`;

/** Sends raw transactions of `height` through `client`; keeps the receipts that come back. */
async function load(client: RpcClient, height: number, tags: readonly string[]): Promise<OrderReceiptJson[]> {
  const out = await Promise.allSettled(
    tags.map((t) => client.call("send_raw_transaction", { rollupId: "7", height: String(height), rawTx: raw(t) })),
  );
  if (process.env.DEBUG_FAILOVER) for (const r of out) if (r.status === "rejected") console.log(String(r.reason));
  return out.flatMap((r) => (r.status === "fulfilled" ? [r.value as OrderReceiptJson] : []));
}

async function until(what: string, check: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("sequencer cluster: failover by per-height view change (3 nodes, loopback)", function () {
  this.timeout(300_000);
  let w: ClusterWorld;

  before(async () => {
    w = await deployWorld([0, 1, 2]); // finalize_block builds the sealed heights: their round keys must exist
    for (let i = 0; i < 3; i++) await startMember(w, i, FAST);
  });
  after(() => teardown(w));

  /** The view member i operates normally in for `height` (-1 while a view change runs there). */
  const viewOf = async (i: number, height: number): Promise<number> => {
    const s = await w.nodes[i]!.sequencer!.viewStateOf(ROLLUP, height);
    return s.view === s.normalView ? s.view : -1;
  };

  /** Seals `height` through member `via` and checks every receipt at its index with PRE/POST proofs. */
  async function sealAndCheck(via: number, height: number, receipts: readonly OrderReceiptJson[]): Promise<number> {
    const req = { rollupId: ROLLUP, height: BigInt(height), deadline: BigInt(Math.floor(Date.now() / 1000) + 600) };
    const { seal } = finalizeResult.parse(
      await w.clients[via]!.call("finalize_block", {
        request: { rollupId: "7", height: String(height), deadline: req.deadline.toString() },
        signature: await signMessage(w.executor, w.domain, "FinalizeRequest", req),
      }),
    );
    const parsed = parseMessage("Seal", seal.seal);
    expect(
      verifySealCertificate(
        w.domain,
        seal,
        w.members.map((m) => m.address),
      ),
    ).to.have.length.at.least(2);
    const seen = new Map<number, string>();
    for (const r of receipts) {
      const i = r.commitment.txIndex;
      expect(seen.get(i) ?? r.commitment.encTxHash, `index ${i} promised twice`).to.equal(r.commitment.encTxHash);
      seen.set(i, r.commitment.encTxHash);
      const post = (await w.clients[via]!.call("get_post_merkle_proof", {
        rollupId: "7",
        height: String(height),
        index: i,
      })) as { leafHash: string; encRoot: string; proof: string[] };
      expect(post.encRoot).to.equal(parsed.encRoot);
      expect(post.leafHash, `receipt at index ${i}`).to.equal(hashLeaf(r.commitment.encTxHash));
      expect(verifyProof(parsed.encRoot, post.leafHash, i, post.proof)).to.equal(true);
      expect(preAndPostAgree(i, r.preProof, post.proof)).to.equal(true);
    }
    return parsed.txCount;
  }

  it("ranks gathered logs by latest normal view, then length (a seal ends a log)", () => {
    const l = (normalView: number, n: number, seal: unknown = null) => ({ normalView, entries: Array(n), seal });
    const ranked = rankLogs([l(0, 9), l(2, 3), l(2, 3, {}), l(1, 20)]);
    expect(ranked.map((x) => [x.normalView, x.entries.length, x.seal !== null])).to.deep.equal(
      [
        [2, 3, true],
        [2, 3, false],
        [1, 20],
        [0, 9],
      ].map((a) => (a.length === 2 ? [...a, false] : a)),
    );
  });

  it("the leader stops during load: a new leader takes over and every receipt is in the sealed block", async () => {
    // Height 0 is led by member 0 in view 0, by member 1 in view 1.
    const first = await load(
      w.clients[1]!,
      0,
      Array.from({ length: 10 }, (_, i) => `h0 a${i}`),
    );
    expect(first).to.have.length(10);
    const during = load(
      w.clients[2]!,
      0,
      Array.from({ length: 10 }, (_, i) => `h0 b${i}`),
    );
    await new Promise((r) => setTimeout(r, 20));
    await stopMember(w, 0);
    const second = await during; // some may fail (UNAVAILABLE): those were never promised
    await until("view 1 on both followers", async () => (await viewOf(1, 0)) === 1 && (await viewOf(2, 0)) === 1);
    const after = await load(
      w.clients[2]!,
      0,
      Array.from({ length: 5 }, (_, i) => `h0 c${i}`),
    );
    expect(after).to.have.length(5);
    for (const r of after) {
      expect(r.leader).to.equal(w.members[1]!.address);
      expect(r.viewNumber).to.equal(1);
    }
    const receipts = [...first, ...second, ...after];
    const count = await sealAndCheck(2, 0, receipts);
    expect(count).to.be.at.least(receipts.length);
    // Old entries kept their original signer and view: nothing was re-signed.
    for (const r of first) expect(r.leader).to.equal(w.members[0]!.address);
  });

  it("the old leader restarted in its old view cannot get anything acknowledged (fencing)", async () => {
    // Height 1 led by member 1 (view 0). Write, then take member 1 down; member 2 leads view 1.
    await startMember(w, 0, FAST); // back from the previous test, with its old view of height 0
    const before = await load(w.clients[0]!, 1, ["h1 a0", "h1 a1"]);
    expect(before).to.have.length(2);
    await stopMember(w, 1);
    await until("view 1 of height 1", async () => (await viewOf(0, 1)) === 1 && (await viewOf(2, 1)) === 1);
    // Member 1 comes back partitioned: it can reach the others, they cannot reach it (other port).
    const port = w.ports[1]! + 1000;
    await startMember(w, 1, { ...FAST, rpc: { port, rateLimit: { enabled: false } } });
    const isolated = new RpcClient(`http://127.0.0.1:${port}`, { timeoutMs: 20_000 });
    expect(await viewOf(1, 1)).to.equal(0);
    // VR recovery: restarted, it does not act before a majority told it where the height stands, and no
    // answer reaches it, so it orders nothing (before recovery existed, it took the write and failed later).
    await rejects(
      isolated.call("send_raw_transaction", { rollupId: "7", height: "1", rawTx: raw("h1 stale") }),
      "UNAVAILABLE",
      /recovering/,
    );
    // A replicate of its old view changes nothing at the others: they left view 0.
    const counts = [
      (await w.nodes[0]!.store.blockState(ROLLUP, 1)).count,
      (await w.nodes[2]!.store.blockState(ROLLUP, 1)).count,
    ];
    const stale = await w.nodes[0]!.store.getEntries(ROLLUP, 1);
    const env = await sealEnvelope(w.members[1]!, w.domain, w.clusterId, 0, ClusterMessageKind.Replica, {
      rollupId: "7",
      height: 1,
      epoch: w.epoch,
      messages: [{ type: "replicate", view: 0, firstIndex: 0, entries: stale.slice(0, 2) }],
    });
    await w.clients[0]!.call("cluster_replica", env);
    await w.clients[2]!.call("cluster_replica", env);
    await new Promise((r) => setTimeout(r, 200));
    expect([
      (await w.nodes[0]!.store.blockState(ROLLUP, 1)).count,
      (await w.nodes[2]!.store.blockState(ROLLUP, 1)).count,
    ]).to.deep.equal(counts);
    expect(await viewOf(0, 1)).to.equal(1);
    // The new leader keeps working; the stale entry never reaches the sealed block.
    const after = await load(w.clients[0]!, 1, ["h1 b0"]);
    expect(after[0]!.leader).to.equal(w.members[2]!.address);
    await sealAndCheck(0, 1, [...before, ...after]);
    expect(await w.nodes[0]!.store.findCiphertext(ROLLUP, keccak256(raw("h1 stale")))).to.equal(undefined);
    await stopMember(w, 1);
    await startMember(w, 1, FAST);
  });

  it("a view change while a follower misses entries, then two consecutive leader failures", async () => {
    // Height 2: view 0 member 2, view 1 member 0, view 2 member 1.
    await stopMember(w, 1);
    const missed = await load(w.clients[0]!, 2, ["h2 a0", "h2 a1", "h2 a2"]);
    expect(missed).to.have.length(3);
    await startMember(w, 1, FAST); // member 1 lacks all three
    await stopMember(w, 2); // the leader of view 0 fails
    await until("view 1 of height 2", async () => (await viewOf(0, 2)) === 1 && (await viewOf(1, 2)) === 1);
    const v1 = await load(w.clients[1]!, 2, ["h2 b0"]);
    expect(v1[0]!.viewNumber).to.equal(1);
    // The receipt of view 1 proves the view: a majority of the members voted for it.
    const proof = parseViewCertificate(v1[0]!.viewCertificate);
    expect(proof.view).to.deep.include({ rollupId: ROLLUP, height: 2n, viewNumber: 1 });
    expect(
      verifyViewCertificate(
        w.domain,
        proof,
        w.members.map((m) => m.address),
      ),
    ).to.have.length.of.at.least(2);
    expect((await w.nodes[1]!.store.blockState(ROLLUP, 2)).count).to.equal(4);
    // Member 0 (leader of view 1) fails too: member 1 (view 2) needs member 2 back for a majority.
    await startMember(w, 2, FAST);
    await stopMember(w, 0);
    await until("a view after 1 of height 2, the same on members 1 and 2", async () => {
      const [a, b] = [await viewOf(1, 2), await viewOf(2, 2)];
      return a >= 2 && a === b;
    });
    const v2 = await load(w.clients[2]!, 2, ["h2 c0"]);
    expect(v2[0]!.leader).to.not.equal(w.members[0]!.address);
    expect(v2[0]!.viewNumber).to.be.at.least(2);
    // Member 1 was cut off when height 1 was sealed: it learns that seal from its peers (as a deposed
    // leader, or at the latest before it seals height 2), so heights stay sealed in order.
    await sealAndCheck(1, 2, [...missed, ...v1, ...v2]);
    // (It may even hold the built block of height 1 by now: a decided height's block is fetched.)
    expect((await w.nodes[1]!.store.blockState(ROLLUP, 1)).status).to.be.oneOf(["sealed", "finalized"]);
    expect((await w.nodes[1]!.sequencer!.block(ROLLUP, 1)).seal?.leader).to.equal(w.members[2]!.address);
    await startMember(w, 0, FAST);
  });

  describe("bad, stale and unsigned view-change messages change nothing", () => {
    // Height 3 has seen no traffic: view 0 everywhere, leaderOf(3, v) = members[v % 3].
    const HEIGHT = 3;
    let epoch: number;
    const signerOf = (i: number): ReplicaSigner =>
      new ReplicaSigner(new SigningKey(w.members[i]!.privateKey), w.domain);
    const port = (i: number) => signerOf(i).forHeight(ROLLUP, HEIGHT);
    const wire = () => new HeightWire(ROLLUP, HEIGHT, signerOf(0));
    /** Sends `messages` of height 3 from member `from` (its envelope signed by `signer`) to member `to`. */
    const send = async (from: number, to: number, messages: NodeMessage[], signer = w.members[from]!) => {
      const payload = { rollupId: "7", height: HEIGHT, epoch, messages: messages.map((m) => wire().toJson(m)) };
      const env = await sealEnvelope(signer, w.domain, w.clusterId, 0, ClusterMessageKind.Replica, payload);
      return w.clients[to]!.call("cluster_replica", {
        ...env,
        message: { ...env.message, sender: w.members[from]!.address },
      });
    };
    const settled = async () => {
      await new Promise((r) => setTimeout(r, 300));
      for (let i = 0; i < 3; i++) {
        expect(await w.nodes[i]!.sequencer!.viewStateOf(ROLLUP, HEIGHT), `member ${i}`).to.deep.equal({
          view: 0,
          normalView: 0,
        });
        expect((await w.nodes[i]!.store.blockState(ROLLUP, HEIGHT)).count, `member ${i}`).to.equal(0);
      }
    };
    /** A view certificate of `view` of height 3 signed by `members`. */
    const certificate = (view: number, members: number[]) => ({
      statement: { view, epoch },
      signatures: new Map(members.map((i) => [w.members[i]!.address, port(i).signVote({ view, epoch })])),
    });
    /** An entry at index 0 signed by member 2, which did not lead view 0 of height 3 (member 0 does). */
    const forgedEntry = () => {
      const leaf = keccak256(raw("forged"));
      const commitment = { index: 0, leaf, preRoot: `0x${"00".repeat(32)}`, view: 0, epoch };
      return {
        commitment,
        signature: port(2).signCommitment(commitment),
        leader: w.members[2]!.address,
        tx: { kind: "raw" as const, rawTx: raw("forged") },
        bytes: 0,
        preProof: Array<string>(20).fill(`0x${"00".repeat(32)}`),
      };
    };

    before(async () => {
      for (let i = 0; i < 3; i++) if (w.nodes[i] === undefined) await startMember(w, i, FAST);
      epoch = await epochNow(w);
    });

    it("an envelope not signed by its sender, or by a non-member, is refused at the door", async () => {
      const vote = { type: "start-view-change" as const, view: 1, vote: port(1).signVote({ view: 1, epoch }) };
      await rejects(send(1, 0, [vote], w.members[2]), "INVALID_SIGNATURE");
      const payload = { rollupId: "7", height: HEIGHT, epoch, messages: [wire().toJson(vote)] };
      const env = await sealEnvelope(w.outsider, w.domain, w.clusterId, 0, ClusterMessageKind.Replica, payload);
      await rejects(w.clients[0]!.call("cluster_replica", env), "UNAUTHORIZED", /not a cluster member/);
      await settled();
    });

    it("a ViewChange vote signed by another member than its sender counts for nothing", async () => {
      await send(1, 0, [{ type: "start-view-change", view: 1, vote: port(2).signVote({ view: 1, epoch }) }]);
      await settled();
    });

    it("a DoViewChange sent to a member that does not lead the view, or carrying a forged entry", async () => {
      const vote = port(0).signVote({ view: 1, epoch });
      const log = { view: 1, normalView: 0, normalViewCertificate: undefined, entries: [], seal: undefined };
      // leaderOf(3, 1) = member 1; member 2 does not lead view 1.
      await send(0, 2, [{ type: "do-view-change", view: 1, vote, log }]);
      await send(0, 1, [{ type: "do-view-change", view: 1, vote, log: { ...log, entries: [forgedEntry()] } }]);
      await settled();
    });

    it("a DoViewChange claiming a later normal view without that view's proof", async () => {
      const vote = port(0).signVote({ view: 2, epoch });
      for (const proof of [undefined, certificate(1, [0])]) {
        const log = { view: 2, normalView: 1, normalViewCertificate: proof, entries: [], seal: undefined };
        await send(0, 2, [{ type: "do-view-change", view: 2, vote, log }]);
      }
      await settled();
    });

    it("a StartView from a member that does not lead the view, without a majority's proof, or with a forged entry", async () => {
      const start = (view: number, proof: ReturnType<typeof certificate>, entries: NodeMessage[] = []) => ({
        type: "start-view" as const,
        view,
        certificate: proof,
        entries: entries as never[],
        seal: undefined,
      });
      await send(2, 0, [start(1, certificate(1, [0, 1]))]); // member 2 does not lead view 1
      await send(1, 0, [start(1, certificate(1, [1]))]); // only its leader voted for view 1
      await send(1, 0, [start(1, certificate(1, [0, 1]), [forgedEntry() as never])]);
      await settled();
    });

    it("a stale heartbeat or replicate of a view the height left changes nothing", async () => {
      await send(2, 0, [{ type: "heartbeat", view: 2, count: 5 }]); // member 2 leads view 2, not proven
      await settled();
    });

    it("while the genuine article works: one member's vote starts a view change that a majority completes", async () => {
      await send(1, 0, [{ type: "start-view-change", view: 1, vote: port(1).signVote({ view: 1, epoch }) }]);
      await until("height 3 normal in one view above 0 on every member", async () => {
        const views = await Promise.all([0, 1, 2].map((i) => viewOf(i, HEIGHT)));
        return views[0]! >= 1 && views.every((v) => v === views[0]);
      });
    });
  });

  it("a dead leader's recorded heartbeat, replayed to the followers, holds off no view change", async () => {
    // Height 7 is led by member 1 in view 0, by member 2 in view 1.
    for (let i = 0; i < 3; i++) if (w.nodes[i] === undefined) await startMember(w, i, FAST);
    expect(await load(w.clients[0]!, 7, ["h7 a0", "h7 a1"])).to.have.length(2);
    await stopMember(w, 1);
    const stoppedAt = Date.now();
    // The packets are member 1's own (signed with its key, as a recorded one is), sent again every 100 ms; their
    // echo is a challenge of the past. Before heartbeats were fresh, this held the view change off indefinitely.
    let replaying = true;
    const replays = (async () => {
      for (let n = 0; replaying; n++) {
        const heartbeat = { type: "heartbeat", view: 0, count: 2, echo: (n * 7_919) % 2 ** 32 };
        await Promise.all([0, 2].map((f) => sendReplica(w, 1, f, 7, [heartbeat]).catch(() => undefined)));
      }
    })();
    try {
      await until("height 7 normal in view 1 on both followers while the replays go on", async () => {
        return (await viewOf(0, 7)) === 1 && (await viewOf(2, 7)) === 1;
      });
    } finally {
      replaying = false;
      await replays;
    }
    // The leader timeout is 600-900 ms: the view changed within a few of them, not when the replays stopped.
    expect(Date.now() - stoppedAt).to.be.below(10_000);
    const after = await load(w.clients[0]!, 7, ["h7 b0"]);
    expect(after.map((r) => r.viewNumber)).to.deep.equal([1]);
    await startMember(w, 1, FAST);
  });
});
