/**
 * Sequential squaring x ↦ x^(2^T) mod N, the work a time-lock puzzle demands. It runs in chunks of
 * GMP `powm` calls with exponent 2^chunk (Montgomery squaring without per-step overhead), and
 * between chunks reports progress and yields to the event loop so that an AbortSignal can stop it.
 */
import type { BigMath } from "./bigmath";

export interface SquaringOptions {
  /** Called after every chunk with the squarings done so far. */
  onProgress?: (done: number, total: number) => void;
  /** Aborting rejects the promise with the signal's reason. */
  signal?: AbortSignal;
  /** Squarings per chunk (default 8192, about 40 ms here): smaller reacts faster, larger wastes less. */
  chunk?: number;
}

const DEFAULT_CHUNK = 8192;

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export async function repeatedSquaring(
  math: BigMath,
  N: bigint,
  x: bigint,
  T: number,
  options: SquaringOptions = {},
): Promise<bigint> {
  if (!Number.isSafeInteger(T) || T < 0) throw new RangeError("T must be a non-negative safe integer");
  const chunk = options.chunk ?? DEFAULT_CHUNK;
  if (!Number.isSafeInteger(chunk) || chunk < 1) throw new RangeError("chunk must be a positive integer");
  const { signal, onProgress } = options;
  signal?.throwIfAborted();
  const squarer = math.squarer(N);
  try {
    squarer.set(x);
    let done = 0;
    while (done < T) {
      const step = Math.min(chunk, T - done);
      squarer.square(step);
      done += step;
      onProgress?.(done, T);
      if (done < T) {
        await yieldToEventLoop();
        signal?.throwIfAborted();
      }
    }
    return squarer.get();
  } finally {
    squarer.free();
  }
}
