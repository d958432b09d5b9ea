/**
 * A typed JSON-RPC 2.0 client over HTTP (node:http, kept-alive connections: http-post.ts), for node-to-node calls and the SDK. Every failure is one of
 * three typed errors: the server answered with a JSON-RPC error (RpcCallError, with its code and, for
 * Veil's codes, its name), the call did not answer in time (RpcTimeoutError), or the transport or the
 * answer itself was broken (RpcTransportError).
 */
import type { z } from "zod";
import { nameOfCode, type RpcErrorName } from "./errors";
import { postJson, PostFailure, type PostedAnswer } from "./http-post";
import { nestingBeyond, nestingProblem } from "./json-depth";
import { responseSchema, stringifyJson, type JsonRpcErrorObject } from "./protocol";

export class RpcCallError extends Error {
  readonly code: number;
  readonly data: unknown;
  /** The error's name when Veil defines the code (e.g. "HEIGHT_SEALED"), otherwise undefined. */
  readonly errorName: RpcErrorName | undefined;

  constructor(
    readonly method: string,
    error: JsonRpcErrorObject,
  ) {
    super(error.message);
    this.name = "RpcCallError";
    this.code = error.code;
    this.data = error.data;
    this.errorName = nameOfCode(error.code);
  }
}

export class RpcTimeoutError extends Error {
  constructor(
    readonly method: string,
    readonly timeoutMs: number,
  ) {
    super(`${method} did not answer within ${timeoutMs} ms`);
    this.name = "RpcTimeoutError";
  }
}

export class RpcTransportError extends Error {
  constructor(
    readonly method: string,
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "RpcTransportError";
  }
}

/** True when the call failed because nothing listened at the address (ECONNREFUSED anywhere in its causes). */
export function connectionRefused(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if ((e as NodeJS.ErrnoException).code === "ECONNREFUSED") return true;
  }
  return false;
}

export interface RpcClientOptions {
  /** Default time for a whole call, connection included. */
  readonly timeoutMs?: number;
  readonly headers?: Readonly<Record<string, string>>;
  /** Extra headers that depend on the body's size in bytes (e.g. a member's upload permit). */
  readonly headersFor?: (bodyBytes: number) => Readonly<Record<string, string>>;
  /** The local IP address connections leave from (default: the OS's choice). */
  readonly localAddress?: string;
}

export interface CallOptions {
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Extra HTTP headers for this call (e.g. the forwarding hop count between members). */
  readonly headers?: Readonly<Record<string, string>>;
}

export type Params = readonly unknown[] | Readonly<Record<string, unknown>>;

/** One call of a batch, and what came back for it. */
export interface BatchCall {
  readonly method: string;
  readonly params?: Params;
}
export type BatchOutcome =
  { readonly ok: true; readonly result: unknown } | { readonly ok: false; readonly error: RpcCallError };

export class RpcClient {
  private nextId = 1;
  private readonly timeoutMs: number;
  /** `url` parsed on first use, so that a malformed URL fails its calls as a transport error. */
  private target: URL | undefined;

  constructor(
    readonly url: string,
    private readonly options: RpcClientOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  /**
   * Calls `method` and returns its result, checked against `resultSchema` when one is given (the
   * return type follows the schema), so that a peer's answer is validated like any other input.
   */
  async call<S extends z.ZodType>(
    method: string,
    params: Params | undefined,
    resultSchema: S,
    options?: CallOptions,
  ): Promise<z.infer<S>>;
  async call(method: string, params?: Params, resultSchema?: undefined, options?: CallOptions): Promise<unknown>;
  async call(method: string, params?: Params, resultSchema?: z.ZodType, options: CallOptions = {}): Promise<unknown> {
    const id = this.nextId++;
    const body = await this.post(
      method,
      { jsonrpc: "2.0", id, method, ...(params === undefined ? {} : { params }) },
      options,
    );
    const parsed = responseSchema.safeParse(body);
    if (!parsed.success || parsed.data.id !== id) {
      throw new RpcTransportError(method, `${method}: the server's answer is not a JSON-RPC response to call ${id}`);
    }
    if ("error" in parsed.data) throw new RpcCallError(method, parsed.data.error);
    if (resultSchema === undefined) return parsed.data.result;
    const result = resultSchema.safeParse(parsed.data.result);
    if (!result.success) {
      throw new RpcTransportError(
        method,
        `${method}: unexpected result: ${result.error.issues[0]?.message ?? "invalid"}`,
      );
    }
    return result.data;
  }

  /** Sends several calls in one HTTP request; the outcomes come back in the order of `calls`. */
  async batch(calls: readonly BatchCall[], options: CallOptions = {}): Promise<BatchOutcome[]> {
    if (calls.length === 0) return [];
    const ids = calls.map(() => this.nextId++);
    const label = `batch(${calls.map((c) => c.method).join(",")})`;
    const body = await this.post(
      label,
      calls.map((c, i) => ({
        jsonrpc: "2.0",
        id: ids[i],
        method: c.method,
        ...(c.params === undefined ? {} : { params: c.params }),
      })),
      options,
    );
    const byId = new Map<unknown, BatchOutcome>();
    const responses: unknown[] = Array.isArray(body) ? body : [body];
    for (const item of responses) {
      const parsed = responseSchema.safeParse(item);
      if (!parsed.success)
        throw new RpcTransportError(label, `${label}: the server's answer is not a JSON-RPC response`);
      const r = parsed.data;
      if ("error" in r && r.id === null) throw new RpcCallError(label, r.error); // the batch as a whole was refused
      byId.set(
        r.id,
        "error" in r ? { ok: false, error: new RpcCallError(label, r.error) } : { ok: true, result: r.result },
      );
    }
    return ids.map((id, i) => {
      const outcome = byId.get(id);
      if (outcome === undefined) throw new RpcTransportError(label, `${label}: no answer for call ${i}`);
      return outcome;
    });
  }

  private async post(label: string, payload: unknown, options: CallOptions): Promise<unknown> {
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const request = stringifyJson(payload);
    const sized = this.options.headersFor?.(Buffer.byteLength(request, "utf8"));
    let response: PostedAnswer;
    try {
      response = await postJson((this.target ??= new URL(this.url)), request, {
        headers: { "content-type": "application/json", ...this.options.headers, ...sized, ...options.headers },
        timeoutMs,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
        ...(this.options.localAddress === undefined ? {} : { localAddress: this.options.localAddress }),
      });
    } catch (error) {
      if (error instanceof PostFailure && error.timedOut) throw new RpcTimeoutError(label, timeoutMs);
      const detail = error instanceof Error ? error.message : String(error);
      throw new RpcTransportError(label, `${label}: ${this.url} unreachable: ${detail}`, undefined, { cause: error });
    }
    const text = response.text;
    // A peer's answer is as untrusted as a request: callers walk results recursively.
    const tooDeep = nestingBeyond(text);
    if (tooDeep !== undefined) {
      throw new RpcTransportError(
        label,
        `${label}: the answer is refused: ${nestingProblem(tooDeep)}`,
        response.status,
      );
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new RpcTransportError(
        label,
        `${label}: HTTP ${response.status} with a body that is not JSON`,
        response.status,
      );
    }
    // JSON-RPC errors may arrive with a non-200 status (413 for an oversize body); they are still typed.
    const single = responseSchema.safeParse(body);
    const ok = response.status >= 200 && response.status < 300;
    if (!ok && !(single.success && "error" in single.data)) {
      throw new RpcTransportError(label, `${label}: HTTP ${response.status}`, response.status);
    }
    if (single.success && "error" in single.data && single.data.id === null) {
      throw new RpcCallError(label, single.data.error);
    }
    return body;
  }
}
