/**
 * The end-to-end half of the SDK and encrypting-RPC tests, ready for when the sequencer node runs: given a
 * live topology (L1 with the deployed contracts, at least one Veil node, an L2 node, a rollup operator that
 * finalizes blocks and a leader that posts block commitments), it sends transactions both ways and checks
 * every promise. It needs:
 *   - a node serving send_encrypted_transaction, get_encryption_key ({roundKey, contributions}),
 *     get_block_height ({rollupId} → the open height) and get_post_merkle_proof ({leafHash, siblings});
 *   - the registry's rollup config (T, N) and, for a large T, the published (h, hProof);
 *   - a funded L2 account and the L2 chain id equal to the rollup id (or `chainId`).
 */
import { expect } from "chai";
import { JsonRpcProvider, Wallet, parseEther } from "ethers";
import pino from "pino";
import { DEFAULT_PRECHECK_POLICY } from "../../sequencer/proxy/prechecks";
import { assembleProxy } from "../../sequencer/proxy/start";
import { ContractChainView, type L1Addresses } from "../../sequencer/sdk/chain";
import { VeilClient, type SentTransaction } from "../../sequencer/sdk/client";
import { InclusionError } from "../../sequencer/sdk/errors";
import type { InclusionVerdict } from "../../sequencer/sdk/inclusion";

export interface LiveTopology {
  readonly l1RpcUrl: string;
  readonly addresses: L1Addresses;
  readonly nodeRpcUrl: string;
  readonly l2RpcUrl: string;
  readonly rollupId: bigint;
  readonly chainId?: bigint;
  readonly blockTimeMs: number;
  readonly fundedL2Key: string;
}

export interface LiveRun {
  readonly client: VeilClient;
  readonly direct: SentTransaction[];
  readonly viaProxyHashes: string[];
  close(): Promise<void>;
}

/** Sends `count` transfers with the SDK and `count` through the encrypting RPC with an ethers Wallet. */
export async function sendThroughVeil(topology: LiveTopology, count: number): Promise<LiveRun> {
  const l1 = new JsonRpcProvider(topology.l1RpcUrl);
  const chain = await ContractChainView.connect(l1, topology.addresses);
  const client = new VeilClient({
    node: topology.nodeRpcUrl,
    chain,
    rollupId: topology.rollupId,
    lookAhead: { blockTimeMs: topology.blockTimeMs },
  });
  const chainId = topology.chainId ?? topology.rollupId;
  const proxy = assembleProxy({
    client,
    rpc: { host: "127.0.0.1", port: 0, maxBodyBytes: 1024 * 1024 },
    l2: { rpcUrl: topology.l2RpcUrl, timeoutMs: 30_000, chainId },
    // The direct sends below go around this endpoint: it cannot know their nonces, which are not executed yet.
    policy: { ...DEFAULT_PRECHECK_POLICY, nonceWindow: count },
    log: pino({ level: "silent" }),
  });
  const proxyUrl = await proxy.start();
  const l2 = new JsonRpcProvider(topology.l2RpcUrl);
  const signer = new Wallet(topology.fundedL2Key, l2);
  const to = Wallet.createRandom().address;
  let nonce = await signer.getNonce("pending");
  const direct: SentTransaction[] = [];
  for (let i = 0; i < count; i++) {
    const raw = await signer.signTransaction(
      await signer.populateTransaction({ to, value: parseEther("0.001"), nonce: nonce++, chainId }),
    );
    direct.push(await client.send(Buffer.from(raw.slice(2), "hex")));
  }
  const viaProxy = new Wallet(topology.fundedL2Key, new JsonRpcProvider(proxyUrl));
  const viaProxyHashes: string[] = [];
  for (let i = 0; i < count; i++) {
    const response = await viaProxy.sendTransaction({ to, value: parseEther("0.001"), nonce: nonce++ });
    viaProxyHashes.push(response.hash);
  }
  return {
    client,
    direct,
    viaProxyHashes,
    close: async () => {
      await proxy.stop();
      l1.destroy();
      l2.destroy();
      viaProxy.provider?.destroy();
    },
  };
}

/** Polls until the block commitment of each transaction is on L1, then checks that every promise was kept. */
export async function expectEveryPromiseKept(
  client: VeilClient,
  sent: readonly SentTransaction[],
  timeoutMs = 120_000,
) {
  const deadline = Date.now() + timeoutMs;
  for (const tx of sent) {
    let verdict: InclusionVerdict | undefined;
    while (verdict === undefined) {
      try {
        verdict = await client.checkInclusion(tx);
      } catch (error) {
        if (!(error instanceof InclusionError && error.reason === "not-committed") || Date.now() > deadline)
          throw error;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    expect(verdict.kept, `tx at ${tx.height}/${tx.receipt.commitment.txIndex}`).to.equal(true);
  }
}
