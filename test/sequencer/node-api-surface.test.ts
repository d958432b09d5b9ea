/**
 * What a running node shows anyone who can reach its port (issue 14): while it starts, its API answers
 * UNAVAILABLE rather than "method does not exist", also when a follower relays it; a body nested
 * 100,000 deep is refused on `/` and `/cluster` (also as a member's envelope) before anything recurses
 * over it, without a stack in the log; and no answer of any read method holds a file-system path.
 *
 * The start-up window is made observable, not timed: member 0 reads L1 through a gate that holds every
 * request until the test opens it, so the node listens but cannot register its API until then.
 */
import { expect } from "chai";
import { network } from "hardhat";
import { keccak256 } from "ethers";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { API_METHODS } from "../../sequencer/api/methods";
import { finalizeResult } from "../../sequencer/api/wire";
import { ClusterMessageKind, signMessage } from "../../sequencer/chain/eip712";
import { configSchema } from "../../sequencer/node/config";
import { startNode } from "../../sequencer/node/node";
import { STANDARD_ERRORS, VEIL_ERRORS } from "../../sequencer/rpc/errors";
import { MAX_JSON_DEPTH } from "../../sequencer/rpc/json-depth";
import { CLUSTER_PATH, UPLOAD_PERMIT_HEADER } from "../../sequencer/rpc/server";
import {
  ROLLUP,
  deployWorld,
  epochNow,
  provenSubmission,
  startMember,
  teardown,
  until,
  type ClusterWorld,
} from "./cluster-harness";

/** No view change may start while member 0 is held at start-up. */
const QUIET = { timeouts: { peerRequestMs: 5_000, heartbeatIntervalMs: 200, leaderTimeoutMs: 600_000 } };
const DEEP = 100_000;

/** An L1 endpoint in front of the in-process Hardhat network that holds every request until opened. */
class GatedL1 {
  held = 0;
  private open = false;
  private readonly waiting: (() => void)[] = [];
  private readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => void this.answer(Buffer.concat(chunks).toString("utf8"), res));
  });

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  release(): void {
    this.open = true;
    for (const go of this.waiting.splice(0)) go();
  }

  async close(): Promise<void> {
    this.release();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async answer(body: string, res: http.ServerResponse): Promise<void> {
    if (!this.open) {
      this.held += 1;
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    type Call = { id: unknown; method: string; params?: unknown[] };
    const one = async (c: Call): Promise<unknown> => {
      try {
        const result: unknown = await network.provider.send(c.method, c.params ?? []);
        return { jsonrpc: "2.0", id: c.id, result };
      } catch (error) {
        const e = error as { code?: number; message?: string; data?: unknown };
        return { jsonrpc: "2.0", id: c.id, error: { code: e.code ?? -32603, message: e.message ?? "", data: e.data } };
      }
    };
    const parsed = JSON.parse(body) as Call | Call[];
    const result = Array.isArray(parsed) ? await Promise.all(parsed.map(one)) : await one(parsed);
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(result));
  }
}

interface Answer {
  readonly status: number;
  readonly text: string;
  readonly json: { result?: unknown; error?: { code: number; message: string; data?: unknown } } | undefined;
}

/** Sends a raw body (a string, so that it can be anything an attacker types) and reads the answer. */
function send(url: string, body: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: "POST",
        headers: { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)), ...headers },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (text += c));
        res.on("end", () => {
          let json: Answer["json"];
          try {
            json = text === "" ? undefined : (JSON.parse(text) as Answer["json"]);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, text, json });
        });
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

const callBody = (method: string, params: unknown = {}): string =>
  JSON.stringify({ jsonrpc: "2.0", id: 1, method, params });

/** Every string of a JSON value that looks like an absolute file-system path, with where it is. */
function pathsIn(value: unknown, known: readonly string[], where = "$"): string[] {
  const found: string[] = [];
  const check = (text: string, at: string): void => {
    // URLs (peers' addresses) have slashes too: their scheme and authority are not a path.
    const bare = text.replace(/[a-z][a-z0-9+.-]*:\/\/[^\s"'/]*/gi, "");
    const looksLikePath = /(^|[\s"'(=,;:])(\/[\w.@+-]+){2,}|(^|[\s"'(=,;:])~\/|(^|[^\w])[a-z]:\\/i.test(bare);
    if (looksLikePath || known.some((k) => text.includes(k))) found.push(`${at}: ${text.slice(0, 120)}`);
  };
  if (typeof value === "string") check(value, where);
  else if (Array.isArray(value)) value.forEach((v, i) => found.push(...pathsIn(v, known, `${where}[${i}]`)));
  else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      check(k, `${where} key`);
      found.push(...pathsIn(v, known, `${where}.${k}`));
    }
  }
  return found;
}

describe("a node's public surface: start-up, hostile bodies, disclosure", function () {
  this.timeout(300_000);
  let w: ClusterWorld;
  let gate: GatedL1;
  let urls: string[];
  const lines: string[] = [];
  const capture = pino({ level: "debug" }, { write: (line: string) => void lines.push(line) });
  /** A height member 0 leads in view 0 (so that a follower forwards writes for it to member 0). */
  let led: number;

  before(async () => {
    w = await deployWorld([0, 1, 2]);
    urls = w.ports.map((p) => `http://127.0.0.1:${p}`);
    await startMember(w, 1, QUIET, {}, capture);
    await startMember(w, 2, QUIET, {}, capture);
    const epoch = await epochNow(w);
    led = [0, 1, 2, 3, 4, 5].find((h) => w.nodes[1]!.sequencer!.leaderOf(h, 0, epoch) === w.members[0]!.address)!;
    expect(led, "a height that member 0 leads").to.not.equal(undefined);

    gate = new GatedL1();
    const l1 = await gate.listen();
    const config = configSchema.parse({
      node: { signingKey: w.members[0]!.privateKey },
      cluster: { id: w.clusterId.toString(), peers: urls.slice(1) },
      rpc: { port: w.ports[0] },
      storage: { path: w.dirs[0] },
      l1: {
        rpcUrl: l1,
        contracts: {
          clusterRegistry: await w.registry.getAddress(),
          validationServiceManager: w.domain.verifyingContract,
        },
      },
      // Longer than the test holds the gate: the node's first L1 read waits instead of timing out.
      timeouts: { ...QUIET.timeouts, l1RequestMs: 600_000 },
    });
    // A real start without an L1 binding handed in: the node listens, then reads L1 in the background.
    w.nodes[0] = await startNode(config, capture, {
      chainId: w.chainId,
      roundKeySource: w.keySource,
      roundSecretSource: w.roundSecrets,
      verifier: w.batcher,
    });
  });
  after(async () => {
    await teardown(w);
    await gate?.close();
  });

  describe("while the node starts (its L1 reads held)", () => {
    it("is live and not ready, and says that its API waits for L1", async () => {
      await until("the node asks L1", () => Promise.resolve(gate.held > 0 ? true : undefined));
      // The operator still learns where the database is: from the start-up log line, not from the API.
      const started = lines.map((l) => JSON.parse(l) as { msg: string; db?: string; nodeAddress?: string });
      expect(started.find((l) => l.msg === "node started" && l.nodeAddress === w.members[0]!.address)?.db).to.equal(
        w.dirs[0],
      );
      const ready = await fetch(`${urls[0]}/health/ready`);
      expect(ready.status).to.equal(503);
      const report = (await ready.json()) as { checks: Record<string, { ok: boolean; detail?: string }> };
      expect(report.checks.api).to.deep.equal({
        ok: false,
        detail: `${API_METHODS.length} methods wait for the cluster to be read from L1`,
      });
      expect((await fetch(`${urls[0]}/health/live`)).status).to.equal(200);
    });

    it("answers UNAVAILABLE, not METHOD_NOT_FOUND, for every method of its API, on / and /cluster", async () => {
      for (const method of API_METHODS) {
        const where = method.startsWith("cluster_") ? `${urls[0]}${CLUSTER_PATH}` : `${urls[0]}/`;
        const { json } = await send(where, callBody(method));
        expect(json?.error?.code, `${method}: ${json?.error?.message}`).to.equal(VEIL_ERRORS.UNAVAILABLE);
        expect(json?.error?.message).to.equal(
          `unavailable: ${method} is not served yet: the node is starting and serves it once it has read its cluster from L1`,
        );
      }
    });

    it("still answers METHOD_NOT_FOUND for a method it will never serve, and serves its status", async () => {
      for (const method of ["get_everything", "constructor", "__proto__"]) {
        expect((await send(`${urls[0]}/`, callBody(method))).json?.error?.code, method).to.equal(
          STANDARD_ERRORS.METHOD_NOT_FOUND,
        );
      }
      const status = (await send(`${urls[0]}/`, callBody("get_cluster_status"))).json?.result;
      expect(status).to.deep.include({ ready: false, nodeAddress: w.members[0]!.address });
    });

    it("refuses a large member upload with UNAVAILABLE (503) while it cannot check permits", async () => {
      const body = callBody("cluster_replica", { pad: "x".repeat(2 * 1024 * 1024) });
      const answer = await send(`${urls[0]}${CLUSTER_PATH}`, body, { [UPLOAD_PERMIT_HEADER]: "0x.1.0x" });
      expect(answer.status).to.equal(503);
      expect(answer.json?.error?.code).to.equal(VEIL_ERRORS.UNAVAILABLE);
    });

    it("a follower relays the starting leader's UNAVAILABLE for a write", async () => {
      const params = { rollupId: "7", height: String(led), rawTx: "0x01020304" };
      const { json } = await send(`${urls[1]}/`, callBody("send_raw_transaction", params));
      expect(json?.error?.code, json?.error?.message).to.equal(VEIL_ERRORS.UNAVAILABLE);
      expect(json?.error?.message).to.match(/send_raw_transaction is not served yet: the node is starting/);
    });
  });

  describe("once L1 answers", () => {
    before(async () => {
      gate.release();
      await until("member 0 is ready", async () =>
        (await fetch(`${urls[0]}/health/ready`)).status === 200 ? true : undefined,
      );
    });

    it("serves every method of its API, lists exactly them, and still refuses unknown ones", async () => {
      const listed = (await send(`${urls[0]}/`, callBody("rpc_methods"))).json?.result as { name: string }[];
      expect(listed.map((m) => m.name).sort()).to.deep.equal(
        [...API_METHODS, "get_cluster_status", "rpc_methods"].sort(),
      );
      const block = await send(`${urls[0]}/`, callBody("get_block", { rollupId: "7", height: "0" }));
      expect(block.json?.result).to.deep.include({ status: "open" });
      expect((await send(`${urls[0]}/`, callBody("get_everything"))).json?.error?.code).to.equal(
        STANDARD_ERRORS.METHOD_NOT_FOUND,
      );
    });

    it("orders the write a follower relayed before", async () => {
      const params = { rollupId: "7", height: String(led), rawTx: "0x01020304" };
      const { json } = await send(`${urls[1]}/`, callBody("send_raw_transaction", params));
      expect(json?.error, json?.error?.message).to.equal(undefined);
    });
  });

  describe("hostile bodies on a running node", () => {
    beforeEach(() => (lines.length = 0));

    /** No error logged, and no stack trace at any level, by any member. */
    const expectQuietLogs = (): void => {
      for (const line of lines) {
        const entry = JSON.parse(line) as { level: number };
        expect(entry.level, line.slice(0, 300)).to.be.below(50);
        expect(line, line.slice(0, 300)).to.not.match(/RangeError|"stack"/);
      }
    };
    const expectTooDeep = (a: Answer, what: string): void => {
      expect(a.status, what).to.equal(200);
      expect(a.json?.error?.code, `${what}: ${a.json?.error?.message}`).to.equal(STANDARD_ERRORS.INVALID_PARAMS);
      expect(a.json?.error?.message, what).to.match(new RegExp(`deeper than ${MAX_JSON_DEPTH} levels`));
    };

    /** A cluster_replica envelope claiming member 1 as its sender, around a raw payload text. */
    const memberEnvelope = (payload: string): string =>
      `{"jsonrpc":"2.0","id":1,"method":"cluster_replica","params":{"message":${JSON.stringify({
        clusterId: w.clusterId.toString(),
        viewNumber: 0,
        sender: w.members[1]!.address,
        kind: ClusterMessageKind.Replica,
        payloadHash: `0x${"00".repeat(32)}`,
      })},"signature":"0x${"11".repeat(65)}","payload":${payload}}}`;
    const nested = (depth: number): string => "[".repeat(depth) + "]".repeat(depth);

    it("refuses a member's envelope nested 100,000 deep on /cluster with INVALID_PARAMS, no stack logged", async () => {
      expectTooDeep(await send(`${urls[2]}${CLUSTER_PATH}`, memberEnvelope(nested(DEEP))), "member envelope");
      expectQuietLogs();
    });

    it("refuses 100,000 levels on / and /cluster, as a call and as a bare body", async () => {
      for (const url of urls) {
        for (const where of [`${url}/`, `${url}${CLUSTER_PATH}`]) {
          expectTooDeep(await send(where, nested(DEEP)), `${where} bare`);
          expectTooDeep(await send(where, memberEnvelope(nested(DEEP))), `${where} envelope`);
        }
      }
      expectQuietLogs();
    });

    it("still checks a member's envelope nested within the limit as far as its signature", async () => {
      const answer = await send(`${urls[2]}${CLUSTER_PATH}`, memberEnvelope(nested(MAX_JSON_DEPTH - 4)));
      expect(answer.json?.error?.code, answer.json?.error?.message).to.equal(VEIL_ERRORS.INVALID_SIGNATURE);
      expect(answer.json?.error?.message).to.match(/payload does not match the signed payloadHash/);
    });

    it("refuses bodies over the byte limits unread with PAYLOAD_TOO_LARGE, no stack logged", async () => {
      const big = nested(1024 * 1024); // 2 MiB, over the public limit of 1 MiB
      const onPublic = await send(`${urls[0]}/`, big);
      expect(onPublic.status).to.equal(413);
      expect(onPublic.json?.error?.code).to.equal(VEIL_ERRORS.PAYLOAD_TOO_LARGE);
      const onCluster = await send(`${urls[0]}${CLUSTER_PATH}`, memberEnvelope(big));
      expect(onCluster.status).to.equal(413);
      expect(onCluster.json?.error?.message).to.match(/needs a member's upload permit/);
      expectQuietLogs();
    });
  });

  describe("disclosure", () => {
    before(async () => {
      // Something in every read: an encrypted and a raw entry, sealed and built at height 0.
      const encrypted = await provenSubmission(w.clients[0]!, 0, "a transfer to carol");
      await w.clients[0]!.call("send_encrypted_transaction", encrypted);
      await w.clients[1]!.call("send_raw_transaction", { rollupId: "7", height: "0", rawTx: "0xc0ffee" });
      const request = { rollupId: ROLLUP, height: 0n, deadline: BigInt(Math.floor(Date.now() / 1000) + 600) };
      finalizeResult.parse(
        await w.clients[0]!.call("finalize_block", {
          request: { rollupId: "7", height: "0", deadline: request.deadline.toString() },
          signature: await signMessage(w.executor, w.domain, "FinalizeRequest", request),
        }),
      );
    });

    it("the path check finds what it is meant to find", () => {
      const known = ["/srv/veil-db"];
      expect(pathsIn({ storage: { path: "/tmp/veil-cluster-x1" } }, known)).to.have.length(1);
      expect(pathsIn(["cannot open /var/lib/veil/db: locked"], known)).to.have.length(1);
      expect(pathsIn({ a: "C:\\veil\\db" }, known)).to.have.length(1);
      expect(pathsIn({ a: "~/veil" }, known)).to.have.length(1);
      expect(pathsIn({ a: "in /srv/veil-db" }, known)).to.have.length(1);
      expect(
        pathsIn({ peers: ["http://127.0.0.1:8550", "https://node.example/veil/"], ok: "a/b", hex: "0xab" }, known),
      ).to.deep.equal([]);
    });

    it("no answer of any read method holds a file-system path, on any member", async () => {
      const known = [...w.dirs, os.tmpdir(), os.homedir(), path.resolve(__dirname, "..", "..")];
      const listed = (await send(`${urls[0]}/`, callBody("rpc_methods"))).json?.result as { name: string }[];
      const reads = listed.map((m) => m.name).filter((n) => n.startsWith("get_") || n === "rpc_methods");
      const some = { rollupId: "7", height: "0" };
      const none = { rollupId: "7", height: "40" };
      const calls: Record<string, readonly unknown[]> = {
        get_cluster_status: [{}],
        rpc_methods: [{}],
        get_encryption_key: [some, { rollupId: "7", height: "50" }],
        get_order_commitment: [
          { ...some, index: 0 },
          { ...some, index: 1 },
          { ...none, index: 0 },
          { ...some, encTxHash: keccak256("0xc0ffee") },
          { ...none, encTxHash: keccak256("0xc0ffee") },
        ],
        get_encrypted_transaction: [
          { ...some, index: 0 },
          { ...some, index: 1 },
          { ...none, index: 0 },
        ],
        get_raw_transaction_list: [some, none],
        get_block: [some, none],
        get_post_merkle_proof: [
          { ...some, index: 1 },
          { ...none, index: 0 },
        ],
        get_sealed_entries: [
          { ...some, from: 0, count: 10 },
          { ...none, from: 0, count: 1 },
        ],
        get_block_height: [{ rollupId: "7" }, { rollupId: "8" }],
      };
      expect(
        reads.filter((m) => calls[m] === undefined),
        "read methods this test does not call",
      ).to.deep.equal([]);
      let answers = 0;
      for (const url of urls) {
        for (const method of reads) {
          for (const params of [...calls[method]!, { bogus: true }, ["x", -1, null]]) {
            const answer = await send(`${url}/`, callBody(method, params));
            expect(answer.json, `${method} ${answer.text.slice(0, 200)}`).to.not.equal(undefined);
            expect(pathsIn(answer.json, known), `${method}(${JSON.stringify(params)})`).to.deep.equal([]);
            answers += 1;
          }
        }
        for (const endpoint of ["/health", "/metrics"]) {
          const text = await (await fetch(`${url}${endpoint}`)).text();
          expect(pathsIn(text.split("\n"), known), endpoint).to.deep.equal([]);
        }
      }
      // The walk saw real answers, not only errors: height 0 is built everywhere.
      const block = (await send(`${urls[2]}/`, callBody("get_raw_transaction_list", some))).json;
      expect(block?.result, JSON.stringify(block?.error)).to.not.equal(undefined);
      expect(answers).to.be.at.least(3 * 3 * reads.length);
    });
  });
});
