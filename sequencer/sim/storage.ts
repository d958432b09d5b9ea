/**
 * A member's durable state in the simulator: what its replicas' persist effects wrote, per height. A
 * write is durable once applied (the host applies persist effects one by one, each synced before the
 * next effect); a crash loses the writes of the step it interrupts that were not applied yet.
 */
import { EMPTY_DURABLE, type Durable, type Write } from "../replica/types";

export function applyWrite<Tx>(state: Durable<Tx>, write: Write<Tx>): Durable<Tx> {
  switch (write.type) {
    case "append":
      if (write.firstIndex !== state.entries.length) {
        throw new Error(`append at ${write.firstIndex} to a log of ${state.entries.length}: a replica bug`);
      }
      return { ...state, entries: [...state.entries, ...write.entries] };
    case "view":
      return { ...state, view: write.view, normalView: write.normalView };
    case "install":
      return {
        ...state,
        view: write.view,
        normalView: write.normalView,
        entries: [...state.entries.slice(0, write.keep), ...write.entries],
        seal: write.seal,
        viewCertificate: write.viewCertificate ?? state.viewCertificate,
        signedDropped: [...new Set([...state.signedDropped, ...write.signedDropped])],
      };
    case "seal":
      return { ...state, seal: write.seal };
    case "seal-signed":
      return { ...state, sealSigned: write.seal };
    case "decided":
    case "built":
      return { ...state, decision: { status: write.type, certificate: write.certificate } };
  }
}

export class SimStorage<Tx> {
  private readonly heights = new Map<number, Durable<Tx>>();

  get(height: number): Durable<Tx> {
    return this.heights.get(height) ?? EMPTY_DURABLE;
  }

  has(height: number): boolean {
    return this.heights.has(height);
  }

  apply(height: number, write: Write<Tx>): void {
    this.heights.set(height, applyWrite(this.get(height), write));
  }
}
