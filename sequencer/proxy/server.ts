/**
 * The encrypting RPC: an Ethereum JSON-RPC endpoint that a wallet points at instead of the L2 node.
 * `eth_sendRawTransaction` never reaches the L2 in the clear: the signed transaction is decoded and
 * checked, encrypted and proven in this process (the user's), submitted to a Veil node, and the returned
 * order commitment verified before the transaction hash is answered. Every other method, alone or in a
 * batch, is forwarded to the L2 node unchanged.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { STANDARD_ERRORS } from "../rpc/errors";
import { MAX_JSON_DEPTH, nestingBeyond, nestingProblem } from "../rpc/json-depth";
import type { SentTransaction } from "../sdk/client";
import { decodeSignedTransaction, type SignedTransaction } from "../sdk/raw-tx";
import { bodyTooLarge, l2Unreachable, toWalletError } from "./wallet-errors";

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
  /** Encrypts, proves, submits and verifies (VeilClient.send). */
  readonly send: (tx: SignedTransaction) => Promise<SentTransaction>;
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
    if (req.method === "GET" && req.url === "/health") {
      await this.#health(res);
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

  /** `GET /health`: 200 while the L2 answers with the configured chain id (wallets' reads go there), else 503. */
  async #health(res: ServerResponse): Promise<void> {
    let problem: string | undefined;
    try {
      const reply = await fetch(this.#options.l2RpcUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
        signal: AbortSignal.timeout(Math.min(this.#options.l2TimeoutMs, 2_000)),
      });
      const { result } = (await reply.json()) as { result?: unknown };
      if (typeof result !== "string" || BigInt(result) !== this.#options.l2ChainId) {
        problem = `the L2 answers chain id ${String(result)}, not ${this.#options.l2ChainId}`;
      }
    } catch (error) {
      problem = `the L2 is unreachable: ${(error as Error).message}`;
    }
    const body = problem === undefined ? { status: "ok" } : { status: "unavailable", problem };
    res.writeHead(problem === undefined ? 200 : 503, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
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
      } else if (request.method === SEND_RAW) {
        sends.push(
          this.#sendRaw(request).then((answer) => {
            answers[index] = answer;
          }),
        );
      } else {
        forward.push({ index, request });
      }
    });
    await Promise.all([...sends, this.#forward(forward, answers)]);
    // Notifications (valid requests without an id) are executed but get no answer.
    const isNotification = (i: number): boolean => {
      const request = asRequest(items[i]);
      return "method" in request && request.id === undefined;
    };
    return answers.filter((a, i): a is Response => a !== undefined && !isNotification(i));
  }

  async #sendRaw(request: Request): Promise<Response> {
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
      const sent = await this.#options.send(tx);
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
      return { jsonrpc: "2.0", id, result: tx.hash };
    } catch (error) {
      const mapped = toWalletError(error);
      if (mapped === undefined) {
        this.#options.log.error({ err: error, txHash: tx?.hash }, "eth_sendRawTransaction failed");
        return errorResponse(id, internal());
      }
      this.#options.log.warn(
        { txHash: tx?.hash, code: mapped.code, veilError: mapped.data.veilError, reason: mapped.message },
        "eth_sendRawTransaction refused",
      );
      return errorResponse(id, {
        code: mapped.code,
        message: mapped.message,
        ...(mapped.data === undefined ? {} : { data: mapped.data }),
      });
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
