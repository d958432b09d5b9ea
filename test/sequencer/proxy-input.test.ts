import { expect } from "chai";
import fc from "fast-check";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { Transaction, Wallet, hexlify, parseEther } from "ethers";
import { MAX_PLAINTEXT_BYTES } from "../../sequencer/crypto/packing";
import { EIP1474_ERRORS } from "../../sequencer/proxy/wallet-errors";
import { STANDARD_ERRORS } from "../../sequencer/rpc/errors";
import { MAX_JSON_DEPTH } from "../../sequencer/rpc/json-depth";
import { FUNDED_KEY, HARDHAT_CHAIN_ID, freePort, post, startTestProxy, type ProxyUnderTest } from "./proxy-fixture";
import { sdkWorld } from "./sdk-fixture";

interface RpcAnswer {
  id: unknown;
  result?: unknown;
  error?: { code: number; message: string; data?: { reason?: string; veilError?: string } };
}

const wallet = new Wallet(FUNDED_KEY);
const transfer = (overrides: Partial<{ chainId: bigint; data: string }> = {}) =>
  wallet.signTransaction({
    type: 2,
    chainId: overrides.chainId ?? HARDHAT_CHAIN_ID,
    nonce: 0,
    to: `0x${"33".repeat(20)}`,
    value: parseEther("1"),
    gasLimit: 100_000n,
    maxFeePerGas: 2_000_000_000n,
    maxPriorityFeePerGas: 1_000_000_000n,
    data: overrides.data ?? "0x",
  });

describe("encrypting RPC: eth_sendRawTransaction input errors and JSON-RPC framing", () => {
  let p: ProxyUnderTest;
  let deadUrl: string;

  before(async () => {
    const w = await loadFixture(sdkWorld);
    deadUrl = `http://127.0.0.1:${await freePort()}`; // nothing listens: no L2, no Veil node
    p = await startTestProxy({ l2RpcUrl: deadUrl, chain: w.chain, nodeUrl: deadUrl, maxBodyBytes: 16 * 1024 });
  });
  after(() => p.proxy.stop());

  const send = async (params: unknown[]): Promise<RpcAnswer> => {
    const { json } = await post(p.url, { jsonrpc: "2.0", id: 7, method: "eth_sendRawTransaction", params });
    return json as RpcAnswer;
  };

  it("rejects bytes that are not RLP of a transaction with invalid params", async () => {
    const answer = await send(["0x02deadbeef"]);
    expect(answer.id).to.equal(7);
    expect(answer.error?.code).to.equal(STANDARD_ERRORS.INVALID_PARAMS);
    expect(answer.error?.message).to.match(/does not decode/);
    expect(answer.error?.data?.reason).to.equal("undecodable");
  });

  it("rejects a parameter that is not hex, and the wrong number of parameters", async () => {
    expect((await send(["hello"])).error?.data?.reason).to.equal("not-hex");
    expect((await send([42])).error?.data?.reason).to.equal("not-hex");
    const none = await send([]);
    expect(none.error?.code).to.equal(STANDARD_ERRORS.INVALID_PARAMS);
    expect(none.error?.message).to.match(/one parameter/);
  });

  it("rejects an odd number of hex digits as not-hex with invalid params, never internal error", async () => {
    const signed = await transfer();
    for (const raw of ["0x1", "0x123", signed.slice(0, -1), `${signed}0`]) {
      const answer = await send([raw]);
      expect(answer.error?.code, raw.slice(0, 12)).to.equal(STANDARD_ERRORS.INVALID_PARAMS);
      expect(answer.error?.data?.reason).to.equal("not-hex");
      expect(answer.error?.message).to.match(/whole bytes/);
    }
  });

  it("answers any 0x-string, odd or not, hex or not, with invalid params, not internal error (property)", async () => {
    const hexDigit = fc.constantFrom(..."0123456789abcdefABCDEF");
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string({ unit: hexDigit, maxLength: 81 }), fc.string({ maxLength: 40 })),
        async (digits) => {
          const answer = await send([`0x${digits}`]);
          expect(answer.error?.code).to.equal(STANDARD_ERRORS.INVALID_PARAMS);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("rejects a transaction signed for another chain, naming both chain ids", async () => {
    const answer = await send([await transfer({ chainId: 1n })]);
    expect(answer.error?.code).to.equal(STANDARD_ERRORS.INVALID_PARAMS);
    expect(answer.error?.data?.reason).to.equal("wrong-chain-id");
    expect(answer.error?.message).to.contain("chain 1").and.to.contain(`chain ${HARDHAT_CHAIN_ID}`);
  });

  it("rejects an unsigned transaction", async () => {
    const unsigned = Transaction.from({
      type: 2,
      chainId: HARDHAT_CHAIN_ID,
      nonce: 0,
      to: wallet.address,
      gasLimit: 21_000n,
    });
    expect((await send([unsigned.unsignedSerialized])).error?.data?.reason).to.equal("unsigned");
  });

  it("rejects a transaction too large to encrypt, stating the limit", async () => {
    const big = await transfer({ data: hexlify(new Uint8Array(MAX_PLAINTEXT_BYTES)) });
    const answer = await send([big]);
    expect(answer.error?.code).to.equal(STANDARD_ERRORS.INVALID_PARAMS);
    expect(answer.error?.data?.reason).to.equal("too-large");
    expect(answer.error?.message).to.contain(String(MAX_PLAINTEXT_BYTES));
  });

  it("answers random bytes with invalid params, never a crash (property)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 700 }), async (bytes) => {
        const answer = await send([hexlify(bytes)]);
        expect(answer.error?.code).to.equal(STANDARD_ERRORS.INVALID_PARAMS);
      }),
      { numRuns: 40 },
    );
  });

  it("reports a valid transaction it cannot check because the L2 is unreachable as resource unavailable", async () => {
    const answer = await send([await transfer()]);
    expect(answer.error?.code).to.equal(EIP1474_ERRORS.RESOURCE_UNAVAILABLE);
    expect(answer.error?.message).to.match(/the L2 node did not answer/);
  });

  it("reports an unreachable L2 for passthrough methods", async () => {
    const { json } = await post(p.url, { jsonrpc: "2.0", id: 1, method: "eth_blockNumber" });
    expect((json as RpcAnswer).error?.code).to.equal(EIP1474_ERRORS.RESOURCE_UNAVAILABLE);
    expect((json as RpcAnswer).error?.data?.veilError).to.equal("UNAVAILABLE");
  });

  it("answers malformed JSON, empty batches, non-requests and oversize bodies with JSON-RPC errors", async () => {
    expect(((await post(p.url, "{not json")).json as RpcAnswer).error?.code).to.equal(STANDARD_ERRORS.PARSE_ERROR);
    expect(((await post(p.url, [])).json as RpcAnswer).error?.code).to.equal(STANDARD_ERRORS.INVALID_REQUEST);
    const mixed = (
      await post(p.url, [42, { jsonrpc: "1.0", id: 3, method: "x" }, { jsonrpc: "2.0", id: 4, method: "" }])
    ).json as RpcAnswer[];
    expect(mixed.map((a) => a.error?.code)).to.deep.equal([-32600, -32600, -32600]);
    expect(mixed.map((a) => a.id)).to.deep.equal([null, 3, 4]);
    const oversize = await post(p.url, { jsonrpc: "2.0", id: 1, method: "eth_call", params: ["x".repeat(20_000)] });
    expect(oversize.status).to.equal(413);
    expect((oversize.json as RpcAnswer).error?.code).to.equal(EIP1474_ERRORS.LIMIT_EXCEEDED);
    expect((oversize.json as RpcAnswer).error?.data?.veilError).to.equal("PAYLOAD_TOO_LARGE");
    expect((await fetch(p.url)).status).to.equal(405);
  });

  it("refuses a body nested deeper than MAX_JSON_DEPTH with invalid params before it parses or forwards it", async () => {
    // 8,000 levels fit the 16 KiB body limit of this proxy; forwarding them would recurse in JSON.stringify.
    for (const body of [
      "[".repeat(8_000) + "]".repeat(8_000),
      `{"jsonrpc":"2.0","id":1,"method":"eth_call","params":${"[".repeat(8_000)}${"]".repeat(8_000)}}`,
    ]) {
      const { status, json } = await post(p.url, body);
      expect(status).to.equal(200);
      const answer = json as RpcAnswer;
      expect(answer.id).to.equal(null);
      expect(answer.error?.code).to.equal(STANDARD_ERRORS.INVALID_PARAMS);
      expect(answer.error?.message).to.match(new RegExp(`deeper than ${MAX_JSON_DEPTH} levels`));
    }
    const fine = `{"jsonrpc":"2.0","id":1,"method":"eth_call","params":${"[".repeat(40)}${"]".repeat(40)}}`;
    const forwarded = (await post(p.url, fine)).json as RpcAnswer;
    expect(forwarded.error?.code).to.equal(EIP1474_ERRORS.RESOURCE_UNAVAILABLE); // no L2 here
  });

  it("is live but not ready when neither the L2 nor a Veil node answers, and says which check failed", async () => {
    for (const path of ["/health", "/health/ready"]) {
      const res = await fetch(`${p.url}${path}`);
      expect(res.status, path).to.equal(503);
      const body = (await res.json()) as { ready: boolean; checks: Record<string, { ok: boolean; detail?: string }> };
      expect(body.ready).to.equal(false);
      for (const check of ["l2", "node", "round-keys"]) expect(body.checks[check]?.ok, check).to.equal(false);
      expect(body.checks.l2?.detail).to.match(/unreachable|did not answer/);
    }
    expect((await fetch(`${p.url}/health/live`)).status).to.equal(200);
  });

  it("gives notifications no answer", async () => {
    const { status, json } = await post(p.url, { jsonrpc: "2.0", method: "eth_sendRawTransaction", params: ["0x00"] });
    expect(status).to.equal(204);
    expect(json).to.equal(undefined);
  });
});
