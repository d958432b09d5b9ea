// Child process of cli-support.test.ts (not a test suite): serves HTTP on an ephemeral port (which keeps
// the process alive) under stopOnSignals and prints "ready" once the handlers are installed.
// The mode on the command line says how stop() ends: "ok" resolves after closing the server, "fail"
// rejects after closing it, "hang" never settles. Loaded by mocha too, as every file under test/ is;
// it does nothing unless run as the main module.
import { createServer } from "node:http";
import { once } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { stopOnSignals, type StoppableService } from "../../sequencer/cli-support/shutdown";
import { createLogger } from "../../sequencer/common/logger";

type Mode = "ok" | "fail" | "hang";

async function main(mode: Mode): Promise<void> {
  const log = createLogger({ level: "info", name: "shutdown-fixture" });
  const server = createServer((_req, res) => res.end("up"));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const service: StoppableService = {
    async stop() {
      if (mode === "hang") return new Promise<void>(() => undefined);
      // Slower than an exit that forgot to wait, so a missing "service stopped" line shows it.
      await sleep(200);
      await new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
      if (mode === "fail") throw new Error("the store refused to close");
      log.info("service stopped");
    },
  };
  stopOnSignals(service, log);
  process.stdout.write("ready\n");
}

if (require.main === module) {
  const mode = process.argv[2];
  if (mode !== "ok" && mode !== "fail" && mode !== "hang") {
    process.stderr.write(`usage: cli-shutdown.child.ts ok|fail|hang (got ${String(mode)})\n`);
    process.exit(2);
  }
  main(mode).catch((error: unknown) => {
    process.stderr.write(`${String(error)}\n`);
    process.exit(2);
  });
}
