/**
 * Worker-thread side of DecryptionPool: decrypts a contiguous slice of a block with the round
 * secret (`decryptSlice`), or opens it whole: decrypt, decode and hash each slot (`openSlice`, see
 * block/open-slot.ts). Inputs arrive by structured clone (bigints and typed arrays survive it).
 */
import { openSlots, type OpenTask, type OpenedSlice } from "../block/open-slot";
import { decryptBlock, type BlockItem, type DecryptOutcome } from "./encryption";

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
