/**
 * Chooses the target height of a transaction: the open height plus enough blocks to cover the time from
 * fetching the key to the leader receiving the proof. Proving time is learned as it is measured (an
 * exponentially weighted mean), so a slow machine looks further ahead and a fast one does not wait longer
 * than it must.
 */
export interface LookAheadOptions {
  /** The rollup's block time (how often the operator seals a height). */
  readonly blockTimeMs: number;
  /** Proving time assumed before the first measurement (default 3 s, tx-validity on 2 cores). */
  readonly initialProvingMs?: number;
  /** Multiplier over the expected proving and submission time (default 1.5). */
  readonly safetyFactor?: number;
  /** Fixed allowance for key fetch, encryption and the submission round trip (default 500 ms). */
  readonly overheadMs?: number;
  /** Bounds on the look-ahead in blocks (defaults 1 and 16). */
  readonly minBlocks?: number;
  readonly maxBlocks?: number;
}

const WEIGHT_OF_NEW = 0.3;
/** How much a missed target grows the estimate. */
const MISS_GROWTH = 1.5;

export class LookAhead {
  #provingMs: number;
  readonly #options: Required<LookAheadOptions>;

  constructor(options: LookAheadOptions) {
    if (!(options.blockTimeMs > 0)) throw new RangeError("blockTimeMs must be positive");
    this.#options = {
      initialProvingMs: 3_000,
      safetyFactor: 1.5,
      overheadMs: 500,
      minBlocks: 1,
      maxBlocks: 16,
      ...options,
    };
    if (this.#options.minBlocks < 0 || this.#options.maxBlocks < this.#options.minBlocks) {
      throw new RangeError("need 0 <= minBlocks <= maxBlocks");
    }
    this.#provingMs = this.#options.initialProvingMs;
  }

  get expectedProvingMs(): number {
    return this.#provingMs;
  }

  /** Records one measured preparation time (round key, encryption, proof). */
  observe(provingMs: number): void {
    if (Number.isFinite(provingMs) && provingMs >= 0)
      this.#provingMs = (1 - WEIGHT_OF_NEW) * this.#provingMs + WEIGHT_OF_NEW * provingMs;
  }

  /**
   * Records that a target closed before its transaction arrived: whatever the measurements say, the window
   * was too short on this machine now (a loaded CPU, a slow node, a key verified on the way), so the estimate
   * grows by half, up to what `maxBlocks` can use. Later measurements bring it back down.
   */
  missed(): void {
    const { blockTimeMs, safetyFactor, overheadMs, maxBlocks } = this.#options;
    const ceiling = (maxBlocks * blockTimeMs) / safetyFactor - overheadMs;
    this.#provingMs = Math.max(this.#provingMs, Math.min(ceiling, this.#provingMs * MISS_GROWTH));
  }

  /** Blocks between the open height and the target height. */
  blocks(): number {
    const { blockTimeMs, safetyFactor, overheadMs, minBlocks, maxBlocks } = this.#options;
    const needed = Math.ceil(((this.#provingMs + overheadMs) * safetyFactor) / blockTimeMs);
    return Math.min(maxBlocks, Math.max(minBlocks, needed));
  }

  target(openHeight: bigint): bigint {
    return openHeight + BigInt(this.blocks());
  }
}
