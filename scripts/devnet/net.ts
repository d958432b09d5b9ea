/** Loopback helpers: free ports, and waiting until a service answers. */
import { createServer } from "node:net";
import type { ManagedProcess } from "./process";

/** A TCP port the OS reports free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error("no port assigned"))));
    });
  });
}

/** Distinct free ports (the OS does not hand out a port twice while we hold none of them, so check). */
export async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

/** Fails, naming the port, unless every one of `ports` can be bound on 127.0.0.1 now. */
export async function assertPortsFree(ports: readonly number[]): Promise<void> {
  for (const port of ports) {
    await new Promise<void>((resolve, reject) => {
      const server = createServer();
      server.unref();
      server.once("error", (error: Error) =>
        reject(new Error(`port ${port} is in use (${error.message}); stop what uses it or choose other ports`)),
      );
      server.listen(port, "127.0.0.1", () => server.close(() => resolve()));
    });
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `probe` until it returns true; fails early if `process` exits, and after `timeoutMs`.
 * `what` names the wait in errors, with the log file to read.
 */
export async function waitUntil(
  what: string,
  probe: () => Promise<boolean>,
  options: { timeoutMs: number; process?: ManagedProcess; intervalMs?: number },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  const where = options.process ? ` (log: ${options.process.spec.logFile})` : "";
  for (;;) {
    const status = options.process?.exitStatus;
    if (status !== undefined) {
      throw new Error(`${what}: the process exited (code ${status.code}, signal ${status.signal})${where}`);
    }
    try {
      if (await probe()) return;
    } catch {
      // not answering yet
    }
    if (Date.now() > deadline) throw new Error(`${what}: not ready within ${options.timeoutMs} ms${where}`);
    await sleep(options.intervalMs ?? 200);
  }
}

/** True when `GET <url>/health` answers 200 (the node's and key generator's readiness). */
export async function isHealthy(baseUrl: string): Promise<boolean> {
  const res = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(2_000) });
  await res.body?.cancel();
  return res.status === 200;
}
