/**
 * Worker-thread side of DecryptionPool: decrypts a contiguous slice of a block with the round
 * secret (`decryptSlice`), or opens it whole: decrypt, decode and hash each slot (`openSlice`, see
 * open-slot.ts). Inputs arrive by structured clone (bigints and typed arrays survive it).
 */
import { decryptBlock, type BlockItem, type DecryptOutcome } from "../crypto/encryption";
import { openSlots, type OpenTask, type OpenedSlice } from "./open-slot";

export interface DecryptTask {
  readonly roundSecret: bigint;
  readonly items: readonly BlockItem[];
}

export function decryptSlice(task: DecryptTask): DecryptOutcome[] {
  return decryptBlock(task.items, task.roundSecret);
}

export function openSlice(task: OpenTask): OpenedSlice {
  return openSlots(task);
}
