// Root hooks for every suite. snarkjs caches its BN254 curve, with worker threads, on
// globalThis; release it so that the test process can exit once the suites are done.
after(async () => {
  const cached = (globalThis as { curve_bn128?: { terminate(): Promise<void> } }).curve_bn128;
  if (cached) await cached.terminate();
});
