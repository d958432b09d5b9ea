import {
  certifyView,
  parseViewCertificate,
  verifySealCertificate,
  verifyViewCertificate,
  viewCertificateToJson,
  type ViewCertificateJson,
} from "../../sequencer/chain/certificate";
import { expect } from "chai";
import { keccak256 } from "ethers";
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
  startMember,
  stopMember,
  teardown,
  epochNow,
  viewVote,
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
    expect((await w.nodes[1]!.store.blockState(ROLLUP, 1)).status).to.equal("sealed");
    expect((await w.nodes[1]!.sequencer!.block(ROLLUP, 1)).seal?.leader).to.equal(w.members[2]!.address);
    await startMember(w, 0, FAST);
  });

  describe("bad, stale and unsigned view-change messages are rejected", () => {
    before(async () => {
      for (let i = 0; i < 3; i++) if (w.nodes[i] === undefined) await startMember(w, i, FAST);
    });
    const ref = { rollupId: "7", height: 3, view: 1 };
    let epoch: number;
    let vc: typeof ref & { epoch: number; signature: string };
    /** View 1 of height 3 proven by members 0 and 1, a majority of 3. */
    let proof: ViewCertificateJson;
    const viewOf3 = (height: bigint, viewNumber: number) => ({ rollupId: ROLLUP, height, viewNumber, epoch });
    before(async () => {
      epoch = await epochNow(w);
      vc = { ...ref, epoch, signature: await viewVote(w.members[1]!, w.domain, 3, 1, epoch) };
      proof = viewCertificateToJson(await certifyView(w.members.slice(0, 2), w.domain, viewOf3(3n, 1)));
    });
    it("unsigned by a member", async () => {
      const env = await sealEnvelope(w.outsider, w.domain, w.clusterId, 1, ClusterMessageKind.StartViewChange, vc);
      await rejects(w.clients[0]!.call("cluster_start_view_change", env), "UNAUTHORIZED", /not a cluster member/);
    });
    it("signature not the sender's", async () => {
      const env = await sealEnvelope(w.members[1]!, w.domain, w.clusterId, 1, ClusterMessageKind.StartViewChange, vc);
      const other = await sealEnvelope(w.members[2]!, w.domain, w.clusterId, 1, ClusterMessageKind.StartViewChange, vc);
      await rejects(
        w.clients[0]!.call("cluster_start_view_change", { ...env, signature: other.signature }),
        "INVALID_SIGNATURE",
      );
    });
    it("a ViewChange vote signed by another member than the sender", async () => {
      const env = await sealEnvelope(w.members[2]!, w.domain, w.clusterId, 1, ClusterMessageKind.StartViewChange, vc);
      await rejects(w.clients[0]!.call("cluster_start_view_change", env), "INVALID_SIGNATURE", /ViewChange vote/);
    });
    it("payload view differing from the signed view", async () => {
      const env = await sealEnvelope(w.members[1]!, w.domain, w.clusterId, 2, ClusterMessageKind.StartViewChange, vc);
      await rejects(w.clients[0]!.call("cluster_start_view_change", env), "UNAUTHORIZED", /view differs/);
    });
    it("stale: a StartViewChange or heartbeat for a view a height already left", async () => {
      const old = { rollupId: "7", height: 0, view: 0, epoch };
      const vote = { ...old, signature: await viewVote(w.members[1]!, w.domain, 0, 0, epoch) };
      const env = await sealEnvelope(w.members[1]!, w.domain, w.clusterId, 0, ClusterMessageKind.StartViewChange, vote);
      await rejects(w.clients[2]!.call("cluster_start_view_change", env), "STALE_VIEW");
      const hb = await sealEnvelope(w.members[0]!, w.domain, w.clusterId, 0, ClusterMessageKind.Heartbeat, {
        ...old,
        count: 0,
      });
      await rejects(w.clients[2]!.call("cluster_heartbeat", hb), "STALE_VIEW");
    });
    it("a log request (state transfer) from a non-member, of another kind or for an unknown rollup", async () => {
      const req = { rollupId: "7", height: 3 };
      const outsider = await sealEnvelope(w.outsider, w.domain, w.clusterId, 0, ClusterMessageKind.LogRequest, req);
      await rejects(w.clients[0]!.call("cluster_get_log", outsider), "UNAUTHORIZED", /not a cluster member/);
      const wrongKind = await sealEnvelope(w.members[1]!, w.domain, w.clusterId, 0, ClusterMessageKind.Heartbeat, req);
      await rejects(w.clients[0]!.call("cluster_get_log", wrongKind), "UNAUTHORIZED", /kind/);
      const unknown = await sealEnvelope(w.members[1]!, w.domain, w.clusterId, 0, ClusterMessageKind.LogRequest, {
        rollupId: "999",
        height: 3,
      });
      await rejects(w.clients[0]!.call("cluster_get_log", unknown), "UNKNOWN_ROLLUP");
      // A member gets a report signed by the node it asked, of exactly that height.
      const ok = await sealEnvelope(w.members[1]!, w.domain, w.clusterId, 0, ClusterMessageKind.LogRequest, req);
      const report = (await w.clients[0]!.call("cluster_get_log", ok)) as {
        message: { sender: string; kind: number };
        payload: { height: number; entries: unknown[] };
      };
      expect(report.message.sender).to.equal(w.members[0]!.address);
      expect(report.message.kind).to.equal(ClusterMessageKind.LogRequest + 1);
      expect(report.payload.height).to.equal(3);
    });
    it("a DoViewChange sent to a member that does not lead the view", async () => {
      const dvc = {
        ...ref,
        epoch,
        normalView: 0,
        normalViewCertificate: null,
        entries: [],
        seal: null,
        viewSignature: vc.signature,
      };
      // leaderOf(3, 1) = member 1; send it to member 2.
      const env = await sealEnvelope(w.members[0]!, w.domain, w.clusterId, 1, ClusterMessageKind.DoViewChange, dvc);
      await rejects(w.clients[2]!.call("cluster_do_view_change", env), "NOT_LEADER");
    });
    /** An entry of height 3 whose receipt is signed by member 2, who did not lead view 0 of height 3. */
    async function forgedEntry(): Promise<unknown> {
      const commitment = {
        rollupId: ROLLUP,
        blockHeight: 3n,
        txIndex: 0,
        encTxHash: keccak256(raw("forged")),
        preRoot: "0x" + "00".repeat(32),
        viewNumber: 0,
        epoch,
      };
      return {
        encTxHash: commitment.encTxHash,
        encryptedTx: { kind: "raw", rawTx: raw("forged") },
        orderCommitment: {
          commitment: { ...commitment, rollupId: "7", blockHeight: "3" },
          signature: await signMessage(w.members[2]!, w.domain, "OrderCommitment", commitment),
          leader: w.members[2]!.address,
          viewNumber: 0,
          preProof: Array(20).fill("0x" + "00".repeat(32)),
        },
      };
    }
    it("a StartView from a member that does not lead the view, or with a forged entry", async () => {
      const sv = { ...ref, entries: [], seal: null, viewCertificate: proof };
      const env = await sealEnvelope(w.members[2]!, w.domain, w.clusterId, 1, ClusterMessageKind.StartView, sv);
      await rejects(w.clients[0]!.call("cluster_start_view", env), "NOT_LEADER");
      const bad = await sealEnvelope(w.members[1]!, w.domain, w.clusterId, 1, ClusterMessageKind.StartView, {
        ...sv,
        entries: [await forgedEntry()],
      });
      await rejects(w.clients[0]!.call("cluster_start_view", bad), "INVALID_SIGNATURE", /did not lead view 0/);
      expect((await w.nodes[0]!.store.blockState(ROLLUP, 3)).count).to.equal(0);
    });
    it("a StartView of the view's own leader without a majority's proof that the view began", async () => {
      // Member 1 leads view 1 of height 3 by the schedule, but only it voted for that view: it cannot install it.
      const alone = viewCertificateToJson(await certifyView([w.members[1]!], w.domain, viewOf3(3n, 1)));
      const other = viewCertificateToJson(await certifyView(w.members.slice(0, 2), w.domain, viewOf3(4n, 1)));
      const sv = { ...ref, entries: [], seal: null };
      for (const [viewCertificate, why] of [
        [alone, /a majority of 3 members is 2/],
        [other, /not for view 1 of height 3/],
      ] as const) {
        const env = await sealEnvelope(w.members[1]!, w.domain, w.clusterId, 1, ClusterMessageKind.StartView, {
          ...sv,
          viewCertificate,
        });
        await rejects(w.clients[0]!.call("cluster_start_view", env), "INVALID_SIGNATURE", why);
      }
      await rejects(
        w.clients[0]!.call(
          "cluster_start_view",
          await sealEnvelope(w.members[1]!, w.domain, w.clusterId, 1, ClusterMessageKind.StartView, sv),
        ),
        "INVALID_PARAMS",
        /viewCertificate/,
      );
      expect(await viewOf(0, 3)).to.equal(0);
    });
    it("a DoViewChange with a forged entry or a malformed seal: refused, and it counts as no vote", async () => {
      // leaderOf(3, 1) = member 1, still in view 0 of height 3.
      const dvc = {
        ...ref,
        epoch,
        normalView: 0,
        normalViewCertificate: null,
        entries: [],
        seal: null,
        viewSignature: await viewVote(w.members[0]!, w.domain, 3, 1, epoch),
      };
      const forged = await sealEnvelope(w.members[0]!, w.domain, w.clusterId, 1, ClusterMessageKind.DoViewChange, {
        ...dvc,
        entries: [await forgedEntry()],
      });
      await rejects(w.clients[1]!.call("cluster_do_view_change", forged), "INVALID_SIGNATURE", /did not lead view 0/);
      const sealed = await sealEnvelope(w.members[0]!, w.domain, w.clusterId, 1, ClusterMessageKind.DoViewChange, {
        ...dvc,
        seal: "sealed",
      });
      await rejects(w.clients[1]!.call("cluster_do_view_change", sealed), "INVALID_PARAMS", /the seal/);
      for (let i = 0; i < 3; i++) expect(await viewOf(i, 3)).to.equal(0);
    });
    it("a DoViewChange claiming a later normal view (which would rank its log first) without that view's proof", async () => {
      // Member 0 tells member 2, the leader of view 2 of height 3, that its (empty) log was normal in view 1.
      const claim = {
        rollupId: "7",
        height: 3,
        view: 2,
        epoch,
        normalView: 1,
        entries: [],
        seal: null,
        viewSignature: await viewVote(w.members[0]!, w.domain, 3, 2, epoch),
      };
      const send = async (normalViewCertificate: ViewCertificateJson | null) =>
        w.clients[2]!.call(
          "cluster_do_view_change",
          await sealEnvelope(w.members[0]!, w.domain, w.clusterId, 2, ClusterMessageKind.DoViewChange, {
            ...claim,
            normalViewCertificate,
          }),
        );
      await rejects(send(null), "INVALID_SIGNATURE", /without that view's certificate/);
      const alone = viewCertificateToJson(await certifyView([w.members[0]!], w.domain, viewOf3(3n, 1)));
      await rejects(send(alone), "INVALID_SIGNATURE", /a majority of 3 members is 2/);
      for (let i = 0; i < 3; i++) expect(await viewOf(i, 3)).to.equal(0);
    });
  });
});
