import { expect } from "chai";
import fc from "fast-check";
import pino from "pino";
import { z } from "zod";
import { Health } from "../../sequencer/common/health";
import { createRegistry } from "../../sequencer/common/metrics";
import { clusterUrl } from "../../sequencer/node/cluster/peers";
import { STANDARD_ERRORS, VEIL_ERRORS } from "../../sequencer/rpc/errors";
import { MethodRegistry } from "../../sequencer/rpc/registry";
import { CLUSTER_PATH, RpcServer, UPLOAD_PERMIT_HEADER, serverLimits } from "../../sequencer/rpc/server";
import { UploadPermits } from "../../sequencer/node/cluster/upload-permit";
import { veilDomain } from "../../sequencer/chain/eip712";
import { Wallet } from "ethers";
import http from "node:http";

const silent = pino({ level: "silent" });
const PUBLIC_LIMIT = 4_096;
const CLUSTER_LIMIT = 64 * 1024;

/** A public method and a member method, each echoing the length of what it was sent. */
function methods(): MethodRegistry {
  return new MethodRegistry()
    .register("echo_length", { params: { data: z.string() }, handler: ({ data }) => data.length })
    .register("cluster_echo_length", { params: { data: z.string() }, handler: ({ data }) => data.length });
}

function server(
  clusterMaxBodyBytes: number | undefined,
  extra: Partial<ConstructorParameters<typeof RpcServer>[0]> = {},
): RpcServer {
  return new RpcServer({
    ...extra,
    methods: extra.methods ?? methods(),
    log: silent,
    metricsRegistry: createRegistry({ processMetrics: false }),
    health: new Health(),
    maxBodyBytes: PUBLIC_LIMIT,
    ...(clusterMaxBodyBytes === undefined ? {} : { clusterMaxBodyBytes }),
    maxBatchSize: 10,
    requestTimeoutMs: 5_000,
  });
}

const call = (method: string, data: string, id = 1): string =>
  JSON.stringify({ jsonrpc: "2.0", id, method, params: { data } });

async function post(
  url: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: unknown }> {
  const res = await fetch(url, { method: "POST", body, headers: { "content-type": "application/json", ...headers } });
  const text = await res.text();
  return { status: res.status, json: text === "" ? undefined : (JSON.parse(text) as unknown) };
}
const errorCode = (json: unknown): number | undefined => (json as { error?: { code: number } }).error?.code;
const resultOf = (json: unknown): unknown => (json as { result?: unknown }).result;

describe("JSON-RPC server: the members' cluster path", () => {
  let rpc: RpcServer;
  let base: string;

  before(async () => {
    rpc = server(CLUSTER_LIMIT);
    base = (await rpc.listen(0, "127.0.0.1")).url;
  });
  after(() => rpc.close());

  it("serves a cluster_* call larger than the public limit on the cluster path", async () => {
    const data = "x".repeat(PUBLIC_LIMIT * 4);
    const answer = await post(`${base}${CLUSTER_PATH}`, call("cluster_echo_length", data));
    expect(answer.status).to.equal(200);
    expect(resultOf(answer.json)).to.equal(data.length);
  });

  it("keeps the public limit on / for the same cluster_* call", async () => {
    const answer = await post(`${base}/`, call("cluster_echo_length", "x".repeat(PUBLIC_LIMIT * 4)));
    expect(answer.status).to.equal(413);
    expect(errorCode(answer.json)).to.equal(VEIL_ERRORS.PAYLOAD_TOO_LARGE);
  });

  it("still serves small cluster_* calls on / (members that have not moved to the cluster path)", async () => {
    const answer = await post(`${base}/`, call("cluster_echo_length", "abc"));
    expect(resultOf(answer.json)).to.equal(3);
  });

  it("refuses a body over the cluster limit on the cluster path with 413", async () => {
    const answer = await post(`${base}${CLUSTER_PATH}`, call("cluster_echo_length", "x".repeat(CLUSTER_LIMIT)));
    expect(answer.status).to.equal(413);
    expect(errorCode(answer.json)).to.equal(VEIL_ERRORS.PAYLOAD_TOO_LARGE);
  });

  it("answers METHOD_NOT_FOUND on the cluster path for every method that is not cluster_*, whatever its size", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("echo_length", "rpc_methods", "send_raw_transaction", "clusterecho", "x_cluster_echo"),
        fc.integer({ min: 0, max: PUBLIC_LIMIT * 4 }),
        async (method, size) => {
          const answer = await post(`${base}${CLUSTER_PATH}`, call(method, "y".repeat(size)));
          expect(answer.status).to.equal(200);
          expect(errorCode(answer.json)).to.equal(STANDARD_ERRORS.METHOD_NOT_FOUND);
        },
      ),
      { numRuns: 12 },
    );
  });

  it("applies the restriction to every call of a batch on the cluster path", async () => {
    const body = `[${call("cluster_echo_length", "ab", 1)},${call("echo_length", "ab", 2)}]`;
    const answer = (await post(`${base}${CLUSTER_PATH}`, body)).json as { id: number; result?: number }[];
    const byId = new Map(answer.map((a) => [a.id, a]));
    expect(byId.get(1)?.result).to.equal(2);
    expect(errorCode(byId.get(2))).to.equal(STANDARD_ERRORS.METHOD_NOT_FOUND);
  });

  it("has no cluster path when no cluster limit is configured (404)", async () => {
    const plain = server(undefined);
    const url = (await plain.listen(0, "127.0.0.1")).url;
    try {
      expect((await post(`${url}${CLUSTER_PATH}`, call("cluster_echo_length", "a"))).status).to.equal(404);
      expect(resultOf((await post(`${url}/`, call("cluster_echo_length", "a"))).json)).to.equal(1);
    } finally {
      await plain.close();
    }
  });

  it("rejects a non-positive cluster limit at construction", () => {
    expect(() => server(0)).to.throw(/clusterMaxBodyBytes/);
  });

  it("serverLimits passes the cluster limit through only when the config has one", () => {
    const rpcSettings = {
      maxBodyBytes: 1,
      maxBatchSize: 2,
      requestTimeoutMs: 3,
      rateLimit: { enabled: false, ratePerSecond: 1, burst: 1 },
    };
    expect(serverLimits({ ...rpcSettings, clusterMaxBodyBytes: 9 }).clusterMaxBodyBytes).to.equal(9);
    expect(serverLimits(rpcSettings)).to.not.have.property("clusterMaxBodyBytes");
  });

  it("members address each other's cluster path under the configured URL, path prefixes kept", () => {
    expect(clusterUrl("http://127.0.0.1:8550")).to.equal("http://127.0.0.1:8550/cluster");
    expect(clusterUrl("http://127.0.0.1:8550/")).to.equal("http://127.0.0.1:8550/cluster");
    expect(clusterUrl("https://node.example/veil/")).to.equal("https://node.example/veil/cluster");
  });

  describe("with upload permits (as a node serves it)", () => {
    const member = Wallet.createRandom() as unknown as Wallet;
    const permits = new UploadPermits({
      wallet: member,
      domain: veilDomain(31337n, "0x" + "cd".repeat(20)),
      clusterId: 1n,
      isMember: (a) => a === member.address,
    });
    let gated: RpcServer;
    let url: string;
    let calls = 0;
    before(async () => {
      const counted = new MethodRegistry().register("cluster_echo_length", {
        params: { data: z.string() },
        handler: ({ data }) => ((calls += 1), data.length),
      });
      gated = server(CLUSTER_LIMIT, {
        methods: counted,
        clusterUploadPermit: (permit, bytes) => permits.refusal(permit, bytes),
      });
      url = `${(await gated.listen(0, "127.0.0.1")).url}${CLUSTER_PATH}`;
    });
    after(() => gated.close());
    const large = call("cluster_echo_length", "x".repeat(PUBLIC_LIMIT * 4));

    it("refuses a cluster body over the public limit without a permit, unread (413), and runs nothing", async () => {
      const before = calls;
      const answer = await post(url, large);
      expect(answer.status).to.equal(413);
      expect(errorCode(answer.json)).to.equal(VEIL_ERRORS.PAYLOAD_TOO_LARGE);
      expect((answer.json as { error: { message: string } }).error.message).to.match(
        /needs a member's upload permit: no x-veil-upload-permit header/,
      );
      expect(calls).to.equal(before);
    });

    it("reads it with a member's permit for its size, and refuses a permit for another size", async () => {
      const bytes = Buffer.byteLength(large);
      const ok = await post(url, large, { [UPLOAD_PERMIT_HEADER]: permits.issue(bytes) });
      expect(resultOf(ok.json)).to.equal(PUBLIC_LIMIT * 4);
      const other = await post(url, large, { [UPLOAD_PERMIT_HEADER]: permits.issue(bytes + 1) });
      expect(other.status).to.equal(413);
      expect((other.json as { error: { message: string } }).error.message).to.match(/for a body of \d+ bytes/);
    });

    it("needs no permit up to the public limit", async () => {
      expect(resultOf((await post(url, call("cluster_echo_length", "abc"))).json)).to.equal(3);
    });

    it("holds a body of undeclared size (chunked) to the public limit, even with a permit", async () => {
      const status = await new Promise<number>((resolve, reject) => {
        const req = http.request(
          url,
          { method: "POST", headers: { [UPLOAD_PERMIT_HEADER]: permits.issue(1) } },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on("error", reject);
        for (let i = 0; i < 4; i++) req.write(large.slice(i * PUBLIC_LIMIT, (i + 1) * PUBLIC_LIMIT));
        req.end(large.slice(4 * PUBLIC_LIMIT));
      });
      expect(status).to.equal(413);
    });
  });
});
