/**
 * How every long-running `veil … start` command ends: the first SIGINT/SIGTERM stops the service
 * gracefully, the second one gives up waiting.
 */
import type { Logger } from "pino";

/** Anything a start command runs until it is told to stop. */
export interface StoppableService {
  stop(): Promise<void>;
}

/** The exit status after a second signal: 128 + SIGINT, what a shell reports for an interrupted command. */
export const FORCED_EXIT_CODE = 130;

/**
 * Installs SIGINT and SIGTERM handlers for `service`. The first signal logs, awaits `stop()`, flushes
 * the logger and exits 0, or 1 when `stop()` rejects (after logging why). A second signal while the
 * stop is still running exits at once with {@link FORCED_EXIT_CODE}, so a hung shutdown can be cut short.
 */
export function stopOnSignals(service: StoppableService, log: Logger): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      log.warn({ signal }, "second signal, exiting at once");
      process.exit(FORCED_EXIT_CODE);
    }
    stopping = true;
    log.info({ signal }, "shutting down");
    service.stop().then(
      () => log.flush(() => process.exit(0)),
      (error: unknown) => {
        log.error({ err: error }, "shutdown failed");
        log.flush(() => process.exit(1));
      },
    );
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
}

/** A long job stopped by the user (Ctrl-C); the CLI reports its message alone, without a stack. */
export class Interrupted extends Error {
  override readonly name = "Interrupted";
}
