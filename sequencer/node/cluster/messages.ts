/**
 * The payloads of the cluster messages members exchange about a height's log (docs/ordering.md): what
 * each kind carries, as zod schemas that every receiver parses before it looks at anything. Signatures
 * and envelopes are cluster/envelope.ts's; what each message means is the sequencer's.
 */
import { z } from "zod";
import { viewCertificateSchema, type SealResultJson, type ViewCertificate } from "../../chain/certificate";
import { schemas } from "../../chain/eip712";
import type { Entry } from "../entry";

/** A membership epoch (ClusterRegistry): the members a height runs with. */
const epoch = z
  .number()
  .int()
  .nonnegative()
  .max(2 ** 32 - 1);
export const replicatePayload = z.strictObject({
  rollupId: z.string().regex(/^[0-9]{1,20}$/),
  height: z.number().int().nonnegative().safe(),
  view: z.number().int().nonnegative(),
  epoch,
  firstIndex: z.number().int().nonnegative(),
  entries: z.array(z.unknown()).max(65_536),
});
export const sealPayload = z.strictObject({
  rollupId: z.string().regex(/^[0-9]{1,20}$/),
  height: z.number().int().nonnegative().safe(),
  seal: z.unknown(),
  signature: z.string(),
});
const viewRef = {
  rollupId: z.string().regex(/^[0-9]{1,20}$/),
  height: z.number().int().nonnegative().safe(),
  view: z.number().int().nonnegative().safe(),
};
export const heartbeatPayload = z.strictObject({ ...viewRef, epoch, count: z.number().int().nonnegative() });
const signature65 = z.string().regex(/^0x[0-9a-fA-F]{130}$/);
/** A member leaves the lower views: its signed ViewChange vote travels with it (certificate.ts). */
export const startViewChangePayload = z.strictObject({ ...viewRef, epoch, signature: signature65 });
/**
 * A member's log: its entries, its seal if any, and the last view it was normal in, with that view's
 * certificate when it is above 0 (a normal view is what ranks a log first: claimed, it would prove nothing).
 */
const memberLog = {
  ...viewRef,
  epoch,
  normalView: z.number().int().nonnegative().safe(),
  normalViewCertificate: viewCertificateSchema.nullable(),
  entries: z.array(z.unknown()).max(65_536),
  seal: z.unknown().nullable(),
};
/** A member's log for the new leader, with its ViewChange vote for the view. */
export const doViewChangePayload = z.strictObject({ ...memberLog, viewSignature: signature65 });
/** The new leader's log, with the view's certificate: a majority's ViewChange votes. */
export const startViewPayload = z.strictObject({
  ...viewRef,
  entries: z.array(z.unknown()).max(65_536),
  seal: z.unknown().nullable(),
  viewCertificate: viewCertificateSchema,
});
/** A member's log for a view change, every entry and the seal checked against their signatures. */
export interface CheckedLog {
  readonly normalView: number;
  /** The certificate of `normalView` (above view 0), checked. */
  readonly normalViewCertificate?: ViewCertificate;
  readonly entries: Entry[];
  readonly seal: SealResultJson | undefined;
}
export type LogReport = z.output<typeof logReportPayload>;
/** A member asks a peer for its log of a height; the peer answers with a signed report of it. */
export const logRequestPayload = z.strictObject({
  rollupId: z.string().regex(/^[0-9]{1,20}$/),
  height: z.number().int().nonnegative().safe(),
});
/** A member's log of a height as state transfer reads it; `built`: the member holds the height's block. */
export const logReportPayload = z.strictObject({ ...memberLog, built: z.boolean().default(false) });

export const ackPayload = z.strictObject({
  rollupId: z.string(),
  height: z.number(),
  count: z.number().int().nonnegative(),
  /** A seal's Ack: the member's own EIP-712 signature on the seal, its share of the certificate. */
  sealSignature: z
    .string()
    .regex(/^0x[0-9a-fA-F]{130}$/)
    .optional(),
});

export const ENVELOPE_SHAPE = {
  message: schemas.ClusterMessage,
  signature: z.string().regex(/^0x[0-9a-fA-F]{130}$/),
  payload: z.unknown(),
};
