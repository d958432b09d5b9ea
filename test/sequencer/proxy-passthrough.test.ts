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

  it("reports ready on GET /health while the L2 answers with its chain id", async () => {
    const res = await fetch(`${p.url}/health`);
    expect(res.status).to.equal(200);
    expect(await res.json()).to.deep.equal({ status: "ok" });
  });

  it("relays the L2's errors unchanged", async () => {
    const viaProxy = await call(p.url, "eth_noSuchMethod");
    expect(viaProxy.error?.code).to.equal((await call(l2.url, "eth_noSuchMethod")).error?.code);
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
