// Minimal typings for the parts of ffjavascript (snarkjs's field and curve library) that Veil uses.
declare module "ffjavascript" {
  export interface BnCurve {
    terminate(): Promise<void>;
    [key: string]: unknown;
  }
  export function getCurveFromName(name: string, options?: { singleThread?: boolean }): Promise<BnCurve>;
}
