import { expect } from "chai";
import fc from "fast-check";
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  StateFileError,
  readState,
  removeStaleTempFiles,
  writeState,
  type OperatorState,
} from "../../sequencer/operator/state";

const CHILD = path.join(__dirname, "operator-state.child.ts");

describe("rollup operator state file", function () {
  this.timeout(120_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), "veil-operator-state-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("reads back what was written, for any heights (property)", () => {
    const file = path.join(dir, "roundtrip", "state.json");
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: (1n << 64n) - 1n }),
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        fc.option(fc.nat()),
        (rollupId, nextHeight, head) => {
          const state: OperatorState = {
            version: 1,
            rollupId,
            nextHeight,
            ...(head === null ? {} : { inFlight: { height: nextHeight, l2HeadBefore: head } }),
          };
          writeState(file, state);
          expect(readState(file)).to.deep.equal(state);
        },
      ),
      { numRuns: 50 },
    );
  });

  it("is missing before the first write, and a file that does not parse is an error, never a fresh start", () => {
    const file = path.join(dir, "bad", "state.json");
    expect(readState(file)).to.equal(undefined);
    writeState(file, { version: 1, rollupId: 1n, nextHeight: 1n });
    writeFileSync(file, '{"version":1,"rollupId":"1",');
    expect(() => readState(file)).to.throw(StateFileError, /not valid JSON/);
    writeFileSync(file, '{"version":2,"rollupId":"1","nextHeight":"x"}');
    expect(() => readState(file)).to.throw(StateFileError, /version[\s\S]*nextHeight/);
  });

  it("survives kill -9 in the middle of writes: always the last or the previous state, never torn", async () => {
    const file = path.join(dir, "crash", "state.json");
    for (let round = 0; round < 4; round++) {
      const child = spawn(process.execPath, ["--import", "tsx", CHILD, file], { stdio: ["ignore", "pipe", "inherit"] });
      let out = "";
      child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
      // Let it get going (tsx startup), then kill it at an arbitrary moment of its write loop.
      await new Promise<void>((resolve) => {
        const poll = setInterval(() => {
          if (out.split("\n").length > 20) {
            clearInterval(poll);
            setTimeout(resolve, Math.floor(Math.random() * 50));
          }
        }, 5);
      });
      child.kill("SIGKILL");
      await new Promise((resolve) => child.once("exit", resolve));
      const acknowledged = BigInt(out.trim().split("\n").filter(Boolean).at(-1)!);
      const state = readState(file)!;
      expect(state.rollupId).to.equal(7n);
      // The last acknowledged write is durable; at most the one in progress may have landed too.
      expect(state.nextHeight >= acknowledged && state.nextHeight <= acknowledged + 1n).to.equal(true);
      expect(state.inFlight!.height).to.equal(state.nextHeight);
      removeStaleTempFiles(file);
      expect(readdirSync(path.dirname(file))).to.deep.equal(["state.json"]);
    }
  });

  it("removes only its own stale temporary files", () => {
    const file = path.join(dir, "stale", "state.json");
    writeState(file, { version: 1, rollupId: 1n, nextHeight: 5n });
    writeFileSync(path.join(dir, "stale", ".state.json.123.deadbeef.tmp"), "{");
    writeFileSync(path.join(dir, "stale", "other.tmp"), "keep");
    expect(removeStaleTempFiles(file)).to.equal(1);
    expect(readdirSync(path.join(dir, "stale")).sort()).to.deep.equal(["other.tmp", "state.json"]);
    expect(readState(file)!.nextHeight).to.equal(5n);
  });
});
