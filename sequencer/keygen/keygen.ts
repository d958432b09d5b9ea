/**
 * A running key generator: its store opened, its registry view, the publisher started, and its
 * JSON-RPC server (with /health and /metrics) listening. The L1 runner can be injected (tests pass
 * Hardhat's in-process provider); by default it is a JsonRpcProvider on `l1.rpcUrl`.
 */
import { expectSlasher } from "../chain/deployment-check";
import { JsonRpcProvider, Wallet, computeAddress, type ContractRunner, type Provider } from "ethers";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { Health } from "../common/health";
import { createRegistry } from "../common/metrics";
import { RpcClient } from "../rpc/client";
import { MethodRegistry } from "../rpc/registry";
import { RpcServer, serverLimits, type ListenAddress } from "../rpc/server";
import { ChainRegistryView, type RegistryView } from "./chain";
import type { KeygenConfig } from "./config";
import { createKeygenMetrics } from "./metrics";
import { registerKeygenMethods } from "./rpc";
import { KeygenService } from "./service";
import { KeygenStore } from "./store";

export interface RunningKeygen {
  readonly url: string;
  readonly listen: ListenAddress;
  /** The generator's address (its identity in the committee). */
  readonly generator: string;
  readonly service: KeygenService;
  readonly metricsRegistry: Registry;
  /** Stops the publisher and any solver run, drains the server, closes the store. Idempotent. */
  stop(): Promise<void>;
}

export interface KeygenOptions {
  /** An L1 runner with a provider; defaults to a JsonRpcProvider on `config.l1.rpcUrl`. */
  readonly runner?: ContractRunner & { provider: Provider | null };
  /** A registry view instead of the chain's (not used by the service in production). */
  readonly registry?: RegistryView;
}

export async function startKeygen(
  config: KeygenConfig,
  log: Logger,
  options: KeygenOptions = {},
): Promise<RunningKeygen> {
  const generator = computeAddress(config.keygen.signingKey.reveal());
  const ownedProvider = options.runner
    ? undefined
    : new JsonRpcProvider(config.l1.rpcUrl, undefined, { staticNetwork: true });
  const runner = options.runner ?? ownedProvider!;
  const registry =
    options.registry ??
    new ChainRegistryView(runner, config.l1.contracts.clusterRegistry, config.l1.contracts.validationServiceManager);
  expectSlasher(await registry.slasher(), config.l1.contracts.validationServiceManager);
  const store = await KeygenStore.open(config.storage.path);
  const metricsRegistry = createRegistry({ processMetrics: true, labels: { keygen: generator } });
  const peers = new Map(
    config.committee
      .filter((m) => m.address !== generator)
      .map((m) => [m.address.toLowerCase(), new RpcClient(m.url, { timeoutMs: config.timeouts.peerRequestMs })]),
  );
  const service = new KeygenService({
    config,
    store,
    registry,
    log,
    address: generator,
    signer: new Wallet(config.keygen.signingKey.reveal()),
    metrics: createKeygenMetrics(metricsRegistry),
    peers,
  });
  const health = new Health()
    .addReadinessCheck("storage", () =>
      store.isOpen ? { ok: true } : { ok: false, detail: "the database is not open" },
    )
    .addReadinessCheck("l1", async () => {
      await registry.domain();
      return { ok: true };
    });
  const methods = new MethodRegistry();
  registerKeygenMethods(methods, service);
  const server = new RpcServer({
    methods,
    log,
    metricsRegistry,
    health,
    ...serverLimits(config.rpc),
  });
  let listen: ListenAddress;
  try {
    listen = await server.listen(config.rpc.port, config.rpc.host);
  } catch (error) {
    await store.close();
    ownedProvider?.destroy();
    throw error;
  }
  service.start();
  log.info(
    { url: listen.url, generator, rollups: config.rollups.map(String), db: store.location },
    "key generator started",
  );

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      health.markShuttingDown();
      log.info("key generator stopping");
      await service.stop();
      await server.close(config.timeouts.shutdownGraceMs);
      await store.close();
      ownedProvider?.destroy();
      log.info("key generator stopped");
    })());

  return { url: listen.url, listen, generator, service, metricsRegistry, stop };
}
