/**
 * Asking a key generator for its share of a sealed height (`reveal_share`), for anyone who holds the
 * height's seal certificate: a node's leader, or a generator recovering the round secret. A generator
 * releases heights in order, so when it answers OUT_OF_ORDER with the height it needs first, the
 * certificates of the heights in between are sent along (from `certificateOf`) and the call is repeated.
 */
import { z } from "zod";
import { sealCertificateToJson, type SealCertificate } from "../chain/certificate";
import { RpcCallError, type CallOptions, type RpcClient } from "../rpc/client";

/** Most earlier certificates one reveal_share call carries (a longer gap takes several calls). */
export const MAX_PREVIOUS_CERTIFICATES = 64;

/** The seal certificate this caller holds for a height, if any. */
export type CertificateLookup = (rollupId: bigint, height: bigint) => Promise<SealCertificate | undefined>;

const revealAnswer = z.object({ reveal: z.unknown() }).loose();
const outOfOrder = z.object({ next: z.string().regex(/^[0-9]{1,20}$/) });

/** The generator's `reveal` (unchecked: the caller verifies it against the contribution). */
export async function requestReveal(
  client: RpcClient,
  certificate: SealCertificate,
  certificateOf: CertificateLookup,
  options: CallOptions = {},
): Promise<unknown> {
  const { rollupId, height } = certificate.seal;
  let previous: SealCertificate[] = [];
  // Each round either gets the reveal or moves the generator's window by up to MAX_PREVIOUS_CERTIFICATES.
  for (;;) {
    try {
      const params = { certificate: sealCertificateToJson(certificate), previous: previous.map(sealCertificateToJson) };
      return (await client.call("reveal_share", params, revealAnswer, options)).reveal;
    } catch (error) {
      const next =
        error instanceof RpcCallError && error.errorName === "OUT_OF_ORDER"
          ? outOfOrder.safeParse(error.data)
          : undefined;
      if (next === undefined || !next.success) throw error;
      const from = BigInt(next.data.next);
      const first = previous[0]?.seal.height;
      // No progress since the last round (or nothing to send): the generator needs what we lack.
      if (from >= height || (first !== undefined && from <= first)) throw error;
      const to = from + BigInt(MAX_PREVIOUS_CERTIFICATES) < height ? from + BigInt(MAX_PREVIOUS_CERTIFICATES) : height;
      previous = [];
      for (let h = from; h < to; h++) {
        const known = await certificateOf(rollupId, h);
        if (known === undefined) throw error;
        previous.push(known);
      }
    }
  }
}
