/** The key generator's JSON-RPC methods (snake_case), each a thin, validated wrapper over the service. */
import { z } from "zod";
import { sealCertificateSchema } from "../chain/certificate";
import { MAX_PREVIOUS_CERTIFICATES } from "./reveal-request";
import { uint64 } from "../api/wire";
import { contributionToJson, shareRevealToJson } from "../crypto/roundkey";
import { RpcError, veilError } from "../rpc/errors";
import type { MethodRegistry } from "../rpc/registry";
import type { KeygenService } from "./service";

const L1_FAILURES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "NETWORK_ERROR", "TIMEOUT", "SERVER_ERROR"]);

/** A handler whose L1 reads fail answers UNAVAILABLE (retry later), not an internal error. */
function l1Guard<P, R>(handler: (params: P) => Promise<R>): (params: P) => Promise<R> {
  return async (params) => {
    try {
      return await handler(params);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (!(error instanceof RpcError) && typeof code === "string" && L1_FAILURES.has(code)) {
        throw veilError.unavailable(`L1 is unreachable (${code})`);
      }
      throw error;
    }
  };
}

const roundParams = { rollupId: uint64, height: uint64 } as const;

export function registerKeygenMethods(methods: MethodRegistry, service: KeygenService): void {
  methods.register("get_contribution", {
    description: "this generator's contribution (pk_i, puzzle, proof) for a height of its publication window",
    params: roundParams,
    handler: l1Guard(({ rollupId, height }) => service.getContribution({ rollupId, height })),
  });
  const getRoundKey = {
    description: "the round key of (rollupId, height) with the contributions it aggregates, in committee order",
    params: roundParams,
    handler: l1Guard(({ rollupId, height }: { rollupId: bigint; height: bigint }) =>
      service.getRoundKey({ rollupId, height }),
    ),
  };
  methods.register("get_round_key", getRoundKey);
  methods.register("get_encryption_key", { ...getRoundKey, description: "alias of get_round_key" });
  methods.register("reveal_share", {
    description:
      "reveals (sk_i, r_i) of a height against its seal certificate (a majority of the cluster's signatures)",
    params: {
      certificate: sealCertificateSchema,
      /** Certificates of the heights between the window's base and this one (heights are released in order). */
      previous: z.array(sealCertificateSchema).max(MAX_PREVIOUS_CERTIFICATES).optional(),
    },
    handler: l1Guard(async ({ certificate, previous }) => {
      const { reveal, contribution } = await service.revealShare(certificate, previous ?? []);
      return { reveal: shareRevealToJson(reveal), contribution: contributionToJson(contribution) };
    }),
  });
  methods.register("get_round_secret", {
    description: "the round secret of a sealed height with its evidence (reveals or a solved puzzle)",
    params: roundParams,
    handler: ({ rollupId, height }) => service.getRoundSecret({ rollupId, height }),
  });
  methods.register("publish_round_secret", {
    description: "stores a round secret recovered elsewhere once its evidence verifies against the round key",
    params: { ...roundParams, roundSecret: z.unknown() },
    handler: ({ rollupId, height, roundSecret }) => service.acceptRoundSecret({ rollupId, height }, roundSecret),
  });
  methods.register("get_timelock_params", {
    description: "the rollup's time-lock parameters N, T and h = g^(2^T) with its Wesolowski proof",
    params: { rollupId: uint64 },
    handler: l1Guard(({ rollupId }: { rollupId: bigint }) => service.timelockJson(rollupId)),
  });
  methods.register("get_committee", {
    description: "the rollup's key-generator committee (registry order) with the URLs this generator uses",
    params: { rollupId: uint64 },
    handler: l1Guard(({ rollupId }: { rollupId: bigint }) => service.committeeJson(rollupId)),
  });
  methods.register("rpc_methods", {
    description: "the methods this key generator serves, with their param names in positional order",
    params: {},
    handler: () => methods.list(),
  });
}
