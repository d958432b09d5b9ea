/**
 * Structured logs (pino, one JSON object per line). Secrets are redacted by path as a second line of
 * defence: the signing key is also wrapped in a Secret that never serialises its value.
 */
import pino, { type DestinationStream, type Logger } from "pino";

/** pino's levels; "silent" turns logging off. The config schemas' `log.level` accepts exactly these. */
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

export type LogLevel = (typeof LOG_LEVELS)[number];

const REDACTED_PATHS = ["signingKey", "*.signingKey", "*.*.signingKey", "privateKey", "*.privateKey"];

export function createLogger(options: { level: LogLevel; name?: string; destination?: DestinationStream }): Logger {
  return pino(
    {
      name: options.name ?? "veil",
      level: options.level,
      redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
      base: { pid: process.pid },
    },
    options.destination ?? pino.destination({ fd: 1, sync: false }),
  );
}
