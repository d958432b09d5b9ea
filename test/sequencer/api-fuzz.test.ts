/**
 * Fuzz (fast-check) of a live in-process 3-node cluster's external and cluster JSON-RPC methods:
 * arbitrary method names and params, and valid requests with one thing broken (a field flipped after
 * signing, another signer, a non-member, an old view, a replay). Properties: every answer is a
 * JSON-RPC response whose error code is one Veil defines (never INTERNAL_ERROR, never a dropped
 * connection); a rejected request changes no state on any member (status, views, blocks, store
 * counts); valid writes interleaved with the fuzz keep succeeding.
 */
import { expect } from "chai";
import { Wallet, getBytes, hexlify, keccak256 } from "ethers";
import fc from "fast-check";
import { isDeepStrictEqual } from "node:util";
import { certifyView, viewCertificateToJson } from "../../sequencer/chain/certificate";
import { ClusterMessageKind, signMessage, type VeilDomain } from "../../sequencer/chain/eip712";
import { sealEnvelope, type EnvelopeJson } from "../../sequencer/node/cluster/envelope";
import { STANDARD_ERRORS, VEIL_ERRORS } from "../../sequencer/rpc/errors";
import { ROLLUP, deployWorld, epochNow, startMember, teardown, viewVote, type ClusterWorld } from "./cluster-harness";

/** No view change may start on its own while the fuzz compares states: the leader timeout is 10 minutes. */
const QUIET = { timeouts: { peerRequestMs: 5_000, heartbeatIntervalMs: 200, leaderTimeoutMs: 600_000 } };
const HEIGHTS = [0, 1, 2] as const;
/** Height whose view was moved to 1 before the fuzz (for messages of an old view). */
const MOVED = 9;
const RUNS = Number(process.env.API_FUZZ_RUNS ?? 60);

const KNOWN_CODES = new Set<number>(
  [...Object.values(STANDARD_ERRORS), ...Object.values(VEIL_ERRORS)].filter(
    (c) => c !== STANDARD_ERRORS.INTERNAL_ERROR,
  ),
);

const EXTERNAL = [
  "send_encrypted_transaction",
  "send_raw_transaction",
  "get_encryption_key",
  "get_order_commitment",
  "get_encrypted_transaction",
  "get_raw_transaction_list",
  "get_block",
  "get_post_merkle_proof",
  "get_block_height",
  "get_cluster_status",
  "finalize_block",
  "rpc_methods",
] as const;
const CLUSTER = ["cluster_replica", "cluster_block_built"] as const;
const READS = new Set<string>(EXTERNAL.filter((m) => m.startsWith("get_") || m === "rpc_methods"));

type Answer = { result?: unknown; error?: { code: number; message: string } };

let seq = 0;
/** Posts one JSON-RPC request as raw JSON (params of any shape) and returns the parsed response. */
async function post(url: string, method: unknown, params: unknown): Promise<Answer> {
  const body = JSON.stringify({ jsonrpc: "2.0", id: ++seq, method, ...(params === undefined ? {} : { params }) });
  const res = await fetch(url, { method: "POST", body, headers: { "content-type": "application/json" } });
  const text = await res.text();
  expect(text, `HTTP ${res.status} with an empty body for ${body.slice(0, 200)}`).to.not.equal("");
  return JSON.parse(text) as Answer;
}

/** Checks an error answer: a code Veil defines (not INTERNAL_ERROR) and a message. */
function expectStableError(a: Answer, what: string): void {
  expect(a.error, `${what}: expected an error, got ${JSON.stringify(a.result)?.slice(0, 200)}`).to.not.equal(undefined);
  expect(KNOWN_CODES.has(a.error!.code), `${what}: code ${a.error!.code} (${a.error!.message})`).to.equal(true);
  expect(a.error!.message).to.be.a("string").and.not.equal("");
}

/** JSON values that stress validators: wrong types, huge and negative numbers, long strings, nesting. */
const hostile = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(
    -1,
    -0,
    2 ** 53,
    2 ** 64,
    1e308,
    0.5,
    "",
    "0x",
    "0x0",
    "-1",
    "1e3",
    " 7",
    "00",
    "18446744073709551616",
  ),
  fc.string({ maxLength: 20 }).map((s) => `0x${Buffer.from(s).toString("hex")}`),
  fc.bigInt({ min: -(2n ** 300n), max: 2n ** 300n }).map((b) => b.toString()),
  fc.array(fc.constant("0x" + "ab".repeat(32)), { minLength: 0, maxLength: 40 }),
);

describe("JSON-RPC fuzz on a live 3-node cluster: no crash, no state change from a rejected request", function () {
  this.timeout(600_000);
  let w: ClusterWorld;
  let urls: string[];
  let domain: VeilDomain;
  let raws = 0;
  /** The epoch the cluster runs its heights in (the harness starts one; the test stays well within it). */
  let epoch: number;

  /** Everything a rejected request must leave alone, from every member. */
  async function snapshot(): Promise<unknown> {
    return Promise.all(
      [0, 1, 2].map(async (i) => {
        const status = (await post(urls[i]!, "get_cluster_status", {})).result as Record<string, unknown>;
        delete status.uptimeSeconds;
        const blocks = await Promise.all(
          [...HEIGHTS, MOVED].map(async (h) => ({
            block: (await post(urls[i]!, "get_block", { rollupId: "7", height: String(h) })).result,
            view: await w.nodes[i]!.sequencer!.viewStateOf(ROLLUP, h),
          })),
        );
        return { status, blocks, openHeight: await w.nodes[i]!.sequencer!.openHeight(ROLLUP) };
      }),
    );
  }

  /**
   * Replication is asynchronous on followers, and an accepted view-change vote goes on in the background
   * (DoViewChange, StartView): wait until every member agrees on the counts and two snapshots 75 ms apart
   * are equal, then answer the last one. A rejected request that changed anything still shows, later.
   */
  async function settled(): Promise<unknown> {
    for (let tries = 0; tries < 100; tries++) {
      const counts = await Promise.all([0, 1, 2].map(async (i) => (await w.nodes[i]!.store.stats()).entries));
      if (counts.every((c) => c === counts[0])) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    let last = await snapshot();
    for (let tries = 0; tries < 40; tries++) {
      await new Promise((r) => setTimeout(r, 75));
      const next = await snapshot();
      if (isDeepStrictEqual(next, last)) return next;
      last = next;
    }
    return last;
  }

  const validRaw = (): { rollupId: string; height: string; rawTx: string } => ({
    rollupId: "7",
    height: String(raws % HEIGHTS.length),
    rawTx: `0x${Buffer.from(`fuzz valid ${raws++} ${Date.now()}`).toString("hex")}`,
  });

  /** A valid write through member `via`: it must be ordered, whatever the fuzz sent before. */
  async function validWrite(via: number): Promise<void> {
    const params = validRaw();
    const a = await post(urls[via]!, "send_raw_transaction", params);
    expect(a.error, JSON.stringify(a.error)).to.equal(undefined);
    expect((a.result as { commitment: { encTxHash: string } }).commitment.encTxHash).to.equal(
      keccak256(params.rawTx).toLowerCase(),
    );
  }

  before(async () => {
    w = await deployWorld([...HEIGHTS]);
    for (let i = 0; i < 3; i++) await startMember(w, i, QUIET);
    urls = w.ports.map((p) => `http://127.0.0.1:${p}`);
    domain = w.domain;
    epoch = await epochNow(w);
    for (let i = 0; i < 3; i++) await validWrite(i);
    // Height MOVED goes to view 1 (leader members[(9 + 1) % 3] = member 1): StartViewChange from members 0 and 2.
    for (const s of [0, 2]) {
      const vote = { type: "start-view-change", view: 1, vote: await viewVote(w.members[s]!, domain, MOVED, 1, epoch) };
      const payload = { rollupId: "7", height: MOVED, epoch, messages: [vote] };
      const env = await sealEnvelope(w.members[s]!, domain, w.clusterId, 0, ClusterMessageKind.Replica, payload);
      for (let i = 0; i < 3; i++) if (i !== s) await post(urls[i]!, "cluster_replica", env);
    }
    for (let tries = 0; tries < 100; tries++) {
      const states = await Promise.all([0, 1, 2].map((i) => w.nodes[i]!.sequencer!.viewStateOf(ROLLUP, MOVED)));
      if (states.every((s) => s.view === 1 && s.normalView === 1)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    for (let i = 0; i < 3; i++) {
      expect(await w.nodes[i]!.sequencer!.viewStateOf(ROLLUP, MOVED)).to.deep.equal({ view: 1, normalView: 1 });
    }
  });
  after(() => teardown(w));

  it("arbitrary method names and params: a Veil error code, never a crash; rejected calls change nothing", async () => {
    const methodName = fc.oneof(
      fc.constantFrom(...EXTERNAL, ...CLUSTER),
      fc.string({ maxLength: 30 }),
      fc.constantFrom("__proto__", "constructor", "toString", "hasOwnProperty", "rpc.discover", ""),
    );
    const params = fc.oneof(
      fc.constant(undefined),
      fc.array(hostile, { maxLength: 4 }),
      fc.dictionary(
        fc.constantFrom(
          "rollupId",
          "height",
          "index",
          "rawTx",
          "tx",
          "proof",
          "message",
          "payload",
          "signature",
          "request",
          "__proto__",
        ),
        hostile,
        { maxKeys: 5 },
      ),
      hostile,
    );
    let before = await settled();
    await fc.assert(
      fc.asyncProperty(methodName, params, fc.nat(2), async (method, p, via) => {
        const a = await post(urls[via]!, method, p);
        if (a.error === undefined) {
          // Only reads may succeed on garbage; a write that happened to be valid resets the baseline.
          if (!READS.has(method)) before = await settled();
          return;
        }
        expectStableError(a, `${method}(${JSON.stringify(p)?.slice(0, 200)})`);
        expect(await settled(), `state after rejected ${method}`).to.deep.equal(before);
      }),
      { numRuns: RUNS },
    );
  });

  it("mutated valid external requests: one field wrong at a time, each rejected without effect", async () => {
    const fields = fc.record({
      field: fc.constantFrom("rollupId", "height", "rawTx", "extra"),
      value: hostile,
    });
    let before = await settled();
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fields,
        fc.nat(2),
        fc.constantFrom("send_raw_transaction", "get_block", "get_order_commitment", "get_post_merkle_proof"),
        async ({ field, value }, via, method) => {
          const valid: Record<string, unknown> =
            method === "send_raw_transaction" ? validRaw() : { rollupId: "7", height: "0", index: 0 };
          const p = { ...valid, [field]: value };
          const a = await post(urls[via]!, method, p);
          if (a.error === undefined) {
            if (!READS.has(method)) before = await settled();
          } else {
            expectStableError(a, `${method}(${JSON.stringify(p).slice(0, 200)})`);
            expect(await settled(), `state after rejected ${method}`).to.deep.equal(before);
          }
          // Valid writes interleaved with the fuzz keep working.
          if (++n % 10 === 0) {
            await validWrite(via);
            before = await settled();
          }
        },
      ),
      { numRuns: RUNS },
    );
  });

  describe("cluster methods: signed packets with one thing broken", () => {
    /** A valid packet of one replica message of height 1, as a member would send it (view 0: member 1 leads). */
    type Base = {
      name: string;
      signer: number;
      payload: { messages: Record<string, unknown>[] } & Record<string, unknown>;
    };
    const bases: Base[] = [];
    const packet = (message: Record<string, unknown>) => ({ rollupId: "7", height: 1, epoch, messages: [message] });
    before(async () => {
      const vote = (m: number, view: number) => viewVote(w.members[m]!, domain, 1, view, epoch);
      const viewOne = { rollupId: ROLLUP, height: 1n, viewNumber: 1, epoch };
      // A well-formed Seal of height 1 signed by its view-0 leader (count and root do not match the log).
      const seal = {
        rollupId: ROLLUP,
        height: 1n,
        txCount: 0,
        encRoot: "0x" + "00".repeat(32),
        inboxBlock: 0n,
        viewNumber: 0,
        epoch,
      };
      const signedSeal = {
        seal: { ...seal, rollupId: "7", height: "1", inboxBlock: "0" },
        signature: await signMessage(w.members[1]!, domain, "Seal", seal),
        leader: w.members[1]!.address,
      };
      bases.push(
        { name: "heartbeat", signer: 1, payload: packet({ type: "heartbeat", view: 0, count: 0 }) },
        { name: "replicate", signer: 1, payload: packet({ type: "replicate", view: 0, firstIndex: 0, entries: [] }) },
        { name: "seal", signer: 1, payload: packet({ type: "seal", view: 0, seal: signedSeal }) },
        {
          name: "start-view-change",
          signer: 2,
          payload: packet({ type: "start-view-change", view: 1, vote: await vote(2, 1) }),
        },
        {
          name: "do-view-change",
          signer: 0,
          payload: packet({
            type: "do-view-change",
            view: 1,
            vote: await vote(0, 1),
            log: { view: 1, normalView: 0, entries: [] },
          }),
        },
        {
          name: "start-view",
          signer: 2,
          payload: packet({
            type: "start-view",
            view: 1,
            certificate: viewCertificateToJson(await certifyView([w.members[0]!, w.members[2]!], domain, viewOne)),
            entries: [],
          }),
        },
        { name: "recovery", signer: 0, payload: packet({ type: "recovery", nonce: 5 }) },
      );
    });
    const flipByte = (hex: string, at: number): string => {
      const b = getBytes(hex);
      const i = at % b.length;
      b[i] = b[i]! ^ 0x01;
      return hexlify(b);
    };
    const seal = (b: Base, signer = w.members[b.signer]!, payload: unknown = b.payload) =>
      sealEnvelope(signer, domain, w.clusterId, 0, ClusterMessageKind.Replica, payload);

    /** Ways to break a valid envelope at the door; each must be refused by every member. */
    const broken: Record<string, (b: Base, pick: number, value: unknown) => Promise<EnvelopeJson>> = {
      "signed by a non-member": (b) => seal(b, w.outsider),
      "sender field names another member": async (b, pick) => {
        const env = await seal(b);
        const other = w.members[(b.signer + 1 + (pick % 2)) % 3]!.address;
        return { ...env, message: { ...env.message, sender: other } };
      },
      "one bit of the signature flipped": async (b, pick) => {
        const env = await seal(b);
        return { ...env, signature: flipByte(env.signature, pick % 64) };
      },
      "a payload field changed after signing": async (b, pick, value) => {
        const env = await seal(b);
        const keys = Object.keys(b.payload);
        const key = keys[pick % keys.length]!;
        const changed = JSON.stringify(value) === JSON.stringify(b.payload[key]) ? [value] : value;
        return { ...env, payload: { ...b.payload, [key]: changed } };
      },
      "another kind signed": (b, pick) =>
        sealEnvelope(w.members[b.signer]!, domain, w.clusterId, 0, (1 + (pick % 11)) as never, b.payload),
      "another cluster id": (b, pick) =>
        sealEnvelope(
          w.members[b.signer]!,
          domain,
          w.clusterId + 1n + BigInt(pick),
          0,
          ClusterMessageKind.Replica,
          b.payload,
        ),
      "another domain (chain id)": (b) =>
        sealEnvelope(
          w.members[b.signer]!,
          { ...domain, chainId: domain.chainId + 1n },
          w.clusterId,
          0,
          ClusterMessageKind.Replica,
          b.payload,
        ),
    };
    /** Protocol faults in a well-signed packet: taken at the door, and the replica drops them. */
    const faulty: Record<string, (b: Base) => Promise<EnvelopeJson>> = {
      "an old view (height 9 moved to view 1)": (b) => {
        // Height 9's view-0 leader is member 0; its messages of view 0 are stale now.
        const message = { ...b.payload.messages[0]!, ...("view" in b.payload.messages[0]! ? { view: 0 } : {}) };
        return seal(b, w.members[0], { ...b.payload, height: MOVED, messages: [message] });
      },
      "a member that does not lead the view": (b) => seal(b, w.members[(b.signer + 1) % 3]),
    };
    /** Any member may vote for a view change, send its log to a new leader or ask for the logs. */
    const legitimate = (name: string): boolean => ["start-view-change", "do-view-change", "recovery"].includes(name);

    it("every broken envelope is refused with a Veil error code by every member, and changes nothing", async () => {
      const cases = bases.flatMap((base) => Object.keys(broken).map((mutation) => ({ base, mutation })));
      const before = await settled();
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...cases), fc.nat(1_000), hostile, fc.nat(2), async (c, pick, value, via) => {
          const env = await broken[c.mutation]!(c.base, pick, value);
          const a = await post(urls[via]!, "cluster_replica", env);
          expectStableError(a, `${c.base.name} with ${c.mutation}`);
          expect(await settled(), `state after ${c.base.name} with ${c.mutation}`).to.deep.equal(before);
        }),
        { numRuns: RUNS * 2 },
      );
    });

    it("a well-signed message of a stale view or of a member that does not lead is dropped and changes nothing", async () => {
      const cases = bases
        .filter((b) => !legitimate(b.name))
        .flatMap((base) => Object.keys(faulty).map((mutation) => ({ base, mutation })));
      const before = await settled();
      for (const c of cases) {
        for (let via = 0; via < 3; via++) {
          const a = await post(urls[via]!, "cluster_replica", await faulty[c.mutation]!(c.base));
          if (a.error !== undefined) expectStableError(a, `${c.base.name} with ${c.mutation}`);
        }
        expect(await settled(), `state after ${c.base.name} with ${c.mutation}`).to.deep.equal(before);
      }
      for (let i = 0; i < 3; i++) await validWrite(i);
    });

    it("a member's signed packet with one hostile field: a Veil error code or a harmless answer", async () => {
      let before = await settled();
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...bases),
          fc.nat(1_000),
          hostile,
          fc.nat(2),
          async (base, pick, value, via) => {
            const message = base.payload.messages[0]!;
            const keys = [
              ...Object.keys(base.payload).filter((k) => k !== "messages"),
              ...Object.keys(message).map((k) => `message.${k}`),
            ];
            const key = keys[pick % keys.length]!;
            const inMessage = key.startsWith("message.");
            const field = inMessage ? key.slice("message.".length) : key;
            const current = inMessage ? message[field] : base.payload[field];
            fc.pre(JSON.stringify(value) !== JSON.stringify(current));
            const payload = inMessage
              ? { ...base.payload, messages: [{ ...message, [field]: value }] }
              : { ...base.payload, [field]: value };
            const a = await post(urls[via]!, "cluster_replica", await seal(base, w.members[base.signer], payload));
            if (a.error === undefined) {
              before = await settled(); // e.g. a vote for another view is a legitimate message
              return;
            }
            expectStableError(a, `${base.name} with ${key} = ${JSON.stringify(value)?.slice(0, 100)}`);
            expect(await settled(), `state after ${base.name} with ${key} = ${JSON.stringify(value)}`).to.deep.equal(
              before,
            );
          },
        ),
        { numRuns: RUNS * 2 },
      );
      for (let i = 0; i < 3; i++) await validWrite(i);
    });

    it("a replayed heartbeat or view-change vote of an installed view is answered and changes nothing", async () => {
      const before = await settled();
      // Height 9 was moved to view 1 (leader member 1): replay its view-1 vote and an old view-0 heartbeat.
      const vote = { type: "start-view-change", view: 1, vote: await viewVote(w.members[2]!, domain, MOVED, 1, epoch) };
      const voteEnv = await sealEnvelope(w.members[2]!, domain, w.clusterId, 0, ClusterMessageKind.Replica, {
        rollupId: "7",
        height: MOVED,
        epoch,
        messages: [vote],
      });
      const hbEnv = await sealEnvelope(w.members[0]!, domain, w.clusterId, 0, ClusterMessageKind.Replica, {
        rollupId: "7",
        height: MOVED,
        epoch,
        messages: [{ type: "heartbeat", view: 0, count: 0 }],
      });
      for (let r = 0; r < 3; r++) {
        for (const i of [0, 1]) {
          for (const env of [voteEnv, hbEnv]) {
            const a = await post(urls[i]!, "cluster_replica", env);
            if (a.error !== undefined) expectStableError(a, "replayed message");
          }
        }
      }
      expect(await settled()).to.deep.equal(before);
      for (let i = 0; i < 3; i++) await validWrite(i);
    });

    it("an outsider's wallet, even with a member's address in the payload, is never a member", async () => {
      const outsider = new Wallet(Wallet.createRandom().privateKey);
      const env = await sealEnvelope(outsider, domain, w.clusterId, 0, ClusterMessageKind.Replica, {
        rollupId: "7",
        height: 1,
        epoch,
        messages: [{ type: "start-view-change", view: 1, vote: "0x" + "00".repeat(65) }],
        sender: w.members[0]!.address,
      });
      const a = await post(urls[0]!, "cluster_replica", env);
      expectStableError(a, "outsider packet");
      expect(a.error!.code).to.equal(VEIL_ERRORS.UNAUTHORIZED);
    });
  });
});
