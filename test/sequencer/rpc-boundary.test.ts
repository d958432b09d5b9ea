/**
 * What the JSON-RPC server does with hostile bodies before any method sees them: a body nested
 * deeper than MAX_JSON_DEPTH is refused with INVALID_PARAMS on every endpoint that reads a body, a body
 * over its byte limit with PAYLOAD_TOO_LARGE unread, and neither leaves a stack trace in the log. The
 * member method here hashes its payload with the node's own canonicalJson, the recursion that overflowed.
 */
import { expect } from "chai";
import http from "node:http";
import pino from "pino";
import { z } from "zod";
import { Health } from "../../sequencer/common/health";
import { createRegistry } from "../../sequencer/common/metrics";
import { canonicalJson } from "../../sequencer/node/cluster/envelope";
import { STANDARD_ERRORS, VEIL_ERRORS } from "../../sequencer/rpc/errors";
import { MAX_JSON_DEPTH, nestingBeyond } from "../../sequencer/rpc/json-depth";
import { MethodRegistry } from "../../sequencer/rpc/registry";
import { CLUSTER_PATH, RpcServer } from "../../sequencer/rpc/server";

const PUBLIC_LIMIT = 1024 * 1024; // above the 500 kB of 100,000 nested objects, so that the depth is what trips
const CLUSTER_LIMIT = 4 * 1024 * 1024;
const DEEP = 100_000;

/** A body of `depth` nested arrays, as an attacker types it (never built as a value). */
const nestedArrays = (depth: number): string => "[".repeat(depth) + "]".repeat(depth);
/** A call whose params nest `depth` levels below the call object. */
const deepCall = (method: string, depth: number): string =>
  `{"jsonrpc":"2.0","id":1,"method":"${method}","params":{"payload":${nestedArrays(depth)}}}`;

interface Answer {
  readonly status: number;
  readonly text: string;
  readonly json: unknown;
}

/** Posts a raw body (or sends `verb` with it) and reads the whole answer. */
function send(url: string, body: string, verb = "POST"): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers = { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) };
    const req = http.request(url, { method: verb, headers }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (text += c));
      res.on("end", () => {
        let json: unknown;
        try {
          json = text === "" ? undefined : (JSON.parse(text) as unknown);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, text, json });
      });
    });
    req.on("error", reject);
    req.end(body);
  });
}

const errorOf = (json: unknown): { code: number; message: string; data?: unknown } =>
  (json as { error: { code: number; message: string; data?: unknown } }).error;

describe("JSON-RPC server boundary: deep and large bodies", () => {
  const lines: string[] = [];
  const log = pino({ level: "trace" }, { write: (line: string) => void lines.push(line) });
  let server: RpcServer;
  let base: string;
  let hashed = 0;

  before(async () => {
    const methods = new MethodRegistry()
      .register("echo", { params: { payload: z.unknown() }, handler: ({ payload }) => payload })
      .register("cluster_hash", {
        params: { payload: z.unknown() },
        handler: ({ payload }) => ((hashed += 1), canonicalJson(payload).length),
      });
    server = new RpcServer({
      methods,
      log,
      metricsRegistry: createRegistry({ processMetrics: false }),
      health: new Health(),
      maxBodyBytes: PUBLIC_LIMIT,
      clusterMaxBodyBytes: CLUSTER_LIMIT,
      maxBatchSize: 10,
      requestTimeoutMs: 5_000,
    });
    base = (await server.listen(0, "127.0.0.1")).url;
  });
  after(() => server.close());
  beforeEach(() => (lines.length = 0));

  /** Nothing logged at warn or above, and no stack trace at any level. */
  const expectQuietLog = (): void => {
    for (const line of lines) {
      const entry = JSON.parse(line) as { level: number; err?: unknown };
      expect(entry.level, line.slice(0, 300)).to.be.below(40);
      expect(line, line.slice(0, 300)).to.not.match(/RangeError|"stack"/);
    }
  };

  const expectTooDeep = (answer: Answer, what: string): void => {
    expect(answer.status, what).to.equal(200);
    const error = errorOf(answer.json);
    expect(error.code, `${what}: ${error.message}`).to.equal(STANDARD_ERRORS.INVALID_PARAMS);
    expect(error.message, what).to.match(new RegExp(`deeper than ${MAX_JSON_DEPTH} levels`));
    expect(error.data, what).to.deep.equal({ maxDepth: MAX_JSON_DEPTH });
  };

  it("answers a member call nested 100,000 deep on the cluster path with INVALID_PARAMS, before hashing it", async () => {
    const before = hashed;
    expectTooDeep(await send(`${base}${CLUSTER_PATH}`, deepCall("cluster_hash", DEEP)), "/cluster");
    expect(hashed).to.equal(before);
    expectQuietLog();
  });

  it("answers bodies nested 100,000 deep on the public path with INVALID_PARAMS: a call, bare arrays, objects, a batch", async () => {
    const bodies: [string, string][] = [
      ["call", deepCall("echo", DEEP)],
      ["cluster call on /", deepCall("cluster_hash", DEEP)],
      ["bare arrays", nestedArrays(DEEP)],
      ["objects", '{"a":'.repeat(DEEP) + "1" + "}".repeat(DEEP)],
      ["batch", `[{"jsonrpc":"2.0","id":1,"method":"echo","params":[1]},${deepCall("echo", DEEP)}]`],
      ["unterminated", "[".repeat(DEEP)],
    ];
    for (const [what, body] of bodies) expectTooDeep(await send(`${base}/`, body), what);
    expectQuietLog();
  });

  it("answers 100,000 levels sent to the endpoints that read no body as they answer any request, and keeps serving", async () => {
    const deep = nestedArrays(DEEP);
    expect((await send(`${base}/health`, deep, "GET")).status).to.equal(200);
    expect((await send(`${base}/health`, deep)).status).to.equal(405);
    expect((await send(`${base}/metrics`, deep)).status).to.equal(405);
    expect((await send(`${base}/nowhere`, deep)).status).to.equal(404);
    expect((await send(`${base}/`, deep, "PUT")).status).to.equal(405);
    const ok = await send(`${base}/`, '{"jsonrpc":"2.0","id":1,"method":"echo","params":[[1]]}');
    expect(ok.json).to.have.property("result").that.deep.equals([1]);
    expectQuietLog();
  });

  it("serves the deepest body allowed and refuses one level more", async () => {
    // The call object is level 1, params level 2, payload level 3: payload nests MAX - 2 arrays at most.
    const allowed = await send(`${base}${CLUSTER_PATH}`, deepCall("cluster_hash", MAX_JSON_DEPTH - 2));
    expect(allowed.json, allowed.text).to.have.property("result");
    expect((await send(`${base}/`, deepCall("echo", MAX_JSON_DEPTH - 2))).json).to.have.property("result");
    expectTooDeep(await send(`${base}${CLUSTER_PATH}`, deepCall("cluster_hash", MAX_JSON_DEPTH - 1)), "one more");
  });

  it("does not count brackets inside strings, escaped quotes included", async () => {
    const text = `"${'[{\\"'.repeat(1_000)}"`;
    const answer = await send(`${base}/`, `{"jsonrpc":"2.0","id":1,"method":"echo","params":[${text}]}`);
    expect(answer.json, answer.text.slice(0, 200)).to.have.property("result", JSON.parse(text));
  });

  it("refuses a body over the byte limit unread with PAYLOAD_TOO_LARGE on both paths, whatever it nests", async () => {
    const publicBody = deepCall("echo", PUBLIC_LIMIT); // 2 bytes per level: twice the limit
    const clusterBody = deepCall("cluster_hash", CLUSTER_LIMIT);
    for (const [url, body, limit] of [
      [`${base}/`, publicBody, PUBLIC_LIMIT],
      [`${base}${CLUSTER_PATH}`, clusterBody, CLUSTER_LIMIT],
      [`${base}/`, `{"jsonrpc":"2.0","id":1,"method":"echo","params":["${"x".repeat(PUBLIC_LIMIT)}"]}`, PUBLIC_LIMIT],
    ] as const) {
      const answer = await send(url, body);
      expect(answer.status, url).to.equal(413);
      const error = errorOf(answer.json);
      expect(error.code).to.equal(VEIL_ERRORS.PAYLOAD_TOO_LARGE);
      expect(error.message).to.match(new RegExp(`exceeds the limit of ${limit} bytes`));
    }
    expectQuietLog();
  });
});

describe("nestingBeyond: the depth scan of a raw body", () => {
  it("finds where a body first nests too deep, and nothing in bodies within the limit", () => {
    expect(nestingBeyond("[[[]]]", 3)).to.equal(undefined);
    expect(nestingBeyond("[[[[]]]]", 3)).to.equal(3);
    expect(nestingBeyond('{"a":{"b":[1]}}', 3)).to.equal(undefined);
    expect(nestingBeyond('{"a":{"b":[{}]}}', 3)).to.equal(11);
    expect(nestingBeyond("[[],[],[],[]]", 2)).to.equal(undefined);
  });

  it("skips strings, escaped quotes and backslashes included", () => {
    expect(nestingBeyond('["[[[[", "\\"[[[[", "\\\\"]', 1)).to.equal(undefined);
    expect(nestingBeyond('["\\\\", [[', 2)).to.equal(8);
    expect(nestingBeyond('"[[[[', 1)).to.equal(undefined);
  });

  it("agrees with the depth of values JSON.stringify writes", () => {
    let value: unknown = 1;
    for (let depth = 1; depth <= 80; depth++) {
      value = depth % 2 === 0 ? [value, "]]", { x: "[" }] : { k: value, s: '\\"{' };
      const text = JSON.stringify(value);
      expect(nestingBeyond(text, MAX_JSON_DEPTH) === undefined, `depth ${depth}`).to.equal(depth <= MAX_JSON_DEPTH);
    }
  });
});
