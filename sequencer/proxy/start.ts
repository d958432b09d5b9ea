/** Wires the encrypting RPC from its configuration: L1 view, SDK client, HTTP endpoint. */
import { JsonRpcProvider, Wallet, type ContractRunner } from "ethers";
import type { Logger } from "pino";
import { RpcClient } from "../rpc/client";
import { ContractChainView } from "../sdk/chain";
import { VeilClient } from "../sdk/client";
import type { Registry } from "prom-client";
import { createRegistry } from "../common/metrics";
import { Admission } from "./admission";
import { l2ChainIdOf, type ProxyConfig } from "./config";
import { L2StateReader } from "./l2-state";
import { createProxyMetrics } from "./metrics";
import { PendingPool } from "./pending";
import { proxyHealth } from "./readiness";
import { DEFAULT_PRECHECK_POLICY, type PrecheckPolicy } from "./prechecks";
import { SerialSigner } from "./serial-signer";
import { EncryptingProxy } from "./server";

export interface RunningProxy {
  readonly url: string;
  readonly client: VeilClient;
  stop(): Promise<void>;
}

export interface ProxyParts {
  readonly client: VeilClient;
  /** The process's metrics registry (default: a fresh one without process metrics, for tests). */
  readonly registry?: Registry;
  readonly rpc: { readonly host: string; readonly port: number; readonly maxBodyBytes: number };
  readonly l2: { readonly rpcUrl: string; readonly timeoutMs: number; readonly chainId: bigint };
  readonly policy?: PrecheckPolicy;
  readonly pendingMaxAgeMs?: number;
  /** The fallback that forces a transaction through the L1 inbox after the sequencer's failures (off: absent). */
  readonly force?: {
    readonly signer: ContractRunner;
    readonly afterFailures: number;
    readonly retryDelayMs: number;
  };
  readonly log: Logger;
}

/** The endpoint with its pending pool and admission path around a VeilClient (the tests assemble it too). */
export function assembleProxy(parts: ProxyParts): EncryptingProxy {
  const pool = new PendingPool({ maxAgeMs: parts.pendingMaxAgeMs ?? 300_000, now: () => performance.now() });
  const admission = new Admission({
    l2: new L2StateReader(new RpcClient(parts.l2.rpcUrl, { timeoutMs: parts.l2.timeoutMs })),
    pool,
    policy: parts.policy ?? DEFAULT_PRECHECK_POLICY,
    send: async (tx, notBelow) => {
      const force = parts.force;
      if (force === undefined) return { kind: "ordered", sent: await parts.client.send(tx.bytes, { notBelow }) };
      return parts.client.sendOrForce(tx.bytes, force.signer, {
        notBelow,
        afterFailures: force.afterFailures,
        retryDelayMs: force.retryDelayMs,
        onFailure: (error, failures) =>
          parts.log.warn(
            { txHash: tx.hash, failures, err: error },
            `the sequencer did not order the transaction (${failures} of ${force.afterFailures} before forcing)`,
          ),
      });
    },
  });
  const l2 = new RpcClient(parts.l2.rpcUrl, { timeoutMs: Math.min(parts.l2.timeoutMs, 2_000) });
  const registry = parts.registry ?? createRegistry({ processMetrics: false });
  return new EncryptingProxy({
    ...parts.rpc,
    health: proxyHealth({ l2, l2ChainId: parts.l2.chainId, client: parts.client }),
    registry,
    metrics: createProxyMetrics(registry),
    l2RpcUrl: parts.l2.rpcUrl,
    l2TimeoutMs: parts.l2.timeoutMs,
    l2ChainId: parts.l2.chainId,
    admission,
    pool,
    log: parts.log,
  });
}

/**
 * The SDK client of the configured rollup, node and L1 contracts (the proxy's and `veil force`'s); the
 * caller destroys `l1` when done.
 */
export async function clientOf(
  config: ProxyConfig,
  log: Logger,
): Promise<{ readonly client: VeilClient; readonly l1: JsonRpcProvider }> {
  const l1 = new JsonRpcProvider(config.l1.rpcUrl, undefined, { staticNetwork: true });
  try {
    const chain = await ContractChainView.connect(
      l1,
      {
        registry: config.l1.contracts.clusterRegistry,
        validationServiceManager: config.l1.contracts.validationServiceManager,
      },
      config.l1.deployBlock,
    );
    const client = new VeilClient({
      node: new RpcClient(config.node.url, {
        timeoutMs: config.node.timeoutMs,
        ...(config.node.localAddress === undefined ? {} : { localAddress: config.node.localAddress }),
      }),
      chain,
      rollupId: config.rollupId,
      lookAhead: { blockTimeMs: config.sequencing.blockTimeMs },
      roundKeyPolicy: { minContributors: config.sequencing.minContributors },
      maxAttempts: config.sequencing.maxAttempts,
      log,
    });
    return { client, l1 };
  } catch (error) {
    l1.destroy();
    throw error;
  }
}

/** Starts the proxy. L1 is contacted at start (chain id and contracts); the node and L2 only per request. */
export async function startProxy(config: ProxyConfig, log: Logger): Promise<RunningProxy> {
  const { client, l1 } = await clientOf(config, log);
  const proxy = assembleProxy({
    client,
    rpc: config.rpc,
    l2: { rpcUrl: config.l2.rpcUrl, timeoutMs: config.l2.timeoutMs, chainId: l2ChainIdOf(config) },
    policy: { nonceWindow: config.precheck.nonceWindow, maxTxGas: BigInt(config.precheck.maxTxGas) },
    pendingMaxAgeMs: config.pending.maxAgeMs,
    ...(config.force.enabled && config.force.l1Key !== undefined
      ? {
          force: {
            signer: new SerialSigner(new Wallet(config.force.l1Key.reveal(), l1)),
            afterFailures: config.force.afterFailures,
            retryDelayMs: config.force.retryDelayMs,
          },
        }
      : {}),
    registry: createRegistry({ processMetrics: true, labels: { role: "proxy" } }),
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
