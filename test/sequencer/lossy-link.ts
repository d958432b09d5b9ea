/**
 * A link in front of a Veil node for tests of lost and ambiguous answers: every call goes through unchanged,
 * but `send_encrypted_transaction` goes through `plan`, which may drop, delay, duplicate or replace the answer.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { encryptedSubmission } from "../../sequencer/api/wire";
import { blockHeight, encTxHash, rollupId as rollupIdOf } from "../../sequencer/crypto/encryption";
import { fieldToBytes32 } from "../../sequencer/sdk/hashes";

export type Answer = { jsonrpc: "2.0"; id: unknown; result?: unknown; error?: { code: number; message: string } };
export type Request = { id: unknown; method: string; params?: unknown };
/** What the link does with a `send_encrypted_transaction`: `forward()` sends it on to the node. */
export type SendPlan = (request: Request, forward: () => Promise<Answer>) => Promise<Answer | "hold">;

export const errorAnswer = (id: unknown, code: number, message: string): Answer => ({
  jsonrpc: "2.0",
  id,
  error: { code, message },
});

/** A link in front of a node: every call goes through unchanged, but sends go through `plan`. */
export class Link {
  plan: SendPlan = (_request, forward) => forward();
  readonly calls = new Map<string, number>();
  /** The leaf of every submission the client sent through the link, in order. */
  readonly submitted: string[] = [];
  /** Sends the link passed on to the node (a plan may pass one on twice, or not at all). */
  forwarded = 0;
  private readonly held: http.ServerResponse[] = [];
  private readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      this.relay(Buffer.concat(chunks).toString("utf8"), res).catch(() => res.destroy());
    });
  });

  constructor(private readonly nodeUrl: string) {}

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  count(method: string): number {
    return this.calls.get(method) ?? 0;
  }

  reset(): void {
    this.calls.clear();
    this.submitted.length = 0;
    this.forwarded = 0;
    this.plan = (_request, forward) => forward();
  }

  async close(): Promise<void> {
    for (const res of this.held.splice(0)) res.destroy();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private async post(body: string): Promise<string> {
    const res = await fetch(this.nodeUrl, { method: "POST", body, headers: { "content-type": "application/json" } });
    return res.text();
  }

  private async relay(body: string, res: http.ServerResponse): Promise<void> {
    const request = JSON.parse(body) as Request;
    this.calls.set(request.method, this.count(request.method) + 1);
    if (request.method !== "send_encrypted_transaction") {
      res.setHeader("content-type", "application/json").end(await this.post(body));
      return;
    }
    const s = encryptedSubmission.parse(request.params);
    this.submitted.push(
      fieldToBytes32(encTxHash({ ...s.tx, rollupId: rollupIdOf(s.tx.rollupId), height: blockHeight(s.tx.height) })),
    );
    const answer = await this.plan(request, async () => {
      this.forwarded += 1;
      return JSON.parse(await this.post(body)) as Answer;
    });
    if (answer === "hold") this.held.push(res);
    else res.setHeader("content-type", "application/json").end(JSON.stringify(answer));
  }
}
