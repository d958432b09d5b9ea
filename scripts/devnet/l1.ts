/** The devnet's L1: a `hardhat node` child process on a loopback port. */
import path from "node:path";
import { ManagedProcess } from "./process";
import { waitUntil } from "./net";

export const ROOT = path.join(__dirname, "..", "..");
const HARDHAT_CLI = path.join(ROOT, "node_modules", "hardhat", "internal", "cli", "bootstrap.js");

export interface L1 {
  readonly url: string;
  readonly process: ManagedProcess;
}

async function chainAnswers(url: string): Promise<boolean> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
    signal: AbortSignal.timeout(2_000),
  });
  return res.ok && typeof ((await res.json()) as { result?: unknown }).result === "string";
}

/** Starts `hardhat node` on 127.0.0.1:`port` and resolves once it answers eth_chainId. */
export async function startL1(port: number, logFile: string, timeoutMs = 90_000): Promise<L1> {
  const url = `http://127.0.0.1:${port}`;
  const child = ManagedProcess.start({
    name: "l1",
    args: [HARDHAT_CLI, "node", "--hostname", "127.0.0.1", "--port", String(port)],
    cwd: ROOT,
    logFile,
  });
  try {
    await waitUntil(`L1 at ${url}`, () => chainAnswers(url), { timeoutMs, process: child, intervalMs: 300 });
  } catch (error) {
    await child.kill();
    throw error;
  }
  return { url, process: child };
}
