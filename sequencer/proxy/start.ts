/** Wires the encrypting RPC from its configuration: L1 view, SDK client, HTTP endpoint. */
import { JsonRpcProvider } from "ethers";
import type { Logger } from "pino";
import { RpcClient } from "../rpc/client";
import { ContractChainView } from "../sdk/chain";
import { VeilClient } from "../sdk/client";
import { l2ChainIdOf, type ProxyConfig } from "./config";
import { EncryptingProxy } from "./server";

export interface RunningProxy {
  readonly url: string;
  readonly client: VeilClient;
  stop(): Promise<void>;
}

/** Starts the proxy. L1 is contacted at start (chain id and contracts); the node and L2 only per request. */
export async function startProxy(config: ProxyConfig, log: Logger): Promise<RunningProxy> {
  const l1 = new JsonRpcProvider(config.l1.rpcUrl, undefined, { staticNetwork: true });
  const chain = await ContractChainView.connect(
    l1,
    { registry: config.l1.registry, validationServiceManager: config.l1.validationServiceManager },
    config.l1.fromBlock,
  );
  const client = new VeilClient({
    node: new RpcClient(config.node.rpcUrl, { timeoutMs: config.node.timeoutMs }),
    chain,
    rollupId: config.rollupId,
    lookAhead: { blockTimeMs: config.sequencing.blockTimeMs },
    roundKeyPolicy: { minContributors: config.sequencing.minContributors },
    maxAttempts: config.sequencing.maxAttempts,
    log,
  });
  const proxy = new EncryptingProxy({
    host: config.listen.host,
    port: config.listen.port,
    maxBodyBytes: config.listen.maxBodyBytes,
    l2RpcUrl: config.l2.rpcUrl,
    l2TimeoutMs: config.l2.timeoutMs,
    l2ChainId: l2ChainIdOf(config),
    send: (tx) => client.send(tx.bytes),
    log,
  });
  const url = await proxy.start();
  return {
    url,
    client,
    stop: async () => {
      await proxy.stop();
      l1.destroy();
    },
  };
}
