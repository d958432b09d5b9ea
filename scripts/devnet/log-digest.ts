import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";

/**
 * What a failed test prints of a devnet's process logs (pino JSON lines in `<workDir>/logs`), so that a
 * CI run, whose work directory is gone afterwards, still says what happened: every warning and error,
 * view changes, blocks fetched after a missed height and the operator's progress, from the last `windowMs`, at most `maxLines`
 * lines, oldest first.
 */
export function logDigest(workDir: string, windowMs = 180_000, maxLines = 150): string {
  const dir = path.join(workDir, "logs");
  const since = Date.now() - windowMs;
  const picked: { time: number; line: string }[] = [];
  for (const file of readdirSync(dir).filter((f) => /^(node|operator|validator|keygen)-?\d*\.log$/.test(f))) {
    for (const line of readFileSync(path.join(dir, file), "utf8").split("\n")) {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      const time = Number(entry.time);
      const msg = String(entry.msg);
      const wanted =
        Number(entry.level) >= 40 ||
        msg.startsWith("view change") ||
        msg === "missed block fetched, rebuilt and stored" ||
        msg === "block executed on the L2";
      if (!wanted || time < since) continue;
      const { level: _l, pid: _p, hostname: _h, name: _n, time: _t, ...rest } = entry;
      picked.push({ time, line: `${new Date(time).toISOString().slice(11, 23)} ${file} ${JSON.stringify(rest)}` });
    }
  }
  picked.sort((a, b) => a.time - b.time);
  return picked
    .slice(-maxLines)
    .map((p) => (p.line.length > 400 ? `${p.line.slice(0, 400)}...` : p.line))
    .join("\n");
}
