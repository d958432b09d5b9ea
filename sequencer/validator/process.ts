/**
 * A running validator: its vote store opened, the L1 deployment checked (the VSM belongs to the
 * configured registry), its JSON-RPC server (`get_task_response`, `get_validator_status`,
 * `rpc_methods`, /health, /metrics) listening, and the poll loop started. Polls never overlap: the
 * next one is scheduled `poll.intervalMs` after the previous one ends. The L1 provider can be injected
 * (tests pass Hardhat's in-process provider); by default it is a JsonRpcProvider on `l1.rpcUrl`.
 */
import { JsonRpcProvider, Wallet, getAddress, type Provider } from "ethers";
import type { Logger } from "pino";
import { Counter, Gauge, type Registry } from "prom-client";
import { z } from "zod";
import type { BlockDecrypter } from "../block/build";
import { veilDomain, type VeilDomain } from "../chain/eip712";
import { Health } from "../common/health";
import { createRegistry } from "../common/metrics";
import { RpcClient } from "../rpc/client";
import { MethodRegistry } from "../rpc/registry";
import { RpcServer, serverLimits, type ListenAddress } from "../rpc/server";
import {
  ClusterRegistry__factory,
  ForcedInclusionInbox__factory,
  ValidationServiceManager__factory,
  type ValidationServiceManager,
} from "../../typechain-types";
import { DeploymentMismatch, expectSlasher } from "../chain/deployment-check";
import { LazyDecrypter } from "../block/lazy-decrypter";
import { ConfigError } from "../config/layered";
import { chainIdsOf, type ValidatorConfig } from "./config";
import { Validator } from "./validator";
import { VoteStore } from "./votes";
import { InboxReader } from "../chain/inbox";

/** What `get_validator_status` answers. */
export const validatorStatusSchema = z.strictObject({
  operator: z.string(),
  validationServiceManager: z.string(),
  chainId: z.string(),
  /** The operator's current stake in wei (0: not registered, its votes count for nothing). */
  stake: z.string(),
  scannedThrough: z.number(),
  openTasks: z.number(),
  votes: z.number(),
  polls: z.strictObject({
    completed: z.number(),
    failed: z.number(),
    lastError: z.string().nullable(),
  }),
  peers: z.number(),
  ready: z.boolean(),
});
export type ValidatorStatus = z.infer<typeof validatorStatusSchema>;

export interface RunningValidator {
  readonly url: string;
  readonly listen: ListenAddress;
  /** The operator's checksummed address. */
  readonly operator: string;
  readonly domain: VeilDomain;
  readonly validator: Validator;
  readonly metricsRegistry: Registry;
  /** Stops polling (waiting for a poll in flight), drains the server. Idempotent. */
  stop(): Promise<void>;
}

export interface ValidatorOptions {
  /** The L1 provider; defaults to a JsonRpcProvider on `config.l1.rpcUrl`, owned and closed by the validator. */
  readonly provider?: Provider;
  readonly decrypter?: BlockDecrypter;
}

/** Rejects with a clear message when `p` has not settled within `ms`. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

interface PollMetrics {
  readonly polls: Counter<"outcome">;
  readonly scannedBlock: Gauge;
  readonly openTasks: Gauge;
}

function createPollMetrics(registry: Registry): PollMetrics {
  return {
    polls: new Counter({
      name: "veil_validator_polls_total",
      help: "poll rounds (scan TaskCreated, vote, aggregate) by outcome",
      labelNames: ["outcome"] as const,
      registers: [registry],
    }),
    scannedBlock: new Gauge({
      name: "veil_validator_scanned_block",
      help: "last L1 block whose TaskCreated logs were read",
      registers: [registry],
    }),
    openTasks: new Gauge({
      name: "veil_validator_open_tasks",
      help: "tasks seen and not yet settled on-chain",
      registers: [registry],
    }),
  };
}

/**
 * The EIP-712 domain of the deployment, after checking that the L1 answers and that the configured VSM
 * is one and belongs to the configured registry. Failures are ConfigErrors naming the field to fix.
 */
async function checkDeployment(
  config: ValidatorConfig,
  provider: Provider,
  vsm: ValidationServiceManager,
): Promise<VeilDomain> {
  const { rpcUrl, contracts } = config.l1;
  const ms = config.timeouts.requestMs;
  let chainId: bigint;
  let registry: string;
  try {
    chainId = config.l1.chainId ?? (await within(provider.getNetwork(), ms, `the L1 at ${rpcUrl}`)).chainId;
    registry = getAddress(await within(vsm.registry(), ms, `the L1 at ${rpcUrl}`));
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === "BAD_DATA" || code === "CALL_EXCEPTION") {
      throw new ConfigError(
        `l1.contracts.validationServiceManager: no ValidationServiceManager at ${contracts.validationServiceManager}`,
      );
    }
    throw new ConfigError(`l1.rpcUrl: cannot read the deployment from ${rpcUrl}: ${(error as Error).message}`);
  }
  if (registry !== contracts.clusterRegistry) {
    throw new ConfigError(
      `l1.contracts.clusterRegistry: the VSM at ${contracts.validationServiceManager} belongs to the registry ${registry}, not to ${contracts.clusterRegistry}`,
    );
  }
  try {
    const slasher = await within(
      ClusterRegistry__factory.connect(contracts.clusterRegistry, provider).slasher(),
      ms,
      `the L1 at ${rpcUrl}`,
    );
    expectSlasher(slasher, contracts.validationServiceManager);
  } catch (error) {
    if (error instanceof DeploymentMismatch) throw new ConfigError(`l1.contracts: ${error.message}`);
    throw new ConfigError(`l1.rpcUrl: cannot read the registry's slasher from ${rpcUrl}: ${(error as Error).message}`);
  }
  return veilDomain(chainId, contracts.validationServiceManager);
}

export async function startValidator(
  config: ValidatorConfig,
  log: Logger,
  options: ValidatorOptions = {},
): Promise<RunningValidator> {
  const ownedProvider =
    options.provider === undefined
      ? new JsonRpcProvider(config.l1.rpcUrl, undefined, { staticNetwork: true })
      : undefined;
  const provider = options.provider ?? ownedProvider!;
  const requestMs = config.timeouts.requestMs;
  const wallet = new Wallet(config.validator.signingKey.reveal(), provider);
  const operator = wallet.address;
  const vsmAddress = config.l1.contracts.validationServiceManager;
  const vsm = ValidationServiceManager__factory.connect(vsmAddress, wallet);

  let domain: VeilDomain;
  let votes: VoteStore;
  let inbox: InboxReader;
  try {
    domain = await checkDeployment(config, provider, vsm);
    inbox = new InboxReader(ForcedInclusionInbox__factory.connect(await vsm.inbox(), provider));
    try {
      votes = new VoteStore(config.storage.votesPath);
    } catch (error) {
      throw new ConfigError(`storage.votesPath: ${(error as Error).message}`);
    }
  } catch (error) {
    ownedProvider?.destroy();
    throw error;
  }
  const metricsRegistry = createRegistry({ processMetrics: true, labels: { validator: operator } });
  const pollMetrics = createPollMetrics(metricsRegistry);
  const node = new RpcClient(config.node.url, { timeoutMs: requestMs });
  const peers = config.peers.map((url) => new RpcClient(url, { timeoutMs: requestMs }));
  // A caller's decrypter is the caller's to close; one made here is closed by stop().
  const decrypter = options.decrypter ?? new LazyDecrypter(config.blocks.decryptThreads);
  const ownedDecrypter = options.decrypter === undefined ? (decrypter as LazyDecrypter) : undefined;
  const validator = new Validator({
    signer: wallet,
    vsm,
    domain,
    node,
    keyGenerators: config.keyGenerators.map((url) => new RpcClient(url, { timeoutMs: requestMs })),
    peers,
    chainIds: chainIdsOf(config),
    inbox,
    votes,
    log,
    metrics: metricsRegistry,
    fromBlock: config.l1.deployBlock,
    maxBlockRange: config.poll.maxBlockRange,
    decrypter,
  });

  const health = new Health()
    .addReadinessCheck("l1", async () => ({ ok: true, detail: `block ${await provider.getBlockNumber()}` }))
    .addReadinessCheck("node", async () => {
      await node.call("rpc_methods", undefined, undefined, { timeoutMs: requestMs });
      return { ok: true };
    });

  const pollState = { completed: 0, failed: 0, lastError: null as string | null };
  const methods = new MethodRegistry();
  validator.registerMethods(methods);
  methods.register("get_validator_status", {
    description: "the operator, its stake, how far it scanned the VSM, its open tasks, votes and poll outcomes",
    params: {},
    handler: async (): Promise<ValidatorStatus> => {
      const [stake, report] = await Promise.all([
        within(vsm.stakeOf(operator), requestMs, "the VSM").catch(() => undefined),
        health.report(),
      ]);
      return {
        operator,
        validationServiceManager: vsmAddress,
        chainId: domain.chainId.toString(),
        stake: stake === undefined ? "unknown" : stake.toString(),
        scannedThrough: validator.scannedThrough,
        openTasks: validator.openTasks,
        votes: votes.size,
        polls: { ...pollState },
        peers: peers.length,
        ready: report.ready,
      };
    },
  });
  methods.register("rpc_methods", {
    description: "the methods this validator serves, with their param names in positional order",
    params: {},
    handler: () => methods.list(),
  });
  const server = new RpcServer({ methods, log, metricsRegistry, health, ...serverLimits(config.rpc) });
  let listen: ListenAddress;
  try {
    listen = await server.listen(config.rpc.port, config.rpc.host);
  } catch (error) {
    ownedProvider?.destroy();
    throw error;
  }

  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> | undefined;
  const pollOnce = async (): Promise<void> => {
    try {
      await validator.poll();
      pollState.completed += 1;
      pollState.lastError = null;
      pollMetrics.polls.inc({ outcome: "ok" });
    } catch (error) {
      pollState.failed += 1;
      pollState.lastError = (error as Error).message;
      pollMetrics.polls.inc({ outcome: "failed" });
      log.warn({ err: (error as Error).message }, "poll failed; retrying after the interval");
    }
    pollMetrics.scannedBlock.set(validator.scannedThrough);
    pollMetrics.openTasks.set(validator.openTasks);
  };
  const loop = (): void => {
    inFlight = pollOnce().finally(() => {
      inFlight = undefined;
      if (!stopped) timer = setTimeout(loop, config.poll.intervalMs);
    });
  };
  loop();

  (async () => {
    const stake = await within(vsm.stakeOf(operator), requestMs, "the VSM");
    if (stake === 0n) log.warn({ operator }, "this operator has no stake in the VSM: its votes count for nothing");
  })().catch(() => undefined);
  log.info({ url: listen.url, operator, vsm: vsmAddress, peers: peers.length, votes: votes.size }, "validator started");

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      health.markShuttingDown();
      log.info("validator stopping");
      stopped = true;
      clearTimeout(timer);
      // A poll stuck on an unanswering L1 must not hold the shutdown beyond its grace period.
      await Promise.race([
        inFlight,
        new Promise<void>((resolve) => setTimeout(resolve, config.timeouts.shutdownGraceMs).unref()),
      ]);
      await server.close(config.timeouts.shutdownGraceMs);
      ownedProvider?.destroy();
      await ownedDecrypter?.close();
      log.info("validator stopped");
    })());

  return { url: listen.url, listen, operator, domain, validator, metricsRegistry, stop };
}
