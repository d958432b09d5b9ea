import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { toBeHex } from "ethers";
import YAML from "yaml";
import { loadBigMath } from "../../sequencer/crypto/timelock/bigmath";
import { timelockParams } from "../../sequencer/crypto/timelock/params";
import { generateTestOnlyModulus } from "../../sequencer/crypto/timelock/test-modulus";
import { NodeStore } from "../../sequencer/node/storage/store";

const ROOT = path.join(__dirname, "..", "..");
const CLI = path.join(ROOT, "sequencer", "cli.ts");
const KEY = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";
const ADDRESS = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";

function veil(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, ["--import", "tsx", CLI, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

async function run(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = veil(args, env);
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  return { code, stdout, stderr };
}

/** Starts `veil node start` and resolves with its URL once it logs that it listens. */
function startNode(
  config: string,
  env: NodeJS.ProcessEnv = {},
): Promise<{ child: ChildProcess; url: string; logs: () => string }> {
  const child = veil(["node", "start", "--config", config], env);
  let out = "";
  child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => {
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const match = /"url":"(http:\/\/[^"]+)"/.exec(out);
      if (match?.[1] !== undefined) resolve({ child, url: match[1], logs: () => out });
    });
    child.on("exit", (code) => reject(new Error(`node exited with ${code}: ${out}`)));
  });
}

describe("veil CLI", () => {
  let dir: string;
  let configFile: string;

  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), "veil-cli-"));
    configFile = path.join(dir, "node.yaml");
    writeFileSync(
      configFile,
      YAML.stringify({
        node: { signingKey: KEY },
        cluster: { id: 5 },
        rpc: { port: 0 },
        storage: { path: path.join(dir, "db") },
        l1: {
          rpcUrl: "http://127.0.0.1:8545",
          contracts: {
            clusterRegistry: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
            validationServiceManager: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
          },
        },
      }),
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("prints help for the program and every command", async () => {
    const top = await run(["--help"]);
    expect(top.code).to.equal(0);
    expect(top.stdout).to.match(/node\s+run or inspect a sequencer node/);
    const start = await run(["node", "start", "--help"]);
    expect(start.stdout).to.match(/--config <file>/);
    const setup = await run(["timelock", "setup", "--help"]);
    expect(setup.stdout).to.match(/--checkpoint <file>/);
    const status = await run(["node", "status", "--help"]);
    expect(status.stdout).to.match(/--url <url>/);
    const missing = await run(["node", "status"]);
    expect(missing.code).to.not.equal(0);
    expect(missing.stderr).to.match(/required option '-u, --url <url>' not specified/);
  });

  it("answers --help of every command without loading any role's code: only commander and the CLI's own files", async () => {
    // What `npm ci` alone leaves: no typechain-types (built with the contracts), so help must not need them.
    const script = `
      const { buildCli } = require(${JSON.stringify(CLI)});
      const helps = [];
      const walk = (c) => { helps.push(c.helpInformation()); c.commands.forEach(walk); };
      walk(buildCli());
      // Contract bindings, prover, big numbers, database, and what configs and logs need (zod, ethers, yaml, pino).
      const heavy = Object.keys(require.cache).filter((m) =>
        /typechain-types|node_modules[/](snarkjs|ffjavascript|classic-level|piscina|gmp-wasm|zod|ethers|yaml|pino)[/]/.test(m));
      console.log(JSON.stringify({ helps: helps.length, heavy }));`;
    const child = spawn(process.execPath, ["--require", "tsx/cjs", "-e", script], { cwd: ROOT });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    expect(code).to.equal(0);
    const { helps, heavy } = JSON.parse(out) as { helps: number; heavy: string[] };
    expect(helps).to.be.at.least(15);
    expect(heavy).to.deep.equal([]);
  });

  it("force: prints its help, and refuses a missing payer key, a bad height or an unusable transaction before any network call", async function () {
    this.timeout(60_000);
    const help = await run(["force", "--help"]);
    expect(help.code).to.equal(0);
    expect(help.stdout).to.match(/--tx <hex>/);
    expect(help.stdout).to.match(/VEIL_FORCE_L1_KEY/);
    const proxyConfig = path.join(dir, "proxy.yaml");
    // Nothing listens at these URLs: every refusal below must come before the first network call.
    writeFileSync(
      proxyConfig,
      YAML.stringify({
        rollupId: 42,
        l2: { rpcUrl: "http://127.0.0.1:9" },
        node: { url: "http://127.0.0.1:9" },
        l1: {
          rpcUrl: "http://127.0.0.1:9",
          contracts: {
            clusterRegistry: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
            validationServiceManager: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
          },
        },
      }),
    );
    const noKey = await run(["force", "--config", proxyConfig, "--tx", "0x02"], { VEIL_FORCE_L1_KEY: "" });
    expect(noKey.code).to.equal(1);
    expect(noKey.stderr).to.equal(
      "veil: VEIL_FORCE_L1_KEY must hold the L1 private key that pays the inbox fee and the gas\n",
    );
    const withKey = { VEIL_FORCE_L1_KEY: KEY };
    const badHeight = await run(["force", "--config", proxyConfig, "--tx", "0x02", "--height", "-3"], withKey);
    expect(badHeight.code).to.not.equal(0);
    expect(badHeight.stderr).to.match(/expected a decimal height below 2\^64/);
    const notHex = await run(["force", "--config", proxyConfig, "--tx", "0x123"], withKey);
    expect(notHex.code).to.equal(1);
    expect(notHex.stderr).to.match(/^veil: the raw transaction must be a non-empty 0x-hex string of whole bytes\n$/);
    const garbage = await run(["force", "--config", proxyConfig, "--tx", "0x02c0"], withKey);
    expect(garbage.code).to.equal(1);
    expect(garbage.stderr).to.match(/^veil: the raw transaction does not decode/);
  });

  it("timelock size: prints the least T of the sizing rule for the given delays", async () => {
    const defaults = await run(["timelock", "size"]);
    expect(defaults.code, defaults.stderr).to.equal(0);
    expect(JSON.parse(defaults.stdout)).to.include({ squarings: 455_000_000, publicationToSealSeconds: 13 });
    const slow = await run(["timelock", "size", "--lookahead", "9", "--block-time-ms", "12000"]);
    expect(JSON.parse(slow.stdout)).to.include({ squarings: 4_305_000_000 });
    const bad = await run(["timelock", "size", "--lookahead", "-1"]);
    expect(bad.code).to.not.equal(0);
    expect(bad.stderr).to.match(/non-negative integer/);
  });

  it("timelock setup: computes h with its proof, and resumes from its checkpoint after an interruption", async function () {
    this.timeout(120_000);
    const math = await loadBigMath();
    const { N } = generateTestOnlyModulus(math, 1024);
    const T = 3_000_000; // about 10 s of squaring and proving here: long enough to interrupt
    const checkpoint = path.join(dir, "setup.json");
    const args = ["timelock", "setup", "-T", String(T), "--modulus", toBeHex(N), "--checkpoint", checkpoint];
    const first = veil(args);
    let progress = "";
    await new Promise<void>((resolve) =>
      first.stderr?.on("data", (d: Buffer) => {
        progress += d.toString();
        if (/(square [1-9]\d*|prove \d+)\//.test(progress)) resolve();
      }),
    );
    first.kill("SIGINT");
    const code = await new Promise<number | null>((resolve) => first.on("exit", resolve));
    expect(code).to.not.equal(0);
    expect(progress).to.match(/interrupted: run the same command again to resume\n$/);
    expect(existsSync(checkpoint), "the checkpoint survives the interruption").to.equal(true);
    const saved = JSON.parse(readFileSync(checkpoint, "utf8")) as { phase: string; done: number };
    expect(saved.phase === "prove" || saved.done > 0, "the checkpoint holds the progress made").to.equal(true);

    const second = await run(args);
    expect(second.code, second.stderr).to.equal(0);
    // It picked up where the first run stopped, not at the beginning.
    const resumed = /timelock setup: (square|prove) (\d+)\//.exec(second.stderr);
    expect(resumed?.[1]).to.equal(saved.phase);
    expect(Number(resumed?.[2])).to.equal(saved.done);
    const fields = JSON.parse(second.stdout) as Record<string, string>;
    expect(fields.timeLockSquarings).to.equal(String(T));
    expect(BigInt(fields.timeLockModulus!)).to.equal(N);
    // What a node does with the published fields: check h against its proof, in milliseconds.
    const adopted = await timelockParams({
      N,
      T,
      h: BigInt(fields.timeLockH!),
      hProof: BigInt(fields.timeLockHProof!),
    });
    expect(adopted.h).to.equal(BigInt(fields.timeLockH!));
    expect(existsSync(checkpoint), "the checkpoint is removed once done").to.equal(false);
  });

  it("starts a node, reports its status, and shuts down cleanly on SIGTERM, releasing the database", async () => {
    const node = await startNode(configFile);
    try {
      const status = await run(["node", "status", "--url", node.url]);
      expect(status.code, status.stderr).to.equal(0);
      const parsed = JSON.parse(status.stdout) as {
        nodeAddress: string;
        clusterId: string;
        storage: { entries: number };
      };
      expect(parsed.nodeAddress).to.equal(ADDRESS);
      expect(parsed.clusterId).to.equal("5");
      expect(parsed.storage.entries).to.equal(0);

      // Live, but not ready: there is no L1 here, so the node cannot know its cluster.
      const health = await fetch(`${node.url}/health`);
      expect(health.status).to.equal(503);
      expect(await health.text()).to.include("member list is not loaded");
      expect(await (await fetch(`${node.url}/metrics`)).text()).to.include("veil_rpc_calls_total");
    } finally {
      node.child.kill("SIGTERM");
    }
    const code = await new Promise<number | null>((resolve) => node.child.on("exit", resolve));
    expect(code).to.equal(0);
    expect(node.logs()).to.include('"msg":"node stopped"');
    expect(node.logs()).to.not.include(KEY.slice(2));
    const store = await NodeStore.open(path.join(dir, "db"));
    await store.close();
  });

  it("refuses to start with a bad config, naming the field, without printing the key", async () => {
    const result = await run(["node", "start", "--config", configFile], { VEIL_NODE__RPC__PORT: "http" });
    expect(result.code).to.equal(1);
    expect(result.stderr).to.match(/rpc\.port: .*\(from VEIL_NODE__RPC__PORT\)/);
    const badKey = await run(["node", "start", "--config", configFile], { VEIL_NODE__NODE__SIGNING_KEY: `${KEY}00` });
    expect(badKey.code).to.equal(1);
    expect(badKey.stderr).to.match(/node\.signingKey/);
    expect(badKey.stderr + badKey.stdout).to.not.include(KEY.slice(2));
  });

  it("refuses a second node on the same database", async () => {
    const first = await startNode(configFile);
    try {
      const second = await run(["node", "start", "--config", configFile]);
      expect(second.code).to.equal(1);
      expect(second.stderr).to.match(/cannot open the database \(is another node using it\?\)/);
    } finally {
      first.child.kill("SIGTERM");
      await new Promise((resolve) => first.child.on("exit", resolve));
    }
  });

  it("reports an unreachable node in one line", async () => {
    const result = await run(["node", "status", "--url", "http://127.0.0.1:1", "--timeout", "1000"]);
    expect(result.code).to.equal(1);
    expect(result.stderr.trim()).to.match(/^veil: get_cluster_status: http:\/\/127\.0\.0\.1:1 unreachable/);
  });
});
