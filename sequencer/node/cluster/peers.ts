/**
 * The other members as reachable endpoints. Peers are configured by URL; each one's address is
 * learnt from its own `get_cluster_status` (and only trusted for routing: every message a peer sends
 * is still signed and checked against the registry's member list).
 */
import { getAddress } from "ethers";
import { z } from "zod";
import { RpcClient } from "../../rpc/client";
import { CLUSTER_PATH, UPLOAD_PERMIT_HEADER } from "../../rpc/server";
import { PERMIT_FREE_BYTES, type UploadPermits } from "./upload-permit";

export interface Peer {
  readonly url: string;
  /** The peer's public endpoint (`/`): its status, and external writes forwarded to it. */
  readonly client: RpcClient;
  /** The peer's members' endpoint (CLUSTER_PATH): every `cluster_*` message. */
  readonly cluster: RpcClient;
  address: string | undefined;
}

/** A member's cluster endpoint: CLUSTER_PATH under its configured URL (which may carry a path prefix). */
export function clusterUrl(url: string): string {
  const u = new URL(url);
  u.pathname = `${u.pathname.replace(/\/+$/, "")}${CLUSTER_PATH}`;
  return u.toString();
}

export class Peers {
  readonly all: readonly Peer[];
  private permits: UploadPermits | undefined;

  constructor(urls: readonly string[], timeoutMs: number) {
    // A cluster message over the smallest public limit carries this node's permit for its size.
    const headersFor = (bytes: number): Record<string, string> =>
      bytes > PERMIT_FREE_BYTES && this.permits !== undefined
        ? { [UPLOAD_PERMIT_HEADER]: this.permits.issue(bytes) }
        : {};
    this.all = urls.map((url) => ({
      url,
      client: new RpcClient(url, { timeoutMs }),
      cluster: new RpcClient(clusterUrl(url), { timeoutMs, headersFor }),
      address: undefined,
    }));
  }

  /** Signs upload permits for the cluster messages sent from now on (once the node knows its domain). */
  usePermits(permits: UploadPermits): void {
    this.permits = permits;
  }

  /** Asks every peer whose address is unknown for it; unreachable peers stay unknown for now. */
  async resolve(): Promise<void> {
    await Promise.all(
      this.all
        .filter((p) => p.address === undefined)
        .map(async (p) => {
          try {
            const status = await p.client.call(
              "get_cluster_status",
              undefined,
              z.object({ nodeAddress: z.string() }).loose(),
              { timeoutMs: 1_000 },
            );
            p.address = getAddress(status.nodeAddress);
          } catch {
            /* retried on the next need */
          }
        }),
    );
  }

  async byAddress(address: string): Promise<Peer | undefined> {
    const wanted = getAddress(address);
    let peer = this.all.find((p) => p.address === wanted);
    if (peer === undefined) {
      await this.resolve();
      peer = this.all.find((p) => p.address === wanted);
    }
    return peer;
  }
}
