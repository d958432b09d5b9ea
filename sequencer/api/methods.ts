/**
 * The external JSON-RPC API and the cluster RPC of a node. Writes on a follower are forwarded to the
 * height's leader and its answer relayed. Reads answer from this node's store (and its caches of L1 and
 * of round keys) only: they never load a height's replica, set a timer, write, or send to a member.
 */
import { sealCertificateToJson } from "../chain/certificate";
import { recoverSigner } from "../chain/eip712";
import type { VeilDomain } from "../chain/eip712";
import { contributionToJson, roundKeyToJson } from "../crypto/roundkey";
import { RpcCallError, RpcTimeoutError, RpcTransportError, connectionRefused, type Params } from "../rpc/client";
import { RpcError, veilError } from "../rpc/errors";
import type { MethodRegistry } from "../rpc/registry";
import type { BlockPipeline } from "../node/block-pipeline";
import type { ChainView, RollupInfo } from "../node/chain-view";
import { envelopeParams, type Envelope } from "../node/cluster/envelope";
import type { Peers } from "../node/cluster/peers";
import { RoundKeyUnavailable, type RoundKeys } from "../node/round-keys";
import { MAX_FORWARD_HOPS, heightNumber, type Ordering } from "../node/ordering";
import type { NodeStore } from "../node/storage/store";
import { receiptByLeaf } from "../node/order-lookup";
import type { CallContext } from "../rpc/registry";
import { FORWARD_HOPS_HEADER } from "../rpc/server";
import {
  blockRef,
  encryptedSubmission,
  encryptedSubmissionToJson,
  entryRef,
  finalizeParams,
  namesOneEntry,
  orderCommitmentParams,
  ORDER_COMMITMENT_TARGET,
  rawSubmission,
  sealedEntriesParams,
  uint64,
  type BuiltBlockWire,
  type FinalizeResultWire,
  type SealedEntriesResultWire,
  type BlockHeightResultJson,
  type BlockResultJson,
  type EncryptionKeyResultJson,
  type PostProofResultJson,
} from "./wire";

/**
 * Every method registerApi registers. A node announces them before it listens, so that until it has
 * read its cluster from L1 and registered them, calls get UNAVAILABLE rather than METHOD_NOT_FOUND.
 */
export const API_METHODS = [
  "send_encrypted_transaction",
  "send_raw_transaction",
  "get_encryption_key",
  "get_order_commitment",
  "get_encrypted_transaction",
  "get_raw_transaction_list",
  "get_block",
  "get_post_merkle_proof",
  "get_sealed_entries",
  "get_block_height",
  "finalize_block",
  "cluster_replica",
  "cluster_get_block",
  "cluster_block_built",
] as const;

export interface ApiDeps {
  readonly methods: MethodRegistry;
  readonly sequencer: Ordering;
  readonly blocks: BlockPipeline;
  readonly store: NodeStore;
  readonly chain: ChainView;
  readonly peers: Peers;
  readonly roundKeys: RoundKeys;
  readonly domain: VeilDomain;
  readonly lookahead: number;
  readonly maxSubmissionBytes: number;
  /** How long a follower waits for the leader's finalize_block (round secret, decryption, L1 task). */
  readonly finalizeTimeoutMs?: number;
  /** Seconds since the epoch, for FinalizeRequest deadlines (L1 time in production is close enough). */
  readonly now?: () => number;
  /** The `testing.censorClients` switch: clients whose submissions this node refuses (development chains only). */
  readonly censors?: (clientId: string) => boolean;
}

export function registerApi(d: ApiDeps): void {
  const { methods, sequencer, chain } = d;

  /** The censoring switch of the tests: refused before anything is checked, led or forwarded. */
  const refuseCensored = (ctx: CallContext): void => {
    if (d.censors?.(ctx.clientId) === true) {
      ctx.log.warn({ client: ctx.clientId }, "submission refused: this node censors the client (testing switch)");
      throw veilError.unauthorized(`this node refuses submissions from ${ctx.clientId}`);
    }
  };

  const knownRollup = async (rollupId: bigint): Promise<RollupInfo> => {
    const rollup = await chain.rollup(rollupId);
    if (rollup === undefined) throw veilError.unknownRollup(rollupId.toString());
    return rollup;
  };

  /** Runs `local` when this node leads the height, otherwise relays the call to the leader. */
  const leaderOrForward = async <T>(
    rollupId: bigint,
    height: number,
    method: string,
    params: Params,
    ctx: CallContext,
    local: () => Promise<T>,
    timeoutMs?: number,
  ): Promise<unknown> => {
    const view = await sequencer.viewOf(rollupId, height);
    const leader = sequencer.leaderOf(height, view, await sequencer.epochOfHeight(rollupId, height));
    if (leader === sequencer.address) return local();
    // Members disagreeing on the view could bounce a call between them: a few hops, then an error.
    const hops = ctx.forwardHops ?? 0;
    if (hops >= MAX_FORWARD_HOPS) {
      throw veilError.unavailable(`forwarded ${hops} times without reaching the leader of height ${height}`);
    }
    const peer = await d.peers.byAddress(leader);
    if (peer === undefined) {
      await sequencer.suspectLeader(rollupId, height);
      throw veilError.unavailable(`the leader ${leader} of height ${height} is not reachable`);
    }
    try {
      return await peer.client.call(method, params, undefined, {
        headers: { [FORWARD_HOPS_HEADER]: String(hops + 1) },
        ...(timeoutMs === undefined ? {} : { timeoutMs }),
      });
    } catch (error) {
      if (error instanceof RpcTimeoutError || error instanceof RpcTransportError) {
        await sequencer.suspectLeader(rollupId, height, connectionRefused(error) ? view : undefined);
      }
      if (error instanceof RpcCallError) {
        throw new RpcError(error.errorName ?? "INTERNAL_ERROR", error.message, error.data as Record<string, unknown>);
      }
      if (error instanceof RpcTimeoutError) throw veilError.upstreamTimeout(`the leader ${leader}`, error.timeoutMs);
      if (error instanceof RpcTransportError) throw veilError.unavailable(`the leader ${leader} is unreachable`);
      throw error;
    }
  };

  methods.register("send_encrypted_transaction", {
    description: "order an encrypted transaction with its tx-validity proof; answers with the signed order receipt",
    params: encryptedSubmission.shape,
    handler: async (s, ctx) => {
      refuseCensored(ctx);
      const rollup = await knownRollup(s.tx.rollupId);
      const height = heightNumber(s.tx.height);
      await sequencer.assertWritable(rollup.rollupId, height);
      const json = encryptedSubmissionToJson(s);
      const size = JSON.stringify(json).length;
      if (size > d.maxSubmissionBytes) throw veilError.payloadTooLarge("the submission", d.maxSubmissionBytes);
      return leaderOrForward(rollup.rollupId, height, "send_encrypted_transaction", json, ctx, () =>
        sequencer.orderEncrypted(rollup, s),
      );
    },
  });

  methods.register("send_raw_transaction", {
    description: "order an unencrypted signed transaction (leaf: its keccak-256 hash); no proof",
    params: rawSubmission.shape,
    handler: async (s, ctx) => {
      refuseCensored(ctx);
      const rollup = await knownRollup(s.rollupId);
      const height = heightNumber(s.height);
      await sequencer.assertWritable(rollup.rollupId, height);
      if ((s.rawTx.length - 2) / 2 > d.maxSubmissionBytes) {
        throw veilError.payloadTooLarge("the raw transaction", d.maxSubmissionBytes);
      }
      const params = { rollupId: s.rollupId.toString(), height: s.height.toString(), rawTx: s.rawTx };
      return leaderOrForward(rollup.rollupId, height, "send_raw_transaction", params, ctx, () =>
        sequencer.orderRaw(rollup.rollupId, height, s.rawTx),
      );
    },
  });

  methods.register("get_encryption_key", {
    description: "the round key of (rollupId, height), verified against the key generators' contributions",
    params: blockRef,
    handler: async ({ rollupId, height }): Promise<EncryptionKeyResultJson> => {
      const rollup = await knownRollup(rollupId);
      // A key no write may use yet is not looked up: a read must not make the node ask the key generators.
      const open = await sequencer.openHeight(rollup.rollupId);
      if (height > BigInt(open + d.lookahead)) {
        throw veilError.notFound(
          `the round key of height ${height} (the open height is ${open}; keys are served up to ${open + d.lookahead})`,
        );
      }
      try {
        const { key, contributions } = await d.roundKeys.getVerified(rollup, height);
        return {
          rollupId: rollupId.toString(),
          height: height.toString(),
          publicKey: [key.publicKey[0].toString(), key.publicKey[1].toString()],
          roundKey: roundKeyToJson(key),
          contributions: contributions.map(contributionToJson),
        };
      } catch (error) {
        if (error instanceof RoundKeyUnavailable) throw veilError.notFound(`the round key of height ${height}`);
        throw error;
      }
    },
  });

  methods.register("get_order_commitment", {
    description:
      "the signed order receipt at (rollupId, height, index), or of the leaf encTxHash ordered at (rollupId, height)",
    params: orderCommitmentParams,
    refine: { check: namesOneEntry, message: ORDER_COMMITMENT_TARGET },
    handler: async ({ rollupId, height, index, encTxHash }) => {
      await knownRollup(rollupId);
      const h = heightNumber(height);
      if (encTxHash !== undefined) {
        // A built block is the certified content: the leaf's slot there is the one committed index.
        const built = await d.blocks.stored(rollupId, h);
        const leaf = encTxHash.toLowerCase();
        const slot = built?.transactions.findIndex((t) => t.encTxHash.toLowerCase() === leaf);
        const count = built === undefined ? await sequencer.committedCount(rollupId, h) : 0;
        const committed = (index: number): boolean => (slot === undefined ? index < count : index === slot);
        return receiptByLeaf(d.store, rollupId, h, encTxHash, committed);
      }
      return (await sequencer.entry(rollupId, h, index!)).orderCommitment; // refine: one of the two is given
    },
  });

  methods.register("get_encrypted_transaction", {
    description: "the transaction ordered at (rollupId, height, index): encrypted submission or raw bytes",
    params: entryRef,
    handler: async ({ rollupId, height, index }) => {
      await knownRollup(rollupId);
      return (await sequencer.entry(rollupId, heightNumber(height), index)).encryptedTx;
    },
  });

  methods.register("get_raw_transaction_list", {
    description: "the built block of a height: every slot at its index, raw txs of valid ones, the signed commitment",
    params: blockRef,
    handler: async ({ rollupId, height }): Promise<BuiltBlockWire> => {
      await knownRollup(rollupId);
      const built = await d.blocks.stored(rollupId, heightNumber(height));
      if (built !== undefined) return built;
      const { status } = await d.store.blockState(rollupId, heightNumber(height));
      throw veilError.notFound(`the raw transaction list of height ${height} (the block is ${status}, not built yet)`);
    },
  });

  methods.register("get_block", {
    description: "a block's status, count, current encrypted-tx root and seal",
    params: blockRef,
    handler: async ({ rollupId, height }): Promise<BlockResultJson> => {
      await knownRollup(rollupId);
      const b = await sequencer.block(rollupId, heightNumber(height));
      return {
        rollupId: rollupId.toString(),
        height: height.toString(),
        status: b.status,
        txCount: b.count,
        encRoot: b.root,
        ...(b.seal === undefined ? {} : { seal: b.seal }),
      };
    },
  });

  methods.register("get_post_merkle_proof", {
    description: "the POST Merkle proof of (rollupId, height, index) in the sealed tree",
    params: entryRef,
    handler: async ({ rollupId, height, index }): Promise<PostProofResultJson> => {
      await knownRollup(rollupId);
      const p = await sequencer.postProof(rollupId, heightNumber(height), index);
      return { index, leafHash: p.leafHash, encRoot: p.root, proof: p.proof };
    },
  });

  methods.register("get_sealed_entries", {
    description: `up to ${sealedEntriesParams.count.maxValue} entries of a sealed height from index \`from\`, with its count and encRoot`,
    params: sealedEntriesParams,
    handler: async ({ rollupId, height, from, count }): Promise<SealedEntriesResultWire> => {
      await knownRollup(rollupId);
      const h = heightNumber(height);
      // Only this node's own seal counts: a read never asks the others (docs/ordering.md, "Known gaps").
      const seal = await d.store.getSeal(rollupId, h);
      if (seal === undefined) throw veilError.notFound(`the sealed entries of height ${height} (it is not sealed)`);
      if (from > seal.txCount) {
        throw new RpcError(
          "INVALID_PARAMS",
          `invalid params: from ${from} is beyond the ${seal.txCount} sealed entries`,
        );
      }
      const to = Math.min(seal.txCount, from + count);
      const records = from === to ? [] : await d.store.getEntries(rollupId, h, { from, to });
      return {
        txCount: seal.txCount,
        encRoot: seal.encRoot,
        from,
        entries: records.map((r) => r.encryptedTx),
      };
    },
  });

  methods.register("get_block_height", {
    description: "the lowest unsealed height of a rollup and the highest height accepted now",
    params: { rollupId: uint64 },
    handler: async ({ rollupId }): Promise<BlockHeightResultJson> => {
      await knownRollup(rollupId);
      const open = await sequencer.openHeight(rollupId);
      return { rollupId: rollupId.toString(), openHeight: open.toString(), maxHeight: (open + d.lookahead).toString() };
    },
  });

  methods.register("finalize_block", {
    description:
      "seal, decrypt and build a height (rollup executors only, FinalizeRequest signed with EIP-712); answers with the seal and the block",
    params: finalizeParams,
    handler: async ({ request, signature }, ctx) => {
      const rollup = await knownRollup(request.rollupId);
      let signer: string;
      try {
        signer = recoverSigner(d.domain, "FinalizeRequest", request, signature);
      } catch {
        throw veilError.invalidSignature("the FinalizeRequest signature is malformed");
      }
      if (!(await chain.isExecutor(rollup.rollupId, signer))) {
        throw veilError.unauthorized(`${signer} is not an executor of rollup ${rollup.rollupId}`);
      }
      const now = BigInt(Math.floor((d.now ?? (() => Date.now() / 1000))()));
      if (request.deadline < now) throw veilError.unauthorized(`the request expired at ${request.deadline}`);
      const height = heightNumber(request.height);
      const params = {
        request: {
          rollupId: request.rollupId.toString(),
          height: request.height.toString(),
          deadline: request.deadline.toString(),
        },
        signature,
      };
      return leaderOrForward(
        rollup.rollupId,
        height,
        "finalize_block",
        params,
        ctx,
        async (): Promise<FinalizeResultWire> => {
          const certificate = await sequencer.seal(rollup.rollupId, height);
          const block = await d.blocks.finalize(rollup, height, certificate);
          return { seal: sealCertificateToJson(certificate), block };
        },
        d.finalizeTimeoutMs,
      );
    },
  });

  // ---- cluster RPC (members only: every call is a signed ClusterMessage) ---------------------------
  methods.register("cluster_replica", {
    description:
      "cluster only: a member's replica messages of one height (replication, view change, recovery, sealing)",
    params: envelopeParams,
    handler: (envelope) => sequencer.onPacket(envelope as Envelope),
  });
  methods.register("cluster_get_block", {
    description: "cluster only: this node's built block of a height, with its certificate and sealed entries (a read)",
    params: envelopeParams,
    handler: (envelope) => d.blocks.onGetBlock(envelope as Envelope),
  });
  methods.register("cluster_block_built", {
    description: "cluster only: the leader's built block of a sealed height, rebuilt and checked before it is stored",
    params: envelopeParams,
    handler: (envelope) => d.blocks.onBlockBuilt(envelope as Envelope),
  });
}
