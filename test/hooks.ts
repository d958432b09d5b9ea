// Root hooks for every suite. snarkjs caches its BN254 curve, with worker threads, on
// globalThis; release it so that the test process can exit once the suites are done.
after(async () => {
  const cached = (globalThis as { curve_bn128?: { terminate(): Promise<void> } }).curve_bn128;
  if (cached) await cached.terminate();
});

// VEIL_TEST_TIMES=1 prints, after the run, the wall time each test file took (its tests and
// the hooks before them), slowest first: where to look when the suite grows slow.
if (process.env.VEIL_TEST_TIMES) {
  const byFile = new Map<string, number>();
  let last = Date.now();
  afterEach(function () {
    const now = Date.now();
    const file = this.currentTest?.file ?? "?";
    byFile.set(file, (byFile.get(file) ?? 0) + (now - last));
    last = now;
  });
  after(() => {
    const rows = [...byFile].sort((a, b) => b[1] - a[1]);
    for (const [file, ms] of rows) console.log(`[times] ${(ms / 1000).toFixed(1).padStart(7)} s  ${file}`);
  });
}
