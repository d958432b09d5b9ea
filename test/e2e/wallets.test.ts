/**
 * Unmodified wallet libraries (ethers v6 and viem, from npm) pointed at the encrypting RPC of a full devnet
 * of real processes: the sequencer cluster, key generators, the rollup's L2 and its operator. Each behaves
 * as it does against an Ethereum node: consecutive sends get consecutive nonces and land in order, a
 * transaction that cannot run is refused with the error the library knows, and nothing goes in the clear.
 * Every member also censors one client address (the devnet's `censorship`): the wallet of that user still
 * gets its transaction executed, forced through the L1 inbox by its encrypting RPC.
 */
import { expect } from "chai";
import { JsonRpcProvider, JsonRpcSigner, Wallet, parseEther, type TransactionResponse } from "ethers";
import {
  BaseError,
  FeeCapTooLowError,
  InsufficientFundsError,
  IntrinsicGasTooLowError,
  NonceTooHighError,
  NonceTooLowError,
  createPublicClient,
  createWalletClient,
  defineChain,
  http,
  type Chain,
  type Hash,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import pino from "pino";
import { Devnet } from "../../scripts/devnet";
import { CENSORED_CLIENT } from "../../scripts/devnet/devnet";
import { ForcedInclusionInbox__factory } from "../../typechain-types";
import { forcedVerdict } from "../../sequencer/sdk/force";
import { RpcClient } from "../../sequencer/rpc/client";
import { VEIL_ERRORS } from "../../sequencer/rpc/errors";
import type { EncryptingProxy } from "../../sequencer/proxy/server";
import { assembleProxy } from "../../sequencer/proxy/start";
import { ContractChainView } from "../../sequencer/sdk/chain";
import { VeilClient } from "../../sequencer/sdk/client";
import { NodeApi } from "../../sequencer/sdk/node-api";
import { Link, errorAnswer } from "../sequencer/lossy-link";
import { l2Account } from "./harness";

/** Walks a viem error's causes for an instance of `type`. */
function viemCause(error: unknown, type: abstract new (...args: never[]) => Error): boolean {
  return error instanceof BaseError && error.walk((e) => e instanceof type) !== null;
}

/**
 * viem's transport for sends through the encrypting RPC: it encrypts and proves before it answers (about 3 s
 * on an idle 2-core machine, several times that under load), so viem's default 10 s timeout is too short.
 */
const sendTransport = (url: string) => http(url, { timeout: 120_000 });

const publicClientOf = (chain: Chain, url: string) =>
  createPublicClient({ chain, transport: http(url), pollingInterval: 200 });

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a refusal, got a transaction hash");
}

describe("wallets through the encrypting RPC: ethers and viem on the devnet's L2", function () {
  this.timeout(600_000);
  let devnet: Devnet;
  let provider: JsonRpcProvider;
  let l2Direct: JsonRpcProvider;
  let viemPublic: ReturnType<typeof publicClientOf>;
  let chain: Chain;
  const recipient = Wallet.createRandom().address as `0x${string}`;

  before(async () => {
    devnet = await Devnet.start({
      full: true,
      members: 3,
      keyGenerators: 2,
      operators: 1,
      censorship: true,
      logLevel: "info",
    });
    const url = devnet.flow!.proxyUrl;
    provider = new JsonRpcProvider(url, undefined, { staticNetwork: true, pollingInterval: 200 });
    l2Direct = new JsonRpcProvider(devnet.flow!.l2.url, undefined, { staticNetwork: true, pollingInterval: 200 });
    chain = defineChain({
      id: Number(devnet.flow!.l2ChainId),
      name: "veil devnet L2",
      nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
      rpcUrls: { default: { http: [url] } },
    });
    viemPublic = publicClientOf(chain, url);
  });

  after(async () => {
    provider?.destroy();
    l2Direct?.destroy();
    await devnet?.stop();
  });

  const viemWallet = (key: string) =>
    createWalletClient({
      account: privateKeyToAccount(key as Hash),
      chain,
      transport: sendTransport(devnet.flow!.proxyUrl),
    });

  /** Every hash executed on the L2, successfully, in nonce order and in non-decreasing blocks. */
  async function expectLandedInOrder(hashes: readonly string[], firstNonce: number): Promise<void> {
    const receipts = await Promise.all(hashes.map((h) => provider.waitForTransaction(h, 1, 180_000)));
    const blocks = receipts.map((r) => r!.blockNumber);
    expect(receipts.map((r) => r!.status)).to.deep.equal(hashes.map(() => 1));
    expect([...blocks].sort((a, b) => a - b)).to.deep.equal(blocks);
    const nonces = await Promise.all(hashes.map(async (h) => (await l2Direct.getTransaction(h))!.nonce));
    expect(nonces).to.deep.equal(hashes.map((_, i) => firstNonce + i));
  }

  {
    const count = 3;
    it(`ethers: ${count} sends in a row without explicit nonces get consecutive nonces and all land in order`, async () => {
      const wallet = l2Account(1).connect(provider);
      const first = await wallet.getNonce("pending");
      const sent: TransactionResponse[] = [];
      for (let i = 0; i < count; i++)
        sent.push(await wallet.sendTransaction({ to: recipient, value: parseEther("1") }));
      expect(sent.map((t) => t.nonce)).to.deep.equal(sent.map((_, i) => first + i));
      await expectLandedInOrder(
        sent.map((t) => t.hash),
        first,
      );
    });

    it(`viem: ${count} sends in a row without explicit nonces get consecutive nonces and all land in order`, async () => {
      const key = l2Account(3).privateKey;
      const client = viemWallet(key);
      const first = await viemPublic.getTransactionCount({ address: client.account.address, blockTag: "pending" });
      const hashes: Hash[] = [];
      for (let i = 0; i < count; i++)
        hashes.push(await client.sendTransaction({ to: recipient, value: parseEther("1") }));
      await expectLandedInOrder(hashes, first);
      for (const hash of hashes)
        expect((await viemPublic.waitForTransactionReceipt({ hash })).status).to.equal("success");
    });
  }

  it("answers a transaction that is ordered and not executed yet as pending: no block, no receipt, counted in the nonce", async () => {
    const wallet = l2Account(5).connect(provider);
    const before = await wallet.getNonce("pending");
    const sent = await wallet.sendTransaction({ to: recipient, value: 1n });
    // Its height is at least one block ahead: the operator cannot have executed it yet.
    const pending = await provider.getTransaction(sent.hash);
    expect(pending?.hash).to.equal(sent.hash);
    expect(pending?.blockNumber).to.equal(null);
    expect(pending?.from).to.equal(wallet.address);
    expect(pending?.nonce).to.equal(before);
    expect(await provider.getTransactionReceipt(sent.hash)).to.equal(null);
    expect(await l2Direct.getTransaction(sent.hash)).to.equal(null); // the L2 has not seen it in the clear
    expect(await wallet.getNonce("pending")).to.equal(before + 1);
    expect(await wallet.getNonce("latest")).to.equal(before);
    const seenByViem = await viemPublic.getTransaction({ hash: sent.hash as Hash });
    expect(seenByViem.blockNumber).to.equal(null);
    expect(seenByViem.nonce).to.equal(before);
    expect((await sent.wait(1, 180_000))?.status).to.equal(1);
    expect((await viemPublic.getTransactionReceipt({ hash: sent.hash as Hash })).status).to.equal("success");
  });

  it("refuses a same-nonce replacement of an ordered transaction with geth's message; the ordered one lands", async () => {
    const wallet = l2Account(6).connect(provider);
    const nonce = await wallet.getNonce("pending");
    const first = await wallet.sendTransaction({ to: recipient, value: 1n, nonce });
    const bumped = failure(
      wallet.sendTransaction({
        to: recipient,
        value: 2n,
        nonce,
        maxFeePerGas: 50_000_000_000n,
        maxPriorityFeePerGas: 10_000_000_000n,
      }),
    );
    expect(((await bumped) as { code?: string }).code).to.equal("REPLACEMENT_UNDERPRICED");
    const viemReplacement = await failure(
      viemWallet(l2Account(6).privateKey).sendTransaction({ to: recipient, value: 3n, nonce, gas: 21_000n }),
    );
    expect(String((viemReplacement as Error).message)).to.match(/replacement transaction underpriced/);
    expect((await first.wait(1, 180_000))?.status).to.equal(1);
    expect(await l2Direct.getTransactionCount(wallet.address, "latest")).to.equal(nonce + 1);
  });

  describe("transactions that can never run get no hash", () => {
    const fees = { maxFeePerGas: 10_000_000_000n, maxPriorityFeePerGas: 1_000_000_000n };

    it("a nonce gap: ethers and viem are told the nonce is too high", async () => {
      const wallet = l2Account(7).connect(provider);
      const nonce = (await wallet.getNonce("pending")) + 3;
      const viaEthers = await failure(
        wallet.sendTransaction({ to: recipient, value: 1n, nonce, gasLimit: 21_000n, ...fees }),
      );
      expect((viaEthers as Error).message).to.match(/nonce too high/);
      const viaViem = await failure(
        viemWallet(l2Account(7).privateKey).sendTransaction({ to: recipient, value: 1n, nonce, gas: 21_000n, ...fees }),
      );
      expect(viemCause(viaViem, NonceTooHighError)).to.equal(true);
    });

    it("a fee cap of 1 wei: viem's FeeCapTooLowError, geth's base-fee message for ethers", async () => {
      const cheap = { maxFeePerGas: 1n, maxPriorityFeePerGas: 1n, gasLimit: 21_000n };
      const viaEthers = await failure(
        l2Account(7)
          .connect(provider)
          .sendTransaction({ to: recipient, value: 1n, ...cheap }),
      );
      expect((viaEthers as Error).message).to.match(/max fee per gas less than block base fee/);
      const viaViem = await failure(
        viemWallet(l2Account(7).privateKey).sendTransaction({
          to: recipient,
          value: 1n,
          gas: 21_000n,
          maxFeePerGas: 1n,
          maxPriorityFeePerGas: 1n,
        }),
      );
      expect(viemCause(viaViem, FeeCapTooLowError)).to.equal(true);
    });

    it("an unfunded sender: ethers' INSUFFICIENT_FUNDS and viem's InsufficientFundsError", async () => {
      const poor = Wallet.createRandom();
      const viaEthers = await failure(
        poor.connect(provider).sendTransaction({ to: recipient, value: 1n, gasLimit: 21_000n, ...fees }),
      );
      expect((viaEthers as { code?: string }).code).to.equal("INSUFFICIENT_FUNDS");
      const viaViem = await failure(
        viemWallet(poor.privateKey).sendTransaction({ to: recipient, value: 1n, gas: 21_000n, ...fees }),
      );
      expect(viemCause(viaViem, InsufficientFundsError)).to.equal(true);
    });

    it("a gas limit below the intrinsic gas, or above the block's: the libraries' intrinsic-gas and gas-limit errors", async () => {
      const wallet = l2Account(7).connect(provider);
      const low = await failure(wallet.sendTransaction({ to: recipient, value: 1n, gasLimit: 20_000n, ...fees }));
      expect((low as Error).message).to.match(/intrinsic gas too low/);
      const viaViem = await failure(
        viemWallet(l2Account(7).privateKey).sendTransaction({ to: recipient, value: 1n, gas: 20_000n, ...fees }),
      );
      expect(viemCause(viaViem, IntrinsicGasTooLowError)).to.equal(true);
      const high = await failure(
        wallet.sendTransaction({ to: recipient, value: 1n, gasLimit: 1_000_000_000n, ...fees }),
      );
      expect((high as Error).message).to.match(/exceeds block gas limit/);
      const highViem = await failure(
        viemWallet(l2Account(7).privateKey).sendTransaction({ to: recipient, value: 1n, gas: 1_000_000_000n, ...fees }),
      );
      expect((highViem as Error).message).to.match(/exceeds block gas limit/);
    });

    it("a nonce already used: ethers' NONCE_EXPIRED and viem's NonceTooLowError", async () => {
      const wallet = l2Account(1).connect(provider); // sent twice in the first test: nonces 0 and 1 executed
      const viaEthers = await failure(
        wallet.sendTransaction({ to: recipient, value: 1n, nonce: 0, gasLimit: 21_000n, ...fees }),
      );
      expect((viaEthers as { code?: string }).code).to.equal("NONCE_EXPIRED");
      const viaViem = await failure(
        viemWallet(l2Account(1).privateKey).sendTransaction({
          to: recipient,
          value: 1n,
          nonce: 0,
          gas: 21_000n,
          ...fees,
        }),
      );
      expect(viemCause(viaViem, NonceTooLowError)).to.equal(true);
    });

    it("a transaction signed for another chain: invalid params naming both chain ids, through both libraries", async () => {
      const other = { to: recipient, value: 1n, nonce: 0, gas: 21_000n, ...fees };
      const signedByViem = await privateKeyToAccount(l2Account(7).privateKey as Hash).signTransaction({
        ...other,
        chainId: 1,
      });
      const viaViem = await failure(
        viemWallet(l2Account(7).privateKey).sendRawTransaction({ serializedTransaction: signedByViem }),
      );
      expect((viaViem as Error).message).to.match(
        new RegExp(`for chain 1, this endpoint serves chain ${devnet.flow!.l2ChainId}`),
      );
      const signedByEthers = await l2Account(7).signTransaction({
        to: recipient,
        value: 1n,
        nonce: 0,
        gasLimit: 21_000n,
        chainId: 1n,
        ...fees,
      });
      const viaEthers = await failure(provider.broadcastTransaction(signedByEthers));
      expect((viaEthers as Error).message).to.match(
        new RegExp(`for chain 1, this endpoint serves chain ${devnet.flow!.l2ChainId}`),
      );
    });

    it("none of the refused transactions was ordered: the sender's pending nonce did not move", async () => {
      const address = l2Account(7).address;
      expect(await provider.getTransactionCount(address, "pending")).to.equal(
        await l2Direct.getTransactionCount(address, "latest"),
      );
    });
  });

  it("nothing goes in the clear: eth_sendTransaction from ethers' and viem's JSON-RPC accounts is refused, and the L2 sees nothing", async () => {
    const [unlocked] = (await l2Direct.send("eth_accounts", [])) as `0x${string}`[];
    const before = await l2Direct.getTransactionCount(unlocked!, "pending");
    const client = createWalletClient({ account: unlocked!, chain, transport: sendTransport(devnet.flow!.proxyUrl) });
    const refused = await failure(client.sendTransaction({ to: recipient, value: 1n, gas: 21_000n }));
    expect((refused as Error).message).to.match(/eth_sendTransaction is not supported by the encrypting RPC/);
    const signer = new JsonRpcSigner(provider, unlocked!);
    const refusedToEthers = await failure(signer.sendTransaction({ to: recipient, value: 1n, gasLimit: 21_000n }));
    expect((refusedToEthers as Error).message).to.match(/eth_sendTransaction is not supported by the encrypting RPC/);
    expect(await l2Direct.getTransactionCount(unlocked!, "pending")).to.equal(before);
  });

  describe("an answer lost between the encrypting RPC and the node", () => {
    let link: Link;
    let l1: JsonRpcProvider;
    let proxy: EncryptingProxy;
    let url: string;

    before(async () => {
      link = new Link(devnet.nodes[0]!.url);
      const linkUrl = await link.listen();
      l1 = new JsonRpcProvider(devnet.l1.url, undefined, { staticNetwork: true });
      const view = await ContractChainView.connect(
        l1,
        { registry: devnet.world.clusterRegistry, validationServiceManager: devnet.world.validationServiceManager },
        devnet.world.deployBlock,
      );
      const client = new VeilClient({
        node: new RpcClient(linkUrl, { timeoutMs: 30_000 }),
        chain: view,
        rollupId: devnet.world.rollupId,
        lookAhead: { blockTimeMs: 2_000 },
      });
      proxy = assembleProxy({
        client,
        rpc: { host: "127.0.0.1", port: 0, maxBodyBytes: 1024 * 1024 },
        l2: { rpcUrl: devnet.flow!.l2.url, timeoutMs: 30_000, chainId: devnet.flow!.l2ChainId },
        log: pino({ level: "silent" }),
      });
      url = await proxy.start();
    });
    after(async () => {
      await proxy?.stop();
      await link?.close();
      l1?.destroy();
    });

    /** Sends the node ordered (it answered a receipt, which the link then replaced). */
    let ordered = 0;
    /** When the node orders a send, the link answers as if the leader had not answered in time. */
    const loseTheAnswer = (): void => {
      link.reset();
      ordered = 0;
      link.plan = async (request, forward) => {
        const answer = await forward();
        if (!("result" in answer)) return answer; // a height that closed first: the SDK goes on as usual
        ordered += 1;
        return errorAnswer(request.id, VEIL_ERRORS.UPSTREAM_TIMEOUT, "the leader did not answer within 2000 ms");
      };
    };

    it("still gives ethers and viem the hash of the ordered transaction, which is ordered once and lands", async () => {
      loseTheAnswer();
      const ethersProvider = new JsonRpcProvider(url, undefined, { staticNetwork: true, pollingInterval: 200 });
      try {
        const sent = await l2Account(8).connect(ethersProvider).sendTransaction({ to: recipient, value: 1n });
        expect(ordered, "ordered once").to.equal(1);
        expect(link.count("get_order_commitment"), "looked up by its leaf").to.be.at.least(1);
        expect((await sent.wait(1, 180_000))?.status).to.equal(1);
      } finally {
        ethersProvider.destroy();
      }
      loseTheAnswer();
      const viaViem = createWalletClient({
        account: privateKeyToAccount(l2Account(8).privateKey as Hash),
        chain,
        transport: sendTransport(url),
      });
      const hash = await viaViem.sendTransaction({ to: recipient, value: 1n });
      expect(ordered, "ordered once").to.equal(1);
      expect((await viemPublic.waitForTransactionReceipt({ hash, timeout: 180_000 })).status).to.equal("success");
    });
  });

  describe("a sender every leader censors", () => {
    it("is refused by every member at its door, while the same call from another address is served", async () => {
      const raw = await l2Account(2).signTransaction({
        to: recipient,
        value: 1n,
        nonce: 0,
        gasLimit: 21_000n,
        chainId: devnet.flow!.l2ChainId,
        maxFeePerGas: 10n ** 10n,
        maxPriorityFeePerGas: 1n,
      });
      const { openHeight } = await new NodeApi(new RpcClient(devnet.nodes[0]!.url)).heights(devnet.world.rollupId);
      // A height far ahead: accepted from 127.0.0.1 would order it; only the refusal is looked at.
      const params = { rollupId: devnet.world.rollupId.toString(), height: (openHeight + 2n).toString(), rawTx: raw };
      for (const n of devnet.nodes) {
        const censored = new RpcClient(n.url, { localAddress: CENSORED_CLIENT });
        const error = await failure(censored.call("send_raw_transaction", params));
        expect((error as { code?: number }).code, n.url).to.equal(VEIL_ERRORS.UNAUTHORIZED);
      }
      // The switch looks at the client's address, not at the transaction.
      expect(await new RpcClient(devnet.nodes[0]!.url).call("send_raw_transaction", params)).to.have.property(
        "commitment",
      );
    });

    it("gets its ethers transaction executed: its encrypting RPC forces it through the L1 inbox, and it runs at slot txCount + j of its height", async () => {
      const flow = devnet.flow!;
      const censoredProvider = new JsonRpcProvider(flow.censoredProxyUrl, undefined, {
        staticNetwork: true,
        pollingInterval: 200,
      });
      try {
        const wallet = l2Account(4).connect(censoredProvider);
        const sent = await wallet.sendTransaction({ to: recipient, value: parseEther("1") });
        const l1 = new JsonRpcProvider(devnet.l1.url, undefined, { staticNetwork: true });
        try {
          // The entry its encrypting RPC posted, paid by the devnet's forcing account.
          const onL1 = ForcedInclusionInbox__factory.connect(devnet.world.forcedInclusionInbox, l1);
          const events = await onL1.queryFilter(onL1.filters.ForcedTransactionSubmitted(devnet.world.rollupId));
          const mine = events.filter((e) => e.args.sender === devnet.world.forcer.address);
          expect(mine).to.have.length(1);
          const { height, index } = mine[0]!.args;
          const entry = { postedBlock: BigInt(mine[0]!.blockNumber), index: Number(index) };

          const receipt = await provider.waitForTransaction(sent.hash, 1, 180_000);
          expect(receipt!.status).to.equal(1);

          // The height's block commitment counts it, at slot txCount + j, and the node's block has it there.
          const chainView = await ContractChainView.connect(
            l1,
            { registry: devnet.world.clusterRegistry, validationServiceManager: devnet.world.validationServiceManager },
            devnet.world.deployBlock,
          );
          let verdict = forcedVerdict(entry, await chainView.committedBlock(devnet.world.rollupId, height));
          for (let i = 0; verdict.status === "pending" && i < 120; i++) {
            await new Promise((resolve) => setTimeout(resolve, 500));
            verdict = forcedVerdict(entry, await chainView.committedBlock(devnet.world.rollupId, height));
          }
          expect(verdict.status).to.equal("placed");
          const { slot, block } = verdict as Extract<typeof verdict, { status: "placed" }>;
          expect(slot).to.equal(block.commitment.txCount + entry.index);
          const built = (await devnet.nodes[0]!.client.call("get_raw_transaction_list", {
            rollupId: devnet.world.rollupId.toString(),
            height: height.toString(),
          })) as { transactions: { index: number; status: string; txHash?: string }[] };
          expect(built.transactions[slot]).to.deep.include({ index: slot, status: "valid", txHash: sent.hash });
        } finally {
          l1.destroy();
        }
        const metrics = await (await fetch(`${flow.censoredProxyUrl}/metrics`)).text();
        expect(metrics).to.match(/^veil_proxy_forced_total(\{[^}]*\})? 1$/m);
      } finally {
        censoredProvider.destroy();
      }
    });
  });

  describe("observability (after every send above)", () => {
    it("reports ready with the L2, a node and a verified round key, and counts sends, refusals and proving time", async () => {
      const res = await fetch(`${devnet.flow!.proxyUrl}/health/ready`);
      const body = (await res.json()) as { ready: boolean; checks: Record<string, { ok: boolean; detail?: string }> };
      expect(res.status, JSON.stringify(body)).to.equal(200);
      for (const check of ["l2", "node", "round-keys"]) expect(body.checks[check]?.ok, check).to.equal(true);
      const metrics = await (await fetch(`${devnet.flow!.proxyUrl}/metrics`)).text();
      /** The sample of `name` whose labels include `labels`, in any order. */
      const value = (name: string, labels: Record<string, string> = {}): number => {
        const line = metrics.split("\n").find((l) => {
          if (!l.startsWith(`${name}{`)) return false;
          return Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`));
        });
        return Number(line?.split(" ").at(-1) ?? "NaN");
      };
      const ok = { method: "eth_sendRawTransaction", outcome: "ok" };
      expect(value("veil_proxy_requests_total", ok)).to.be.at.least(8);
      expect(value("veil_proxy_refusals_total", { reason: "nonce-too-high" })).to.be.at.least(2);
      expect(value("veil_proxy_refusals_total", { reason: "insufficient-funds" })).to.be.at.least(2);
      expect(value("veil_proxy_proving_seconds_count")).to.be.at.least(8);
      expect(value("veil_proxy_send_seconds_count", { outcome: "ok" })).to.be.at.least(8);
    });
  });
});
