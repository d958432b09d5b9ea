/**
 * Import first in any worker thread that loads ffjavascript (or snarkjs).
 *
 * ffjavascript requires the `web-worker` package at load time. Inside a worker thread that package
 * assumes it was started by itself: it rewires the thread's global object, listens on `parentPort`
 * and requires `workerData.mod` (crashing on undefined). Single-threaded curves never start workers,
 * so the thread gets an inert stand-in instead.
 */
import path from "node:path";
import { isMainThread } from "node:worker_threads";

if (!isMainThread) {
  const ffjavascriptDir = path.dirname(require.resolve("ffjavascript"));
  const webWorker = require.resolve("web-worker", { paths: [ffjavascriptDir] });
  if (require.cache[webWorker] === undefined) {
    const stub = class WorkersUnavailableInThisThread {
      constructor() {
        throw new Error("web workers are not available inside a verifier thread (use a single-threaded curve)");
      }
    };
    require.cache[webWorker] = {
      id: webWorker,
      filename: webWorker,
      loaded: true,
      exports: stub,
      children: [],
      paths: [],
      path: path.dirname(webWorker),
    } as unknown as NodeJS.Module;
  }
}
