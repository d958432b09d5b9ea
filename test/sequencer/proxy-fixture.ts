/**
 * Shared by the encrypting-RPC suites: a real L2 (a `hardhat node` child process on a free port), the proxy
 * in front of it with the real SDK client behind `eth_sendRawTransaction`, and a raw JSON-RPC poster.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { freePort } from "../../scripts/devnet/net";
import path from "node:path";
import pino from "pino";
import { RpcClient } from "../../sequencer/rpc/client";
import type { ChainView } from "../../sequencer/sdk/chain";
import { VeilClient } from "../../sequencer/sdk/client";
import type { EncryptingProxy } from "../../sequencer/proxy/server";
import { assembleProxy } from "../../sequencer/proxy/start";

/** Hardhat's first development account: funded on every `hardhat node`. */
export const FUNDED_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
export const HARDHAT_CHAIN_ID = 31337n;

export { freePort };

/** POSTs `body` (any JSON, or a raw string) and returns the HTTP status and parsed answer. */
export async function post(url: string, body: unknown): Promise<{ status: number; json: unknown }> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, json: text === "" ? undefined : JSON.parse(text) };
}

export interface L2Node {
  url: string;
  stop(): Promise<void>;
}

/** Spawns `npx hardhat node` on a free port and waits until it answers eth_chainId. */
export async function startL2Node(): Promise<L2Node> {
  const port = await freePort();
  const child: ChildProcess = spawn("npx", ["hardhat", "node", "--hostname", "127.0.0.1", "--port", String(port)], {
    cwd: path.resolve(__dirname, "../.."),
    stdio: ["ignore", "ignore", "pipe"],
    detached: true,
  });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`hardhat node exited: ${stderr}`);
    try {
      const { json } = await post(url, { jsonrpc: "2.0", id: 1, method: "eth_chainId" });
      if ((json as { result?: string }).result) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`hardhat node did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    url,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      process.kill(-child.pid!, "SIGTERM"); // the npx process group: npx and the hardhat node it started
      await exited;
    },
  };
}

export interface ProxyUnderTest {
  url: string;
  proxy: EncryptingProxy;
  client: VeilClient;
}

/** The proxy with the real SDK client; `nodeUrl` is the Veil node it submits to. */
export async function startTestProxy(options: {
  l2RpcUrl: string;
  chain: ChainView;
  nodeUrl: string;
  chainId?: bigint;
  maxBodyBytes?: number;
}): Promise<ProxyUnderTest> {
  const client = new VeilClient({
    node: new RpcClient(options.nodeUrl, { timeoutMs: 5_000 }),
    chain: options.chain,
    rollupId: options.chainId ?? HARDHAT_CHAIN_ID,
    lookAhead: { blockTimeMs: 2_000 },
  });
  const proxy = assembleProxy({
    client,
    rpc: { host: "127.0.0.1", port: 0, maxBodyBytes: options.maxBodyBytes ?? 64 * 1024 },
    l2: { rpcUrl: options.l2RpcUrl, timeoutMs: 10_000, chainId: options.chainId ?? HARDHAT_CHAIN_ID },
    log: pino({ level: "silent" }),
  });
  return { url: await proxy.start(), proxy, client };
}
