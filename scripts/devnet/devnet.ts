/**
 * A Veil devnet of real processes on loopback: the L1 (`hardhat node`), the on-chain world, one
 * `veil keygen start` process per committee member and one `veil node start` process per cluster
 * member. Each process gets its own config file, database folder and log file under the work folder.
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
import { ROOT, startL1, type L1 } from "./l1";
import { freePorts, isHealthy, waitUntil } from "./net";
import { ManagedProcess } from "./process";
import { deployWorld, type World, type WorldOptions } from "./world";

const CLI = path.join(ROOT, "sequencer", "cli.ts");
const TSX = require.resolve("tsx/cjs");

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
  /** Heights each key generator publishes ahead of the open one. */
  readonly keyLookahead?: number;
  readonly logLevel?: "debug" | "info" | "warn" | "error";
  /** Extra node config, merged over the devnet's (e.g. `{ ordering: { followerProofSampleRate: 0 } }`). */
  readonly nodeConfig?: Record<string, unknown>;
  /** How long a process may take to become ready. */
  readonly readyTimeoutMs?: number;
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

export class Devnet {
  readonly keygens: ManagedProcess[] = [];
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
    const memberCount = options.members ?? 3;
    const generatorCount = options.keyGenerators ?? 2;
    const [l1Port, ...ports] = await freePorts(1 + memberCount + generatorCount);
    const l1 = await startL1(l1Port!, path.join(workDir, "logs", "l1.log"), readyTimeoutMs);
    let devnet: Devnet | undefined;
    try {
      const world = await deployWorld(l1.url, options);
      const nodePorts = ports.slice(0, memberCount);
      const keygenPorts = ports.slice(memberCount);
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
      await Promise.all(world.keyGenerators.map((_, i) => devnet!.startKeygen(i)));
      await Promise.all(nodes.map((n) => devnet!.startNode(n.index)));
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
        schedule: { lookahead: options.keyLookahead ?? 4, startHeight: 0, tickMs: 200, aggregationTimeoutMs: 5_000 },
        solver: { enabled: true, revealTimeoutMs: 3_000 },
        rpc: { host: "127.0.0.1", port: keygenPorts[i], rateLimit: { enabled: false } },
        storage: { path: options.keygenDbDirs?.[i] ?? path.join(dir, "db") },
        l1: this.commonL1(),
        log: { level: logLevel },
      };
      writeFileSync(path.join(dir, "config.json"), JSON.stringify(config, null, 2), { mode: 0o600 });
    });
    this.nodes.forEach((n, i) => {
      mkdirSync(path.dirname(n.configFile), { recursive: true });
      const base = {
        node: { signingKey: w.members[i]!.privateKey },
        cluster: { id: w.clusterId.toString(), peers: this.nodes.filter((o) => o !== n).map((o) => o.url) },
        rpc: { host: "127.0.0.1", port: nodePorts[i], rateLimit: { enabled: false } },
        storage: { path: n.dbDir },
        l1: this.commonL1(),
        keyGenerator: { url: this.keygenUrls[i % this.keygenUrls.length] },
        log: { level: logLevel },
      };
      const config = deepMerge(base, options.nodeConfig ?? {});
      writeFileSync(n.configFile, JSON.stringify(config, null, 2), { mode: 0o600 });
    });
  }

  private spawnCli(name: string, args: string[]): ManagedProcess {
    return ManagedProcess.start({
      name,
      args: ["--require", TSX, CLI, ...args],
      cwd: ROOT,
      logFile: path.join(this.workDir, "logs", `${name}.log`),
    });
  }

  private async startKeygen(i: number): Promise<void> {
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

  /** Stops every process this devnet started (nodes first, then key generators, then L1). Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await Promise.all(this.nodes.map((n) => n.process?.stop() ?? Promise.resolve()));
    await Promise.all(this.keygens.map((k) => k.stop()));
    await this.l1.process.stop();
    if (this.removeWorkDir) rmSync(this.workDir, { recursive: true, force: true });
  }
}
