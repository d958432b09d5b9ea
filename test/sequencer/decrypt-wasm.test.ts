import { expect } from "chai";
import fc from "fast-check";
import { FIELD, SUBGROUP_ORDER, mul, mulBase } from "../../sequencer/crypto/babyjub";
import {
  decryptInWasm,
  poseidonPermutationWasm,
  prepareScalar,
  scalarMulWasm,
} from "../../sequencer/crypto/decrypt-wasm";
import { wasmField } from "../../sequencer/crypto/field-wasm";
import { poseidonChain, poseidonPermutation } from "../../sequencer/crypto/poseidon";
import { poseidonDecrypt, poseidonEncrypt } from "../../sequencer/crypto/poseidon-cipher";

const fieldElement = fc.bigInt({ min: 0n, max: FIELD - 1n });
const scalar = fc.bigInt({ min: 1n, max: SUBGROUP_ORDER - 1n });

describe("decryption arithmetic in WebAssembly (against the BigInt reference)", () => {
  it("stores, multiplies and adds field elements like BigInt (property)", () => {
    const f = wasmField();
    const [a, b, r] = [f.alloc(1), f.alloc(1), f.alloc(1)];
    fc.assert(
      fc.property(fieldElement, fieldElement, (x, y) => {
        f.write(a, x);
        f.write(b, y);
        f.ops.mul(a, b, r);
        const product = f.read(r);
        f.ops.add(a, b, r);
        const sum = f.read(r);
        f.ops.sub(a, b, r);
        return (
          f.read(a) === x &&
          product === (x * y) % FIELD &&
          sum === (x + y) % FIELD &&
          f.read(r) === (x - y + FIELD) % FIELD
        );
      }),
      { numRuns: 200 },
    );
  });

  it("computes the Poseidon permutation of every width used (4, 10, 17) like poseidon.ts (property)", () => {
    for (const t of [4, 10, 17]) {
      fc.assert(
        fc.property(fc.array(fieldElement, { minLength: t, maxLength: t }), (state) => {
          return String(poseidonPermutationWasm(state)) === String(poseidonPermutation(state));
        }),
        { numRuns: 10 },
      );
    }
  });

  it("multiplies curve points by scalars like babyjub.ts (property)", () => {
    fc.assert(
      fc.property(scalar, scalar, (p, k) => {
        const point = mulBase(p);
        return String(scalarMulWasm(point, k)) === String(mul(point, k));
      }),
      { numRuns: 20 },
    );
  });

  it("decrypts and hashes exactly like the BigInt cipher and poseidonChain (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fieldElement, { minLength: 1, maxLength: 31 }),
        scalar,
        scalar,
        fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }),
        (message, rho, sk, nonce) => {
          const key = mul(mulBase(sk), rho);
          const ciphertext = poseidonEncrypt(message, key, nonce);
          const result = decryptInWasm(mulBase(rho), prepareScalar(sk), nonce, ciphertext, message.length);
          return (
            result.ok &&
            String(result.message) === String(poseidonDecrypt(ciphertext, key, nonce, message.length)) &&
            result.commitment === poseidonChain(message)
          );
        },
      ),
      { numRuns: 15 },
    );
  });

  it("reports a wrong key, a tampered element and a non-zero padding", () => {
    const sk = 12345n;
    const R = mulBase(777n);
    const key = mul(R, sk);
    const ciphertext = poseidonEncrypt([1n, 2n, 3n, 4n], key, 9n);
    expect(decryptInWasm(R, prepareScalar(sk + 1n), 9n, ciphertext, 4)).to.deep.equal({
      ok: false,
      reason: "ciphertext does not authenticate under this key and nonce",
    });
    const tampered = ciphertext.map((c, i) => (i === 2 ? (c + 1n) % FIELD : c));
    expect(decryptInWasm(R, prepareScalar(sk), 9n, tampered, 4).ok).to.equal(false);
    // A ciphertext for a 4-element message whose padding element is 5: encrypted by hand.
    let state = [0n, key[0], key[1], 9n + 4n * (1n << 128n)];
    const forged: bigint[] = [];
    for (const block of [
      [1n, 2n, 3n],
      [4n, 5n, 0n],
    ]) {
      state = poseidonPermutation(state);
      for (let j = 0; j < 3; j++) state[j + 1] = (state[j + 1]! + block[j]!) % FIELD;
      forged.push(...state.slice(1));
    }
    forged.push(poseidonPermutation(state)[1]!);
    expect(decryptInWasm(R, prepareScalar(sk), 9n, forged, 4)).to.deep.equal({
      ok: false,
      reason: "ciphertext padding is not zero",
    });
    expect(() => decryptInWasm(R, prepareScalar(sk), 1n << 128n, ciphertext, 4)).to.throw(/nonce/);
    expect(() => decryptInWasm(R, prepareScalar(sk), 9n, ciphertext, 7)).to.throw(/length/);
  });
});
