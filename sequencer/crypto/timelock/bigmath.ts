/**
 * Modular arithmetic on large integers through GMP compiled to WebAssembly (`gmp-wasm`).
 * Node's BigInt has no modular exponentiation and squares mod a 2048-bit N at about the same
 * speed as GMP's plain multiply-and-reduce; GMP's `mpz_powm` (Montgomery reduction, no
 * per-step call overhead) is faster than both, so every exponentiation and the solver's
 * repeated squaring go through it. Values cross the boundary as hex strings, which costs
 * microseconds against the milliseconds of one exponentiation.
 */
import type { GMPLib } from "gmp-wasm";

type Mpz = number;

export interface BigMath {
  /** base^exp mod m for exp ≥ 0, m > 1. */
  modPow(base: bigint, exp: bigint, m: bigint): bigint;
  /** a⁻¹ mod m; throws when a is not a unit. */
  modInverse(a: bigint, m: bigint): bigint;
  gcd(a: bigint, b: bigint): bigint;
  /** GMP's Baillie–PSW plus Miller–Rabin rounds: false means composite, true means prime except with negligible error. */
  isProbablePrime(n: bigint): boolean;
  /** base^⌊2^t / divisor⌋ mod m, with the huge exponent built and kept inside GMP (t/8 bytes). */
  powFloorPow2Div(base: bigint, t: number, divisor: bigint, m: bigint): bigint;
  /** A register-based repeated squarer mod m (for the solver): keeps the value inside GMP between chunks. */
  squarer(m: bigint): Squarer;
  /**
   * A register-based fixed-window exponentiator for one base mod m (for the off-thread prover):
   * a table of base^j for j < 2^windowBits and an accumulator, all kept inside GMP.
   */
  windowedPower(base: bigint, m: bigint, windowBits: number): WindowedPower;
}

export interface Squarer {
  set(x: bigint): void;
  /** x ← x^(2^count) mod m. */
  square(count: number): void;
  get(): bigint;
  /** Releases the GMP memory; the squarer is unusable afterwards. */
  free(): void;
}

/** Largest window accepted by `windowedPower` (a table of 2^16 residues). */
export const MAX_WINDOW_BITS = 16;

export interface WindowedPower {
  readonly windowBits: number;
  set(acc: bigint): void;
  /**
   * acc ← acc^(2^bits) · base^e mod m for 0 ≤ e < 2^bits: e's bits are read most significant
   * first in windows of `windowBits`, each costing that many squarings and at most one multiply.
   */
  step(e: bigint, bits: number): void;
  get(): bigint;
  /** Releases the GMP memory (table included); unusable afterwards. */
  free(): void;
}

let loading: Promise<BigMath> | undefined;

/** The process-wide GMP instance, loaded on first use (the module too: a CLI's help never pays for it). */
export function loadBigMath(): Promise<BigMath> {
  loading ??= import("gmp-wasm").then(({ init }) => init()).then(wrap);
  return loading;
}

const hex = (x: bigint): string => {
  if (x < 0n) throw new RangeError("negative integer passed to GMP");
  return x.toString(16);
};

function wrap(lib: GMPLib): BigMath {
  const b = lib.binding;
  const alloc = (): Mpz => {
    const p = b.mpz_t();
    b.mpz_init(p);
    return p;
  };
  const release = (p: Mpz): void => {
    b.mpz_clear(p);
    b.mpz_t_free(p);
  };
  const set = (p: Mpz, x: bigint): void => {
    b.mpz_set_string(p, hex(x), 16);
  };
  const get = (p: Mpz): bigint => BigInt(`0x${b.mpz_to_string(p, 16)}`);
  // Scratch registers reused by every synchronous call (JavaScript is single-threaded here).
  const [r0, r1, r2, r3] = [alloc(), alloc(), alloc(), alloc()];

  return {
    modPow(base, exp, m) {
      if (m <= 1n) throw new RangeError("modulus must exceed 1");
      set(r0, ((base % m) + m) % m);
      set(r1, exp);
      set(r2, m);
      b.mpz_powm(r3, r0, r1, r2);
      return get(r3);
    },
    modInverse(a, m) {
      set(r0, ((a % m) + m) % m);
      set(r1, m);
      if (b.mpz_invert(r2, r0, r1) === 0) throw new RangeError("value is not invertible");
      return get(r2);
    },
    gcd(x, y) {
      set(r0, x < 0n ? -x : x);
      set(r1, y < 0n ? -y : y);
      b.mpz_gcd(r2, r0, r1);
      return get(r2);
    },
    isProbablePrime(n) {
      if (n < 2n) return false;
      set(r0, n);
      return b.mpz_probab_prime_p(r0, 30) > 0;
    },
    powFloorPow2Div(base, t, divisor, m) {
      if (!Number.isSafeInteger(t) || t < 0) throw new RangeError("bad exponent size");
      if (divisor <= 0n) throw new RangeError("divisor must be positive");
      set(r0, ((base % m) + m) % m);
      const quotient = alloc(); // t bits: released at once rather than left in a scratch register
      try {
        b.mpz_setbit(quotient, t);
        set(r2, divisor);
        b.mpz_fdiv_q(quotient, quotient, r2);
        set(r2, m);
        b.mpz_powm(r3, r0, quotient, r2);
      } finally {
        release(quotient);
      }
      return get(r3);
    },
    squarer(m) {
      const value = alloc();
      const modulus = alloc();
      const exponent = alloc();
      set(modulus, m);
      let exponentFor = -1;
      let freed = false;
      const live = (): void => {
        if (freed) throw new Error("squarer already freed");
      };
      return {
        set(x) {
          live();
          set(value, x % m);
        },
        square(count) {
          live();
          if (!Number.isSafeInteger(count) || count < 0) throw new RangeError("bad squaring count");
          if (count === 0) return;
          if (count !== exponentFor) {
            b.mpz_set_ui(exponent, 0);
            b.mpz_setbit(exponent, count);
            exponentFor = count;
          }
          b.mpz_powm(value, value, exponent, modulus);
        },
        get() {
          live();
          return get(value);
        },
        free() {
          if (freed) return;
          freed = true;
          release(value);
          release(modulus);
          release(exponent);
        },
      };
    },
    windowedPower(base, m, windowBits) {
      if (m <= 1n) throw new RangeError("modulus must exceed 1");
      if (!Number.isSafeInteger(windowBits) || windowBits < 1 || windowBits > MAX_WINDOW_BITS) {
        throw new RangeError(`window must be 1..${MAX_WINDOW_BITS} bits`);
      }
      const modulus = alloc();
      const acc = alloc();
      const product = alloc(); // the double-length product before reduction
      const table: Mpz[] = []; // table[j] = base^j mod m
      set(modulus, m);
      const size = 2 ** windowBits;
      try {
        table.push(alloc());
        b.mpz_set_ui(table[0]!, 1);
        table.push(alloc());
        set(table[1]!, ((base % m) + m) % m);
        for (let j = 2; j < size; j++) {
          const entry = alloc();
          table.push(entry);
          b.mpz_mul(product, table[j - 1]!, table[1]!);
          b.mpz_tdiv_r(entry, product, modulus);
        }
      } catch (error) {
        for (const entry of table) release(entry);
        for (const p of [modulus, acc, product]) release(p);
        throw error;
      }
      b.mpz_set_ui(acc, 1);
      let freed = false;
      const live = (): void => {
        if (freed) throw new Error("windowed power already freed");
      };
      const square = (count: number): void => {
        for (let i = 0; i < count; i++) {
          b.mpz_mul(product, acc, acc);
          b.mpz_tdiv_r(acc, product, modulus);
        }
      };
      return {
        windowBits,
        set(x) {
          live();
          set(acc, ((x % m) + m) % m);
        },
        step(e, bits) {
          live();
          if (!Number.isSafeInteger(bits) || bits < 0) throw new RangeError("bad bit count");
          if (e < 0n || e >> BigInt(bits) !== 0n) throw new RangeError("exponent does not fit the bit count");
          if (bits === 0) return;
          const digits = e.toString(2).padStart(bits, "0");
          // The first window takes the odd part (bits mod windowBits) so that the rest align.
          let at = 0;
          let width = bits % windowBits || windowBits;
          while (at < bits) {
            square(width);
            const digit = Number.parseInt(digits.slice(at, at + width), 2);
            if (digit !== 0) {
              b.mpz_mul(product, acc, table[digit]!);
              b.mpz_tdiv_r(acc, product, modulus);
            }
            at += width;
            width = windowBits;
          }
        },
        get() {
          live();
          return get(acc);
        },
        free() {
          if (freed) return;
          freed = true;
          for (const entry of table) release(entry);
          for (const p of [modulus, acc, product]) release(p);
        },
      };
    },
  };
}
