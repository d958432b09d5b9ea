/**
 * The replica's messages as JSON between real nodes (the payload of a signed cluster envelope, which
 * authenticates the sender and names the rollup and height). Each piece keeps the one JSON form it has
 * everywhere else: an entry is the stored `Entry` (node/entry.ts), a seal the chain's signed seal, a
 * certificate the chain's majority certificate (signatures ascending by signer, signers recovered on
 * arrival). Parsing is total: anything malformed is a `WireError`, never a half-built message.
 */
import { z } from "zod";
import {
  assembleCertificate,
  assembleViewCertificate,
  sealCertificateSchema,
  sealCertificateToJson,
  sealResultSchema,
  sealResultToJson,
  sealToJson,
  viewCertificateSchema,
  viewCertificateToJson,
  type SealCertificate as ChainSealCertificate,
  type SealResultJson,
  type ViewCertificate,
  type ViewCertificateJson,
} from "../../chain/certificate";
import { schemas, type Seal as ChainSeal } from "../../chain/eip712";
import { orderedTransactionToJson, type OrderedTransactionJson } from "../../api/wire";
import type { Certificate, Entry, LogReport, Message, Seal, SignedSeal, ViewVote } from "../../replica/types";
import { entrySchema, type Entry as StoredEntry } from "../entry";
import { entryBytes } from "../cluster/message-size";
import { chainSealOf, orderCommitmentOf, replicaSealOf, viewChangeOf } from "./signatures";

/** A replica entry on a node: its transaction is the ordered transaction's JSON. */
export type NodeEntry = Entry<OrderedTransactionJson>;
export type NodeMessage = Message<OrderedTransactionJson>;

/** Recovers who signed a statement of (rollupId, height); undefined when the signature recovers nobody. */
export interface SignerRecovery {
  sealSigner(rollupId: bigint, height: number, seal: Seal, signature: string): string | undefined;
  voteSigner(rollupId: bigint, height: number, vote: ViewVote, signature: string): string | undefined;
}

export class WireError extends Error {
  override readonly name = "WireError";
}

const u32 = z.number().int().min(0).max(0xffff_ffff);
const signature65 = z.string().regex(/^0x[0-9a-fA-F]{130}$/, "must be a 65-byte 0x-hex signature");
const entries = z.array(entrySchema);
const logReport = z.strictObject({
  view: u32,
  normalView: u32,
  normalViewCertificate: viewCertificateSchema.optional(),
  entries,
  seal: sealResultSchema.optional(),
});

const messageSchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("replicate"), view: u32, firstIndex: u32, entries, echo: u32.optional() }),
  z.strictObject({ type: z.literal("ack"), view: u32, count: u32, challenge: u32 }),
  z.strictObject({ type: z.literal("behind"), view: u32, count: u32, challenge: u32 }),
  z.strictObject({ type: z.literal("heartbeat"), view: u32, count: u32, echo: u32.optional() }),
  z.strictObject({ type: z.literal("seal"), view: u32, seal: sealResultSchema }),
  z.strictObject({ type: z.literal("seal-vote"), view: u32, seal: schemas.Seal, signature: signature65 }),
  z.strictObject({ type: z.literal("start-view-change"), view: u32, vote: signature65 }),
  z.strictObject({ type: z.literal("do-view-change"), view: u32, vote: signature65, log: logReport }),
  z.strictObject({
    type: z.literal("start-view"),
    view: u32,
    certificate: viewCertificateSchema,
    entries,
    seal: sealResultSchema.optional(),
  }),
  z.strictObject({ type: z.literal("newer-view"), view: u32 }),
  z.strictObject({ type: z.literal("recovery"), nonce: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER) }),
  z.strictObject({
    type: z.literal("recovery-response"),
    nonce: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    log: logReport,
  }),
  z.strictObject({ type: z.literal("decided"), certificate: sealCertificateSchema }),
]);

export type MessageJson = z.input<typeof messageSchema>;

/** Encodes and decodes the messages of one (rollup, height). */
export class HeightWire {
  constructor(
    readonly rollupId: bigint,
    readonly height: number,
    private readonly recovery: SignerRecovery,
  ) {}

  // ---- to JSON ------------------------------------------------------------------------------------------

  entryToJson(e: NodeEntry): StoredEntry {
    const c = orderCommitmentOf(this.rollupId, this.height, e.commitment);
    return {
      encTxHash: e.commitment.leaf,
      encryptedTx: e.tx,
      orderCommitment: {
        commitment: { ...c, rollupId: c.rollupId.toString(), blockHeight: c.blockHeight.toString() },
        signature: e.signature,
        leader: e.leader,
        viewNumber: e.commitment.view,
        preProof: [...e.preProof],
      },
    };
  }

  signedSealToJson(s: SignedSeal): SealResultJson {
    return sealResultToJson({
      seal: chainSealOf(this.rollupId, this.height, s.seal),
      signature: s.signature,
      leader: s.leader,
    });
  }

  viewCertificateToJson(c: Certificate<ViewVote>): ViewCertificateJson {
    return viewCertificateToJson(
      assembleViewCertificate(viewChangeOf(this.rollupId, this.height, c.statement), c.signatures),
    );
  }

  sealCertificateToChain(c: Certificate<Seal>): ReturnType<typeof assembleCertificate> {
    return assembleCertificate(chainSealOf(this.rollupId, this.height, c.statement), c.signatures);
  }

  private reportToJson(r: LogReport<OrderedTransactionJson>): z.input<typeof logReport> {
    return {
      view: r.view,
      normalView: r.normalView,
      ...(r.normalViewCertificate === undefined
        ? {}
        : { normalViewCertificate: this.viewCertificateToJson(r.normalViewCertificate) }),
      entries: r.entries.map((e) => this.entryToJson(e)),
      ...(r.seal === undefined ? {} : { seal: this.signedSealToJson(r.seal) }),
    };
  }

  toJson(m: NodeMessage): MessageJson {
    switch (m.type) {
      case "replicate": {
        const { echo, ...rest } = m; // an absent echo is left out, not sent as undefined (the payload is hashed)
        return { ...rest, entries: m.entries.map((e) => this.entryToJson(e)), ...(echo === undefined ? {} : { echo }) };
      }
      case "heartbeat": {
        const { echo, ...rest } = m;
        return echo === undefined ? rest : { ...rest, echo };
      }
      case "seal":
        return { type: m.type, view: m.view, seal: this.signedSealToJson(m.seal) };
      case "seal-vote":
        return {
          type: m.type,
          view: m.view,
          seal: sealToJson(chainSealOf(this.rollupId, this.height, m.seal)),
          signature: m.signature,
        };
      case "do-view-change":
      case "recovery-response":
        return { ...m, log: this.reportToJson(m.log) };
      case "start-view":
        return {
          type: m.type,
          view: m.view,
          certificate: this.viewCertificateToJson(m.certificate),
          entries: m.entries.map((e) => this.entryToJson(e)),
          ...(m.seal === undefined ? {} : { seal: this.signedSealToJson(m.seal) }),
        };
      case "decided":
        return { type: m.type, certificate: sealCertificateToJson(this.sealCertificateToChain(m.certificate)) };
      default:
        return m;
    }
  }

  // ---- from JSON ----------------------------------------------------------------------------------------

  /** Parses an untrusted message of this height. Throws WireError with the reason. */
  parse(input: unknown): NodeMessage {
    const parsed = messageSchema.safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue === undefined || issue.path.length === 0 ? "" : `${issue.path.join(".")}: `;
      throw new WireError(`malformed replica message: ${where}${issue?.message ?? "invalid"}`);
    }
    const m = parsed.data;
    switch (m.type) {
      case "replicate":
        return { ...m, entries: m.entries.map((e) => this.entryOf(e)) };
      case "seal":
        return { type: m.type, view: m.view, seal: this.signedSealOf(m.seal) };
      case "seal-vote":
        return { type: m.type, view: m.view, seal: this.sealOf(m.seal), signature: m.signature };
      case "do-view-change":
      case "recovery-response":
        return { ...m, log: this.reportOf(m.log) };
      case "start-view":
        return {
          type: m.type,
          view: m.view,
          certificate: this.viewCertificateFromChain(m.certificate),
          entries: m.entries.map((e) => this.entryOf(e)),
          seal: m.seal === undefined ? undefined : this.signedSealOf(m.seal),
        };
      case "decided":
        return { type: m.type, certificate: this.sealCertificateFromChain(m.certificate) };
      default:
        return m;
    }
  }

  /** A chain seal certificate of this height, its signers recovered (each once). */
  sealCertificateFromChain(c: ChainSealCertificate): Certificate<Seal> {
    const statement = this.sealOf(c.seal);
    const signatures = new Map<string, string>();
    for (const signature of c.signatures) {
      const signer = this.recovery.sealSigner(this.rollupId, this.height, statement, signature);
      if (signer === undefined || signatures.has(signer)) {
        throw new WireError("a seal certificate with a signature that recovers no signer, or one signer twice");
      }
      signatures.set(signer, signature);
    }
    return { statement, signatures };
  }

  /** A stored or sent entry as the replica holds it; it must be of this height. */
  entryOf(e: z.output<typeof entrySchema>): NodeEntry {
    const { commitment: c, signature, leader, preProof } = e.orderCommitment;
    if (c.rollupId !== this.rollupId || c.blockHeight !== BigInt(this.height)) {
      throw new WireError(
        `an entry of rollup ${c.rollupId} height ${c.blockHeight} in a message of height ${this.height}`,
      );
    }
    if (c.encTxHash.toLowerCase() !== e.encTxHash.toLowerCase()) {
      throw new WireError(`entry ${c.txIndex}: its encTxHash differs from the one its commitment signs`);
    }
    const entry: NodeEntry = {
      commitment: {
        index: c.txIndex,
        leaf: c.encTxHash.toLowerCase(),
        preRoot: c.preRoot.toLowerCase(),
        view: c.viewNumber,
        epoch: c.epoch,
      },
      signature,
      leader,
      tx: orderedTransactionToJson(e.encryptedTx),
      bytes: 0,
      preProof,
    };
    // Weighed as it travels, in its canonical form (the log's byte budget keeps view changes sendable).
    return { ...entry, bytes: entryBytes(this.entryToJson(entry)) };
  }

  private sealOf(s: ChainSeal): Seal {
    if (s.rollupId !== this.rollupId || s.height !== BigInt(this.height)) {
      throw new WireError(`a seal of rollup ${s.rollupId} height ${s.height} in a message of height ${this.height}`);
    }
    return replicaSealOf(s);
  }

  private signedSealOf(s: z.output<typeof sealResultSchema>): SignedSeal {
    return { seal: this.sealOf(s.seal), signature: s.signature, leader: s.leader };
  }

  /** A chain view certificate of this height, its signers recovered (each once). */
  viewCertificateFromChain(c: ViewCertificate): Certificate<ViewVote> {
    if (c.view.rollupId !== this.rollupId || c.view.height !== BigInt(this.height)) {
      throw new WireError(`a view certificate of another height in a message of height ${this.height}`);
    }
    const statement: ViewVote = { view: c.view.viewNumber, epoch: c.view.epoch };
    const signatures = new Map<string, string>();
    for (const signature of c.signatures) {
      const signer = this.recovery.voteSigner(this.rollupId, this.height, statement, signature);
      if (signer === undefined || signatures.has(signer)) {
        throw new WireError("a view certificate with a signature that recovers no signer, or one signer twice");
      }
      signatures.set(signer, signature);
    }
    return { statement, signatures };
  }

  private reportOf(r: z.output<typeof logReport>): LogReport<OrderedTransactionJson> {
    return {
      view: r.view,
      normalView: r.normalView,
      normalViewCertificate:
        r.normalViewCertificate === undefined ? undefined : this.viewCertificateFromChain(r.normalViewCertificate),
      entries: r.entries.map((e) => this.entryOf(e)),
      seal: r.seal === undefined ? undefined : this.signedSealOf(r.seal),
    };
  }
}
