import { expect } from "chai";
import { SigningKey, keccak256, toUtf8Bytes } from "ethers";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { OrderedTransactionJson } from "../../sequencer/api/wire";
import { isSignedBy, veilDomain } from "../../sequencer/chain/eip712";
import { loadDurable, persistWrites } from "../../sequencer/node/host/durable";
import { ReplicaSigner, chainSealOf, orderCommitmentOf, viewChangeOf } from "../../sequencer/node/host/signatures";
import { HeightWire, WireError, type NodeMessage } from "../../sequencer/node/host/wire";
import { NodeStore } from "../../sequencer/node/storage/store";
import { leaderOf } from "../../sequencer/replica/log";
import { HeightReplica } from "../../sequencer/replica/replica";
import {
  EMPTY_DURABLE,
  type Address,
  type Durable,
  type Effect,
  type Membership,
  type Write,
} from "../../sequencer/replica/types";
import { applyWrite } from "../../sequencer/sim/storage";

const domain = veilDomain(31337n, "0x00000000000000000000000000000000000000aa");
const signers = ["a", "b", "c"].map((x) => new ReplicaSigner(new SigningKey(keccak256(toUtf8Bytes(x))), domain));
const membership: Membership = { epoch: 2, members: signers.map((s) => s.address) };
const ROLLUP = 7n;
const HEIGHT = 4;
const raw = (n: number): OrderedTransactionJson => ({ kind: "raw", rawTx: `0x${n.toString(16).padStart(4, "0")}` });
const leafOf = (n: number): string => keccak256(toUtf8Bytes(`tx ${n}`));

type Tx = OrderedTransactionJson;

/** Three real-key replicas of one height, messages delivered in order, every persist effect recorded per step. */
class Cluster {
  readonly replicas = new Map<Address, HeightReplica<Tx>>();
  readonly model = new Map<Address, Durable<Tx>>();
  readonly steps: { member: Address; writes: Write<Tx>[] }[] = [];
  private readonly queue: { from: Address; to: Address; message: NodeMessage }[] = [];
  now = 0;

  constructor() {
    for (const s of signers) {
      this.model.set(s.address, EMPTY_DURABLE);
      const replica = new HeightReplica<Tx>(
        HEIGHT,
        {
          membership,
          signatures: s.forHeight(ROLLUP, HEIGHT),
          timing: { heartbeatIntervalMs: 100, leaderTimeoutMs: 1_000 },
          maxEntries: 64,
          maxLogBytes: 1_000_000,
          signatureSampleRate: 1,
          random: () => 0.5,
        },
        EMPTY_DURABLE,
        0,
        false,
      );
      this.replicas.set(s.address, replica);
    }
  }

  step(member: Address, input: Parameters<HeightReplica<Tx>["step"]>[0]): Effect<Tx>[] {
    const effects = this.replicas.get(member)!.step(input, this.now);
    const writes: Write<Tx>[] = [];
    for (const e of effects) {
      if (e.type === "persist") {
        writes.push(e.write);
        this.model.set(member, applyWrite(this.model.get(member)!, e.write));
      } else if (e.type === "send") this.queue.push({ from: member, to: e.to, message: e.message });
    }
    if (writes.length > 0) this.steps.push({ member, writes });
    return effects;
  }

  deliverAll(except: Address | undefined = undefined): void {
    while (this.queue.length > 0) {
      const { from, to, message } = this.queue.shift()!;
      if (to === except || from === except) continue;
      this.step(to, { type: "receive", from, message });
    }
  }
}

describe("node host: the replica on real keys and LevelDB", () => {
  describe("signatures", () => {
    const port = signers[0]!.forHeight(ROLLUP, HEIGHT);
    const commitment = { index: 3, leaf: leafOf(1), preRoot: leafOf(2), view: 1, epoch: 2 };
    const seal = { count: 4, root: leafOf(3), inboxBlock: 1_234, view: 1, epoch: 2 };
    const vote = { view: 5, epoch: 2 };

    it("signs the EIP-712 messages the contracts and every other role check", () => {
      const who = signers[0]!.address;
      const c = orderCommitmentOf(ROLLUP, HEIGHT, commitment);
      expect(isSignedBy(domain, "OrderCommitment", c, port.signCommitment(commitment), who)).to.equal(true);
      expect(isSignedBy(domain, "Seal", chainSealOf(ROLLUP, HEIGHT, seal), port.signSeal(seal), who)).to.equal(true);
      expect(isSignedBy(domain, "ViewChange", viewChangeOf(ROLLUP, HEIGHT, vote), port.signVote(vote), who)).to.equal(
        true,
      );
    });

    it("checks a signature against the claimed signer, this height and this rollup only", () => {
      const signature = port.signCommitment(commitment);
      expect(port.isCommitmentSignedBy(commitment, signature, signers[0]!.address)).to.equal(true);
      // The cheapest forgeries: another claimed signer, the same signature moved to another height or rollup.
      expect(port.isCommitmentSignedBy(commitment, signature, signers[1]!.address)).to.equal(false);
      expect(
        signers[1]!.forHeight(ROLLUP, HEIGHT + 1).isCommitmentSignedBy(commitment, signature, signers[0]!.address),
      ).to.equal(false);
      expect(
        signers[1]!.forHeight(ROLLUP + 1n, HEIGHT).isCommitmentSignedBy(commitment, signature, signers[0]!.address),
      ).to.equal(false);
      expect(port.isSealSignedBy(seal, port.signSeal({ ...seal, count: 5 }), signers[0]!.address)).to.equal(false);
      // The cut is signed too: a leader cannot move it under the same signature.
      expect(port.isSealSignedBy(seal, port.signSeal({ ...seal, inboxBlock: 1_235 }), signers[0]!.address)).to.equal(
        false,
      );
      expect(port.isVoteSignedBy(vote, "0x1234", signers[0]!.address)).to.equal(false);
      // A statement that does not even encode (an index beyond uint32) is signed by nobody, without a throw.
      expect(port.isCommitmentSignedBy({ ...commitment, index: 2 ** 40 }, signature, signers[0]!.address)).to.equal(
        false,
      );
    });

    it("recovers the signer of a seal or a vote, and nobody from garbage", () => {
      const s = signers[2]!;
      expect(s.sealSigner(ROLLUP, HEIGHT, seal, signers[1]!.forHeight(ROLLUP, HEIGHT).signSeal(seal))).to.equal(
        signers[1]!.address,
      );
      expect(s.voteSigner(ROLLUP, HEIGHT, vote, `0x${"00".repeat(65)}`)).to.equal(undefined);
    });
  });

  describe("wire", () => {
    const wire = new HeightWire(ROLLUP, HEIGHT, signers[0]!);

    /** Every message type a real run produces, captured from a cluster that orders, changes view and seals. */
    function messages(): NodeMessage[] {
      const cluster = new Cluster();
      const sent: NodeMessage[] = [];
      const original = cluster.step.bind(cluster);
      cluster.step = (member, input) => {
        const effects = original(member, input);
        for (const e of effects) if (e.type === "send") sent.push(e.message);
        return effects;
      };
      run(cluster);
      return sent;
    }

    it("carries every replica message through JSON unchanged", () => {
      const sent = messages();
      const kinds = new Set(sent.map((m) => m.type));
      for (const kind of [
        "replicate",
        "ack",
        "heartbeat",
        "start-view-change",
        "do-view-change",
        "start-view",
        "seal",
      ]) {
        expect(kinds, kind).to.include(kind);
      }
      for (const m of sent) {
        const back = wire.parse(JSON.parse(JSON.stringify(wire.toJson(m))));
        expect(withoutBytes(back), m.type).to.deep.equal(withoutBytes(m));
      }
    });

    it("refuses malformed input, naming the field, and pieces of another height", () => {
      expect(() => wire.parse({ type: "ack", view: -1, count: 0 })).to.throw(WireError, /view/);
      expect(() => wire.parse({ type: "nope" })).to.throw(WireError);
      expect(() => wire.parse({ type: "ack", view: 0, count: 0, extra: 1 })).to.throw(WireError);
      const replicate = messages().find((m) => m.type === "replicate")!;
      const json = new HeightWire(ROLLUP, HEIGHT + 1, signers[0]!).toJson(replicate);
      expect(() => wire.parse(JSON.parse(JSON.stringify(json)))).to.throw(WireError, /height/);
    });

    it("refuses a view certificate whose signature recovers nobody or names one signer twice", () => {
      const startView = messages().find((m) => m.type === "start-view")!;
      const json = JSON.parse(JSON.stringify(wire.toJson(startView))) as {
        certificate: { signatures: string[] };
      };
      const twice = {
        ...json,
        certificate: {
          ...json.certificate,
          signatures: [json.certificate.signatures[0]!, json.certificate.signatures[0]!],
        },
      };
      expect(() => wire.parse(twice)).to.throw(WireError, /twice/);
      const garbage = { ...json, certificate: { ...json.certificate, signatures: [`0x${"00".repeat(65)}`] } };
      expect(() => wire.parse(garbage)).to.throw(WireError, /no signer/);
    });
  });

  describe("durable state", () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), "veil-host-"));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it("keeps in LevelDB exactly what the replica's writes say, step by step, and rebuilds it after a reopen", async () => {
      const cluster = new Cluster();
      run(cluster);
      const types = new Set(cluster.steps.flatMap((s) => s.writes.map((w) => w.type)));
      expect([...types].sort()).to.deep.equal(["append", "decided", "install", "seal", "seal-signed", "view"]);
      const stores = new Map<Address, NodeStore>();
      const models = new Map<Address, Durable<Tx>>();
      try {
        for (const s of signers) stores.set(s.address, await NodeStore.open(join(dir, s.address)));
        for (const { member, writes } of cluster.steps) {
          const wire = new HeightWire(ROLLUP, HEIGHT, signers[0]!);
          await persistWrites(stores.get(member)!, wire, writes);
          let model = models.get(member) ?? EMPTY_DURABLE;
          for (const w of writes) model = applyWrite(model, w);
          models.set(member, model);
          const loaded = await loadDurable(stores.get(member)!, wire);
          expect(comparable(loaded)).to.deep.equal(comparable(model));
        }
        for (const s of signers) await stores.get(s.address)!.close();
        let sealedOn = 0;
        for (const s of signers) {
          const store = await NodeStore.open(join(dir, s.address));
          stores.set(s.address, store);
          const loaded = await loadDurable(store, new HeightWire(ROLLUP, HEIGHT, signers[0]!));
          expect(comparable(loaded)).to.deep.equal(comparable(cluster.model.get(s.address)!));
          // The readers of the store (get_block, the block pipeline) see the log as sealed where it is.
          const state = await store.blockState(ROLLUP, HEIGHT);
          expect(state).to.deep.equal({
            status: loaded.seal === undefined ? "open" : "sealed",
            count: loaded.entries.length,
          });
          if (loaded.seal !== undefined) sealedOn += 1;
        }
        expect(sealedOn, "the two members of the new view hold the seal").to.equal(2);
      } finally {
        for (const store of stores.values()) if (store.isOpen) await store.close();
      }
    });

    it("a replica rebuilt from the store after a restart recovers and keeps its log", async () => {
      const cluster = new Cluster();
      run(cluster);
      const member = signers[1]!;
      const store = await NodeStore.open(join(dir, "b"));
      try {
        const wire = new HeightWire(ROLLUP, HEIGHT, member);
        for (const { writes } of cluster.steps.filter((s) => s.member === member.address)) {
          await persistWrites(store, wire, writes);
        }
        const durable = await loadDurable(store, wire);
        const restarted = new HeightReplica<Tx>(
          HEIGHT,
          {
            membership,
            signatures: member.forHeight(ROLLUP, HEIGHT),
            timing: { heartbeatIntervalMs: 100, leaderTimeoutMs: 1_000 },
            maxEntries: 64,
            maxLogBytes: 1_000_000,
            signatureSampleRate: 1,
            random: () => 0.5,
          },
          durable,
          0,
          true,
        );
        expect(restarted.snapshot().status).to.equal("recovering");
        expect(restarted.snapshot().entries.map((e) => e.commitment.leaf)).to.deep.equal(
          cluster.replicas
            .get(member.address)!
            .snapshot()
            .entries.map((e) => e.commitment.leaf),
        );
      } finally {
        await store.close();
      }
    });
  });
});

/** Orders two batches in view 0, loses the leader, changes view, orders one more batch and seals. */
function run(cluster: Cluster): void {
  const leader0 = leaderOf(membership, HEIGHT, 0);
  const leader1 = leaderOf(membership, HEIGHT, 1);
  let id = 0;
  let n = 0;
  const batch = (size: number) =>
    Array.from({ length: size }, () => ({
      id: id++,
      proposal: { leaf: leafOf(++n), tx: raw(n), bytes: 200 },
    }));
  cluster.step(leader0, { type: "propose", batch: batch(2) });
  cluster.deliverAll();
  cluster.step(leader0, { type: "propose", batch: batch(3) });
  cluster.deliverAll();
  // The leader of view 0 falls silent; the others time out and change view.
  cluster.now = 5_000;
  for (const m of membership.members) if (m !== leader0) cluster.step(m, { type: "tick" });
  cluster.deliverAll(leader0);
  cluster.step(leader1, { type: "propose", batch: batch(1) });
  cluster.deliverAll(leader0);
  // A quiet interval: the new leader heartbeats.
  cluster.now += 200;
  cluster.step(leader1, { type: "tick" });
  cluster.deliverAll(leader0);
  cluster.step(leader1, { type: "seal", id: id++, inboxBlock: 0 });
  cluster.deliverAll(leader0);
  expect(cluster.replicas.get(leader1)!.snapshot().certificate, "the height is certified").to.not.equal(undefined);
}

/** A message or state as plain data: without the host-measured weights, signatures maps as sorted pairs. */
function withoutBytes(m: NodeMessage): unknown {
  return JSON.parse(
    JSON.stringify(m, (key, value: unknown) =>
      key === "bytes" ? undefined : value instanceof Map ? [...value].sort(([a], [b]) => (a < b ? -1 : 1)) : value,
    ),
  );
}

/** A durable state as comparable data: entries without their (host-measured) weight, certificates as pairs. */
function comparable(d: Durable<Tx>): unknown {
  return withoutBytes(d as unknown as NodeMessage);
}
