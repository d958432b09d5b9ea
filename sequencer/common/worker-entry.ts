/**
 * How to start a worker thread whose entry file sits next to the module that starts it, whether the
 * code runs compiled (.js) or as TypeScript under tsx or Hardhat's ts-node: the parent's TypeScript hook
 * does not reach worker threads, so a .ts worker is started with tsx's require hook.
 */
import path from "node:path";

/** `callerFile` is the starting module's `__filename`; `name` the worker file's name without extension. */
export function workerEntry(callerFile: string, name: string): { filename: string; execArgv: string[] } {
  const ext = path.extname(callerFile);
  const execArgv = ext === ".ts" ? ["--require", require.resolve("tsx/cjs")] : [];
  return { filename: path.join(path.dirname(callerFile), `${name}${ext}`), execArgv };
}
