import { expect } from "chai";
import fc from "fast-check";
import http from "node:http";
import pino from "pino";
import { z } from "zod";
import { Health } from "../../sequencer/common/health";
import { createRegistry } from "../../sequencer/common/metrics";
import { STANDARD_ERRORS, VEIL_ERRORS, veilError } from "../../sequencer/rpc/errors";
import { MethodRegistry } from "../../sequencer/rpc/registry";
import { RpcServer, type ListenAddress } from "../../sequencer/rpc/server";

const silent = pino({ level: "silent" });
const MAX_BODY = 4_096;

function testMethods(): MethodRegistry {
  return new MethodRegistry()
    .register("add", {
      params: { a: z.number().int(), b: z.number().int() },
      handler: ({ a, b }) => a + b,
    })
    .register("get_height", {
      params: { rollupId: z.string().regex(/^0x[0-9a-f]+$/), options: z.object({ deep: z.boolean() }).optional() },
      handler: ({ rollupId }) => ({ rollupId, height: 7n }),
    })
    .register("pick_one", {
      params: { index: z.number().int().optional(), name: z.string().optional() },
      refine: {
        check: (p) => (p.index === undefined) !== (p.name === undefined),
        message: "give one of index and name",
      },
      handler: ({ index, name }) => index ?? name,
    })
    .register("seal_it", { params: {}, handler: () => Promise.reject(veilError.heightSealed(3)) })
    .register("crash", {
      params: {},
      handler: () => {
        throw new Error("secret internal detail");
      },
    });
}

async function startServer(
  overrides: Partial<ConstructorParameters<typeof RpcServer>[0]> = {},
): Promise<{ server: RpcServer; address: ListenAddress; health: Health }> {
  const health = new Health();
  const server = new RpcServer({
    methods: testMethods(),
    log: silent,
    metricsRegistry: createRegistry({ processMetrics: false }),
    health,
    maxBodyBytes: MAX_BODY,
    maxBatchSize: 10,
    requestTimeoutMs: 5_000,
    ...overrides,
  });
  const address = await server.listen(0, "127.0.0.1");
  return { server, address, health };
}

async function post(url: string, body: string): Promise<{ status: number; json: unknown; text: string }> {
  const res = await fetch(url, { method: "POST", body, headers: { "content-type": "application/json" } });
  const text = await res.text();
  return { status: res.status, text, json: text === "" ? undefined : (JSON.parse(text) as unknown) };
}

function errorOf(json: unknown): { code: number; message: string } {
  return (json as { error: { code: number; message: string } }).error;
}

describe("JSON-RPC server", () => {
  let server: RpcServer;
  let url: string;
  let health: Health;

  before(async () => {
    ({
      server,
      health,
      address: { url },
    } = await startServer());
  });
  after(() => server.close());

  it("answers a call with named params and with positional params, bigints as decimal strings", async () => {
    expect((await post(url, '{"jsonrpc":"2.0","id":1,"method":"add","params":{"a":2,"b":3}}')).json).to.deep.equal({
      jsonrpc: "2.0",
      id: 1,
      result: 5,
    });
    expect((await post(url, '{"jsonrpc":"2.0","id":"x","method":"add","params":[4,5]}')).json).to.deep.equal({
      jsonrpc: "2.0",
      id: "x",
      result: 9,
    });
    const height = await post(url, '{"jsonrpc":"2.0","id":2,"method":"get_height","params":["0xab"]}');
    expect(height.json).to.deep.equal({ jsonrpc: "2.0", id: 2, result: { rollupId: "0xab", height: "7" } });
  });

  it("answers malformed JSON with -32700 and id null", async () => {
    for (const body of ['{"jsonrpc":"2.0",', "", "nul", "\u0000"]) {
      const { status, json } = await post(url, body);
      expect(status).to.equal(200);
      expect(json).to.have.property("id", null);
      expect(errorOf(json).code).to.equal(STANDARD_ERRORS.PARSE_ERROR);
    }
  });

  it("answers envelopes that are not requests with -32600 naming the problem", async () => {
    const cases: [string, RegExp][] = [
      ['{"jsonrpc":"1.0","id":1,"method":"add"}', /jsonrpc/],
      ['{"jsonrpc":"2.0","id":1,"method":5}', /method/],
      ['{"jsonrpc":"2.0","id":1,"method":"add","params":"x"}', /params/],
      ['{"jsonrpc":"2.0","id":{},"method":"add"}', /id/],
      ['{"jsonrpc":"2.0","id":1,"method":"add","extra":1}', /unknown field "extra"/],
      ["42", /invalid request/],
      ["[]", /empty batch/],
    ];
    for (const [body, message] of cases) {
      const error = errorOf((await post(url, body)).json);
      expect(error.code, body).to.equal(STANDARD_ERRORS.INVALID_REQUEST);
      expect(error.message, body).to.match(message);
    }
    // The id is echoed when it is valid even though the rest is not.
    expect((await post(url, '{"jsonrpc":"1.0","id":9,"method":"add"}')).json).to.have.property("id", 9);
  });

  it("answers an unknown method with -32601, including names inherited from Object", async () => {
    for (const method of ["nope", "constructor", "__proto__", "toString", "hasOwnProperty"]) {
      const error = errorOf((await post(url, JSON.stringify({ jsonrpc: "2.0", id: 1, method }))).json);
      expect(error.code, method).to.equal(STANDARD_ERRORS.METHOD_NOT_FOUND);
    }
  });

  it("answers wrong params with -32602 naming the field, for named and positional params", async () => {
    const cases: [unknown, RegExp][] = [
      [{ a: "2", b: 3 }, /^invalid params: a: .*expected number/],
      [{ a: 2 }, /b: .*expected number, received undefined/],
      [{ a: 1.5, b: 1 }, /a: .*int/],
      [{ a: 1, b: 2, c: 3 }, /unknown field "c"/],
      [["2", 3], /params\[0\] \(a\): .*expected number/],
      [[1, 2, 3], /at most 2 positional params \(a, b\), got 3/],
    ];
    for (const [params, message] of cases) {
      const error = errorOf((await post(url, JSON.stringify({ jsonrpc: "2.0", id: 1, method: "add", params }))).json);
      expect(error.code, JSON.stringify(params)).to.equal(STANDARD_ERRORS.INVALID_PARAMS);
      expect(error.message, JSON.stringify(params)).to.match(message);
    }
    const nested = errorOf(
      (await post(url, '{"jsonrpc":"2.0","id":1,"method":"get_height","params":["0xab",{"deep":1}]}')).json,
    );
    expect(nested.message).to.match(/params\[1\] \(options\)\.deep: /);
  });

  it("applies a method's rule across fields after the fields parse: -32602 with the rule's message", async () => {
    const call = async (params: unknown) =>
      (await post(url, JSON.stringify({ jsonrpc: "2.0", id: 1, method: "pick_one", params }))).json;
    expect(await call({ index: 4 })).to.deep.include({ result: 4 });
    expect(await call({ name: "x" })).to.deep.include({ result: "x" });
    for (const params of [{}, { index: 4, name: "x" }]) {
      const error = errorOf(await call(params));
      expect(error.code, JSON.stringify(params)).to.equal(STANDARD_ERRORS.INVALID_PARAMS);
      expect(error.message, JSON.stringify(params)).to.equal("invalid params: give one of index and name");
    }
    // A field that does not parse is named, whatever the rule.
    expect(errorOf(await call({ index: "4" })).message).to.match(/^invalid params: index: /);
  });

  it("passes typed application errors through with their Veil code and hides internal ones", async () => {
    const sealed = errorOf((await post(url, '{"jsonrpc":"2.0","id":1,"method":"seal_it"}')).json);
    expect(sealed).to.deep.equal({
      code: VEIL_ERRORS.HEIGHT_SEALED,
      message: "height 3 is already sealed",
      data: { height: 3 },
    });
    const internal = errorOf((await post(url, '{"jsonrpc":"2.0","id":1,"method":"crash"}')).json);
    expect(internal.code).to.equal(STANDARD_ERRORS.INTERNAL_ERROR);
    expect(internal.message).to.not.include("secret");
  });

  it("answers a batch call by call, leaves notifications out, and answers 204 to notifications only", async () => {
    const batch = [
      { jsonrpc: "2.0", id: 1, method: "add", params: [1, 1] },
      { jsonrpc: "2.0", method: "add", params: [1, 1] },
      { jsonrpc: "2.0", id: 2, method: "nope" },
      7,
      { jsonrpc: "2.0", id: 3, method: "add", params: { a: "x", b: 1 } },
    ];
    const { json } = await post(url, JSON.stringify(batch));
    const answers = json as { id: unknown; result?: unknown; error?: { code: number } }[];
    expect(answers).to.have.length(4);
    expect(answers[0]).to.deep.include({ id: 1, result: 2 });
    expect(answers[1]?.error?.code).to.equal(STANDARD_ERRORS.METHOD_NOT_FOUND);
    expect(answers[2]).to.deep.include({ id: null });
    expect(answers[2]?.error?.code).to.equal(STANDARD_ERRORS.INVALID_REQUEST);
    expect(answers[3]?.error?.code).to.equal(STANDARD_ERRORS.INVALID_PARAMS);

    const onlyNotifications = await post(url, '[{"jsonrpc":"2.0","method":"add","params":[1,2]}]');
    expect(onlyNotifications.status).to.equal(204);
    expect(onlyNotifications.text).to.equal("");
  });

  it("refuses a batch larger than the limit as a whole", async () => {
    const calls = Array.from({ length: 11 }, (_, i) => ({ jsonrpc: "2.0", id: i, method: "add", params: [1, 1] }));
    const error = errorOf((await post(url, JSON.stringify(calls))).json);
    expect(error.code).to.equal(STANDARD_ERRORS.INVALID_REQUEST);
    expect(error.message).to.match(/batch of 11 calls exceeds the limit of 10/);
  });

  it("refuses an oversize body with 413 and PAYLOAD_TOO_LARGE, declared or streamed, and keeps serving", async () => {
    const big = JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "add",
      params: { a: 1, b: 1, pad: "x".repeat(MAX_BODY) },
    });
    const declared = await post(url, big);
    expect(declared.status).to.equal(413);
    expect(errorOf(declared.json).code).to.equal(VEIL_ERRORS.PAYLOAD_TOO_LARGE);

    // Chunked transfer: no Content-Length, so the limit trips while reading.
    const streamed = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(url, { method: "POST", headers: { "transfer-encoding": "chunked" } }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on("error", reject);
      const chunk = "y".repeat(1_024);
      let sent = 0;
      const pump = (): void => {
        while (sent < 8 && req.write(chunk)) sent += 1;
        if (sent < 8) req.once("drain", pump);
        else req.end();
      };
      pump();
    });
    expect(streamed.status).to.equal(413);
    expect(errorOf(JSON.parse(streamed.body)).code).to.equal(VEIL_ERRORS.PAYLOAD_TOO_LARGE);

    expect((await post(url, '{"jsonrpc":"2.0","id":1,"method":"add","params":[1,2]}')).json).to.have.property(
      "result",
      3,
    );
  });

  it("answers other paths and verbs with HTTP errors", async () => {
    expect((await fetch(`${url}/nowhere`)).status).to.equal(404);
    const get = await fetch(url);
    expect(get.status).to.equal(405);
    expect(errorOf(await get.json()).code).to.equal(STANDARD_ERRORS.INVALID_REQUEST);
    expect((await fetch(`${url}/metrics`, { method: "POST" })).status).to.equal(405);
  });

  it("serves /health with readiness checks and /metrics with call counts", async () => {
    const healthy = await fetch(`${url}/health`);
    expect(healthy.status).to.equal(200);
    expect(await healthy.json()).to.deep.include({ live: true, ready: true });

    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).to.match(/veil_rpc_calls_total\{method="add",outcome="ok"\} \d+/);
    expect(metrics).to.match(/veil_rpc_calls_total\{method="\(unknown\)",outcome="METHOD_NOT_FOUND"\}/);

    health.addReadinessCheck("l1", () => ({ ok: false, detail: "no L1" }));
    const notReady = await fetch(`${url}/health/ready`);
    expect(notReady.status).to.equal(503);
    expect(await notReady.json()).to.deep.nested.include({ ready: false, "checks.l1.detail": "no L1" });
    expect((await fetch(`${url}/health/live`)).status).to.equal(200);
  });

  it("tags every response with a request id", async () => {
    const a = await fetch(`${url}/health/live`);
    const b = await fetch(`${url}/health/live`);
    expect(a.headers.get("x-request-id")).to.match(/^[0-9a-f]{8}-\d+$/);
    expect(a.headers.get("x-request-id")).to.not.equal(b.headers.get("x-request-id"));
  });
});

describe("JSON-RPC server rate limit", () => {
  it("refuses calls beyond the client's burst with RATE_LIMITED and a retry time, then refills", async () => {
    const { server, address } = await startServer({ rateLimit: { ratePerSecond: 20, burst: 3 } });
    try {
      const calls = Array.from({ length: 5 }, (_, i) => ({ jsonrpc: "2.0", id: i, method: "add", params: [i, 0] }));
      const answers = (await post(address.url, JSON.stringify(calls))).json as {
        result?: number;
        error?: { code: number; data: { retryAfterMs: number } };
      }[];
      expect(answers.filter((a) => a.result !== undefined)).to.have.length(3);
      const limited = answers.filter((a) => a.error !== undefined);
      expect(limited).to.have.length(2);
      for (const a of limited) {
        expect(a.error?.code).to.equal(VEIL_ERRORS.RATE_LIMITED);
        expect(a.error?.data.retryAfterMs).to.be.within(1, 100);
      }
      await new Promise((r) => setTimeout(r, 120));
      expect((await post(address.url, '{"jsonrpc":"2.0","id":1,"method":"add","params":[1,2]}')).json).to.have.property(
        "result",
        3,
      );
    } finally {
      await server.close();
    }
  });
});

describe("JSON-RPC server under random input", () => {
  let server: RpcServer;
  let url: string;
  before(async () => {
    ({
      server,
      address: { url },
    } = await startServer({ rateLimit: { ratePerSecond: 1e6, burst: 1e6 } }));
  });
  after(() => server.close());

  const jsonValue = fc.jsonValue({ maxDepth: 3 });
  const callLike = fc.record(
    {
      jsonrpc: fc.oneof(fc.constant("2.0"), jsonValue),
      id: fc.oneof(fc.integer(), fc.string(), fc.constant(null), jsonValue),
      method: fc.oneof(fc.constantFrom("add", "get_height", "seal_it", "crash", "nope"), jsonValue),
      params: fc.oneof(fc.tuple(jsonValue, jsonValue), fc.record({ a: jsonValue, b: jsonValue }), jsonValue),
    },
    { requiredKeys: [] },
  );
  const body = fc.oneof(
    fc.string({ maxLength: 200 }),
    jsonValue.map((v) => JSON.stringify(v)),
    callLike.map((c) => JSON.stringify(c)),
    fc.array(callLike, { maxLength: 12 }).map((c) => JSON.stringify(c)),
    fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString("latin1")),
  );

  function isResponse(value: unknown): boolean {
    if (typeof value !== "object" || value === null) return false;
    const r = value as Record<string, unknown>;
    if (r.jsonrpc !== "2.0" || !("id" in r)) return false;
    if ("result" in r) return !("error" in r);
    const e = r.error as { code?: unknown; message?: unknown } | undefined;
    return typeof e?.code === "number" && Number.isInteger(e.code) && typeof e.message === "string";
  }

  it("answers every body with JSON-RPC responses (or 204) and keeps running", async () => {
    await fc.assert(
      fc.asyncProperty(body, async (b) => {
        const { status, json, text } = await post(url, b);
        if (status === 204) {
          expect(text).to.equal("");
          return;
        }
        expect([200, 413]).to.include(status);
        const responses = Array.isArray(json) ? json : [json];
        expect(responses.length).to.be.greaterThan(0);
        for (const r of responses) expect(isResponse(r), text).to.equal(true);
      }),
      { numRuns: 300 },
    );
    expect((await post(url, '{"jsonrpc":"2.0","id":1,"method":"add","params":[1,2]}')).json).to.have.property(
      "result",
      3,
    );
  });

  it("survives raw garbage on the socket, including broken HTTP", async () => {
    const net = await import("node:net");
    const { port } = new URL(url);
    const garbage = [
      "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
      "\x00\x01\x02 not http\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n{",
    ];
    for (const g of garbage) {
      await new Promise<void>((resolve) => {
        const socket = net.connect(Number(port), "127.0.0.1", () => {
          socket.end(g);
        });
        socket.on("error", () => resolve());
        socket.on("close", () => resolve());
        socket.resume();
      });
    }
    expect((await post(url, '{"jsonrpc":"2.0","id":1,"method":"add","params":[1,2]}')).json).to.have.property(
      "result",
      3,
    );
  });
});
