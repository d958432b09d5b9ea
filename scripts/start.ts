/**
 * `npm start`: boots a local L1 (Hardhat node), deploys Veil's contracts to it and keeps it
 * running until Ctrl-C. `--once` stops after the deployment (used to smoke-test the command).
 */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { createInterface } from "node:readline";

const ROOT = path.join(__dirname, "..");
const HARDHAT = path.join(ROOT, "node_modules", "hardhat", "internal", "cli", "bootstrap.js");
const HELP = `Usage: npm start [-- --once] [-- --port N]

Boots a local Hardhat chain on 127.0.0.1 and deploys Veil's contracts to it
(addresses in deployments/localhost.json), then keeps the chain running until Ctrl-C.

  --once     exit after the deployment
  --port N   L1 RPC port (default 8545, or $VEIL_L1_PORT)
  --help     this text`;

function parseArgs(argv: string[]): { once: boolean; port: number } {
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(HELP);
    process.exit(0);
  }
  const portIndex = argv.indexOf("--port");
  const rawPort = portIndex >= 0 ? argv[portIndex + 1] : (process.env.VEIL_L1_PORT ?? "8545");
  const port = Number(rawPort);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`invalid port: ${rawPort}`);
  const known = new Set(["--once", "--port", String(rawPort)]);
  const unknown = argv.filter((a) => !known.has(a));
  if (unknown.length > 0) throw new Error(`unknown argument ${unknown.join(" ")}; see --help`);
  return { once: argv.includes("--once"), port };
}

function run(args: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
  return spawn(process.execPath, [HARDHAT, ...args], { cwd: ROOT, env, stdio: ["ignore", "pipe", "inherit"] });
}

async function waitForChain(url: string, child: ChildProcess): Promise<void> {
  const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] });
  for (let attempt = 0; attempt < 120; attempt++) {
    if (child.exitCode !== null) throw new Error(`the Hardhat node exited with status ${child.exitCode}`);
    try {
      const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`the Hardhat node did not answer at ${url} within 60 s`);
}

async function main(): Promise<void> {
  const { once, port } = parseArgs(process.argv.slice(2));
  const url = `http://127.0.0.1:${port}`;
  console.log(`[veil] starting the L1 chain (Hardhat node) at ${url}`);
  const node = run(["node", "--hostname", "127.0.0.1", "--port", String(port)]);
  node.stdout?.resume();
  const stop = (): void => {
    if (node.exitCode === null) node.kill("SIGTERM");
  };
  process.on("SIGINT", () => {
    console.log("\n[veil] stopping");
    stop();
    process.exit(0);
  });
  process.on("SIGTERM", () => {
    stop();
    process.exit(0);
  });
  try {
    await waitForChain(url, node);
    console.log("[veil] deploying contracts");
    const deployer = run(["run", "--no-compile", "--network", "localhost", "scripts/deploy.ts"], {
      ...process.env,
      L1_RPC_URL: url,
    });
    if (deployer.stdout) createInterface({ input: deployer.stdout }).on("line", (l) => console.log(`[deploy] ${l}`));
    const status = await new Promise<number | null>((resolve) => deployer.on("exit", resolve));
    if (status !== 0) throw new Error(`deployment failed with status ${status}`);
  } catch (err) {
    stop();
    throw err;
  }
  if (once) {
    console.log("[veil] --once: deployment done, stopping the chain");
    stop();
    return;
  }
  console.log(`[veil] running. L1 JSON-RPC: ${url} (chain id 31337). Ctrl-C stops everything.`);
}

main().catch((err: unknown) => {
  console.error(`[veil] ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
