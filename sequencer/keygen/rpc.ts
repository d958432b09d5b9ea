/** The key generator's JSON-RPC methods (snake_case), each a thin, validated wrapper over the service. */
import { z } from "zod";
import { schemas } from "../chain/eip712";
import { uint64 } from "../api/wire";
import { contributionToJson, shareRevealToJson } from "../crypto/roundkey";
import type { MethodRegistry } from "../rpc/registry";
import type { KeygenService } from "./service";

const signature = z.string().regex(/^0x[0-9a-fA-F]{130}$/, "must be a 65-byte 0x-hex signature");
const roundParams = { rollupId: uint64, height: uint64 } as const;

export function registerKeygenMethods(methods: MethodRegistry, service: KeygenService): void {
  methods.register("get_contribution", {
    description: "this generator's contribution (pk_i, puzzle, proof) for a height of its publication window",
    params: roundParams,
    handler: ({ rollupId, height }) => service.getContribution({ rollupId, height }),
  });
  const getRoundKey = {
    description: "the round key of (rollupId, height) with the contributions it aggregates, in committee order",
    params: roundParams,
    handler: ({ rollupId, height }: { rollupId: bigint; height: bigint }) => service.getRoundKey({ rollupId, height }),
  };
  methods.register("get_round_key", getRoundKey);
  methods.register("get_encryption_key", { ...getRoundKey, description: "alias of get_round_key" });
  methods.register("reveal_share", {
    description: "reveals (sk_i, r_i) of a height against its seal signed by the registry's leader",
    params: { seal: schemas.Seal, signature },
    handler: async ({ seal, signature: sig }) => {
      const { reveal, contribution } = await service.revealShare(seal, sig);
      return { reveal: shareRevealToJson(reveal), contribution: contributionToJson(contribution) };
    },
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
    handler: ({ rollupId }) => service.timelockJson(rollupId),
  });
  methods.register("get_committee", {
    description: "the rollup's key-generator committee (registry order) with the URLs this generator uses",
    params: { rollupId: uint64 },
    handler: ({ rollupId }) => service.committeeJson(rollupId),
  });
  methods.register("rpc_methods", {
    description: "the methods this key generator serves, with their param names in positional order",
    params: {},
    handler: () => methods.list(),
  });
}
