/**
 * The encrypting RPC: an Ethereum JSON-RPC endpoint that a wallet points at instead of the L2 node.
 * `eth_sendRawTransaction` never reaches the L2 in the clear: the signed transaction is decoded, checked
 * against the L2 and the sender's pending transactions, encrypted and proven in this process (the
 * user's), submitted to a Veil node, and the returned order commitment verified before the transaction
 * hash is answered (`admission.ts`). Reads on the allow-list are forwarded to the L2 node, alone or in a
 * batch; the pending nonce and pending transactions are completed from the pending pool; methods that
 * would send or sign in the clear are refused (`methods.ts`).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { Health, HealthReport } from "../common/health";
import { STANDARD_ERRORS } from "../rpc/errors";
import { MAX_JSON_DEPTH, nestingBeyond, nestingProblem } from "../rpc/json-depth";
import { TransactionError } from "../sdk/errors";
import { decodeSignedTransaction, type SignedTransaction } from "../sdk/raw-tx";
import type { Admission } from "./admission";
import { L2StateError, pendingTransactionJson } from "./l2-state";
import { policyOf } from "./methods";
import type { ProxyMetrics } from "./metrics";
import type { PendingPool } from "./pending";
import { REFUSAL_CODE } from "./prechecks";
import { EIP1474_ERRORS, bodyTooLarge, l2Unreachable, toWalletError } from "./wallet-errors";

type Id = string | number | null;
interface Request {
  readonly id?: Id;
  readonly method: string;
  readonly params?: unknown;
}
interface ErrorObject {
  readonly code: number;
  readonly message: string;
  readonly data?: unknown;
}
type Response = { jsonrpc: "2.0"; id: Id; result: unknown } | { jsonrpc: "2.0"; id: Id; error: ErrorObject };

export interface ProxyOptions {
  readonly host: string;
  readonly port: number;
  readonly maxBodyBytes: number;
  readonly l2RpcUrl: string;
  readonly l2TimeoutMs: number;
  readonly l2ChainId: bigint;
  /** Pre-checks, then encrypts, proves, submits and verifies (VeilClient.send), then records it as pending. */
  readonly admission: Admission;
  /** What was ordered through this endpoint and not executed yet. */
  readonly pool: PendingPool;
  readonly health: Health;
  readonly registry: Registry;
  readonly metrics: ProxyMetrics;
  readonly log: Logger;
}

const SEND_RAW = "eth_sendRawTransaction";

function errorResponse(id: Id, error: ErrorObject): Response {
  return { jsonrpc: "2.0", id, error };
}

/** The shape of one request, or the error that explains why it is not one. */
function asRequest(value: unknown): Request | ErrorObject {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    return { code: STANDARD_ERRORS.INVALID_REQUEST, message: "a request must be a JSON object" };
  const r = value as Record<string, unknown>;
  if (r.jsonrpc !== "2.0") return { code: STANDARD_ERRORS.INVALID_REQUEST, message: 'jsonrpc must be "2.0"' };
  if (typeof r.method !== "string" || r.method === "")
    return { code: STANDARD_ERRORS.INVALID_REQUEST, message: "method must be a non-empty string" };
  if ("id" in r && !(r.id === null || typeof r.id === "string" || typeof r.id === "number"))
    return { code: STANDARD_ERRORS.INVALID_REQUEST, message: "id must be a string, a number or null" };
  return r as unknown as Request;
}

const idOf = (value: unknown): Id => {
  const id = (value as { id?: unknown } | null)?.id;
  return typeof id === "string" || typeof id === "number" ? id : null;
};

export class EncryptingProxy {
  readonly #server: Server;
  readonly #options: ProxyOptions;
  #lastReport: { readonly at: number; readonly report: Promise<HealthReport> } | undefined;

  constructor(options: ProxyOptions) {
    this.#options = options;
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((error: unknown) => {
        options.log.error({ err: error }, "request handling failed");
        if (!res.headersSent) this.#reply(res, 500, errorResponse(null, internal()));
      });
    });
  }

  /** Listens and resolves with the endpoint's URL. */
  async start(): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(this.#options.port, this.#options.host, () => {
        this.#server.off("error", reject);
        resolve();
      });
    });
    const { port } = this.#server.address() as AddressInfo;
    const url = `http://${this.#options.host}:${port}`;
    this.#options.log.info(
      { url, l2: this.#options.l2RpcUrl, chainId: this.#options.l2ChainId.toString() },
      "encrypting RPC listening",
    );
    return url;
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0]!;
    if (req.method === "GET" && (path === "/health" || path === "/health/live" || path === "/health/ready")) {
      await this.#health(res, path);
      return;
    }
    if (req.method === "GET" && path === "/metrics") {
      this.#options.metrics.pending.set(this.#options.pool.size);
      const text = await this.#options.registry.metrics();
      res.writeHead(200, { "content-type": this.#options.registry.contentType }).end(text);
      return;
    }
    if (req.method !== "POST") {
      res.writeHead(405, { allow: "POST" }).end();
      return;
    }
    const body = await this.#readBody(req);
    if (body === undefined) {
      res.setHeader("connection", "close");
      this.#reply(res, 413, errorResponse(null, bodyTooLarge(this.#options.maxBodyBytes)));
      return;
    }
    // Before parsing or forwarding: what handles the value afterwards (JSON.stringify to the L2) recurses.
    const tooDeep = nestingBeyond(body);
    if (tooDeep !== undefined) {
      this.#reply(
        res,
        200,
        errorResponse(null, {
          code: STANDARD_ERRORS.INVALID_PARAMS,
          message: `invalid params: ${nestingProblem(tooDeep)}`,
          data: { maxDepth: MAX_JSON_DEPTH },
        }),
      );
      return;
    }
    let payload: unknown;
    try {
      payload = JSON.parse(body);
    } catch {
      this.#reply(
        res,
        200,
        errorResponse(null, { code: STANDARD_ERRORS.PARSE_ERROR, message: "the body is not valid JSON" }),
      );
      return;
    }
    if (Array.isArray(payload)) {
      if (payload.length === 0) {
        this.#reply(res, 200, errorResponse(null, { code: STANDARD_ERRORS.INVALID_REQUEST, message: "empty batch" }));
        return;
      }
      const responses = await this.#batch(payload);
      if (responses.length === 0) res.writeHead(204).end();
      else this.#reply(res, 200, responses);
      return;
    }
    const [response] = await this.#batch([payload]);
    if (response === undefined) res.writeHead(204).end();
    else this.#reply(res, 200, response);
  }

  /**
   * `GET /health/live`: 200 whenever the process answers. `/health/ready` (and `/health`): 200 only when every
   * readiness check passes (readiness.ts), else 503. A report is reused for a second, so that probes, or
   * anyone polling, cannot turn health checks into traffic to the L2 and the node.
   */
  async #health(res: ServerResponse, path: string): Promise<void> {
    const now = performance.now();
    if (this.#lastReport === undefined || now - this.#lastReport.at > 1_000) {
      this.#lastReport = { at: now, report: this.#options.health.report() };
    }
    const report = await this.#lastReport.report;
    const status = path === "/health/live" || report.ready ? 200 : 503;
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(report));
  }

  /** Answers every request; forwards the passthrough ones to the L2 as one batch. Notifications get no answer. */
  async #batch(items: readonly unknown[]): Promise<Response[]> {
    const answers: (Response | undefined)[] = new Array<Response | undefined>(items.length);
    const forward: { index: number; request: Request }[] = [];
    const sends: Promise<void>[] = [];
    items.forEach((item, index) => {
      const request = asRequest(item);
      if (!("method" in request)) {
        answers[index] = errorResponse(idOf(item), request);
        return;
      }
      const id = request.id ?? null;
      const policy = policyOf(request.method);
      if (policy.kind === "forward") {
        forward.push({ index, request });
      } else if (policy.kind === "answer") {
        sends.push(
          this.#answer(request).then((answer) => {
            answers[index] = answer;
          }),
        );
      } else if (policy.kind === "refuse") {
        answers[index] = errorResponse(id, {
          code: EIP1474_ERRORS.METHOD_NOT_SUPPORTED,
          message: `${request.method} is not supported by the encrypting RPC: ${policy.reason}`,
        });
      } else {
        answers[index] = errorResponse(id, {
          code: STANDARD_ERRORS.METHOD_NOT_FOUND,
          message: `the method ${request.method} does not exist or is not available through the encrypting RPC`,
        });
      }
    });
    await Promise.all([...sends, this.#forward(forward, answers)]);
    items.forEach((item, i) => {
      const request = asRequest(item);
      const answer = answers[i];
      if (!("method" in request) || answer === undefined) return;
      const method = policyOf(request.method).kind === "unknown" ? "other" : request.method;
      this.#options.metrics.requests.inc({ method, outcome: "error" in answer ? String(answer.error.code) : "ok" });
    });
    // Notifications (valid requests without an id) are executed but get no answer.
    const isNotification = (i: number): boolean => {
      const request = asRequest(items[i]);
      return "method" in request && request.id === undefined;
    };
    return answers.filter((a, i): a is Response => a !== undefined && !isNotification(i));
  }

  /** The methods Veil answers itself (`ANSWERED` in methods.ts). */
  async #answer(request: Request): Promise<Response> {
    const id = request.id ?? null;
    switch (request.method) {
      case SEND_RAW:
        return this.#sendRaw(request);
      case "eth_accounts":
        return { jsonrpc: "2.0", id, result: [] };
      case "eth_getTransactionCount":
        return this.#transactionCount(request);
      case "eth_getTransactionByHash":
        return this.#transactionByHash(request);
      default:
        throw new Error(`no answer for ${request.method}`);
    }
  }

  /** Forwarded; with "pending", raised past the sender's ordered, unexecuted transactions. */
  async #transactionCount(request: Request): Promise<Response> {
    const answer = await this.#forwardOne(request);
    const params = request.params;
    if (!("result" in answer) || !Array.isArray(params) || params[1] !== "pending") return answer;
    const [address] = params as unknown[];
    if (typeof answer.result !== "string" || typeof address !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(address))
      return answer;
    const next = this.#options.pool.nextNonce(address, Number(BigInt(answer.result)));
    return { ...answer, result: `0x${next.toString(16)}` };
  }

  /** Forwarded; the L2 does not know a transaction that is ordered and not executed: it is answered as pending. */
  async #transactionByHash(request: Request): Promise<Response> {
    const answer = await this.#forwardOne(request);
    const params = request.params;
    if (!("result" in answer) || answer.result !== null || !Array.isArray(params) || typeof params[0] !== "string")
      return answer;
    const pending = this.#options.pool.byHash(params[0]);
    if (pending === undefined) return answer;
    return {
      ...answer,
      result: pendingTransactionJson({ hash: pending.hash, from: pending.from, decoded: pending.tx }),
    };
  }

  async #forwardOne(request: Request): Promise<Response> {
    const answers: (Response | undefined)[] = [undefined];
    await this.#forward([{ index: 0, request }], answers);
    return answers[0]!;
  }

  /** `#submitRaw`, timed: the end-to-end latency a wallet sees, by outcome. */
  async #sendRaw(request: Request): Promise<Response> {
    const timer = this.#options.metrics.sendSeconds.startTimer();
    const answer = await this.#submitRaw(request);
    timer({ outcome: "error" in answer ? String(answer.error.code) : "ok" });
    return answer;
  }

  async #submitRaw(request: Request): Promise<Response> {
    const id = request.id ?? null;
    const params = request.params;
    if (!Array.isArray(params) || params.length !== 1) {
      return errorResponse(id, {
        code: STANDARD_ERRORS.INVALID_PARAMS,
        message: "eth_sendRawTransaction takes one parameter: the signed transaction as 0x-hex",
      });
    }
    const started = performance.now();
    let tx: SignedTransaction | undefined;
    try {
      tx = decodeSignedTransaction(params[0], this.#options.l2ChainId);
      const admitted = await this.#options.admission.admit(tx);
      if (admitted.kind === "refused") {
        this.#options.metrics.refusals.inc({ reason: admitted.refusal.reason });
        this.#options.log.info(
          { txHash: tx.hash, from: tx.from, nonce: tx.nonce, reason: admitted.refusal.reason },
          "eth_sendRawTransaction refused by the pre-checks",
        );
        return errorResponse(id, { code: REFUSAL_CODE, message: admitted.refusal.message });
      }
      if (admitted.kind === "ordered") {
        const { sent } = admitted;
        this.#options.metrics.provingSeconds.observe(sent.provingMs / 1_000);
        this.#options.log.info(
          {
            txHash: tx.hash,
            height: sent.height.toString(),
            index: sent.receipt.commitment.txIndex,
            leader: sent.receipt.leader,
            provingMs: Math.round(sent.provingMs),
            totalMs: Math.round(performance.now() - started),
          },
          "transaction ordered",
        );
      }
      if (admitted.kind === "forced") {
        const { forced } = admitted;
        this.#options.metrics.forced.inc();
        this.#options.log.warn(
          {
            txHash: tx.hash,
            failures: admitted.failures.length,
            height: forced.height.toString(),
            l1TxHash: forced.l1TxHash,
            inboxIndex: forced.index,
            totalMs: Math.round(performance.now() - started),
          },
          "the sequencer did not order the transaction: forced through the L1 inbox",
        );
      }
      return { jsonrpc: "2.0", id, result: tx.hash };
    } catch (error) {
      if (error instanceof TransactionError) this.#options.metrics.refusals.inc({ reason: error.reason });
      if (error instanceof L2StateError) {
        this.#options.log.warn({ err: error, txHash: tx?.hash }, "the L2 did not answer the pre-checks");
        return errorResponse(id, { code: EIP1474_ERRORS.RESOURCE_UNAVAILABLE, message: error.message });
      }
      const mapped = toWalletError(error);
      if (mapped === undefined) {
        this.#options.log.error({ err: error, txHash: tx?.hash }, "eth_sendRawTransaction failed");
        return errorResponse(id, internal());
      }
      this.#options.log.warn(
        { txHash: tx?.hash, code: mapped.code, veilError: mapped.data.veilError, reason: mapped.message },
        "eth_sendRawTransaction refused",
      );
      return errorResponse(id, mapped);
    }
  }

  /** One upstream batch; ids are rewritten to positions so that clients' duplicate ids cannot collide. */
  async #forward(
    calls: readonly { index: number; request: Request }[],
    answers: (Response | undefined)[],
  ): Promise<void> {
    if (calls.length === 0) return;
    const upstream = calls.map((c, position) => ({
      jsonrpc: "2.0",
      id: position,
      method: c.request.method,
      ...(c.request.params === undefined ? {} : { params: c.request.params }),
    }));
    let replies: unknown[];
    try {
      const response = await fetch(this.#options.l2RpcUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(upstream),
        signal: AbortSignal.timeout(this.#options.l2TimeoutMs),
      });
      const parsed: unknown = JSON.parse(await response.text());
      replies = Array.isArray(parsed) ? parsed : [parsed];
    } catch (error) {
      this.#options.log.warn({ err: error, l2: this.#options.l2RpcUrl }, "L2 node unreachable");
      for (const c of calls) {
        answers[c.index] = errorResponse(c.request.id ?? null, l2Unreachable(this.#options.l2RpcUrl));
      }
      return;
    }
    const byPosition = new Map<unknown, Record<string, unknown>>();
    for (const reply of replies) {
      if (typeof reply === "object" && reply !== null)
        byPosition.set((reply as { id?: unknown }).id, reply as Record<string, unknown>);
    }
    calls.forEach((c, position) => {
      const id = c.request.id ?? null;
      const reply = byPosition.get(position);
      if (reply === undefined) {
        answers[c.index] = errorResponse(id, {
          code: STANDARD_ERRORS.INTERNAL_ERROR,
          message: "the L2 node gave no answer",
        });
      } else if ("error" in reply) {
        answers[c.index] = errorResponse(id, reply.error as ErrorObject);
      } else {
        answers[c.index] = { jsonrpc: "2.0", id, result: reply.result };
      }
    });
  }

  async #readBody(req: IncomingMessage): Promise<string | undefined> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > this.#options.maxBodyBytes) return undefined;
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks).toString("utf8");
  }

  #reply(res: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) }).end(text);
  }
}

function internal(): ErrorObject {
  return { code: STANDARD_ERRORS.INTERNAL_ERROR, message: "internal error" };
}
