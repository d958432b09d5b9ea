/**
 * Micro-batching front for the verifier pool: single verification requests arriving close together
 * are verified together, so that the node pays one multi-pairing per batch instead of one pairing
 * check per proof, while each caller still gets its own answer.
 *
 * Batches form in two ways. A request waits at most `maxDelayMs` for others to join it (or until
 * `maxItems` wait). And while `maxInFlight` batches are already being verified (the pool splits a
 * batch across all its threads, so one keeps them busy), nothing more is sent: requests keep gathering and leave together as soon as a batch returns.
 * Without that gate a steady stream of requests, each arriving a little after the timer of the
 * previous one fired, became a queue of batches of one in the pool (the leader's case: its requests
 * are spread out by HTTP parsing and hashing), and batch verification's gain was lost exactly when
 * the node was loaded.
 */
import type { Groth16VerifierPool, VerifyItem } from "./verifier";

export interface MicroBatcherOptions {
  /** Most requests per batch; a batch leaves as soon as this many wait (default 64). */
  readonly maxItems?: number;
  /** Flush at most this long after the first waiting request arrived (default 1 ms). */
  readonly maxDelayMs?: number;
  /**
   * Batches verified at once; more requests wait and join the next batch (default 1: the pool splits
   * every batch across all its threads, so one batch in flight already keeps them all busy).
   */
  readonly maxInFlight?: number;
}

interface Pending {
  readonly item: VerifyItem;
  readonly resolve: (ok: boolean) => void;
  readonly reject: (err: unknown) => void;
}

export class MicroBatcher {
  readonly maxItems: number;
  readonly maxDelayMs: number;
  readonly maxInFlight: number;
  private waiting: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private closed = false;

  constructor(
    private readonly pool: Pick<Groth16VerifierPool, "verifyBatch">,
    options: MicroBatcherOptions = {},
  ) {
    this.maxItems = Math.max(1, Math.floor(options.maxItems ?? 64));
    this.maxDelayMs = Math.max(0, options.maxDelayMs ?? 1);
    this.maxInFlight = Math.max(1, Math.floor(options.maxInFlight ?? 1));
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

  /** Batches being verified now. */
  get batchesInFlight(): number {
    return this.inFlight.size;
  }

  /**
   * Sends what is waiting now, in batches of at most `maxItems`, as far as `maxInFlight` allows; the
   * rest leaves when a batch in flight returns.
   */
  flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    while (this.waiting.length > 0 && (this.inFlight.size < this.maxInFlight || this.closed)) {
      this.send(this.waiting.splice(0, this.maxItems));
    }
  }

  private send(batch: Pending[]): void {
    const done = this.pool.verifyBatch(batch.map((p) => p.item)).then(
      (verdicts) => batch.forEach((p, i) => p.resolve(verdicts[i] === true)),
      (err: unknown) => batch.forEach((p) => p.reject(err)),
    );
    this.inFlight.add(done);
    void done.finally(() => {
      this.inFlight.delete(done);
      // Whatever gathered while every slot was busy has waited long enough: send it now.
      if (this.waiting.length > 0) this.flush();
    });
  }

  /** Flushes what is waiting, waits for every batch in flight, and refuses new requests. */
  async close(): Promise<void> {
    this.closed = true;
    this.flush();
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }
}
