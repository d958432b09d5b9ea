/**
 * JSON-RPC 2.0 over HTTP on node:http, with `/health` and `/metrics` on the same port.
 *
 * Every input ends in a JSON-RPC answer or an HTTP status, never in an exception that escapes: the
 * body is read with a byte limit, its nesting checked on the raw text (json-depth.ts), parsed, each
 * call is checked against the envelope schema, the rate limit and then its method's params schema,
 * and only typed RpcErrors reach the client verbatim.
 */
import { randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { Health } from "../common/health";
import { clientAddress, rateLimitKey, trustedProxies } from "./client-address";
import { RpcError, veilError } from "./errors";
import { MAX_JSON_DEPTH, nestingBeyond, nestingProblem } from "./json-depth";
import { createRpcMetrics, type RpcMetrics } from "./metrics";
import { idOf, requestSchema, stringifyJson, type JsonRpcId, type JsonRpcResponse } from "./protocol";
import { TokenBucketLimiter, type RateLimitSettings } from "./rate-limit";
import { describeIssues, type CallContext, type MethodRegistry } from "./registry";

/** The HTTP header in which members count how often an external write was forwarded. */
export const FORWARD_HOPS_HEADER = "x-veil-forward-hops";

/**
 * The path on which members call each other's `cluster_*` methods. It has its own, larger body limit
 * (a view change carries a height's whole log) and dispatches nothing else, so that the larger limit
 * buys an external client nothing on the public methods.
 */
export const CLUSTER_PATH = "/cluster";
/** A member's permit to send a cluster body over the public limit (sequencer/node/cluster/upload-permit.ts). */
export const UPLOAD_PERMIT_HEADER = "x-veil-upload-permit";
const CLUSTER_METHOD_PREFIX = "cluster_";

/** Which endpoint a body arrived on: `/` (every method) or CLUSTER_PATH (member-to-member methods only). */
export type Endpoint = "public" | "cluster";

export interface RpcServerOptions {
  readonly methods: MethodRegistry;
  readonly log: Logger;
  readonly metricsRegistry: Registry;
  readonly health: Health;
  readonly maxBodyBytes: number;
  /** Body limit of CLUSTER_PATH; omit to serve no cluster path (processes that are not sequencer nodes). */
  readonly clusterMaxBodyBytes?: number;
  /**
   * Admits a CLUSTER_PATH body larger than `maxBodyBytes` before it is read: given the request's
   * UPLOAD_PERMIT_HEADER and its declared size, why it may not be sent (413), an UNAVAILABLE error
   * while permits cannot be checked yet (503), or undefined. Without it every cluster body up to
   * `clusterMaxBodyBytes` is read.
   */
  readonly clusterUploadPermit?: (permit: string | undefined, bodyBytes: number) => string | RpcError | undefined;
  readonly maxBatchSize: number;
  /** Per-client token bucket of `/` (a client is an IP address, see client-address.ts); omit to disable. */
  readonly rateLimit?: RateLimitSettings;
  /**
   * Per-client token bucket of CLUSTER_PATH, separate from `/`'s so that members' traffic never
   * competes with public calls from the same address; omit to leave the cluster path unlimited.
   */
  readonly clusterRateLimit?: RateLimitSettings;
  /**
   * Addresses and CIDR blocks of reverse proxies whose X-Forwarded-For names the client (client-address.ts);
   * empty or omitted: the header is ignored and the TCP peer is the client.
   */
  readonly trustProxy?: readonly string[];
  /** Time a client has to send its whole request (headers and body). */
  readonly requestTimeoutMs: number;
}

/** The `enabled`/`ratePerSecond`/`burst` section of a config (`rpc.rateLimit`, `rpc.clusterRateLimit`). */
export interface RateLimitConfig {
  readonly enabled: boolean;
  readonly ratePerSecond: number;
  readonly burst: number;
}

/** The `rpc` section every Veil process's config has (see sequencer/config/layered.ts). */
export interface RpcSettings {
  readonly maxBodyBytes: number;
  /** Sequencer nodes only: the body limit of CLUSTER_PATH. */
  readonly clusterMaxBodyBytes?: number;
  readonly maxBatchSize: number;
  readonly requestTimeoutMs: number;
  readonly rateLimit: RateLimitConfig;
  /** Sequencer nodes only: the bucket of CLUSTER_PATH. */
  readonly clusterRateLimit?: RateLimitConfig;
  readonly trustProxy?: readonly string[];
}

/** The server's limits from a process's `rpc` config section. */
export function serverLimits(
  rpc: RpcSettings,
): Pick<
  RpcServerOptions,
  | "maxBodyBytes"
  | "clusterMaxBodyBytes"
  | "maxBatchSize"
  | "requestTimeoutMs"
  | "rateLimit"
  | "clusterRateLimit"
  | "trustProxy"
> {
  const bucket = (c: RateLimitConfig | undefined): RateLimitSettings | undefined =>
    c?.enabled === true ? { ratePerSecond: c.ratePerSecond, burst: c.burst } : undefined;
  const rateLimit = bucket(rpc.rateLimit);
  const clusterRateLimit = bucket(rpc.clusterRateLimit);
  return {
    maxBodyBytes: rpc.maxBodyBytes,
    ...(rpc.clusterMaxBodyBytes === undefined ? {} : { clusterMaxBodyBytes: rpc.clusterMaxBodyBytes }),
    maxBatchSize: rpc.maxBatchSize,
    requestTimeoutMs: rpc.requestTimeoutMs,
    ...(rateLimit === undefined ? {} : { rateLimit }),
    ...(clusterRateLimit === undefined ? {} : { clusterRateLimit }),
    ...(rpc.trustProxy === undefined || rpc.trustProxy.length === 0 ? {} : { trustProxy: rpc.trustProxy }),
  };
}

/** Where the server listens, once it does. */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
  readonly url: string;
}

type BodyResult =
  { readonly ok: true; readonly body: string } | { readonly ok: false; readonly reason: "too_large" | "aborted" };

const JSON_HEADERS = { "content-type": "application/json; charset=utf-8" } as const;

export class RpcServer {
  private readonly server: http.Server;
  private readonly metrics: RpcMetrics;
  private readonly limiters: Readonly<Record<Endpoint, TokenBucketLimiter | undefined>>;
  private readonly trusted: ReturnType<typeof trustedProxies> | undefined;
  private readonly requestIdPrefix = randomBytes(4).toString("hex");
  private requestCounter = 0;
  private inflight = 0;
  private drained: (() => void) | undefined;

  constructor(private readonly options: RpcServerOptions) {
    if (!(options.maxBodyBytes > 0) || !(options.maxBatchSize > 0)) {
      throw new Error("maxBodyBytes and maxBatchSize must be positive");
    }
    if (options.clusterMaxBodyBytes !== undefined && !(options.clusterMaxBodyBytes > 0)) {
      throw new Error("clusterMaxBodyBytes must be positive");
    }
    this.metrics = createRpcMetrics(options.metricsRegistry);
    const limiter = (s: RateLimitSettings | undefined) => (s === undefined ? undefined : new TokenBucketLimiter(s));
    this.limiters = { public: limiter(options.rateLimit), cluster: limiter(options.clusterRateLimit) };
    this.trusted =
      options.trustProxy === undefined || options.trustProxy.length === 0
        ? undefined
        : trustedProxies(options.trustProxy);
    this.server = http.createServer((req, res) => {
      this.onRequest(req, res).catch((error: unknown) => {
        // Unreachable by design; kept so that a bug answers 500 instead of killing the process.
        this.options.log.error({ err: error }, "unhandled error in request handling");
        if (!res.headersSent) res.writeHead(500, JSON_HEADERS);
        res.end();
      });
    });
    this.server.requestTimeout = options.requestTimeoutMs;
    this.server.headersTimeout = Math.min(options.requestTimeoutMs, 60_000);
    this.server.on("clientError", (error, socket) => {
      // Malformed HTTP (not malformed JSON): answer 400 if the socket still can, then drop it.
      if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
      else socket.destroy();
      this.options.log.debug({ err: error }, "malformed HTTP request");
    });
  }

  listen(port: number, host: string): Promise<ListenAddress> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, host, () => {
        this.server.off("error", reject);
        const address = this.server.address() as AddressInfo;
        const urlHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
        resolve({ host: address.address, port: address.port, url: `http://${urlHost}:${address.port}` });
      });
    });
  }

  /**
   * Stops accepting connections, lets the requests in flight finish (up to `graceMs`), then closes
   * every connection.
   */
  async close(graceMs = 5_000): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    if (this.inflight > 0) {
      await Promise.race([
        new Promise<void>((resolve) => (this.drained = resolve)),
        new Promise<void>((resolve) => setTimeout(resolve, graceMs).unref()),
      ]);
    }
    this.server.closeAllConnections();
    await closed;
  }

  /**
   * Answers one HTTP body as the JSON-RPC endpoint does: the serialised response, or undefined when
   * nothing is to be sent (only notifications). `endpoint` "cluster" dispatches only `cluster_*` methods.
   * Exposed for in-process use and fuzzing.
   */
  async handleBody(body: string, ctx: CallContext, endpoint: Endpoint = "public"): Promise<string | undefined> {
    // Before anything parses or walks it: whatever handles the value later may recurse.
    const tooDeep = nestingBeyond(body);
    if (tooDeep !== undefined) {
      this.metrics.calls.inc({ method: "(invalid)", outcome: "INVALID_PARAMS" });
      const error = new RpcError("INVALID_PARAMS", `invalid params: ${nestingProblem(tooDeep)}`, {
        maxDepth: MAX_JSON_DEPTH,
      });
      return serialise(errorResponse(null, error));
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return serialise(errorResponse(null, new RpcError("PARSE_ERROR", "parse error: the body is not valid JSON")));
    }
    if (!Array.isArray(parsed)) {
      const response = await this.handleCall(parsed, ctx, endpoint);
      return response === undefined ? undefined : serialise(response);
    }
    if (parsed.length === 0) {
      return serialise(errorResponse(null, new RpcError("INVALID_REQUEST", "invalid request: empty batch")));
    }
    if (parsed.length > this.options.maxBatchSize) {
      return serialise(
        errorResponse(
          null,
          new RpcError(
            "INVALID_REQUEST",
            `invalid request: a batch of ${parsed.length} calls exceeds the limit of ${this.options.maxBatchSize}`,
          ),
        ),
      );
    }
    const responses = await Promise.all(parsed.map((call: unknown) => this.handleCall(call, ctx, endpoint)));
    const answered = responses.filter((r): r is JsonRpcResponse => r !== undefined);
    return answered.length === 0 ? undefined : `[${answered.map(serialise).join(",")}]`;
  }

  private async onRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    this.inflight += 1;
    this.metrics.inflight.inc();
    const requestId = `${this.requestIdPrefix}-${(this.requestCounter += 1)}`;
    const clientId = clientAddress(req.socket.remoteAddress, req.headers["x-forwarded-for"], this.trusted);
    const log = this.options.log.child({ reqId: requestId });
    res.setHeader("x-request-id", requestId);
    const started = performance.now();
    try {
      const hops = Number(req.headers[FORWARD_HOPS_HEADER]);
      const forwardHops = Number.isSafeInteger(hops) && hops > 0 ? hops : 0;
      await this.route(req, res, { requestId, clientId, log, forwardHops });
    } finally {
      this.metrics.httpRequests.inc({ status: String(res.statusCode) });
      log.debug(
        {
          client: clientId,
          method: req.method,
          path: req.url,
          status: res.statusCode,
          ms: performance.now() - started,
        },
        "http request",
      );
      this.inflight -= 1;
      this.metrics.inflight.dec();
      if (this.inflight === 0) this.drained?.();
    }
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse, ctx: CallContext): Promise<void> {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/health" || path === "/health/live" || path === "/health/ready") {
      if (req.method !== "GET" && req.method !== "HEAD") return sendStatus(res, 405, { Allow: "GET, HEAD" });
      const report = await this.options.health.report();
      const status = path === "/health/live" || report.ready ? 200 : 503;
      res.writeHead(status, JSON_HEADERS).end(stringifyJson(report));
      return;
    }
    if (path === "/metrics") {
      if (req.method !== "GET" && req.method !== "HEAD") return sendStatus(res, 405, { Allow: "GET, HEAD" });
      const text = await this.options.metricsRegistry.metrics();
      res.writeHead(200, { "content-type": this.options.metricsRegistry.contentType }).end(text);
      return;
    }
    const endpoint: Endpoint | undefined =
      path === "/"
        ? "public"
        : path === CLUSTER_PATH && this.options.clusterMaxBodyBytes !== undefined
          ? "cluster"
          : undefined;
    if (endpoint === undefined) return sendStatus(res, 404);
    if (req.method !== "POST") {
      const error = new RpcError("INVALID_REQUEST", "invalid request: JSON-RPC calls are HTTP POST requests");
      res.writeHead(405, { ...JSON_HEADERS, Allow: "POST" }).end(serialise(errorResponse(null, error)));
      return;
    }
    const limit = this.bodyLimit(req, endpoint);
    if (limit instanceof RpcError) {
      req.resume();
      res.writeHead(503, { ...JSON_HEADERS, Connection: "close" }).end(serialise(errorResponse(null, limit)));
      return;
    }
    if (typeof limit === "string") {
      req.resume();
      return tooLarge(res, new RpcError("PAYLOAD_TOO_LARGE", limit, { limit: this.options.maxBodyBytes }));
    }
    const body = await readBody(req, limit);
    if (!body.ok && body.reason === "aborted") {
      res.destroy();
      return;
    }
    if (!body.ok) return tooLarge(res, veilError.payloadTooLarge("the request body", limit));
    const answer = await this.handleBody(body.body, ctx, endpoint);
    if (answer === undefined) res.writeHead(204).end();
    else res.writeHead(200, JSON_HEADERS).end(answer);
  }

  /**
   * The most bytes to read of this request's body, or why it is refused unread: a cluster body over
   * the public limit needs the size declared in advance and a member's permit for it (an RpcError:
   * permits cannot be checked now).
   */
  private bodyLimit(req: http.IncomingMessage, endpoint: Endpoint): number | string | RpcError {
    const { maxBodyBytes, clusterMaxBodyBytes, clusterUploadPermit } = this.options;
    if (endpoint === "public") return maxBodyBytes;
    if (clusterUploadPermit === undefined) return clusterMaxBodyBytes!;
    const declared = Number(req.headers["content-length"]);
    if (!(declared > maxBodyBytes)) return maxBodyBytes; // also a body of undeclared size
    const header = req.headers[UPLOAD_PERMIT_HEADER];
    const refusal = clusterUploadPermit(typeof header === "string" ? header : undefined, declared);
    if (refusal === undefined) return clusterMaxBodyBytes!;
    if (refusal instanceof RpcError) return refusal;
    return `the request body (${declared} bytes) exceeds ${maxBodyBytes} bytes; a larger cluster message needs a member's upload permit: ${refusal}`;
  }

  /** One call of a body: the response to send, or undefined for a notification. */
  private async handleCall(raw: unknown, ctx: CallContext, endpoint: Endpoint): Promise<JsonRpcResponse | undefined> {
    const envelope = requestSchema.safeParse(raw);
    if (!envelope.success) {
      const message = `invalid request: ${describeIssues(envelope.error, (path) => path.map(String).join("."))}`;
      this.metrics.calls.inc({ method: "(invalid)", outcome: "INVALID_REQUEST" });
      return errorResponse(idOf(raw), new RpcError("INVALID_REQUEST", message));
    }
    const call = envelope.data;
    const isNotification = call.id === undefined;
    const id = call.id ?? null;
    const served = endpoint === "public" || call.method.startsWith(CLUSTER_METHOD_PREFIX);
    const methodLabel = served && this.options.methods.knows(call.method) ? call.method : "(unknown)";
    const started = performance.now();
    try {
      const limiter = this.limiters[endpoint];
      if (limiter !== undefined) {
        const taken = limiter.take(rateLimitKey(ctx.clientId));
        if (!taken.ok) {
          this.metrics.rateLimited.inc();
          throw veilError.rateLimited(taken.retryAfterMs);
        }
      }
      if (!served) {
        throw new RpcError(
          "METHOD_NOT_FOUND",
          `method not found: ${CLUSTER_PATH} serves only the members' cluster_* methods`,
        );
      }
      const result = await this.options.methods.invoke(call.method, call.params, ctx);
      this.metrics.calls.inc({ method: methodLabel, outcome: "ok" });
      return isNotification ? undefined : { jsonrpc: "2.0", id, result: result ?? null };
    } catch (error) {
      const rpcError = this.toRpcError(error, call.method, ctx);
      this.metrics.calls.inc({ method: methodLabel, outcome: rpcError.errorName });
      return isNotification ? undefined : errorResponse(id, rpcError);
    } finally {
      this.metrics.callSeconds.observe({ method: methodLabel }, (performance.now() - started) / 1000);
    }
  }

  private toRpcError(error: unknown, method: string, ctx: CallContext): RpcError {
    if (error instanceof RpcError) {
      ctx.log.debug({ method, code: error.code, msg: error.message }, "call rejected");
      return error;
    }
    ctx.log.error({ err: error, method }, "handler failed");
    return new RpcError("INTERNAL_ERROR", `internal error (request ${ctx.requestId})`);
  }
}

function errorResponse(id: JsonRpcId, error: RpcError): JsonRpcResponse {
  return { jsonrpc: "2.0", id, error: error.toJSON() };
}

/** Serialises a response; a result that cannot be serialised becomes an internal error instead. */
function serialise(response: JsonRpcResponse): string {
  try {
    return stringifyJson(response);
  } catch {
    return stringifyJson(
      errorResponse(response.id, new RpcError("INTERNAL_ERROR", "internal error: the result is not serialisable")),
    );
  }
}

function sendStatus(res: http.ServerResponse, status: number, headers: Record<string, string> = {}): void {
  res.writeHead(status, headers).end();
}

/**
 * Reads the body up to `limit` bytes. A declared Content-Length over the limit is refused before
 * reading anything; a body that grows past it is refused as soon as it does, and the rest is drained
 * (not buffered) until the response closes the connection.
 */
/** Answers 413 with `error` and closes the connection: that keeps a client from streaming the rest of a huge body at us. */
function tooLarge(res: http.ServerResponse, error: RpcError): void {
  res.writeHead(413, { ...JSON_HEADERS, Connection: "close" }).end(serialise(errorResponse(null, error)));
}

function readBody(req: http.IncomingMessage, limit: number): Promise<BodyResult> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.resolve({ ok: false, reason: "too_large" });
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (result: BodyResult): void => {
      if (done) return;
      done = true;
      resolve(result);
    };
    req.on("data", (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        chunks.length = 0;
        finish({ ok: false, reason: "too_large" });
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => finish({ ok: true, body: Buffer.concat(chunks).toString("utf8") }));
    // An aborted upload: nobody is left to answer, but resolve so that the request is accounted for.
    req.on("error", () => finish({ ok: false, reason: "aborted" }));
    req.on("close", () => finish({ ok: false, reason: "aborted" }));
  });
}
