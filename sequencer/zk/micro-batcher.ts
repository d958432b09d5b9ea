/**
 * Micro-batching front for the verifier pool: single verification requests arriving within a few
 * milliseconds of each other are verified together, so that the node pays one multi-pairing per batch
 * instead of one pairing check per proof, while each caller still gets its own answer.
 */
import type { Groth16VerifierPool, VerifyItem } from "./verifier";

export interface MicroBatcherOptions {
  /** Flush as soon as this many requests are waiting (default 32). */
  readonly maxItems?: number;
  /** Flush at most this long after the first waiting request arrived (default 3 ms). */
  readonly maxDelayMs?: number;
}

interface Pending {
  readonly item: VerifyItem;
  readonly resolve: (ok: boolean) => void;
  readonly reject: (err: unknown) => void;
}

export class MicroBatcher {
  readonly maxItems: number;
  readonly maxDelayMs: number;
  private waiting: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private closed = false;

  constructor(
    private readonly pool: Pick<Groth16VerifierPool, "verifyBatch">,
    options: MicroBatcherOptions = {},
  ) {
    this.maxItems = Math.max(1, Math.floor(options.maxItems ?? 32));
    this.maxDelayMs = Math.max(0, options.maxDelayMs ?? 3);
  }

  /** Queues one proof; resolves with its own verdict once its batch has been verified. */
  verify(proof: unknown, publicSignals: unknown): Promise<boolean> {
    if (this.closed) return Promise.reject(new Error("micro-batcher is closed"));
    return new Promise<boolean>((resolve, reject) => {
      this.waiting.push({ item: { proof, publicSignals }, resolve, reject });
      if (this.waiting.length >= this.maxItems) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.maxDelayMs);
    });
  }

  /** Requests waiting for their batch to start. */
  get pending(): number {
    return this.waiting.length;
  }

  /** Sends whatever is waiting now, without waiting for the batch to fill. */
  flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.waiting.length === 0) return;
    const batch = this.waiting;
    this.waiting = [];
    const done = this.pool.verifyBatch(batch.map((p) => p.item)).then(
      (verdicts) => batch.forEach((p, i) => p.resolve(verdicts[i] === true)),
      (err: unknown) => batch.forEach((p) => p.reject(err)),
    );
    this.inFlight.add(done);
    void done.finally(() => this.inFlight.delete(done));
  }

  /** Flushes what is waiting, waits for every batch in flight, and refuses new requests. */
  async close(): Promise<void> {
    this.closed = true;
    this.flush();
    await Promise.all([...this.inFlight]);
  }
}
