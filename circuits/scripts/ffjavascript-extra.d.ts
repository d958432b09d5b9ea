// Adds to the shared ffjavascript typings what the powers-of-tau code uses: snarkjs's ChaCha20 RNG
// (a beacon's secrets come from it) and the curve builder that accepts wasm plugins.
declare module "ffjavascript" {
  export class ChaCha {
    constructor(seed: number[]);
  }
  export function buildBn128(singleThread: boolean, plugins?: (moduleBuilder: unknown) => void): Promise<BnCurve>;
}
