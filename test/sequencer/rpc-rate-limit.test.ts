/**
 * The token bucket, and whose bucket a call takes from: the client's IP address, whatever connection it uses and whatever
 * X-Forwarded-For it writes; behind a trusted proxy, the right-most forwarded hop that is not a proxy.
 * The members' cluster path has a bucket of its own.
 */
import { expect } from "chai";
import fc from "fast-check";
import http from "node:http";
import pino from "pino";
import { z } from "zod";
import { Health } from "../../sequencer/common/health";
import { createRegistry } from "../../sequencer/common/metrics";
import { configSchema, loadConfig } from "../../sequencer/node/config";
import {
  clientAddress,
  normalizeAddress,
  parseProxyEntry,
  rateLimitKey,
  trustedProxies,
} from "../../sequencer/rpc/client-address";
import { VEIL_ERRORS } from "../../sequencer/rpc/errors";
import { TokenBucketLimiter } from "../../sequencer/rpc/rate-limit";
import { MethodRegistry } from "../../sequencer/rpc/registry";
import { CLUSTER_PATH, RpcServer, serverLimits } from "../../sequencer/rpc/server";

describe("token bucket rate limiter", () => {
  it("never admits more than burst + rate × elapsed time, for any arrival pattern", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 200 }),
        fc.array(fc.integer({ min: 0, max: 100 }), { minLength: 1, maxLength: 300 }),
        (burst, rate, gapsMs) => {
          let now = 0;
          const limiter = new TokenBucketLimiter({ ratePerSecond: rate, burst }, () => now);
          let admitted = 0;
          for (const gap of gapsMs) {
            now += gap;
            if (limiter.take("c").ok) admitted += 1;
          }
          expect(admitted).to.be.at.most(burst + Math.floor((rate * now) / 1000));
        },
      ),
    );
  });

  it("admits the burst at once, refuses the next call with a retry time, and refills at the rate", () => {
    let now = 0;
    const limiter = new TokenBucketLimiter({ ratePerSecond: 10, burst: 3 }, () => now);
    expect([1, 2, 3].map(() => limiter.take("a").ok)).to.deep.equal([true, true, true]);
    const refused = limiter.take("a");
    expect(refused).to.deep.equal({ ok: false, retryAfterMs: 100 });
    expect(limiter.take("b").ok, "clients have separate buckets").to.equal(true);
    now += 100;
    expect(limiter.take("a").ok).to.equal(true);
    expect(limiter.take("a").ok).to.equal(false);
  });

  it("bounds the number of clients it tracks", () => {
    let now = 0;
    const limiter = new TokenBucketLimiter({ ratePerSecond: 1, burst: 2, maxClients: 10 }, () => now);
    for (let i = 0; i < 100; i++) limiter.take(`client-${i}`);
    expect(limiter.trackedClients).to.be.at.most(10);
    now += 10_000; // everyone has refilled
    limiter.take("late");
    expect(limiter.trackedClients).to.be.at.most(10);
  });

  it("refuses settings that would admit nothing", () => {
    expect(() => new TokenBucketLimiter({ ratePerSecond: 0, burst: 1 })).to.throw(/ratePerSecond > 0/);
    expect(() => new TokenBucketLimiter({ ratePerSecond: 1, burst: 0 })).to.throw(/burst >= 1/);
  });
});

const BURST = 4;
/** So slow that no token comes back during a test. */
const SLOW = { ratePerSecond: 0.001, burst: BURST };

async function startServer(
  extra: Partial<ConstructorParameters<typeof RpcServer>[0]> = {},
): Promise<{ server: RpcServer; url: string }> {
  const server = new RpcServer({
    methods: new MethodRegistry()
      .register("ping", { params: {}, handler: () => "pong" })
      .register("cluster_ping", { params: {}, handler: () => "pong" }),
    log: pino({ level: "silent" }),
    metricsRegistry: createRegistry({ processMetrics: false }),
    health: new Health(),
    maxBodyBytes: 4_096,
    clusterMaxBodyBytes: 8_192,
    maxBatchSize: 10,
    requestTimeoutMs: 5_000,
    rateLimit: SLOW,
    ...extra,
  });
  return { server, url: (await server.listen(0, "127.0.0.1")).url };
}

/** One call on a connection of its own (no keep-alive), with extra headers: "ok" or the error code. */
function call(
  url: string,
  headers: Record<string, string> = {},
  method = "ping",
  onLocalPort?: (port: number) => void,
): Promise<"ok" | number> {
  const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method });
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: "POST",
        agent: false,
        headers: { "content-type": "application/json", connection: "close", ...headers },
      },
      (res) => {
        onLocalPort?.(res.socket.localPort ?? 0);
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (text += c));
        res.on("end", () => {
          const answer = JSON.parse(text) as { result?: unknown; error?: { code: number } };
          resolve(answer.error === undefined ? "ok" : answer.error.code);
        });
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

const LIMITED = VEIL_ERRORS.RATE_LIMITED;

describe("JSON-RPC rate limits: keyed on the client's address", () => {
  it("many connections from one address share one bucket", async () => {
    const { server, url } = await startServer();
    try {
      const ports = new Set<number>();
      const answers = await Promise.all(
        Array.from({ length: 3 * BURST }, () => call(url, {}, "ping", (port) => ports.add(port))),
      );
      expect(ports.size, "each call on its own connection").to.equal(3 * BURST);
      expect(answers.filter((a) => a === "ok")).to.have.length(BURST);
      expect(answers.filter((a) => a === LIMITED)).to.have.length(2 * BURST);
    } finally {
      await server.close();
    }
  });

  it("ignores X-Forwarded-For without trusted proxies: a client cannot pick its bucket", async () => {
    const { server, url } = await startServer();
    try {
      const answers: ("ok" | number)[] = [];
      for (let i = 0; i < 3 * BURST; i++) answers.push(await call(url, { "x-forwarded-for": `203.0.113.${i}` }));
      expect(answers.slice(0, BURST)).to.deep.equal(Array(BURST).fill("ok"));
      expect(answers.slice(BURST)).to.deep.equal(Array(2 * BURST).fill(LIMITED));
    } finally {
      await server.close();
    }
  });

  it("ignores X-Forwarded-For from a peer that is not one of the trusted proxies", async () => {
    const { server, url } = await startServer({ trustProxy: ["10.0.0.0/8", "fd00::/8"] });
    try {
      const answers: ("ok" | number)[] = [];
      for (let i = 0; i < 2 * BURST; i++) answers.push(await call(url, { "x-forwarded-for": `198.51.100.${i}` }));
      expect(answers.filter((a) => a === LIMITED)).to.have.length(BURST);
    } finally {
      await server.close();
    }
  });

  describe("behind a trusted proxy", () => {
    let server: RpcServer;
    let url: string;
    before(async () => ({ server, url } = await startServer({ trustProxy: ["127.0.0.1"] })));
    after(() => server.close());

    it("gives two forwarded clients separate buckets", async () => {
      const first: ("ok" | number)[] = [];
      for (let i = 0; i <= BURST; i++) first.push(await call(url, { "x-forwarded-for": "192.0.2.1" }));
      expect(first.at(-1)).to.equal(LIMITED);
      const second: ("ok" | number)[] = [];
      for (let i = 0; i <= BURST; i++) second.push(await call(url, { "x-forwarded-for": "192.0.2.2" }));
      expect(second.slice(0, BURST)).to.deep.equal(Array(BURST).fill("ok"));
      expect(second.at(-1)).to.equal(LIMITED);
    });

    it("keys on the hop the proxy appended, not on what the client wrote before it", async () => {
      const answers: ("ok" | number)[] = [];
      for (let i = 0; i <= BURST; i++) {
        answers.push(await call(url, { "x-forwarded-for": `198.18.0.${i}, 127.0.0.1, 192.0.2.3` }));
      }
      expect(answers.slice(0, BURST)).to.deep.equal(Array(BURST).fill("ok"));
      expect(answers.at(-1)).to.equal(LIMITED);
    });

    it("treats a request without X-Forwarded-For as the proxy's own", async () => {
      const answers: ("ok" | number)[] = [];
      for (let i = 0; i <= BURST; i++) answers.push(await call(url));
      expect(answers.at(-1)).to.equal(LIMITED);
      expect(await call(url, { "x-forwarded-for": "192.0.2.4" })).to.equal("ok");
    });
  });

  it("gives the cluster path its own bucket: public calls do not spend members' tokens, nor the reverse", async () => {
    const { server, url } = await startServer({ clusterRateLimit: { ratePerSecond: 0.001, burst: 2 * BURST } });
    try {
      for (let i = 0; i < BURST; i++) expect(await call(url)).to.equal("ok");
      expect(await call(url)).to.equal(LIMITED);
      const cluster: ("ok" | number)[] = [];
      for (let i = 0; i <= 2 * BURST; i++) cluster.push(await call(`${url}${CLUSTER_PATH}`, {}, "cluster_ping"));
      expect(cluster.slice(0, 2 * BURST)).to.deep.equal(Array(2 * BURST).fill("ok"));
      expect(cluster.at(-1)).to.equal(LIMITED);
      // cluster_* methods called on `/` are public calls (the public bucket, empty by now).
      expect(await call(url, {}, "cluster_ping")).to.equal(LIMITED);
    } finally {
      await server.close();
    }
  });

  it("leaves the cluster path unlimited without a cluster bucket, and `/` without a public one", async () => {
    const { server, url } = await startServer({ rateLimit: undefined });
    try {
      for (let i = 0; i < 3 * BURST; i++) expect(await call(url)).to.equal("ok");
      for (let i = 0; i < 3 * BURST; i++)
        expect(await call(`${url}${CLUSTER_PATH}`, {}, "cluster_ping")).to.equal("ok");
    } finally {
      await server.close();
    }
  });
});

describe("client addresses and buckets", () => {
  const trusted = trustedProxies(["10.0.0.0/8", "2001:db8:ffff::/48", "192.0.2.10"]);

  it("takes the right-most forwarded hop that is not a trusted proxy", () => {
    expect(clientAddress("10.1.2.3", "198.51.100.7", trusted)).to.equal("198.51.100.7");
    expect(clientAddress("10.1.2.3", "6.6.6.6, 198.51.100.7, 10.9.9.9", trusted)).to.equal("198.51.100.7");
    expect(clientAddress("10.1.2.3", ["6.6.6.6", "198.51.100.7,192.0.2.10"], trusted)).to.equal("198.51.100.7");
    expect(clientAddress("10.1.2.3", "2001:db8:1::5, 2001:db8:ffff::1", trusted)).to.equal("2001:db8:1::5");
  });

  it("ignores the header when the peer is not trusted, or when no proxy is", () => {
    expect(clientAddress("198.51.100.7", "10.0.0.1", trusted)).to.equal("198.51.100.7");
    expect(clientAddress("10.1.2.3", "198.51.100.7", undefined)).to.equal("10.1.2.3");
  });

  it("takes the left-most hop when all are trusted, and stops at a hop that is not an address", () => {
    expect(clientAddress("10.1.2.3", "10.0.0.7, 10.0.0.8", trusted)).to.equal("10.0.0.7");
    expect(clientAddress("10.1.2.3", "198.51.100.7, bogus, 10.0.0.8", trusted)).to.equal("10.0.0.8");
    expect(clientAddress("10.1.2.3", "", trusted)).to.equal("10.1.2.3");
  });

  it("spells an address one way: IPv4-mapped, zones, brackets and ports removed, lower case", () => {
    expect(normalizeAddress("::ffff:127.0.0.1")).to.equal("127.0.0.1");
    expect(normalizeAddress(" 198.51.100.7:8080 ")).to.equal("198.51.100.7");
    expect(normalizeAddress("[2001:DB8::1]:443")).to.equal("2001:db8::1");
    expect(normalizeAddress("fe80::1%eth0")).to.equal("fe80::1");
    expect(normalizeAddress("unknown")).to.equal(undefined);
    expect(normalizeAddress("999.1.1.1")).to.equal(undefined);
    expect(clientAddress("::ffff:10.1.2.3", "198.51.100.7", trusted)).to.equal("198.51.100.7");
  });

  it("gives an IPv4 address its own bucket and an IPv6 address its /64's", () => {
    expect(rateLimitKey("198.51.100.7")).to.equal("198.51.100.7");
    expect(rateLimitKey("2001:db8:1:2:aaaa::1")).to.equal("2001:db8:1:2::/64");
    expect(rateLimitKey("2001:db8:1:2:bbbb:cccc:dddd:eeee")).to.equal("2001:db8:1:2::/64");
    expect(rateLimitKey("2001:db8:1:3::1")).to.not.equal(rateLimitKey("2001:db8:1:2::1"));
    expect(rateLimitKey("::1")).to.equal("0:0:0:0::/64");
    expect(rateLimitKey("64:ff9b::192.0.2.1")).to.equal("64:ff9b:0:0::/64");
  });

  it("accepts addresses and CIDR blocks as trusted proxies and refuses anything else", () => {
    for (const ok of ["127.0.0.1", "10.0.0.0/8", "::1", "fd00::/8", "0.0.0.0/0"]) {
      expect(parseProxyEntry(ok), ok).to.not.equal(undefined);
    }
    for (const bad of ["", "localhost", "10.0.0.0/33", "::/129", "10.0.0.0/8/1", "10.0.0.0/x", "*"]) {
      expect(parseProxyEntry(bad), bad).to.equal(undefined);
    }
    expect(() => trustedProxies(["localhost"])).to.throw(/not an IP address or a CIDR block/);
  });
});

describe("rate-limit configuration of a node", () => {
  const base = {
    node: { signingKey: `0x${"11".repeat(32)}` },
    cluster: { id: "1" },
    storage: { path: "/var/veil" },
    l1: {
      rpcUrl: "http://127.0.0.1:8545",
      contracts: { clusterRegistry: `0x${"22".repeat(20)}`, validationServiceManager: `0x${"33".repeat(20)}` },
    },
  };

  it("limits both paths by default, trusts no proxy, and passes it all to the server", () => {
    const config = configSchema.parse(base);
    expect(config.rpc.rateLimit.enabled).to.equal(true);
    expect(config.rpc.clusterRateLimit).to.deep.equal({ enabled: true, ratePerSecond: 5_000, burst: 10_000 });
    expect(config.rpc.trustProxy).to.deep.equal([]);
    const limits = serverLimits(config.rpc);
    expect(limits.rateLimit).to.deep.equal({ ratePerSecond: 500, burst: 1_000 });
    expect(limits.clusterRateLimit).to.deep.equal({ ratePerSecond: 5_000, burst: 10_000 });
    expect(limits).to.not.have.property("trustProxy");
  });

  it("reads trusted proxies from a list, and refuses an entry that is not an address or a block", () => {
    const config = configSchema.parse({ ...base, rpc: { trustProxy: ["10.0.0.0/8", "::1"] } });
    expect(serverLimits(config.rpc).trustProxy).to.deep.equal(["10.0.0.0/8", "::1"]);
    const refused = configSchema.safeParse({ ...base, rpc: { trustProxy: ["proxy.internal"] } });
    expect(refused.success).to.equal(false);
    expect(z.prettifyError(refused.error!)).to.match(/IP address or a CIDR block/);
  });

  it("takes trusted proxies and the cluster bucket from environment variables", () => {
    const env = {
      VEIL_NODE__NODE__SIGNING_KEY: base.node.signingKey,
      VEIL_NODE__CLUSTER__ID: "1",
      VEIL_NODE__STORAGE__PATH: "/var/veil",
      VEIL_NODE__L1__RPC_URL: base.l1.rpcUrl,
      VEIL_NODE__L1__CONTRACTS__CLUSTER_REGISTRY: base.l1.contracts.clusterRegistry,
      VEIL_NODE__L1__CONTRACTS__VALIDATION_SERVICE_MANAGER: base.l1.contracts.validationServiceManager,
      VEIL_NODE__RPC__TRUST_PROXY: "10.0.0.0/8, ::1",
      VEIL_NODE__RPC__CLUSTER_RATE_LIMIT__RATE_PER_SECOND: "50",
      VEIL_NODE__RPC__CLUSTER_RATE_LIMIT__ENABLED: "false",
    };
    const config = loadConfig(undefined, env);
    expect(config.rpc.trustProxy).to.deep.equal(["10.0.0.0/8", "::1"]);
    expect(config.rpc.clusterRateLimit).to.deep.include({ enabled: false, ratePerSecond: 50 });
    expect(serverLimits(config.rpc)).to.not.have.property("clusterRateLimit");
    expect(() => loadConfig(undefined, { ...env, VEIL_NODE__RPC__TRUST_PROXY: "10.0.0.0/8,proxy.internal" })).to.throw(
      /rpc\.trustProxy\.1: .*CIDR block.*VEIL_NODE__RPC__TRUST_PROXY/,
    );
  });
});
