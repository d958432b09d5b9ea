/**
 * How long a round key's puzzle must stay closed, and which moduli may close it.
 *
 * A round key for height H is public from the moment the key generators publish it, which is when the
 * height `lookahead` below it is sealed (they publish `base … base + lookahead`). H itself is sealed about
 * `lookahead + 1` blocks later, or later still if leaders fail and views change. Until then its puzzle must
 * resist the fastest known squarer, so T is sized against that hardware, never against a CPU.
 */
import { RSA_2048_MODULUS } from "./modulus";

/** Adversarial squaring rate assumed for custom hardware (an ASIC for RSA-2048 squaring). */
export const ASIC_SQUARINGS_PER_SECOND = 35_000_000;

/** T for a wall-clock delay against a solver squaring at `ratePerSecond` (rounded up, at least 1). */
export function squaringsForDelay(seconds: number, ratePerSecond: number): number {
  if (!Number.isFinite(seconds) || seconds <= 0) throw new RangeError("delay must be a positive number of seconds");
  if (!Number.isFinite(ratePerSecond) || ratePerSecond <= 0) throw new RangeError("rate must be positive");
  const T = Math.ceil(seconds * ratePerSecond);
  if (!Number.isSafeInteger(T)) throw new RangeError("delay × rate exceeds a safe integer");
  return Math.max(1, T);
}

export interface DelayInputs {
  /** Heights ahead of the latest seal that key generators publish keys for (keygen `schedule.lookahead`). */
  readonly lookaheadHeights: number;
  /** The rollup's block time: one height is sealed per block. */
  readonly blockTimeMs: number;
  /** Time a failed leader costs before the next view takes over (node `timeouts.leaderTimeoutMs`). */
  readonly leaderTimeoutMs: number;
  /** Failed leaders budgeted per height: a height that needs more exposes its puzzle early. */
  readonly viewChanges: number;
  /** The attacker's sequential squaring rate mod an RSA-2048 modulus (custom hardware). */
  readonly attackerSquaringsPerSecond: number;
}

/** The project's defaults: keygen look-ahead 4, 2 s blocks, 3 s leader timeout, one view change, 35M squarings/s. */
export const DEFAULT_DELAY_INPUTS: DelayInputs = {
  lookaheadHeights: 4,
  blockTimeMs: 2_000,
  leaderTimeoutMs: 3_000,
  viewChanges: 1,
  attackerSquaringsPerSecond: ASIC_SQUARINGS_PER_SECOND,
};

/** Seconds from a round key's publication to its height's seal, in the worst case the inputs budget for. */
export function publicationToSealSeconds(inputs: Omit<DelayInputs, "attackerSquaringsPerSecond">): number {
  const { lookaheadHeights, blockTimeMs, leaderTimeoutMs, viewChanges } = inputs;
  for (const [name, value] of Object.entries({ lookaheadHeights, viewChanges })) {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer`);
  }
  for (const [name, value] of Object.entries({ blockTimeMs, leaderTimeoutMs })) {
    if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be positive`);
  }
  return ((lookaheadHeights + 1) * blockTimeMs + viewChanges * leaderTimeoutMs) / 1000;
}

/**
 * The one sizing rule for T: the squarings the attacker does in the publication-to-seal time.
 * Defaults give (5 × 2 s + 3 s) × 35M/s = 455M.
 */
export function timeLockSquaringsFor(inputs: Partial<DelayInputs> = {}): number {
  const all = { ...DEFAULT_DELAY_INPUTS, ...inputs };
  return squaringsForDelay(publicationToSealSeconds(all), all.attackerSquaringsPerSecond);
}

/** True for the RSA-2048 challenge modulus, the only one whose factors nobody is known to hold. */
export const isTrustedModulus = (N: bigint): boolean => N === RSA_2048_MODULUS;

/** The few calls a warning needs; pino's logger and the console both fit. */
export interface WarningSink {
  warn(fields: object, message: string): void;
}

const warned = new Set<string>();

/**
 * Logs once per process and modulus that a rollup uses a test modulus: whoever made it knows its factors
 * and can open every round key at once, so encryption there protects nothing. Returns whether N is one.
 */
export function warnIfTestModulus(N: bigint, log: WarningSink, context: object = {}): boolean {
  if (isTrustedModulus(N)) return false;
  const key = N.toString(16);
  if (!warned.has(key)) {
    warned.add(key);
    log.warn(
      { ...context, modulusBits: N.toString(2).length, modulusPrefix: `0x${key.slice(0, 16)}` },
      "INSECURE time-lock modulus: not the RSA-2048 challenge number, so whoever generated it can open every round key early (development and tests only)",
    );
  }
  return true;
}
