// Adds ffjavascript's ChaCha20 RNG (used by snarkjs to turn a beacon into secrets) to the shared typings.
declare module "ffjavascript" {
  export class ChaCha {
    constructor(seed: number[]);
  }
}
