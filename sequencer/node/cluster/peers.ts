/**
 * The other members as reachable endpoints. Peers are configured by URL; each one's address is
 * learnt from its own `get_cluster_status` (and only trusted for routing: every message a peer sends
 * is still signed and checked against the registry's member list).
 */
import { getAddress } from "ethers";
import { z } from "zod";
import { RpcClient } from "../../rpc/client";

export interface Peer {
  readonly url: string;
  readonly client: RpcClient;
  address: string | undefined;
}

export class Peers {
  readonly all: readonly Peer[];

  constructor(urls: readonly string[], timeoutMs: number) {
    this.all = urls.map((url) => ({ url, client: new RpcClient(url, { timeoutMs }), address: undefined }));
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
