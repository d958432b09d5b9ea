import { expect } from "chai";
import { SigningKey, keccak256, toUtf8Bytes } from "ethers";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import type { OrderedTransactionJson } from "../../sequencer/api/wire";
import { veilDomain } from "../../sequencer/chain/eip712";
import { HeightHost, ReplicaRefusal, realClock, type Packet } from "../../sequencer/node/host/height-host";
import { ReplicaSigner } from "../../sequencer/node/host/signatures";
import { NodeStore } from "../../sequencer/node/storage/store";
import { leaderOf } from "../../sequencer/replica/log";
import type { Address, Membership } from "../../sequencer/replica/types";

const domain = veilDomain(31337n, "0x00000000000000000000000000000000000000aa");
const signers = ["a", "b", "c"].map((x) => new ReplicaSigner(new SigningKey(keccak256(toUtf8Bytes(x))), domain));
const membership: Membership = { epoch: 0, members: signers.map((s) => s.address) };
const ROLLUP = 3n;
const raw = (n: number): OrderedTransactionJson => ({ kind: "raw", rawTx: `0x${n.toString(16).padStart(6, "0")}` });
const proposal = (n: number) => ({ leaf: keccak256(toUtf8Bytes(`tx ${n}`)), tx: raw(n), bytes: 300 });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Three hosts on their own LevelDB stores, messages through JSON between them, members that can be stopped. */
class Cluster {
  readonly hosts = new Map<Address, HeightHost>();
  readonly stores = new Map<Address, NodeStore>();
  readonly down = new Set<Address>();
  packets = 0;

  constructor(private readonly dir: string) {}

  async start(who: ReplicaSigner, onFetchBlock?: (from: Address) => void): Promise<HeightHost> {
    const store = await NodeStore.open(join(this.dir, who.address));
    this.stores.set(who.address, store);
    const host = new HeightHost({
      signer: who,
      store,
      transport: {
        send: (to: Address, packet: Packet) => {
          this.packets += 1;
          const copy = JSON.parse(JSON.stringify(packet)) as Packet;
          setImmediate(() => {
            const target = this.hosts.get(to);
            if (target === undefined || this.down.has(to) || this.down.has(who.address)) return;
            void target.receive(who.address, copy, BigInt);
          });
        },
      },
      membersAt: (epoch) => (epoch === 0 ? membership.members : undefined),
      currentEpoch: () => 0,
      timing: { heartbeatIntervalMs: 40, leaderTimeoutMs: 250 },
      maxEntries: 1024,
      maxLogBytes: 1_000_000,
      signatureSampleRate: 0.25,
      clock: realClock,
      random: Math.random,
      log: pino({ level: "silent" }),
      ...(onFetchBlock === undefined
        ? {}
        : { onFetchBlock: (_r: bigint, _h: number, from: Address) => onFetchBlock(from) }),
    });
    this.hosts.set(who.address, host);
    this.down.delete(who.address);
    return host;
  }

  async stop(address: Address): Promise<void> {
    this.down.add(address);
    await this.hosts.get(address)!.close();
    this.hosts.delete(address);
    await this.stores.get(address)!.close();
  }

  async stopAll(): Promise<void> {
    for (const a of [...this.hosts.keys()]) await this.stop(a);
  }
}

/** Retries `fn` until it stops throwing (a view change or a recovery in progress), up to `ms`. */
async function eventually<T>(fn: () => Promise<T>, ms = 10_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (error) {
      if (Date.now() > until) throw error;
      await sleep(50);
    }
  }
}

describe("node host: three replicas over real stores", function () {
  this.timeout(60_000);
  let dir: string;
  let cluster: Cluster;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "veil-hosts-"));
    cluster = new Cluster(dir);
    for (const s of signers) await cluster.start(s);
  });
  afterEach(async () => {
    await cluster.stopAll();
    rmSync(dir, { recursive: true, force: true });
  });

  it("orders concurrent proposals in group commits, each answered once a majority stored it", async () => {
    const height = 0;
    const leader = cluster.hosts.get(leaderOf(membership, height, 0))!;
    const receipts = await Promise.all(
      Array.from({ length: 40 }, (_, i) => leader.propose(ROLLUP, height, proposal(i))),
    );
    expect(receipts.map((r) => r.receipt.commitment.index).sort((a, b) => a - b)).to.deep.equal(
      Array.from({ length: 40 }, (_, i) => i),
    );
    // Group commit: far fewer replication rounds than transactions.
    const firstSend = cluster.packets;
    expect(firstSend).to.be.below(40);
    // Every member stored what was acknowledged (a majority at once, the third soon after).
    await eventually(async () => {
      for (const store of cluster.stores.values()) {
        expect((await store.blockState(ROLLUP, height)).count).to.equal(40);
      }
    });
  });

  it("refuses a proposal at a member that does not lead, saying who does", async () => {
    const height = 1;
    const follower = signers.find((s) => s.address !== leaderOf(membership, height, 0))!;
    const error = await cluster.hosts
      .get(follower.address)!
      .propose(ROLLUP, height, proposal(1))
      .catch((e: unknown) => e);
    expect(error).to.be.instanceOf(ReplicaRefusal);
    expect((error as ReplicaRefusal).error).to.include({ code: "not-leader", leader: leaderOf(membership, height, 0) });
  });

  it("survives the leader's crash: the others change view, keep every receipt, seal; the old leader recovers", async () => {
    const height = 2;
    const first = leaderOf(membership, height, 0);
    const receipts = await Promise.all(
      Array.from({ length: 10 }, (_, i) => cluster.hosts.get(first)!.propose(ROLLUP, height, proposal(100 + i))),
    );
    await cluster.stop(first);
    const second = leaderOf(membership, height, 1);
    const more = await eventually(() => cluster.hosts.get(second)!.propose(ROLLUP, height, proposal(200)));
    expect(more.receipt.commitment.view).to.equal(1);
    expect(more.viewCertificate?.signatures.size).to.be.at.least(2);
    const certificate = await eventually(() => cluster.hosts.get(second)!.seal(ROLLUP, height));
    expect(certificate.statement.count).to.equal(11);
    // The old leader comes back from its store: it recovers before it acts, and learns the height is decided
    // (the others answer with the certificate; its block is then fetched by the block pipeline).
    const fetched: string[] = [];
    const restarted = await cluster.start(
      signers.find((s) => s.address === first)!,
      (from) => fetched.push(from),
    );
    await restarted.resume([{ rollupId: ROLLUP, height }]);
    await eventually(async () => {
      const snap = await restarted.snapshot(ROLLUP, height);
      expect(snap?.status).to.equal("decided");
      expect(snap?.certificate?.statement.count).to.equal(11);
    });
    expect(fetched.length).to.be.at.least(1);
    // A recovering member never orders on its own: the restarted leader of view 0 is not the leader now.
    const refused = await restarted.propose(ROLLUP, height, proposal(300)).catch((e: unknown) => e);
    expect(refused).to.be.instanceOf(ReplicaRefusal);
    // Every acknowledged entry is where its receipt says, in the store of every member that took part.
    await eventually(async () => {
      for (const [address, store] of cluster.stores) {
        if (address === first) continue;
        const entries = await store.getEntries(ROLLUP, height);
        expect(entries).to.have.length(11);
        for (const r of receipts) {
          expect(entries[r.receipt.commitment.index]!.encTxHash).to.equal(r.receipt.commitment.leaf);
        }
      }
    });
  });
});
