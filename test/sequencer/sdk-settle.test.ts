/**
 * The SDK's settling of an open send outcome (settle.ts) against a scripted node on loopback: which failures
 * leave the outcome open, and how the lookups end. The real cluster is in idempotent-send.test.ts.
 */
import { expect } from "chai";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { freePort } from "../../scripts/devnet/net";
import { RpcCallError, RpcClient } from "../../sequencer/rpc/client";
import { STANDARD_ERRORS, VEIL_ERRORS } from "../../sequencer/rpc/errors";
import { NodeApi } from "../../sequencer/sdk/node-api";
import { heightRefusal, isHeightRefusal, mayBeOrdered, settle, type Leaf } from "../../sequencer/sdk/settle";

const LEAF: Leaf = { rollupId: 7n, height: 3n, encTxHash: `0x${"3c".repeat(32)}` };
const RECEIPT = { a: "receipt" }; // settle passes it on unverified: receipt.ts checks it
type Reply = { result: unknown } | { error: { code: number; message: string } } | "hang" | "cut";

/** A node whose answers the test scripts by method; it records every call. */
class ScriptedNode {
  readonly calls: { method: string; params: unknown }[] = [];
  answer: (method: string, n: number) => Reply = () => ({ error: { code: VEIL_ERRORS.NOT_FOUND, message: "no" } });
  private readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const { id, method, params } = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
        id: number;
        method: string;
        params: unknown;
      };
      this.calls.push({ method, params });
      const reply = this.answer(method, this.calls.filter((c) => c.method === method).length);
      if (reply === "hang") return;
      if (reply === "cut") return void res.destroy();
      res.setHeader("content-type", "application/json").end(JSON.stringify({ jsonrpc: "2.0", id, ...reply }));
    });
  });

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  count(method: string): number {
    return this.calls.filter((c) => c.method === method).length;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

const block = (status: "open" | "sealed" | "finalized"): Reply => ({
  result: { rollupId: "7", height: "3", status, txCount: 2, encRoot: `0x${"00".repeat(32)}` },
});
const fail = (code: number): Reply => ({ error: { code, message: `error ${code}` } });
const FAST = { attempts: 5, delayMs: 5, timeoutMs: 500 };

async function failureOf(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => expect.fail("the call succeeded"),
    (e: unknown) => e,
  );
}

describe("SDK: settling a send whose answer leaves open whether it was ordered (settle.ts)", () => {
  let node: ScriptedNode;
  let api: NodeApi;

  beforeEach(async () => {
    node = new ScriptedNode();
    api = new NodeApi(new RpcClient(await node.listen(), { timeoutMs: 300 }));
  });
  afterEach(() => node.close());

  describe("which failed sends may be ordered", () => {
    it("a timeout and an answer cut off after the request went out may be", async () => {
      node.answer = () => "hang";
      expect(mayBeOrdered(await failureOf(api.rpc.call("send_encrypted_transaction", {})))).to.equal(true);
      node.answer = () => "cut";
      expect(mayBeOrdered(await failureOf(api.rpc.call("send_encrypted_transaction", {})))).to.equal(true);
    });

    it("a refused connection may not be: the request never left", async () => {
      const closed = new RpcClient(`http://127.0.0.1:${await freePort()}`);
      expect(mayBeOrdered(await failureOf(closed.call("send_encrypted_transaction", {})))).to.equal(false);
    });

    it("the node's answers that leave it open may be; its refusals of the transaction may not", () => {
      const error = (code: number) => new RpcCallError("send_encrypted_transaction", { code, message: "m" });
      const open = ["UNAVAILABLE", "UPSTREAM_TIMEOUT", "NOT_LEADER", "DUPLICATE_CIPHERTEXT"] as const;
      for (const name of open) expect(mayBeOrdered(error(VEIL_ERRORS[name])), name).to.equal(true);
      expect(mayBeOrdered(error(STANDARD_ERRORS.INTERNAL_ERROR))).to.equal(true);
      const refusals = [
        "INVALID_PROOF",
        "WRONG_ROUND_KEY",
        "RATE_LIMITED",
        "PAYLOAD_TOO_LARGE",
        "UNKNOWN_ROLLUP",
      ] as const;
      for (const name of refusals) expect(mayBeOrdered(error(VEIL_ERRORS[name])), name).to.equal(false);
      expect(mayBeOrdered(error(STANDARD_ERRORS.INVALID_PARAMS))).to.equal(false);
      expect(mayBeOrdered(new Error("not from the node"))).to.equal(false);
      expect(isHeightRefusal(error(VEIL_ERRORS.HEIGHT_SEALED))).to.equal(true);
      expect(isHeightRefusal(error(VEIL_ERRORS.WRONG_HEIGHT))).to.equal(true);
      expect(isHeightRefusal(error(VEIL_ERRORS.UNAVAILABLE))).to.equal(false);
      expect(heightRefusal(error(VEIL_ERRORS.HEIGHT_SEALED))).to.equal("HEIGHT_SEALED");
      expect(heightRefusal(error(VEIL_ERRORS.WRONG_HEIGHT))).to.equal("WRONG_HEIGHT");
      expect(heightRefusal(error(VEIL_ERRORS.NOT_FOUND))).to.equal(undefined);
    });
  });

  describe("how the lookups end", () => {
    it("asks for the leaf by encTxHash at its height and passes the receipt on once found", async () => {
      node.answer = (method, n) =>
        method === "get_block" ? block("open") : n < 3 ? fail(VEIL_ERRORS.NOT_FOUND) : { result: RECEIPT };
      expect(await settle(api, LEAF, FAST)).to.deep.equal({ kind: "ordered", receipt: RECEIPT });
      expect(node.count("get_order_commitment")).to.equal(3);
      expect(node.calls[0]).to.deep.equal({
        method: "get_order_commitment",
        params: { rollupId: "7", height: "3", encTxHash: LEAF.encTxHash },
      });
    });

    it("keeps looking through timeouts, cut answers and UNAVAILABLE", async () => {
      const script: Reply[] = ["hang", "cut", fail(VEIL_ERRORS.UNAVAILABLE), { result: RECEIPT }];
      node.answer = (method, n) => (method === "get_block" ? block("open") : script[n - 1]!);
      expect(await settle(api, LEAF, { ...FAST, timeoutMs: 200 })).to.deep.equal({ kind: "ordered", receipt: RECEIPT });
    });

    it("not found at a height sealed on the node: not ordered, after one more look", async () => {
      node.answer = (method) => (method === "get_block" ? block("sealed") : fail(VEIL_ERRORS.NOT_FOUND));
      expect(await settle(api, LEAF, FAST)).to.deep.equal({ kind: "not-ordered" });
      expect(node.count("get_block")).to.equal(1);
      expect(node.count("get_order_commitment")).to.equal(2);
    });

    it("found on the look after the height was seen sealed: ordered (it was appended in between)", async () => {
      node.answer = (method, n) =>
        method === "get_block" ? block("finalized") : n === 1 ? fail(VEIL_ERRORS.NOT_FOUND) : { result: RECEIPT };
      expect(await settle(api, LEAF, FAST)).to.deep.equal({ kind: "ordered", receipt: RECEIPT });
    });

    it("not found at an open height: unknown after the configured number of lookups", async () => {
      node.answer = (method) => (method === "get_block" ? block("open") : fail(VEIL_ERRORS.NOT_FOUND));
      expect(await settle(api, LEAF, FAST)).to.deep.equal({ kind: "unknown" });
      expect(node.count("get_order_commitment")).to.equal(FAST.attempts);
    });

    it("not found after WRONG_HEIGHT: not ordered at once, without reading the height", async () => {
      expect(await settle(api, LEAF, FAST, "WRONG_HEIGHT")).to.deep.equal({ kind: "not-ordered" });
      expect(node.calls.map((c) => c.method)).to.deep.equal(["get_order_commitment"]);
    });

    it("not found after HEIGHT_SEALED at a node that has not sealed the height yet: looks again and finds the copy", async () => {
      // The attack on a fast path: a copy was ordered before the seal, and the answering follower lags.
      node.answer = (method, n) =>
        method === "get_block" ? block("open") : n < 3 ? fail(VEIL_ERRORS.NOT_FOUND) : { result: RECEIPT };
      expect(await settle(api, LEAF, FAST, "HEIGHT_SEALED")).to.deep.equal({ kind: "ordered", receipt: RECEIPT });
      expect(node.count("get_order_commitment")).to.equal(3);
    });

    it("not found after HEIGHT_SEALED at a node that has the height sealed: not ordered", async () => {
      node.answer = (method) => (method === "get_block" ? block("sealed") : fail(VEIL_ERRORS.NOT_FOUND));
      expect(await settle(api, LEAF, FAST, "HEIGHT_SEALED")).to.deep.equal({ kind: "not-ordered" });
      expect(node.count("get_block")).to.equal(1);
    });

    it("a node that cannot look the leaf up (INVALID_PARAMS, METHOD_NOT_FOUND): unknown at once", async () => {
      for (const code of [STANDARD_ERRORS.INVALID_PARAMS, STANDARD_ERRORS.METHOD_NOT_FOUND]) {
        node.calls.length = 0;
        node.answer = () => fail(code);
        expect(await settle(api, LEAF, FAST, "WRONG_HEIGHT")).to.deep.equal({ kind: "unknown" });
        expect(node.calls, String(code)).to.have.length(1);
      }
    });

    it("waits between lookups, doubling from delayMs", async () => {
      node.answer = (method) => (method === "get_block" ? block("open") : fail(VEIL_ERRORS.NOT_FOUND));
      const started = performance.now();
      await settle(api, LEAF, { attempts: 4, delayMs: 50 });
      expect(performance.now() - started).to.be.at.least(50 + 100 + 200 - 5);
    });
  });
});
