import { expect } from "chai";
import http from "node:http";
import type { AddressInfo } from "node:net";
import pino from "pino";
import { z } from "zod";
import { Health } from "../../sequencer/common/health";
import { createRegistry } from "../../sequencer/common/metrics";
import {
  RpcCallError,
  RpcClient,
  RpcTimeoutError,
  RpcTransportError,
  connectionRefused,
} from "../../sequencer/rpc/client";
import { STANDARD_ERRORS, VEIL_ERRORS, veilError } from "../../sequencer/rpc/errors";
import { MAX_JSON_DEPTH } from "../../sequencer/rpc/json-depth";
import { MethodRegistry } from "../../sequencer/rpc/registry";
import { RpcServer } from "../../sequencer/rpc/server";

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a rejection");
}

/** A plain HTTP server that answers every request with `answer`, to play a broken peer. */
async function fakePeer(
  answer: (res: http.ServerResponse) => void,
): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    req.resume();
    answer(res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

describe("JSON-RPC client", () => {
  let server: RpcServer;
  let client: RpcClient;

  before(async () => {
    const methods = new MethodRegistry()
      .register("get_block_height", {
        params: { rollupId: z.string() },
        handler: ({ rollupId }) => ({ rollupId, height: 12 }),
      })
      .register("send_it", {
        params: {},
        handler: () => Promise.reject(veilError.duplicateCiphertext(`0x${"11".repeat(32)}`)),
      })
      .register("sleep", {
        params: { ms: z.number() },
        handler: ({ ms }) => new Promise((resolve) => setTimeout(() => resolve("woke"), ms)),
      });
    server = new RpcServer({
      methods,
      log: pino({ level: "silent" }),
      metricsRegistry: createRegistry({ processMetrics: false }),
      health: new Health(),
      maxBodyBytes: 2_048,
      maxBatchSize: 5,
      requestTimeoutMs: 5_000,
    });
    const { url } = await server.listen(0, "127.0.0.1");
    client = new RpcClient(url, { timeoutMs: 2_000 });
  });
  after(() => server.close());

  it("returns results, typed by the result schema, for positional and named params", async () => {
    const schema = z.object({ rollupId: z.string(), height: z.number() });
    const byName = await client.call("get_block_height", { rollupId: "r1" }, schema);
    expect(byName.height).to.equal(12);
    expect(await client.call("get_block_height", ["r2"])).to.deep.equal({ rollupId: "r2", height: 12 });
  });

  it("rejects a result that does not match the schema as a transport error", async () => {
    const error = await rejection(client.call("get_block_height", ["r"], z.object({ height: z.string() })));
    expect(error).to.be.instanceOf(RpcTransportError);
    expect(error.message).to.match(/unexpected result/);
  });

  it("surfaces the server's error code, name, message and data as RpcCallError", async () => {
    const error = await rejection(client.call("send_it"));
    expect(error).to.be.instanceOf(RpcCallError);
    const e = error as RpcCallError;
    expect(e.code).to.equal(VEIL_ERRORS.DUPLICATE_CIPHERTEXT);
    expect(e.errorName).to.equal("DUPLICATE_CIPHERTEXT");
    expect(e.message).to.match(/already ordered/);
    expect(e.data).to.deep.equal({ encTxHash: `0x${"11".repeat(32)}` });

    const unknown = (await rejection(client.call("nope"))) as RpcCallError;
    expect(unknown.errorName).to.equal("METHOD_NOT_FOUND");
    const badParams = (await rejection(client.call("get_block_height", [1]))) as RpcCallError;
    expect(badParams.code).to.equal(STANDARD_ERRORS.INVALID_PARAMS);
    expect(badParams.message).to.match(/params\[0\] \(rollupId\)/);
  });

  it("surfaces an oversize request as PAYLOAD_TOO_LARGE despite the 413 status", async () => {
    const error = (await rejection(client.call("get_block_height", ["x".repeat(4_000)]))) as RpcCallError;
    expect(error).to.be.instanceOf(RpcCallError);
    expect(error.errorName).to.equal("PAYLOAD_TOO_LARGE");
  });

  it("times out a slow call with RpcTimeoutError", async () => {
    const started = performance.now();
    const error = await rejection(client.call("sleep", [1_000], undefined, { timeoutMs: 100 }));
    expect(error).to.be.instanceOf(RpcTimeoutError);
    expect(performance.now() - started).to.be.below(900);
    expect(connectionRefused(error), "a slow answer proves no process down").to.equal(false);
  });

  it("sends batches and returns outcomes in call order", async () => {
    const outcomes = await client.batch([
      { method: "get_block_height", params: ["a"] },
      { method: "send_it" },
      { method: "get_block_height", params: { rollupId: "b" } },
    ]);
    expect(outcomes[0]).to.deep.equal({ ok: true, result: { rollupId: "a", height: 12 } });
    expect(outcomes[1]?.ok).to.equal(false);
    expect(outcomes[2]).to.deep.equal({ ok: true, result: { rollupId: "b", height: 12 } });
    const tooMany = await rejection(client.batch(Array.from({ length: 6 }, () => ({ method: "send_it" }))));
    expect((tooMany as RpcCallError).code).to.equal(STANDARD_ERRORS.INVALID_REQUEST);
  });

  it("reports an unreachable node, a non-JSON answer and a foreign answer as transport errors", async () => {
    const dead = new RpcClient("http://127.0.0.1:1", { timeoutMs: 1_000 });
    const unreachable = await rejection(dead.call("get_block_height", ["a"]));
    expect(unreachable).to.be.instanceOf(RpcTransportError);
    expect(unreachable.message).to.match(/unreachable/);
    expect(connectionRefused(unreachable), "nothing listens on port 1").to.equal(true);

    const html = await fakePeer((res) =>
      res.writeHead(502, { "content-type": "text/html" }).end("<h1>bad gateway</h1>"),
    );
    const wrongId = await fakePeer((res) => res.writeHead(200).end('{"jsonrpc":"2.0","id":999,"result":1}'));
    try {
      const e1 = (await rejection(new RpcClient(html.url).call("x"))) as RpcTransportError;
      expect(e1).to.be.instanceOf(RpcTransportError);
      expect(e1.status).to.equal(502);
      const e2 = await rejection(new RpcClient(wrongId.url).call("x"));
      expect(e2).to.be.instanceOf(RpcTransportError);
      expect(e2.message).to.match(/not a JSON-RPC response to call/);
    } finally {
      await html.close();
      await wrongId.close();
    }
  });

  it("refuses an answer nested deeper than MAX_JSON_DEPTH as a transport error, before parsing it", async () => {
    // A hostile peer's 100,000 levels would overflow the stack wherever the caller walks the result.
    const deep = await fakePeer((res) =>
      res.writeHead(200).end(`{"jsonrpc":"2.0","id":1,"result":${"[".repeat(100_000)}${"]".repeat(100_000)}}`),
    );
    const fine = await fakePeer((res) =>
      res.writeHead(200).end(`{"jsonrpc":"2.0","id":1,"result":${"[".repeat(60)}${"]".repeat(60)}}`),
    );
    try {
      const error = await rejection(new RpcClient(deep.url).call("x"));
      expect(error).to.be.instanceOf(RpcTransportError);
      expect(error.message).to.match(new RegExp(`deeper than ${MAX_JSON_DEPTH} levels`));
      expect(await new RpcClient(fine.url).call("x")).to.be.an("array");
    } finally {
      await deep.close();
      await fine.close();
    }
  });

  describe("over kept-alive connections", () => {
    /**
     * A peer that answers each call with its id and counts connections and requests; `drop` decides,
     * from a request's position on its connection (1 = first), whether to close the socket instead.
     */
    async function countingPeer(drop: (nthOnSocket: number) => boolean) {
      const perSocket = new WeakMap<object, number>();
      const seen = { connections: 0, requests: 0 };
      const server = http.createServer((req, res) => {
        seen.requests += 1;
        const nth = (perSocket.get(req.socket) ?? 0) + 1;
        perSocket.set(req.socket, nth);
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () => {
          if (drop(nth)) return void req.socket.destroy();
          const { id } = JSON.parse(Buffer.concat(chunks).toString()) as { id: number };
          res
            .writeHead(200, { "content-type": "application/json" })
            .end(JSON.stringify({ jsonrpc: "2.0", id, result: nth }));
        });
      });
      server.on("connection", () => void (seen.connections += 1));
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      const { port } = server.address() as AddressInfo;
      const close = (): Promise<void> => {
        server.closeAllConnections();
        return new Promise((resolve) => server.close(() => resolve()));
      };
      return { url: `http://127.0.0.1:${port}`, seen, close };
    }

    it("reuses one connection for calls one after the other", async () => {
      const peer = await countingPeer(() => false);
      try {
        const c = new RpcClient(peer.url);
        expect([await c.call("x"), await c.call("x"), await c.call("x")]).to.deep.equal([1, 2, 3]);
        expect(peer.seen.connections).to.equal(1);
      } finally {
        await peer.close();
      }
    });

    it("sends a call once more on a new connection when the server closed the kept-alive one under it", async () => {
      const peer = await countingPeer((nth) => nth === 2); // the second request of a connection finds it closed
      try {
        const c = new RpcClient(peer.url);
        expect(await c.call("x")).to.equal(1);
        expect(await c.call("x")).to.equal(1); // answered as the first request of a new connection
        expect(peer.seen).to.deep.equal({ connections: 2, requests: 3 });
      } finally {
        await peer.close();
      }
    });

    it("never sends a call twice when a new connection fails, and fails it as a transport error", async () => {
      const peer = await countingPeer(() => true);
      try {
        const error = await rejection(new RpcClient(peer.url).call("x"));
        expect(error).to.be.instanceOf(RpcTransportError);
        expect(peer.seen.requests).to.equal(1);
      } finally {
        await peer.close();
      }
    });

    it("fails a call aborted by its caller's signal as a transport error, at once", async () => {
      const controller = new AbortController();
      const started = performance.now();
      const pending = rejection(client.call("sleep", [1_000], undefined, { signal: controller.signal }));
      setTimeout(() => controller.abort(), 20);
      const error = await pending;
      expect(error).to.be.instanceOf(RpcTransportError);
      expect(error.message).to.match(/aborted/);
      expect(performance.now() - started).to.be.below(900);
      const already = await rejection(client.call("sleep", [1], undefined, { signal: AbortSignal.abort() }));
      expect(already).to.be.instanceOf(RpcTransportError);
    });
  });
});
