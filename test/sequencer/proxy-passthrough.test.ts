import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { JsonRpcProvider, Wallet, parseEther } from "ethers";
import { EIP1474_ERRORS } from "../../sequencer/proxy/wallet-errors";
import {
  FUNDED_KEY,
  freePort,
  post,
  startL2Node,
  startTestProxy,
  type L2Node,
  type ProxyUnderTest,
} from "./proxy-fixture";
import { sdkWorld } from "./sdk-fixture";

interface RpcAnswer {
  id: unknown;
  result?: unknown;
  error?: { code: number; message: string };
}

describe("encrypting RPC: passthrough to a real L2 node, and an unmodified ethers Wallet", function () {
  this.timeout(180_000);
  let l2: L2Node;
  let p: ProxyUnderTest;

  before(async () => {
    const w = await loadFixture(sdkWorld);
    l2 = await startL2Node();
    const noVeilNode = `http://127.0.0.1:${await freePort()}`;
    p = await startTestProxy({ l2RpcUrl: l2.url, chain: w.chain, nodeUrl: noVeilNode });
  });
  after(async () => {
    await p?.proxy.stop();
    await l2?.stop();
  });

  const call = async (url: string, method: string, params: unknown[] = []) =>
    (await post(url, { jsonrpc: "2.0", id: 1, method, params })).json as RpcAnswer;

  it("forwards eth_* reads and returns exactly what the L2 answers", async () => {
    const account = new Wallet(FUNDED_KEY).address;
    for (const [method, params] of [
      ["eth_chainId", []],
      ["eth_blockNumber", []],
      ["eth_getBalance", [account, "latest"]],
      ["eth_getTransactionCount", [account, "latest"]],
      ["eth_getBlockByNumber", ["latest", false]],
      ["net_version", []],
    ] as const) {
      expect(await call(p.url, method, [...params]), method).to.deep.equal(await call(l2.url, method, [...params]));
    }
  });

  it("checks the L2's chain id for readiness, and stays not ready while no Veil node answers", async () => {
    const res = await fetch(`${p.url}/health/ready`);
    expect(res.status).to.equal(503);
    const body = (await res.json()) as { checks: Record<string, { ok: boolean }> };
    expect(body.checks.l2?.ok).to.equal(true);
    expect(body.checks.node?.ok).to.equal(false);
    expect((await fetch(`${p.url}/health/live`)).status).to.equal(200);
  });

  it("serves Prometheus metrics: requests by method and outcome, and off-list methods as 'other'", async () => {
    await call(p.url, "eth_chainId");
    await call(p.url, "hardhat_mine");
    await call(p.url, "eth_sendRawTransaction", ["0xzz"]);
    const res = await fetch(`${p.url}/metrics`);
    expect(res.status).to.equal(200);
    const text = await res.text();
    expect(text).to.match(/veil_proxy_requests_total\{method="eth_chainId",outcome="ok"\} [1-9]/);
    expect(text).to.match(/veil_proxy_requests_total\{method="other",outcome="-32601"\} [1-9]/);
    expect(text).to.not.match(/hardhat_mine/);
    expect(text).to.match(/veil_proxy_refusals_total\{reason="not-hex"\} [1-9]/);
    expect(text).to.match(/veil_proxy_pending_transactions 0/);
  });

  it("relays the L2's errors unchanged", async () => {
    const params = ["not an address", "latest"];
    const viaProxy = await call(p.url, "eth_getBalance", params);
    expect(viaProxy.error).to.not.equal(undefined);
    expect(viaProxy.error).to.deep.equal((await call(l2.url, "eth_getBalance", params)).error);
  });

  it("refuses eth_sendTransaction from an account the L2 node holds unlocked; nothing reaches the L2", async () => {
    const [unlocked] = (await call(l2.url, "eth_accounts")).result as string[];
    const before = (await call(l2.url, "eth_getTransactionCount", [unlocked, "pending"])).result;
    const answer = await call(p.url, "eth_sendTransaction", [{ from: unlocked, to: unlocked, value: "0x1" }]);
    expect(answer.error?.code).to.equal(-32004);
    expect(answer.error?.message).to.match(/eth_sendTransaction is not supported .* in the clear/);
    expect((await call(l2.url, "eth_getTransactionCount", [unlocked, "pending"])).result).to.equal(before);
    for (const method of ["eth_sign", "eth_signTransaction", "eth_signTypedData_v4", "personal_sign"]) {
      expect((await call(p.url, method, [unlocked, "0x00"])).error?.code, method).to.equal(-32004);
    }
  });

  it("answers eth_accounts with no account, although the L2 node has twenty", async () => {
    expect(((await call(l2.url, "eth_accounts")).result as string[]).length).to.equal(20);
    expect((await call(p.url, "eth_accounts")).result).to.deep.equal([]);
  });

  it("forwards no method off the read allow-list: node control and unknown names do not exist here", async () => {
    const head = (await call(l2.url, "eth_blockNumber")).result;
    for (const method of [
      "hardhat_mine",
      "evm_mine",
      "hardhat_setBalance",
      "debug_traceTransaction",
      "eth_noSuchMethod",
    ]) {
      const answer = await call(p.url, method, []);
      expect(answer.error?.code, method).to.equal(-32601);
    }
    expect((await call(l2.url, "eth_blockNumber")).result).to.equal(head);
  });

  it("forwards batches, keeping each answer with its request even when ids repeat", async () => {
    const account = new Wallet(FUNDED_KEY).address;
    const { json } = await post(p.url, [
      { jsonrpc: "2.0", id: "a", method: "eth_chainId" },
      { jsonrpc: "2.0", id: 1, method: "eth_getBalance", params: [account, "latest"] },
      { jsonrpc: "2.0", id: 1, method: "eth_noSuchMethod" },
      { jsonrpc: "2.0", id: 9, method: "eth_sendRawTransaction", params: ["0x01"] },
      "not a request",
    ]);
    const answers = json as RpcAnswer[];
    expect(answers.map((a) => a.id)).to.deep.equal(["a", 1, 1, 9, null]);
    expect(answers[0]!.result).to.equal("0x7a69");
    expect(answers[1]!.result).to.equal((await call(l2.url, "eth_getBalance", [account, "latest"])).result);
    expect(answers[2]!.error).to.not.equal(undefined);
    expect(answers[3]!.error?.code).to.equal(-32602);
    expect(answers[4]!.error?.code).to.equal(-32600);
  });

  it("serves an unmodified ethers Wallet; its transaction goes to the sequencer, never in the clear to the L2", async () => {
    const provider = new JsonRpcProvider(p.url, undefined, { staticNetwork: false });
    const wallet = new Wallet(FUNDED_KEY, provider);
    try {
      expect((await provider.getNetwork()).chainId).to.equal(31337n);
      expect(await provider.getBalance(wallet.address)).to.be.greaterThan(parseEther("1000"));
      const nonce = await wallet.getNonce();
      const request = { to: `0x${"44".repeat(20)}`, value: parseEther("1") };
      expect(await wallet.estimateGas(request)).to.be.within(21_000n, 21_100n);
      // No Veil node is running yet: the proxy encrypts nothing it cannot deliver and says why.
      let failure: unknown;
      try {
        await wallet.sendTransaction(request);
      } catch (error) {
        failure = error;
      }
      const info = (failure as { error?: { code?: number; message?: string } } | undefined)?.error;
      expect(info?.code).to.equal(EIP1474_ERRORS.RESOURCE_UNAVAILABLE);
      expect(info?.message).to.match(/sequencer is unreachable/);
      // The L2 never saw the transaction: no pending transaction, the nonce did not move.
      const direct = new JsonRpcProvider(l2.url);
      expect(await direct.getTransactionCount(wallet.address, "pending")).to.equal(nonce);
      direct.destroy();
    } finally {
      provider.destroy();
    }
  });
});
