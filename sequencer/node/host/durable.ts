/**
 * A height replica's durable state in the node's LevelDB store: its writes become the store's records
 * (`applyHeightWrites`, one synced batch per step), and a replica restarted after a crash is rebuilt from
 * those records (`loadDurable`). Both directions go through the height's wire codec, so the store keeps
 * every entry, seal and certificate in the one JSON form they travel in.
 */
import type { Certificate, Durable, Seal, ViewVote, Write } from "../../replica/types";
import { z } from "zod";
import {
  parseSealCertificate,
  parseViewCertificate,
  sealCertificateToJson,
  sealResultSchema,
} from "../../chain/certificate";
import { entrySchema } from "../entry";
import { sealRecordOf, type HeightWrite, type NodeStore, type SignedSealRecord } from "../storage/store";
import { replicaSealOf } from "./signatures";
import type { HeightWire, NodeEntry } from "./wire";
import type { OrderedTransactionJson } from "../../api/wire";
import type { StoredValue } from "../storage/codec";

type NodeWrite = Write<OrderedTransactionJson>;

/** The store's form of a replica write of `wire`'s height. */
export function toHeightWrite(wire: HeightWire, w: NodeWrite): HeightWrite {
  const entries = (list: readonly NodeEntry[]) => list.map((e) => wire.entryToJson(e));
  switch (w.type) {
    case "append":
      return { type: "append", firstIndex: w.firstIndex, entries: entries(w.entries) };
    case "view":
      return w;
    case "install":
      return {
        type: "install",
        view: w.view,
        normalView: w.normalView,
        keep: w.keep,
        entries: entries(w.entries),
        seal: w.seal === undefined ? undefined : sealRecordOf(wire.signedSealToJson(w.seal)),
        viewCertificate: w.viewCertificate === undefined ? undefined : wire.viewCertificateToJson(w.viewCertificate),
        signedDropped: w.signedDropped,
      };
    case "seal":
      return { type: "seal", seal: sealRecordOf(wire.signedSealToJson(w.seal)) };
    case "seal-signed":
      return {
        type: "seal-signed",
        seal: {
          txCount: w.seal.count,
          encRoot: w.seal.root.toLowerCase(),
          inboxBlock: w.seal.inboxBlock,
          viewNumber: w.seal.view,
          epoch: w.seal.epoch,
        },
      };
    case "decided":
    case "built":
      return {
        type: w.type,
        certificate: sealCertificateToJson(wire.sealCertificateToChain(w.certificate)) as unknown as StoredValue,
      };
  }
}

/** Commits one step's writes durably (resolves once synced). */
export function persistWrites(store: NodeStore, wire: HeightWire, writes: readonly NodeWrite[]): Promise<void> {
  return store.applyHeightWrites(
    wire.rollupId,
    wire.height,
    writes.map((w) => toHeightWrite(wire, w)),
  );
}

/** The replica's durable state of `wire`'s height as the store holds it (empty for a height never written). */
export async function loadDurable(store: NodeStore, wire: HeightWire): Promise<Durable<OrderedTransactionJson>> {
  const { rollupId, height } = wire;
  const [stored, viewState, sealRecord, viewCertificate, certificate, signedDropped, signedSeal, block] =
    await Promise.all([
      store.getEntries(rollupId, height),
      store.getViewState(rollupId, height),
      store.getSeal(rollupId, height),
      store.getViewCertificate(rollupId, height),
      store.getCertificate(rollupId, height),
      store.signedDroppedIndices(rollupId, height),
      store.getSignedSeal(rollupId, height),
      store.blockState(rollupId, height),
    ]);
  const seal = sealRecord === undefined ? undefined : sealResultSchema.parse(sealRecord.seal);
  return {
    entries: stored.map((e) => wire.entryOf(entrySchema.parse(e))),
    view: viewState.view,
    normalView: viewState.normalView,
    seal:
      seal === undefined
        ? undefined
        : { seal: replicaSealOf(seal.seal), signature: seal.signature, leader: seal.leader },
    viewCertificate: viewCertificate === undefined ? undefined : viewCertificateOf(wire, viewCertificate),
    // The certificate decides the height; the block pipeline's finalize says its block is stored here.
    decision:
      certificate === undefined
        ? undefined
        : {
            status: block.status === "finalized" ? "built" : "decided",
            certificate: sealCertificateOf(wire, certificate),
          },
    signedDropped,
    sealSigned: signedSeal === undefined ? undefined : signedSealOf(signedSeal),
  };
}

function viewCertificateOf(wire: HeightWire, stored: StoredValue): Certificate<ViewVote> {
  return wire.viewCertificateFromChain(parseViewCertificate(stored));
}

function sealCertificateOf(wire: HeightWire, stored: StoredValue): Certificate<Seal> {
  return wire.sealCertificateFromChain(parseSealCertificate(stored));
}

const signedSealRecord = z.strictObject({
  txCount: z.number().int().min(0),
  encRoot: z.string().regex(/^0x[0-9a-f]{64}$/),
  inboxBlock: z.number().int().min(0),
  viewNumber: z.number().int().min(0),
  epoch: z.number().int().min(0),
});

function signedSealOf(stored: unknown): Seal {
  const r: SignedSealRecord = signedSealRecord.parse(stored);
  return { count: r.txCount, root: r.encRoot, inboxBlock: r.inboxBlock, view: r.viewNumber, epoch: r.epoch };
}
