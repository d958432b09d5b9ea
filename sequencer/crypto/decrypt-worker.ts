/**
 * Worker-thread side of DecryptionPool: decrypts a contiguous slice of a block with the round
 * secret. Inputs arrive by structured clone (bigints and typed arrays survive it).
 */
import { decryptBlock, type BlockItem, type DecryptOutcome } from "./encryption";

export interface DecryptTask {
  readonly roundSecret: bigint;
  readonly items: readonly BlockItem[];
}

export function decryptSlice(task: DecryptTask): DecryptOutcome[] {
  return decryptBlock(task.items, task.roundSecret);
}
