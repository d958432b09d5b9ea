/**
 * Child process for the operator state crash test: rewrites the state file as fast as it can, one
 * height further each time, and prints each height after its write returned, until it is killed.
 */
import { writeState } from "../../sequencer/operator/state";

/** Only as a child process: `hardhat test` loads every file under test/, and this one never returns. */
if (require.main === module) {
  const [file] = process.argv.slice(2);
  if (file === undefined) throw new Error("usage: operator-state.child.ts <state file>");
  let height = 1n;
  for (;;) {
    writeState(file, {
      version: 1,
      rollupId: 7n,
      nextHeight: height,
      inFlight: { height, l2HeadBefore: Number(height) },
      last: {
        height: height - 1n,
        l2Block: Number(height),
        l2BlockHash: `0x${"ab".repeat(32)}`,
        executed: 3,
        skipped: 1,
      },
    });
    process.stdout.write(`${height}\n`);
    height += 1n;
  }
}
