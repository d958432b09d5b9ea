/**
 * Worker-thread side of the verifier pool. Each thread builds its own single-threaded BN254 curve and
 * prepares the verification key (passed as workerData) once, when the thread starts; tasks then only
 * pay for pairings. Nothing thrown here reaches the pool: malformed input verifies as false.
 */
import "./worker-thread-guard";
import { workerData } from "piscina";
import type { Groth16Proof } from "snarkjs";
import { prepareKey, parseProof, verifyParsed, type PreparedKey } from "./batch-verify";
import { bn254, type Bn254Curve } from "./bn254";

/** One proof to verify, as received from the network (untrusted, unparsed). */
export interface VerifyItem {
  readonly proof: unknown;
  readonly publicSignals: unknown;
}

/** What the pool passes to every thread. */
export interface VerifierWorkerData {
  readonly vkey: unknown;
}

interface Warm {
  readonly curve: Bn254Curve;
  readonly key: PreparedKey;
}

const config = workerData as VerifierWorkerData | undefined;

async function build(): Promise<Warm> {
  const curve = await bn254();
  return { curve, key: prepareKey(curve, config?.vkey) };
}

const warm: Promise<Warm> = build();
// A bad key is reported by the pool at construction (it parses the key itself); do not crash here.
warm.catch(() => undefined);

/** Reads a task as a list of items; anything that is not one becomes an item that verifies as false. */
function asItems(task: unknown): VerifyItem[] {
  if (!Array.isArray(task)) return [];
  return (task as unknown[]).map((it) =>
    typeof it === "object" && it !== null
      ? { proof: (it as Partial<VerifyItem>).proof, publicSignals: (it as Partial<VerifyItem>).publicSignals }
      : { proof: undefined, publicSignals: undefined },
  );
}

/** Resolves once the curve and key are ready; reports the thread's readiness to the pool. */
export async function ready(): Promise<boolean> {
  await warm;
  return true;
}

/** Verifies a batch with one random linear combination (bisecting on failure); one boolean per item. */
export async function verifyBatch(task: unknown): Promise<boolean[]> {
  const items = asItems(task);
  try {
    const { curve, key } = await warm;
    return verifyParsed(
      curve,
      key,
      items.map((it) => parseProof(curve, key, it.proof, it.publicSignals)),
    );
  } catch {
    return items.map(() => false);
  }
}

/**
 * Baseline: plain snarkjs, one full pairing check per proof, on this thread's warm curve. Used by the
 * benchmark to print the ceiling that batching is measured against, and by tests as the reference.
 */
export async function verifyEachWithSnarkjs(task: unknown): Promise<boolean[]> {
  const items = asItems(task);
  const { curve } = await warm;
  const snarkjs = await import("snarkjs");
  // snarkjs looks its curve up on globalThis (after loading, which resets it): hand it the warm one.
  (globalThis as { curve_bn128?: unknown }).curve_bn128 = curve;
  const out: boolean[] = [];
  for (const it of items) {
    try {
      out.push(await snarkjs.groth16.verify(config?.vkey, it.publicSignals as string[], it.proof as Groth16Proof));
    } catch {
      out.push(false);
    }
  }
  return out;
}
