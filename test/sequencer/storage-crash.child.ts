// Child process of storage-crash.test.ts (not a test suite): appends entries to the store given on the
// command line, one synced batch at a time, and prints each index only after its write resolved.
// Loaded by mocha too, as every file under test/ is; it does nothing unless run as the main module.
import { NodeStore } from "../../sequencer/node/storage/store";
import { storedEntry } from "./entry-fixture";

async function main(dir: string, rollup: bigint, height: number): Promise<void> {
  const store = await NodeStore.open(dir);
  let index = (await store.blockState(rollup, height)).count;
  process.stdout.write(`start ${index}\n`);
  for (;;) {
    const encTxHash = `0x${(BigInt(height) * 2n ** 64n + BigInt(index)).toString(16).padStart(64, "0")}`;
    const entry = storedEntry({ rollupId: rollup, height, index, encTxHash, rawTx: `0x${"ab".repeat(100)}` });
    await store.applyHeightWrites(rollup, height, [{ type: "append", firstIndex: index, entries: [entry] }]);
    process.stdout.write(`ack ${index}\n`);
    index += 1;
  }
}

if (require.main === module) {
  const [dir, rollup, height] = process.argv.slice(2);
  main(dir!, BigInt(rollup!), Number(height)).catch((error: unknown) => {
    process.stderr.write(`${String(error)}\n`);
    process.exit(1);
  });
}
