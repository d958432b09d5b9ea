/**
 * Verifies what `get_encryption_key` serves before anything is encrypted to it: every contribution is from
 * a member of the rollup's registered key-generator committee, is signed by that member's Ethereum key
 * (EIP-712 `Contribution` in the deployment's domain), and carries a valid proof binding its puzzle to its
 * public key for this round; and the served round key is exactly their aggregate. The signature is what
 * stops the serving node or a single generator from fabricating the other members' contributions. Encrypting to a
 * key that passes this check is safe as long as one contributing generator is honest: nobody else knows
 * its share, and the time-lock puzzle covers the case where it disappears.
 */
import { getAddress } from "ethers";
import { z } from "zod";
import { equals } from "../crypto/babyjub";
import type { VeilDomain } from "../chain/eip712";
import {
  aggregateSignedRoundKey,
  contributionSchema,
  incompleteness,
  roundKeySchema,
  type Contribution,
  type Round,
  type RoundKey,
} from "../crypto/roundkey";
import type { TimelockParams } from "../crypto/timelock/params";
import { NodeAnswerError, RoundKeyError } from "./errors";

/**
 * What the SDK reads of `get_encryption_key` (sequencer/api/wire.ts's encryptionKeyResult): the round key and the
 * signed contributions it verifies it against. The node's own `publicKey` summary is not trusted, so not read.
 */
export const encryptionKeyResult = z.object({
  roundKey: roundKeySchema,
  contributions: z.array(contributionSchema).min(1).max(1024),
});

export interface RoundKeyPolicy {
  /**
   * How many distinct committee members must have contributed: the rollup's registered minimum (0 or absent:
   * all but one), the one rule of roundkey.ts `requiredContributors`.
   */
  readonly minContributors?: number;
}

const sameRound = (a: Round, b: Round): boolean => a.rollupId === b.rollupId && a.height === b.height;

export async function verifyEncryptionKey(
  raw: unknown,
  round: Round,
  committee: readonly string[],
  params: TimelockParams,
  domain: VeilDomain,
  policy: RoundKeyPolicy = {},
): Promise<RoundKey> {
  const parsed = encryptionKeyResult.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new NodeAnswerError("get_encryption_key", `${issue?.path.join(".") ?? ""}: ${issue?.message ?? "invalid"}`);
  }
  const served: RoundKey = parsed.data.roundKey;
  const contributions: Contribution[] = parsed.data.contributions;
  if (!sameRound(served.round, round) || contributions.some((c) => !sameRound(c.round, round))) {
    throw new RoundKeyError("wrong-round", `asked for rollup ${round.rollupId} height ${round.height}`);
  }
  const members = new Set(committee.map((a) => getAddress(a)));
  const outsider = contributions.find((c) => !members.has(getAddress(c.generator)));
  if (outsider) throw new RoundKeyError("not-in-committee", `${outsider.generator} is not a registered key generator`);
  const { key, rejected } = await aggregateSignedRoundKey(params, domain, round, contributions).catch((e: unknown) => {
    throw new RoundKeyError("contribution-invalid", (e as Error).message);
  });
  const first = rejected[0];
  if (first) throw new RoundKeyError("contribution-invalid", `${first.generator}: ${first.reason}`);
  const missing = incompleteness(key, members.size, policy.minContributors ?? 0);
  if (missing !== undefined) throw new RoundKeyError("committee-incomplete", missing);
  const sameGenerators =
    key.generators.length === served.generators.length &&
    key.generators.every((g, i) => g.toLowerCase() === served.generators[i]?.toLowerCase());
  if (
    !sameGenerators ||
    !equals(key.publicKey, served.publicKey) ||
    key.puzzle.u !== served.puzzle.u ||
    key.puzzle.v !== served.puzzle.v
  ) {
    throw new RoundKeyError("key-mismatch", "the served round key is not the aggregate of its contributions");
  }
  return key;
}
