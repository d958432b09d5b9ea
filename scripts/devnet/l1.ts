/**
 * The devnet's chains: `hardhat node` child processes on loopback ports. The L1 runs the project's
 * Hardhat config (automine); the L2 runs `hardhat.l2.config.ts` (its own chain id, automine off, FIFO
 * mempool), because the rollup operator mines exactly one L2 block per sequencer block.
 */
import path from "node:path";
import { ManagedProcess } from "./process";
import { waitUntil } from "./net";

export const ROOT = path.join(__dirname, "..", "..");
const HARDHAT_CLI = path.join(ROOT, "node_modules", "hardhat", "internal", "cli", "bootstrap.js");
const L2_CONFIG = path.join(ROOT, "hardhat.l2.config.ts");

export interface Chain {
  readonly url: string;
  readonly process: ManagedProcess;
}
export type L1 = Chain;

async function chainAnswers(url: string): Promise<boolean> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
    signal: AbortSignal.timeout(2_000),
  });
  return res.ok && typeof ((await res.json()) as { result?: unknown }).result === "string";
}

async function startHardhatNode(
  name: string,
  port: number,
  logFile: string,
  timeoutMs: number,
  configArgs: string[] = [],
  env?: NodeJS.ProcessEnv,
): Promise<Chain> {
  const url = `http://127.0.0.1:${port}`;
  const child = ManagedProcess.start({
    name,
    args: [HARDHAT_CLI, ...configArgs, "node", "--hostname", "127.0.0.1", "--port", String(port)],
    cwd: ROOT,
    logFile,
    ...(env === undefined ? {} : { env }),
  });
  try {
    await waitUntil(`${name} at ${url}`, () => chainAnswers(url), { timeoutMs, process: child, intervalMs: 300 });
  } catch (error) {
    await child.kill();
    throw error;
  }
  return { url, process: child };
}

/** Starts the L1 on 127.0.0.1:`port` and resolves once it answers eth_chainId. */
export function startL1(port: number, logFile: string, timeoutMs = 90_000): Promise<L1> {
  return startHardhatNode("l1", port, logFile, timeoutMs);
}

/** Starts the rollup's L2 (chain id `chainId`, no automine, FIFO mempool) on 127.0.0.1:`port`. */
export function startL2(port: number, logFile: string, chainId: bigint, timeoutMs = 90_000): Promise<Chain> {
  return startHardhatNode("l2", port, logFile, timeoutMs, ["--config", L2_CONFIG], {
    ...process.env,
    VEIL_L2_CHAIN_ID: chainId.toString(),
  });
}
