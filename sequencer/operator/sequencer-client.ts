/**
 * The operator's side of the sequencer API: signed `finalize_block` calls and `get_block_height`,
 * sent to any member of the cluster (followers forward to the leader). A node that does not answer,
 * times out, or answers that it cannot reach the leader is passed over for the next one; the node
 * that last answered is tried first. finalize_block is idempotent, so retrying a height is safe.
 */
import type { Wallet } from "ethers";
import type { Logger } from "pino";
import { blockHeightResult } from "../api/wire";
import { signMessage, type FinalizeRequest, type VeilDomain } from "../chain/eip712";
import { RpcCallError, RpcClient, RpcTimeoutError, RpcTransportError, type Params } from "../rpc/client";
import type { RpcErrorName } from "../rpc/errors";

/** Errors after which another member may still succeed (this one cannot reach the leader, or is busy). */
const TRY_NEXT: ReadonlySet<RpcErrorName | undefined> = new Set([
  "UNAVAILABLE",
  "UPSTREAM_TIMEOUT",
  "RATE_LIMITED",
  "NOT_LEADER",
]);

export class NoSequencerAnswered extends Error {
  constructor(
    readonly method: string,
    readonly failures: readonly string[],
  ) {
    super(`${method}: no sequencer node answered (${failures.join("; ")})`);
    this.name = "NoSequencerAnswered";
  }
}

export class SequencerClient {
  private readonly clients: RpcClient[];
  private preferred = 0;

  constructor(
    urls: readonly string[],
    private readonly executor: Wallet,
    private readonly domain: VeilDomain,
    private readonly timeoutMs: number,
    private readonly log: Logger,
    /** Seconds since the epoch, for the request deadline. */
    private readonly now: () => number = () => Math.floor(Date.now() / 1000),
  ) {
    if (urls.length === 0) throw new Error("at least one sequencer URL is needed");
    this.clients = urls.map((u) => new RpcClient(u, { timeoutMs }));
  }

  get executorAddress(): string {
    return this.executor.address;
  }

  /** The cluster's lowest unsealed height of the rollup. */
  async openHeight(rollupId: bigint): Promise<bigint> {
    const r = await this.callAny("get_block_height", { rollupId: rollupId.toString() });
    const parsed = blockHeightResult.safeParse(r);
    if (!parsed.success) throw new Error(`get_block_height: unexpected answer: ${parsed.error.issues[0]?.message}`);
    return parsed.data.openHeight;
  }

  /** Seals `height` and returns the raw (unverified) answer; the caller verifies it. */
  async finalize(rollupId: bigint, height: bigint, validForSeconds: number): Promise<unknown> {
    const request: FinalizeRequest = { rollupId, height, deadline: BigInt(this.now() + validForSeconds) };
    const signature = await signMessage(this.executor, this.domain, "FinalizeRequest", request);
    return this.callAny("finalize_block", {
      request: { rollupId: rollupId.toString(), height: height.toString(), deadline: request.deadline.toString() },
      signature,
    });
  }

  private async callAny(method: string, params: Params): Promise<unknown> {
    const failures: string[] = [];
    for (let k = 0; k < this.clients.length; k++) {
      const i = (this.preferred + k) % this.clients.length;
      const client = this.clients[i]!;
      try {
        const result = await client.call(method, params);
        this.preferred = i;
        return result;
      } catch (error) {
        const retriable =
          error instanceof RpcTimeoutError ||
          error instanceof RpcTransportError ||
          (error instanceof RpcCallError && TRY_NEXT.has(error.errorName));
        if (!retriable) throw error;
        failures.push(`${client.url}: ${(error as Error).message}`);
        this.log.warn(
          { url: client.url, method, err: (error as Error).message },
          "sequencer node failed; trying the next",
        );
      }
    }
    throw new NoSequencerAnswered(method, failures);
  }
}
