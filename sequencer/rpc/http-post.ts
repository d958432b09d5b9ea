/**
 * One HTTP POST of a JSON body over node:http with keep-alive, for the JSON-RPC client. It replaced
 * `fetch`: on the ordering path (the leader replicating to its followers, a follower forwarding to the
 * leader, the benchmark's clients) fetch's WHATWG streams, Headers and AbortSignal plumbing cost
 * several times the CPU of a plain request on a kept-alive socket (docs/ordering-performance.md).
 */
import http from "node:http";
import https from "node:https";

/**
 * An idle kept-alive socket is closed after this long, before the server's own keep-alive timeout
 * (5 s, Node's default and Veil's servers') can close it under a request about to be sent on it.
 */
const IDLE_SOCKET_MS = 4_000;

const AGENTS = {
  "http:": new http.Agent({ keepAlive: true, timeout: IDLE_SOCKET_MS }),
  "https:": new https.Agent({ keepAlive: true, timeout: IDLE_SOCKET_MS }),
} as const;

export interface PostedAnswer {
  readonly status: number;
  readonly text: string;
}

/** Why a POST got no answer: it ran out of time, or the transport failed (refused, reset, aborted). */
export class PostFailure extends Error {
  constructor(
    readonly timedOut: boolean,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "PostFailure";
  }
}

export interface PostOptions {
  readonly headers: Readonly<Record<string, string>>;
  /** For the whole exchange: connection, request, and the answer's body. */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  /** The local IP address the connection leaves from (a multi-homed host; the default: the OS's choice). */
  readonly localAddress?: string;
}

/**
 * POSTs `body` (JSON text) to `url` and returns the status and the answer's text. A request that
 * fails on a reused keep-alive socket before any answer (the server closed it while idle) is sent
 * once more on a new connection: the server never saw it.
 */
export async function postJson(url: URL, body: string, options: PostOptions): Promise<PostedAnswer> {
  const deadline = performance.now() + options.timeoutMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await postOnce(url, body, options, deadline, attempt > 0);
    } catch (error) {
      if (!(error instanceof StaleSocket) || attempt > 0) throw error;
    }
  }
}

/** A reused socket the server had closed: nothing was processed, the request can be sent again. */
class StaleSocket extends Error {}

function postOnce(
  url: URL,
  body: string,
  options: PostOptions,
  deadline: number,
  freshSocket: boolean,
): Promise<PostedAnswer> {
  const payload = Buffer.from(body, "utf8");
  const isHttps = url.protocol === "https:";
  if (!isHttps && url.protocol !== "http:") {
    return Promise.reject(new PostFailure(false, `unsupported protocol ${url.protocol}`));
  }
  return new Promise<PostedAnswer>((resolve, reject) => {
    let settled = false;
    let answered = false;
    const finish = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      outcome();
    };
    const fail = (error: Error): void => finish(() => reject(error));
    const request = (isHttps ? https : http).request(
      url,
      {
        method: "POST",
        // A retry must not land on another idle socket that may be stale too.
        agent: freshSocket ? false : AGENTS[isHttps ? "https:" : "http:"],
        headers: { ...options.headers, "content-length": payload.length },
        ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
      },
      (response) => {
        answered = true;
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () =>
          finish(() => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") })),
        );
        response.on("error", (error) => fail(new PostFailure(false, error.message, { cause: error })));
        response.on("aborted", () => fail(new PostFailure(false, "the answer was cut off")));
      },
    );
    request.on("error", (error: NodeJS.ErrnoException) => {
      const stale = !answered && request.reusedSocket && (error.code === "ECONNRESET" || error.code === "EPIPE");
      fail(stale ? new StaleSocket(error.message) : new PostFailure(false, error.message, { cause: error }));
    });
    const timer = setTimeout(
      () => {
        fail(new PostFailure(true, `no answer within ${options.timeoutMs} ms`));
        request.destroy();
      },
      Math.max(0, deadline - performance.now()),
    );
    const onAbort = (): void => {
      fail(new PostFailure(false, "the call was aborted", { cause: options.signal?.reason }));
      request.destroy();
    };
    if (options.signal?.aborted === true) return onAbort();
    options.signal?.addEventListener("abort", onAbort, { once: true });
    request.end(payload);
  });
}
