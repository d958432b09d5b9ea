/**
 * A Veil devnet of real processes on loopback: the L1 (`hardhat node`), the on-chain world, one
 * `veil keygen start` process per committee member and one `veil node start` process per cluster
 * member. With `full`, the rest of the flow as well: the rollup's L2 (a second `hardhat node`), one
 * `veil validator start` per VSM operator, the rollup operator (`veil operator start`) and the
 * encrypting RPC (`veil proxy start`). Each process gets its own config file, database folder and log
 * file under the work folder.
 *
 * Used by the multi-process tests and the sequencer benchmark:
 *
 *   const devnet = await Devnet.start({ workDir });
 *   await devnet.killNode(1); await devnet.startNode(1);   // kill -9 and restart on the same database
 *   await devnet.stop();                                   // SIGTERM, then SIGKILL; always call it
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { RpcClient } from "../../sequencer/rpc/client";
import { ROOT, startL1, startL2, type Chain, type L1 } from "./l1";
import { assertPortsFree, freePorts, isHealthy, waitUntil } from "./net";
import { ManagedProcess } from "./process";
import { deployWorld, type World, type WorldOptions } from "./world";

const CLI = path.join(ROOT, "sequencer", "cli.ts");
/**
 * tsx's loader for both module systems: the CLI's commands import their role's code when they run
 * (`import()`), which tsx's CommonJS hook alone does not resolve.
 */
const TSX = require.resolve("tsx");

export interface DevnetOptions extends WorldOptions {
  /** Folder for configs, databases and logs; default a fresh temp folder, removed by `stop`. */
  readonly workDir?: string;
  /** Keep the work folder after `stop` (for reading logs). Default: only a folder the caller gave. */
  readonly keepWorkDir?: boolean;
  /**
   * Where each key generator keeps its database (default `<workDir>/keygen-<i>/db`). A folder that
   * survives between runs, with the same seed and modulus, keeps the same round keys.
   */
  readonly keygenDbDirs?: readonly string[];
  /**
   * Heights each key generator publishes ahead of the open one (default 4; 16 in full devnets, so that a
   * client on a busy machine still finds a height its proof can reach in time).
   */
  readonly keyLookahead?: number;
  readonly logLevel?: "debug" | "info" | "warn" | "error";
  /** Extra node config, merged over the devnet's (e.g. `{ ordering: { followerProofSampleRate: 0 } }`). */
  readonly nodeConfig?: Record<string, unknown>;
  /** Extra key-generator config, merged over the devnet's (e.g. `{ schedule: { aggregationTimeoutMs: 20_000 } }`). */
  readonly keygenConfig?: Record<string, unknown>;
  /** How long a process may take to become ready. */
  readonly readyTimeoutMs?: number;
  /**
   * The whole flow of DESIGN.md: adds the L2, a validator per VSM operator (`operators`, default 3 here),
   * the rollup operator and the encrypting RPC. Default false (the cluster alone).
   */
  readonly full?: boolean;
  /** The L2's chain id (full devnets). Default 31338. */
  readonly l2ChainId?: bigint;
  /** The rollup operator's block time (full devnets). Default 2,000 ms. */
  readonly blockTimeMs?: number;
  /**
   * Fixed ports from this base instead of free ones picked at random: L1 base, L2 +1, encrypting RPC +2,
   * rollup operator +3, the censored user's encrypting RPC +4, nodes +5…, key generators +15…, validators
   * +25… (`npm start` uses 8545).
   */
  readonly basePort?: number;
  /**
   * Censorship (full devnets): every member refuses the submissions of clients at CENSORED_CLIENT (the
   * node's `testing.censorClients` switch), and a second encrypting RPC, `censoredProxyUrl`, reaches the
   * nodes from that address with its forced-inclusion fallback on, paid by `world.forcer`.
   */
  readonly censorship?: boolean;
  /** Called with a line for each step of the start-up (e.g. `npm start` prints them). */
  readonly progress?: (message: string) => void;
}

/** The processes a full devnet adds around the cluster. */
export interface FlowHandles {
  readonly l2: Chain;
  readonly l2ChainId: bigint;
  readonly validatorUrls: readonly string[];
  readonly validators: ManagedProcess[];
  readonly operatorUrl: string;
  operator: ManagedProcess | undefined;
  /** The encrypting RPC wallets talk to. */
  readonly proxyUrl: string;
  proxy: ManagedProcess | undefined;
  /** With `censorship`: the encrypting RPC of the censored user, which forces what the nodes refuse. */
  readonly censoredProxyUrl: string | undefined;
  censoredProxy: ManagedProcess | undefined;
}

export interface NodeHandle {
  readonly index: number;
  readonly url: string;
  readonly dbDir: string;
  readonly configFile: string;
  readonly logFile: string;
  readonly client: RpcClient;
  process: ManagedProcess | undefined;
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] =
      typeof v === "object" && v !== null && !Array.isArray(v) && typeof b === "object" && b !== null
        ? deepMerge(b as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

const l2ChainIdOf = (options: DevnetOptions): bigint => options.l2ChainId ?? 31_338n;

/** The loopback address the censored user's encrypting RPC connects from (Linux routes all of 127/8 to lo). */
export const CENSORED_CLIENT = "127.0.0.2";

/**
 * The public rate limit of every devnet server: on, as in production, but sized for a devnet, where
 * every client, member and test reaches a server from 127.0.0.1 and so shares its one bucket. Far above
 * what the devnet's own traffic and tests send; the benchmarks, which saturate the nodes on purpose,
 * raise it (scripts/bench/sequencer-world.ts). The nodes' `/cluster` bucket keeps its default.
 */
export const DEVNET_RATE_LIMIT = { enabled: true, ratePerSecond: 2_000, burst: 4_000 } as const;

/** The nodes' timeouts on a full devnet (a shared machine): heartbeats, view changes and node-to-node calls. */
export const FULL_DEVNET_TIMEOUTS = { heartbeatIntervalMs: 200, leaderTimeoutMs: 2_000, peerRequestMs: 8_000 } as const;

/** The fixed port layout of `basePort`, in the order `start` takes ports: L1, nodes, key generators, flow. */
function fixedPorts(base: number, members: number, generators: number, validators: number | undefined): number[] {
  const range = (from: number, count: number): number[] => Array.from({ length: count }, (_, i) => from + i);
  if (members > 10 || generators > 10 || (validators ?? 0) > 10) throw new Error("basePort allows at most 10 of each");
  const flow =
    validators === undefined ? [] : [base + 1, base + 3, base + 2, base + 4, ...range(base + 25, validators)];
  return [base, ...range(base + 5, members), ...range(base + 15, generators), ...flow];
}

export class Devnet {
  readonly keygens: ManagedProcess[] = [];
  /** Present in full devnets. */
  flow: FlowHandles | undefined;
  private stopped = false;

  private constructor(
    readonly workDir: string,
    private readonly removeWorkDir: boolean,
    readonly l1: L1,
    readonly world: World,
    readonly nodes: NodeHandle[],
    readonly keygenUrls: readonly string[],
    private readonly readyTimeoutMs: number,
  ) {}

  /** Boots everything and resolves once every node is ready; on failure stops what it started. */
  static async start(options: DevnetOptions = {}): Promise<Devnet> {
    const workDir = options.workDir ?? mkdtempSync(path.join(os.tmpdir(), "veil-devnet-"));
    mkdirSync(workDir, { recursive: true });
    const removeWorkDir = !(options.keepWorkDir ?? options.workDir !== undefined);
    const readyTimeoutMs = options.readyTimeoutMs ?? 90_000;
    const full = options.full ?? false;
    const memberCount = options.members ?? 3;
    const generatorCount = options.keyGenerators ?? 2;
    const operatorCount = options.operators ?? (full ? 3 : 0);
    const flowPortCount = full ? 4 + operatorCount : 0; // L2, operator, proxy, censored proxy, validators
    const [l1Port, ...ports] =
      options.basePort === undefined
        ? await freePorts(1 + memberCount + generatorCount + flowPortCount)
        : fixedPorts(options.basePort, memberCount, generatorCount, full ? operatorCount : undefined);
    await assertPortsFree([l1Port!, ...ports]);
    const say = options.progress ?? ((): void => undefined);
    say(`starting the L1 (hardhat node) on port ${l1Port}`);
    const l1 = await startL1(l1Port!, path.join(workDir, "logs", "l1.log"), readyTimeoutMs);
    let devnet: Devnet | undefined;
    try {
      say("deploying the contracts, bonding the cluster, registering the rollup and the VSM operators");
      const world = await deployWorld(l1.url, { ...options, operators: operatorCount });
      const nodePorts = ports.slice(0, memberCount);
      const keygenPorts = ports.slice(memberCount, memberCount + generatorCount);
      const flowPorts = ports.slice(memberCount + generatorCount);
      const keygenUrls = keygenPorts.map((p) => `http://127.0.0.1:${p}`);
      const nodeUrls = nodePorts.map((p) => `http://127.0.0.1:${p}`);
      const nodes = nodeUrls.map((url, index): NodeHandle => ({
        index,
        url,
        dbDir: path.join(workDir, `node-${index}`, "db"),
        configFile: path.join(workDir, `node-${index}`, "config.json"),
        logFile: path.join(workDir, "logs", `node-${index}.log`),
        client: new RpcClient(url, { timeoutMs: 30_000 }),
        process: undefined,
      }));
      devnet = new Devnet(workDir, removeWorkDir, l1, world, nodes, keygenUrls, readyTimeoutMs);
      devnet.writeConfigs(options, nodePorts, keygenPorts);
      say(`starting ${generatorCount} key generators`);
      await Promise.all(world.keyGenerators.map((_, i) => devnet!.startKeygen(i)));
      say(`starting ${memberCount} sequencer nodes`);
      await Promise.all(nodes.map((n) => devnet!.startNode(n.index)));
      if (full) await devnet.startFlow(options, flowPorts, say);
      return devnet;
    } catch (error) {
      if (devnet !== undefined) await devnet.stop();
      else {
        await l1.process.stop();
        if (removeWorkDir) rmSync(workDir, { recursive: true, force: true });
      }
      throw error;
    }
  }

  private commonL1(): Record<string, unknown> {
    return {
      rpcUrl: this.l1.url,
      contracts: {
        clusterRegistry: this.world.clusterRegistry,
        validationServiceManager: this.world.validationServiceManager,
      },
    };
  }

  private writeConfigs(options: DevnetOptions, nodePorts: number[], keygenPorts: number[]): void {
    const w = this.world;
    const logLevel = options.logLevel ?? "info";
    w.keyGenerators.forEach((g, i) => {
      const dir = path.join(this.workDir, `keygen-${i}`);
      mkdirSync(dir, { recursive: true });
      const config = {
        keygen: { signingKey: g.privateKey },
        rollups: [w.rollupId.toString()],
        committee: w.keyGenerators
          .map((other, j) => ({ address: other.address, url: this.keygenUrls[j]! }))
          .filter((_, j) => j !== i),
        schedule: {
          lookahead: options.keyLookahead ?? (options.full === true ? 16 : 4),
          startHeight: 0,
          tickMs: 200,
          aggregationTimeoutMs: 5_000,
        },
        solver: { enabled: true, revealTimeoutMs: 3_000 },
        rpc: { host: "127.0.0.1", port: keygenPorts[i], rateLimit: DEVNET_RATE_LIMIT },
        storage: { path: options.keygenDbDirs?.[i] ?? path.join(dir, "db") },
        l1: this.commonL1(),
        log: { level: logLevel },
      };
      const merged = deepMerge(config, options.keygenConfig ?? {});
      writeFileSync(path.join(dir, "config.json"), JSON.stringify(merged, null, 2), { mode: 0o600 });
    });
    this.nodes.forEach((n, i) => {
      mkdirSync(path.dirname(n.configFile), { recursive: true });
      const base = {
        node: { signingKey: w.members[i]!.privateKey },
        cluster: { id: w.clusterId.toString(), peers: this.nodes.filter((o) => o !== n).map((o) => o.url) },
        rpc: { host: "127.0.0.1", port: nodePorts[i], rateLimit: DEVNET_RATE_LIMIT },
        storage: { path: n.dbDir },
        // The development chain mines a block per transaction (tens a second under load) while a node reads
        // its head every 2 s: a cut 8 blocks off (the default, 96 s of mainnet) would often be refused there.
        l1: { ...this.commonL1(), inbox: { confirmations: 1, maxLagBlocks: 256 } },
        // Its own generator first; the others for reveals, round secrets and, if its own is down, round keys.
        keyGenerator: {
          url: this.keygenUrls[i % this.keygenUrls.length],
          urls: this.keygenUrls.filter((_, j) => j !== i % this.keygenUrls.length),
        },
        // The validators decode with the same map: a chain-id check on one side only would split rawRoot.
        ...(options.full === true
          ? { blocks: { chainIds: { [w.rollupId.toString()]: l2ChainIdOf(options).toString() } } }
          : {}),
        ...(options.censorship === true ? { testing: { censorClients: [CENSORED_CLIENT] } } : {}),
        // A full devnet runs some fifteen processes on this machine, and a proof saturates its cores for
        // seconds: round trips between nodes, event-loop pauses included, outgrow the defaults made for a
        // node with a machine of its own (docs/ordering.md, "Liveness assumptions"; docs/devnet.md).
        ...(options.full === true ? { timeouts: FULL_DEVNET_TIMEOUTS } : {}),
        log: { level: logLevel },
      };
      const config = deepMerge(base, options.nodeConfig ?? {});
      writeFileSync(n.configFile, JSON.stringify(config, null, 2), { mode: 0o600 });
    });
  }

  private spawnCli(name: string, args: string[]): ManagedProcess {
    return ManagedProcess.start({
      name,
      args: ["--import", TSX, CLI, ...args],
      cwd: ROOT,
      logFile: path.join(this.workDir, "logs", `${name}.log`),
    });
  }

  /** Starts (or restarts, on its database) key generator `i` and resolves once its /health is ready. */
  async startKeygen(i: number): Promise<void> {
    const child = this.spawnCli(`keygen-${i}`, [
      "keygen",
      "start",
      "--config",
      path.join(this.workDir, `keygen-${i}`, "config.json"),
    ]);
    this.keygens[i] = child;
    await waitUntil(`key generator ${i}`, () => isHealthy(this.keygenUrls[i]!), {
      timeoutMs: this.readyTimeoutMs,
      process: child,
    });
  }

  /** Starts (or restarts, on the same database) node `i` and resolves once its /health is ready. */
  async startNode(i: number): Promise<NodeHandle> {
    const n = this.nodes[i];
    if (n === undefined) throw new Error(`no node ${i}`);
    if (n.process?.isRunning) throw new Error(`node ${i} is already running`);
    const child = this.spawnCli(`node-${i}`, ["node", "start", "--config", n.configFile]);
    n.process = child;
    await waitUntil(`node ${i}`, () => isHealthy(n.url), { timeoutMs: this.readyTimeoutMs, process: child });
    return n;
  }

  /** kill -9: no shutdown code runs; what the node acknowledged must be on disk already. */
  async killNode(i: number): Promise<void> {
    await this.nodes[i]?.process?.kill();
  }

  /** Graceful stop (SIGTERM, SIGKILL after `graceMs`). */
  async stopNode(i: number, graceMs = 5_000): Promise<void> {
    await this.nodes[i]?.process?.stop(graceMs);
  }

  /** Kills node `i` and removes its database, so that it starts empty next time. */
  async wipeNode(i: number): Promise<void> {
    await this.killNode(i);
    const n = this.nodes[i];
    if (n !== undefined) rmSync(n.dbDir, { recursive: true, force: true });
  }

  /** Starts the L2, the validators, the rollup operator and the encrypting RPC (full devnets). */
  private async startFlow(options: DevnetOptions, ports: number[], say: (message: string) => void): Promise<void> {
    const [l2Port, operatorPort, proxyPort, censoredProxyPort, ...validatorPorts] = ports;
    const l2ChainId = l2ChainIdOf(options);
    say(`starting the L2 (hardhat node, chain id ${l2ChainId}, automine off) on port ${l2Port}`);
    const l2 = await startL2(l2Port!, path.join(this.workDir, "logs", "l2.log"), l2ChainId, this.readyTimeoutMs);
    const url = (port: number | undefined): string => `http://127.0.0.1:${port}`;
    this.flow = {
      l2,
      l2ChainId,
      validatorUrls: validatorPorts.map(url),
      validators: [],
      operatorUrl: url(operatorPort),
      operator: undefined,
      proxyUrl: url(proxyPort),
      proxy: undefined,
      censoredProxyUrl: options.censorship === true ? url(censoredProxyPort) : undefined,
      censoredProxy: undefined,
    };
    this.writeFlowConfigs(options, operatorPort!, proxyPort!, censoredProxyPort!, validatorPorts);
    say(`starting ${this.world.operators.length} validators`);
    await Promise.all(this.world.operators.map((_, i) => this.startValidator(i)));
    say("starting the rollup operator and the encrypting RPC");
    await Promise.all([
      this.startOperator(),
      this.startProxy(),
      ...(options.censorship === true ? [this.startCensoredProxy()] : []),
    ]);
  }

  private writeFlowConfigs(
    options: DevnetOptions,
    operatorPort: number,
    proxyPort: number,
    censoredProxyPort: number,
    validatorPorts: number[],
  ): void {
    const w = this.world;
    const flow = this.flow!;
    const logLevel = options.logLevel ?? "info";
    const contracts = {
      clusterRegistry: w.clusterRegistry,
      validationServiceManager: w.validationServiceManager,
    };
    const write = (name: string, config: unknown): void => {
      const dir = path.join(this.workDir, name);
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, "config.json"), JSON.stringify(config, null, 2), { mode: 0o600 });
    };
    w.operators.forEach((op, i) => {
      write(`validator-${i}`, {
        validator: { signingKey: op.privateKey },
        l1: { rpcUrl: this.l1.url, contracts, deployBlock: w.deployBlock },
        // Validator i reads the replicated data of its own node (operator i runs alongside member i).
        node: { url: this.nodes[i % this.nodes.length]!.url },
        keyGenerators: [...this.keygenUrls],
        peers: flow.validatorUrls.filter((_, j) => j !== i),
        rollups: [{ rollupId: w.rollupId.toString(), chainId: flow.l2ChainId.toString() }],
        rpc: { host: "127.0.0.1", port: validatorPorts[i], rateLimit: DEVNET_RATE_LIMIT },
        storage: { votesPath: path.join(this.workDir, `validator-${i}`, "votes.jsonl") },
        poll: { intervalMs: 500 },
        log: { level: logLevel },
      });
    });
    write("operator", {
      operator: {
        signingKey: w.executor.privateKey,
        rollupId: w.rollupId.toString(),
        stateFile: path.join(this.workDir, "operator", "state.json"),
        blockTimeMs: options.blockTimeMs ?? 2_000,
      },
      sequencer: { urls: this.nodes.map((n) => n.url) },
      l2: { rpcUrl: flow.l2.url },
      l1: { rpcUrl: this.l1.url, contracts },
      rpc: { host: "127.0.0.1", port: operatorPort },
      log: { level: logLevel },
    });
    const proxy = {
      rpc: { host: "127.0.0.1", port: proxyPort },
      rollupId: w.rollupId.toString(),
      l2: { rpcUrl: flow.l2.url, chainId: flow.l2ChainId.toString() },
      node: { url: this.nodes[0]!.url },
      l1: { rpcUrl: this.l1.url, contracts, deployBlock: w.deployBlock },
      sequencing: { blockTimeMs: options.blockTimeMs ?? 2_000 },
      log: { level: logLevel },
    };
    write("proxy", proxy);
    if (options.censorship === true) {
      write("proxy-censored", {
        ...proxy,
        rpc: { host: "127.0.0.1", port: censoredProxyPort },
        node: { url: this.nodes[0]!.url, localAddress: CENSORED_CLIENT },
        force: { enabled: true, afterFailures: 2, retryDelayMs: 200, l1Key: w.forcer.privateKey },
      });
    }
  }

  private configOf(name: string): string {
    return path.join(this.workDir, name, "config.json");
  }

  /** Starts (or restarts) validator `i` and resolves once its /health is ready. */
  async startValidator(i: number): Promise<void> {
    const flow = this.requireFlow();
    const child = this.spawnCli(`validator-${i}`, ["validator", "start", "--config", this.configOf(`validator-${i}`)]);
    flow.validators[i] = child;
    await waitUntil(`validator ${i}`, () => isHealthy(flow.validatorUrls[i]!), {
      timeoutMs: this.readyTimeoutMs,
      process: child,
    });
  }

  /** Starts (or restarts, resuming from its state file) the rollup operator. */
  async startOperator(): Promise<void> {
    const flow = this.requireFlow();
    const child = this.spawnCli("operator", ["operator", "start", "--config", this.configOf("operator")]);
    flow.operator = child;
    await waitUntil("rollup operator", () => isHealthy(flow.operatorUrl), {
      timeoutMs: this.readyTimeoutMs,
      process: child,
    });
  }

  async stopOperator(graceMs = 5_000): Promise<void> {
    await this.flow?.operator?.stop(graceMs);
  }

  private async startProxy(): Promise<void> {
    const flow = this.requireFlow();
    const child = this.spawnCli("proxy", ["proxy", "start", "--config", this.configOf("proxy")]);
    flow.proxy = child;
    await waitUntil("encrypting RPC", () => isHealthy(flow.proxyUrl), {
      timeoutMs: this.readyTimeoutMs,
      process: child,
    });
  }

  private async startCensoredProxy(): Promise<void> {
    const flow = this.requireFlow();
    const child = this.spawnCli("proxy-censored", ["proxy", "start", "--config", this.configOf("proxy-censored")]);
    flow.censoredProxy = child;
    await waitUntil("the censored user's encrypting RPC", () => isHealthy(flow.censoredProxyUrl!), {
      timeoutMs: this.readyTimeoutMs,
      process: child,
    });
  }

  /** Kills key generator `i` (kill -9); `startKeygen(i)` restarts it on its database. */
  async killKeygen(i: number): Promise<void> {
    await this.keygens[i]?.kill();
  }

  private requireFlow(): FlowHandles {
    if (this.flow === undefined) throw new Error("not a full devnet (start it with `full: true`)");
    return this.flow;
  }

  /**
   * Stops every process this devnet started (the flow's processes first, then nodes, key generators
   * and the chains). Idempotent.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const flow = this.flow;
    if (flow !== undefined) {
      await Promise.all(
        [flow.proxy, flow.censoredProxy, flow.operator, ...flow.validators].map((p) => p?.stop() ?? Promise.resolve()),
      );
    }
    await Promise.all(this.nodes.map((n) => n.process?.stop() ?? Promise.resolve()));
    await Promise.all(this.keygens.map((k) => k.stop()));
    await Promise.all([this.l1.process.stop(), flow?.l2.process.stop()]);
    if (this.removeWorkDir) rmSync(this.workDir, { recursive: true, force: true });
  }
}
