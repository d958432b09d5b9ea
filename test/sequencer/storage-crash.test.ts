import { expect } from "chai";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { NodeStore } from "../../sequencer/node/storage/store";

const CHILD = path.join(__dirname, "storage-crash.child.ts");
const ROLLUP = 3n;
const HEIGHT = 11;

/** Runs the writer child until it has acknowledged a random number of appends, then SIGKILLs it. */
function runAndKill(dir: string): Promise<{ acked: number[]; startedAt: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", CHILD, dir, ROLLUP.toString(), String(HEIGHT)], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const acked: number[] = [];
    let startedAt = -1;
    let buffer = "";
    let stderr = "";
    const killAfterMs = 150 + Math.floor(Math.random() * 600);
    let timer: NodeJS.Timeout | undefined;
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.stdout.on("data", (d: Buffer) => {
      buffer += d.toString();
      const lines = buffer.split("\n");
      buffer = lines.pop() ?? "";
      for (const line of lines) {
        const [tag, n] = line.split(" ");
        if (tag === "start") {
          startedAt = Number(n);
          timer = setTimeout(() => child.kill("SIGKILL"), killAfterMs);
        } else if (tag === "ack") acked.push(Number(n));
      }
    });
    child.on("error", reject);
    child.on("exit", (_code, signal) => {
      clearTimeout(timer);
      if (signal !== "SIGKILL") reject(new Error(`writer exited without being killed: ${stderr}`));
      else resolve({ acked, startedAt });
    });
  });
}

describe("NodeStore crash safety", () => {
  it("keeps every acknowledged append through kill -9 at random moments, with no gaps or doubles", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "veil-crash-"));
    try {
      let expectedAtLeast = 0;
      for (let round = 0; round < 4; round++) {
        const { acked, startedAt } = await runAndKill(dir);
        // The writer resumes where the store says the block ends: never before an acknowledged index.
        expect(startedAt).to.be.at.least(expectedAtLeast);
        expect(acked.length, `round ${round} acknowledged nothing`).to.be.greaterThan(0);
        const store = await NodeStore.open(dir);
        try {
          const entries = await store.getEntries(ROLLUP, HEIGHT);
          const state = await store.blockState(ROLLUP, HEIGHT);
          expect(state.count).to.equal(entries.length);
          entries.forEach((e, i) => {
            expect(e.orderCommitment.commitment.txIndex).to.equal(i);
            expect(e.orderCommitment.commitment.blockHeight).to.equal(String(HEIGHT));
          });
          const lastAcked = acked[acked.length - 1]!;
          expect(entries.length, `round ${round}: acked up to ${lastAcked}`).to.be.greaterThan(lastAcked);
          expectedAtLeast = entries.length;
        } finally {
          await store.close();
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
