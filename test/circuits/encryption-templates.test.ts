import { expect } from "chai";
import fc from "fast-check";
import { poseidonEncrypt as zkKitEncrypt } from "@zk-kit/poseidon-cipher";
import { BASE8, SUBGROUP_ORDER, mul, mulBase } from "../../sequencer/crypto/babyjub";
import { poseidonChain } from "../../sequencer/crypto/poseidon";
import {
  calculateWitness,
  compileTestCircuit,
  readWitness,
  satisfies,
  signalIndex,
  tamper,
  type CircuitInput,
  type CompiledCircuit,
} from "./harness";

/** Resolves to the error message when witness generation fails, or undefined when it succeeds. */
async function witnessFailure(circuit: CompiledCircuit, input: CircuitInput): Promise<string | undefined> {
  return calculateWitness(circuit, input).then(
    () => undefined,
    (err: Error) => err.message,
  );
}

async function outputs(circuit: CompiledCircuit, wtns: string, names: string[]): Promise<bigint[]> {
  const w = await readWitness(wtns);
  return names.map((n) => w[signalIndex(circuit, n)]!);
}

const PK = mulBase(987654321987654321987654321n);

describe("circuit template PackedBytes(3)", () => {
  let circuit: CompiledCircuit;
  before(async () => {
    circuit = await compileTestCircuit("packing_test");
  });

  const pack = (bytes: number[]): CircuitInput => {
    const chunk = [0n, 1n, 2n].map((i) =>
      bytes.slice(Number(i) * 31, Number(i) * 31 + 31).reduceRight((acc, b) => (acc << 8n) | BigInt(b), 0n),
    );
    return { len: BigInt(bytes.length), chunk };
  };

  it("accepts the canonical packing of every length from 1 to 93 bytes", async function () {
    for (const len of [1, 2, 30, 31, 32, 61, 62, 63, 92, 93]) {
      const wtns = await calculateWitness(circuit, pack(Array.from({ length: len }, (_, i) => 255 - (i % 200))));
      expect(await satisfies(circuit.r1cs, wtns), `length ${len}`).to.equal(true);
    }
  });

  it("accepts random byte strings (property)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 93 }), async (bytes) => {
        const wtns = await calculateWitness(circuit, pack([...bytes]));
        return satisfies(circuit.r1cs, wtns);
      }),
      { numRuns: 15 },
    );
  });

  it("rejects a zero or too large length", async () => {
    expect(await witnessFailure(circuit, { len: 0n, chunk: [0n, 0n, 0n] })).to.match(/PackedBytes/);
    expect(await witnessFailure(circuit, { ...pack(Array<number>(93).fill(1)), len: 94n })).to.match(/PackedBytes/);
  });

  it("rejects a non-zero byte past the length, inside the last chunk and in a later chunk", async () => {
    const honest = pack(Array<number>(40).fill(7));
    const chunks = honest.chunk as bigint[];
    expect(await witnessFailure(circuit, { ...honest, chunk: [chunks[0]!, chunks[1]! | (1n << 72n), 0n] })).to.match(
      /PackedBytes/,
    );
    expect(await witnessFailure(circuit, { ...honest, chunk: [chunks[0]!, chunks[1]!, 1n] })).to.match(/PackedBytes/);
  });

  it("rejects a chunk of 2^248 or more", async () => {
    expect(await witnessFailure(circuit, { len: 93n, chunk: [1n << 248n, 1n, 1n] })).to.match(/PackedBytes/);
  });

  it("has constraints (not only witness checks) that reject tampered hints", async () => {
    const wtns = await calculateWitness(circuit, pack(Array<number>(40).fill(7)));
    expect(await satisfies(circuit.r1cs, wtns)).to.equal(true);
    for (const [name, value] of [
      ["main.used[2]", 1n],
      ["main.used[1]", 0n],
      ["main.inLast[9]", 1n],
      ["main.inLast[8]", 0n],
    ] as const) {
      expect(await satisfies(circuit.r1cs, tamper(wtns, signalIndex(circuit, name), value)), name).to.equal(false);
    }
  });
});

describe("circuit template EphemeralKeyExchange", () => {
  let circuit: CompiledCircuit;
  before(async () => {
    circuit = await compileTestCircuit("key_exchange_test");
  });
  const names = ["main.ephemeralKey[0]", "main.ephemeralKey[1]", "main.sharedKey[0]", "main.sharedKey[1]"];

  it("outputs R = rho·B8 and K = rho·PK, as the TypeScript curve code computes them", async () => {
    for (const rho of [1n, 2n, 123456789n, SUBGROUP_ORDER - 1n, (1n << 253n) - 1n]) {
      const wtns = await calculateWitness(circuit, { rho, publicKey: [...PK] });
      expect(await satisfies(circuit.r1cs, wtns)).to.equal(true);
      const [rx, ry, kx, ky] = await outputs(circuit, wtns, names);
      expect([rx, ry]).to.deep.equal([...mul(BASE8, rho)]);
      expect([kx, ky]).to.deep.equal([...mul(PK, rho)]);
    }
  });

  it("rejects rho = 0 and rho = ℓ (R would be the identity) and rho ≥ 2^253", async () => {
    expect(await witnessFailure(circuit, { rho: 0n, publicKey: [...PK] })).to.match(/EphemeralKeyExchange/);
    expect(await witnessFailure(circuit, { rho: SUBGROUP_ORDER, publicKey: [...PK] })).to.match(/EphemeralKeyExchange/);
    expect(await witnessFailure(circuit, { rho: 1n << 253n, publicKey: [...PK] })).to.match(/EphemeralKeyExchange/);
  });

  it("rejects a witness whose shared key or ephemeral key was replaced", async () => {
    const wtns = await calculateWitness(circuit, { rho: 42n, publicKey: [...PK] });
    const other = mul(PK, 43n);
    for (const [i, name] of names.entries()) {
      const value = i < 2 ? mulBase(43n)[i]! : other[i - 2]!;
      expect(await satisfies(circuit.r1cs, tamper(wtns, signalIndex(circuit, name), value)), name).to.equal(false);
    }
  });
});

describe("circuit template PoseidonEncrypt(4)", () => {
  let circuit: CompiledCircuit;
  before(async () => {
    circuit = await compileTestCircuit("poseidon_cipher_test");
  });
  const names = Array.from({ length: 7 }, (_, i) => `main.ciphertext[${i}]`);

  it("outputs the ciphertext of @zk-kit/poseidon-cipher (property over messages, keys, nonces)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.bigInt({ min: 0n, max: (1n << 253n) - 1n }), { minLength: 4, maxLength: 4 }),
        fc.bigInt({ min: 1n, max: SUBGROUP_ORDER - 1n }),
        fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }),
        async (message, k, nonce) => {
          const key = mulBase(k);
          const wtns = await calculateWitness(circuit, { message, key: [...key], nonce });
          const expected = zkKitEncrypt(message, [...key], nonce);
          return (
            (await satisfies(circuit.r1cs, wtns)) && String(await outputs(circuit, wtns, names)) === String(expected)
          );
        },
      ),
      { numRuns: 8 },
    );
  });

  it("rejects a nonce of 2^128 or more", async () => {
    expect(await witnessFailure(circuit, { message: [1n, 2n, 3n, 4n], key: [...PK], nonce: 1n << 128n })).to.match(
      /PoseidonEncrypt/,
    );
  });

  it("rejects a witness with any ciphertext element changed", async () => {
    const wtns = await calculateWitness(circuit, { message: [1n, 2n, 3n, 4n], key: [...PK], nonce: 5n });
    for (const name of names) {
      expect(await satisfies(circuit.r1cs, tamper(wtns, signalIndex(circuit, name), 12345n)), name).to.equal(false);
    }
  });
});

describe("circuit template PoseidonChain(33)", () => {
  let circuit: CompiledCircuit;
  before(async () => {
    circuit = await compileTestCircuit("poseidon_chain_test");
  });

  it("outputs poseidonChain of the TypeScript library", async () => {
    const input = Array.from({ length: 33 }, (_, i) => BigInt(i) * 7919n + 3n);
    const wtns = await calculateWitness(circuit, { in: input });
    expect(await satisfies(circuit.r1cs, wtns)).to.equal(true);
    expect(await outputs(circuit, wtns, ["main.out"])).to.deep.equal([poseidonChain(input)]);
  });

  it("rejects a witness with a wrong hash", async () => {
    const wtns = await calculateWitness(circuit, { in: Array.from({ length: 33 }, () => 1n) });
    expect(await satisfies(circuit.r1cs, tamper(wtns, signalIndex(circuit, "main.out"), 1n))).to.equal(false);
  });
});
