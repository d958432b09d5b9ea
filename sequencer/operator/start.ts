/**
 * Wires a running rollup operator from its config: the L1 (chain id for the EIP-712 domain, the
 * registry's leader schedule, the executor check), the sequencer client, the L2 (prepared: no
 * automatic mining, FIFO checked), the loop, and an HTTP listener with /health, /metrics and the
 * `operator_status` JSON-RPC method.
 */
import { JsonRpcProvider, Wallet, getAddress, type ContractRunner } from "ethers";
import type { Logger } from "pino";
import { veilDomain } from "../chain/eip712";
import { Health } from "../common/health";
import { createRegistry } from "../common/metrics";
import { MethodRegistry } from "../rpc/registry";
import { RpcServer, type ListenAddress } from "../rpc/server";
import { ClusterRegistry__factory } from "../../typechain-types";
import type { OperatorConfig } from "./config";
import { L2, prepareL2 } from "./l2";
import { createOperatorMetrics } from "./metrics";
import { Operator } from "./operator";
import { SequencerClient } from "./sequencer-client";
import type { ClusterMembers } from "./verify";

export interface RunningOperator {
  readonly url: string;
  readonly operator: Operator;
  /** Resolves when the loop ends (after stop()). */
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** An L1 connection to use instead of one made from config.l1.rpcUrl (tests). */
  readonly l1Runner?: ContractRunner;
  /** Skip prepareL2 (the caller prepared the L2). */
  readonly skipL2Prepare?: boolean;
}

/** Member lists kept in memory: an epoch's list never changes once the registry answers it. */
const EPOCHS_CACHED = 64;

/** The members of the cluster serving a rollup in an epoch, read from the registry once and kept. */
export function registryClusterMembers(runner: ContractRunner, clusterRegistry: string): ClusterMembers {
  const registry = ClusterRegistry__factory.connect(clusterRegistry, runner);
  const cache = new Map<string, readonly string[]>();
  return {
    async membersAt(rollupId, epoch) {
      const key = `${rollupId}:${epoch}`;
      const cached = cache.get(key);
      if (cached !== undefined) return cached;
      const cluster = await registry.clusterOfRollup(rollupId);
      const members = (await registry.membersAt(cluster, epoch)).map((m) => getAddress(m));
      if (cache.size >= EPOCHS_CACHED) cache.delete(cache.keys().next().value!);
      cache.set(key, members);
      return members;
    },
  };
}

export async function startOperator(
  config: OperatorConfig,
  log: Logger,
  options: StartOptions = {},
): Promise<RunningOperator> {
  const ownedProvider =
    options.l1Runner === undefined
      ? new JsonRpcProvider(config.l1.rpcUrl, undefined, { staticNetwork: true })
      : undefined;
  const runner = options.l1Runner ?? ownedProvider!;
  try {
    const executor = new Wallet(config.operator.signingKey.reveal());
    const registry = ClusterRegistry__factory.connect(config.l1.contracts.clusterRegistry, runner);
    if (!(await registry.isExecutor(config.operator.rollupId, executor.address))) {
      throw new Error(`${executor.address} is not an executor of rollup ${config.operator.rollupId} in the registry`);
    }
    const network = await runner.provider!.getNetwork();
    const domain = veilDomain(network.chainId, config.l1.contracts.validationServiceManager);
    const l2 = new L2(config.l2.rpcUrl, config.l2.requestTimeoutMs);
    const l2Info =
      options.skipL2Prepare === true ? { chainId: await l2.chainId(), head: await l2.head() } : await prepareL2(l2);
    log.info(
      { chainId: l2Info.chainId.toString(), head: l2Info.head, url: config.l2.rpcUrl },
      "L2 ready: manual mining, FIFO mempool",
    );

    const metricsRegistry = createRegistry({ processMetrics: true, labels: { operator: executor.address } });
    const operator = new Operator({
      rollupId: config.operator.rollupId,
      stateFile: config.operator.stateFile,
      blockTimeMs: config.operator.blockTimeMs,
      retryDelayMs: config.sequencer.retryDelayMs,
      requestDeadlineSeconds: config.operator.requestDeadlineSeconds,
      ...(config.operator.startHeight === undefined ? {} : { startHeight: BigInt(config.operator.startHeight) }),
      sequencer: new SequencerClient(config.sequencer.urls, executor, domain, config.sequencer.requestTimeoutMs, log),
      l2,
      domain,
      cluster: registryClusterMembers(runner, config.l1.contracts.clusterRegistry),
      metrics: createOperatorMetrics(metricsRegistry),
      log,
    });
    await operator.init();

    const health = new Health().addReadinessCheck("l2", async () => {
      await l2.head();
      return { ok: true };
    });
    const methods = new MethodRegistry();
    methods.register("operator_status", {
      description: "the operator's progress: next height, last executed block, last error",
      params: {},
      handler: () => operator.status(),
    });
    const server = new RpcServer({
      methods,
      log,
      metricsRegistry,
      health,
      maxBodyBytes: 64 * 1024,
      maxBatchSize: 10,
      requestTimeoutMs: 10_000,
    });
    const listen: ListenAddress = await server.listen(config.rpc.port, config.rpc.host);
    const done = operator.run();
    log.info(
      { url: listen.url, rollupId: config.operator.rollupId.toString(), executor: executor.address },
      "rollup operator started",
    );

    let stopping: Promise<void> | undefined;
    const stop = (): Promise<void> =>
      (stopping ??= (async () => {
        health.markShuttingDown();
        operator.stop();
        await done;
        await server.close(2_000);
        ownedProvider?.destroy();
        log.info("rollup operator stopped");
      })());
    return { url: listen.url, operator, done, stop };
  } catch (error) {
    ownedProvider?.destroy();
    throw error;
  }
}
