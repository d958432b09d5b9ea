/**
 * `npm run bench:failover`: leader failure under steady load on the devnet (hardhat L1, two key generators,
 * three `veil node` processes with their own LevelDB), with the nodes' default timeouts.
 *
 * 1. Failover, `BENCH_KILLS` times (default 10): closed-loop clients write raw transactions to the open
 *    height through every live node; the leader of the height's current view is killed with SIGKILL at a
 *    random moment; the gap is the time from the kill to the next order commitment on that height (one from
 *    a later view). The member is restarted, and "back" is the time from its restart until a write sent
 *    through it is answered. Each round then seals its height (as the executor) and moves to the next one.
 * 2. A dead member: one member is killed and left dead while the load moves through `BENCH_DEAD_HEIGHTS`
 *    heights (default 9); each height opens once the one before is sealed, and its stall is the time from
 *    then to its first commitment. Heights whose view-0 leader is the dead member stall longer; the first
 *    such stall and the later ones are printed apart.
 *
 * Every commitment a client got is checked at its index in its height's sealed block: `commitments_lost`
 * must be 0. One JSON line per figure on stdout, progress on stderr.
 */
import { keccak256 } from "ethers";
import {
  MAX_SEALED_ENTRIES_PER_CALL,
  finalizeResult,
  orderReceipt,
  sealedEntriesResult,
} from "../../sequencer/api/wire";
import { signMessage, veilDomain, type VeilDomain } from "../../sequencer/chain/eip712";
import { Prng } from "../../sequencer/sim/prng";
import { Devnet } from "../devnet";
import { emit, median, percentile, progress } from "./report";

const KILLS = Number(process.env.BENCH_KILLS ?? 10);
const DEAD_HEIGHTS = Number(process.env.BENCH_DEAD_HEIGHTS ?? 9);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 4);
const SEED = Number(process.env.BENCH_SEED ?? 1);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Receipt {
  readonly height: number;
  readonly index: number;
  readonly view: number;
  readonly leaf: string;
  readonly at: number;
}

class FailoverBench {
  private readonly receipts: Receipt[] = [];
  private readonly live: Set<number>;
  private height = 0;
  private counter = 0;
  private running = false;
  private loops: Promise<void>[] = [];
  /** The kill moments replay with the same BENCH_SEED. */
  private readonly rng = new Prng(SEED);
  private readonly random = (): number => this.rng.next();
  private readonly domain: VeilDomain;

  constructor(private readonly devnet: Devnet) {
    this.live = new Set(devnet.nodes.map((_, i) => i));
    this.domain = veilDomain(devnet.world.chainId, devnet.world.validationServiceManager);
  }

  private get members(): number {
    return this.devnet.nodes.length;
  }

  /** ClusterRegistry.leaderAt: members[(height + view) % n], in the devnet's node order. */
  private leaderOf(height: number, view: number): number {
    return (height + view) % this.members;
  }

  private highestView(height: number): number {
    return Math.max(0, ...this.receipts.filter((r) => r.height === height).map((r) => r.view));
  }

  /** One raw write through node `via` to the open height; true when a valid commitment came back. */
  private async write(via: number): Promise<boolean> {
    const height = this.height;
    const rawTx = `0x${Buffer.from(`failover ${SEED} ${this.counter++}`).toString("hex")}`;
    try {
      const answer = orderReceipt.parse(
        await this.devnet.nodes[via]!.client.call("send_raw_transaction", {
          rollupId: this.devnet.world.rollupId.toString(),
          height: height.toString(),
          rawTx,
        }),
      );
      const leaf = keccak256(rawTx).toLowerCase();
      if (answer.commitment.encTxHash.toLowerCase() !== leaf) throw new Error("a commitment to another transaction");
      this.receipts.push({
        height,
        index: answer.commitment.txIndex,
        view: answer.viewNumber,
        leaf,
        at: performance.now(),
      });
      return true;
    } catch (error) {
      if (error instanceof Error && error.message === "a commitment to another transaction") throw error;
      return false;
    }
  }

  private startLoad(): void {
    this.running = true;
    this.loops = Array.from({ length: CLIENTS }, async (_, k) => {
      for (let j = 0; this.running; j++) {
        const targets = [...this.live];
        if (!(await this.write(targets[(k + j) % targets.length]!))) await sleep(20);
      }
    });
  }

  private async stopLoad(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  private async until(what: string, check: () => boolean | Promise<boolean>, ms = 120_000): Promise<void> {
    const end = performance.now() + ms;
    while (performance.now() < end) {
      if (await Promise.resolve(check()).catch(() => false)) return;
      await sleep(5);
    }
    throw new Error(`timed out waiting for ${what}`);
  }

  /**
   * Seals the open height as the executor, through any live node, and moves the clients to the next one:
   * at once (`openFirst`), or once the seal is answered. Returns when the next height was opened.
   */
  private async sealAndAdvance(openFirst: boolean): Promise<number> {
    const height = this.height;
    if (openFirst) this.height += 1;
    let opened = performance.now();
    const request = {
      rollupId: this.devnet.world.rollupId,
      height: BigInt(height),
      deadline: BigInt(Math.floor(Date.now() / 1000) + 600),
    };
    const signature = await signMessage(this.devnet.world.executor, this.domain, "FinalizeRequest", request);
    await this.until(`the seal of height ${height}`, async () => {
      const via = [...this.live][Math.floor(this.random() * this.live.size)]!;
      finalizeResult.parse(
        await this.devnet.nodes[via]!.client.call("finalize_block", {
          request: {
            rollupId: request.rollupId.toString(),
            height: String(height),
            deadline: request.deadline.toString(),
          },
          signature,
        }),
      );
      return true;
    });
    if (!openFirst) {
      this.height += 1;
      opened = performance.now();
    }
    return opened;
  }

  async failover(): Promise<void> {
    const gaps: number[] = [];
    const backs: number[] = [];
    const serving: number[] = [];
    this.startLoad();
    for (let round = 1; round <= KILLS; round++) {
      const height = this.height;
      await this.until(`a commitment on height ${height}`, () => this.receipts.some((r) => r.height === height));
      await sleep(200 + Math.floor(this.random() * 800));
      const view = this.highestView(height);
      const victim = this.leaderOf(height, view);
      this.live.delete(victim);
      const killedAt = performance.now();
      await this.devnet.killNode(victim);
      await this.until(`a commitment on height ${height} from a view after ${view}`, () =>
        this.receipts.some((r) => r.height === height && r.view > view),
      );
      const first = this.receipts
        .filter((r) => r.height === height && r.view > view && r.at >= killedAt)
        .reduce((a, b) => (b.at < a.at ? b : a));
      gaps.push(first.at - killedAt);
      const restartedAt = performance.now();
      await this.devnet.startNode(victim);
      const healthyAt = performance.now();
      await this.until(`a write through the restarted member ${victim}`, () => this.write(victim));
      backs.push(performance.now() - restartedAt);
      serving.push(performance.now() - healthyAt);
      this.live.add(victim);
      progress(
        `kill ${round}/${KILLS}: member ${victim} (height ${height}, view ${view}): next commitment after ` +
          `${gaps.at(-1)!.toFixed(0)} ms (view ${first.view}), back after ${backs.at(-1)!.toFixed(0)} ms`,
      );
      await this.sealAndAdvance(true);
    }
    await this.stopLoad();
    const extra = { kills: KILLS, clients: CLIENTS, seed: SEED };
    emit("failover_gap_p50", percentile(gaps, 50), "ms", extra);
    emit("failover_gap_p90", percentile(gaps, 90), "ms", extra);
    emit("failover_gap_p99", percentile(gaps, 99), "ms", extra);
    emit("failover_gap_max", Math.max(...gaps), "ms", extra);
    emit("restarted_member_back_p50", median(backs), "ms", extra);
    emit("restarted_member_back_max", Math.max(...backs), "ms", extra);
    // The part of it after the process answered its health check (the rest is the process starting).
    emit("restarted_member_healthy_to_serving_p50", median(serving), "ms", extra);
  }

  async deadMember(): Promise<void> {
    // The member that leads the next height in view 0 dies and stays dead.
    const dead = this.leaderOf(this.height + 1, 0);
    this.live.delete(dead);
    await this.devnet.killNode(dead);
    progress(`member ${dead} killed for good`);
    this.startLoad();
    const stallsLedByDead: number[] = [];
    const others: number[] = [];
    for (let i = 0; i < DEAD_HEIGHTS; i++) {
      // The next height opens once the last one is sealed: the time to its first commitment is its stall.
      const opened = await this.sealAndAdvance(false);
      const height = this.height;
      await this.until(`a commitment on height ${height}`, () => this.receipts.some((r) => r.height === height));
      const first = Math.min(...this.receipts.filter((r) => r.height === height).map((r) => r.at));
      const ledByDead = this.leaderOf(height, 0) === dead;
      (ledByDead ? stallsLedByDead : others).push(first - opened);
      progress(
        `height ${height}${ledByDead ? " (led by the dead member)" : ""}: first commitment after ` +
          `${(first - opened).toFixed(0)} ms`,
      );
      await sleep(300);
    }
    await this.stopLoad();
    await this.sealAndAdvance(false);
    const extra = { members: this.members, heights: DEAD_HEIGHTS, clients: CLIENTS };
    emit("dead_member_first_stall", stallsLedByDead[0] ?? NaN, "ms", extra);
    if (stallsLedByDead.length > 1)
      emit("dead_member_later_stall_max", Math.max(...stallsLedByDead.slice(1)), "ms", extra);
    emit("live_leader_height_stall_p50", median(others), "ms", extra);
  }

  /** Every commitment a client got is at its index in its height's sealed block. */
  async lost(): Promise<number> {
    const byHeight = new Map<number, Receipt[]>();
    for (const r of this.receipts) byHeight.set(r.height, [...(byHeight.get(r.height) ?? []), r]);
    let lost = 0;
    const via = [...this.live][0]!;
    for (const [height, receipts] of byHeight) {
      const leaves: string[] = [];
      let txCount = 1;
      await this.until(`the sealed entries of height ${height}`, async () => {
        leaves.length = 0;
        while (leaves.length < txCount) {
          const page = sealedEntriesResult.parse(
            await this.devnet.nodes[via]!.client.call("get_sealed_entries", {
              rollupId: this.devnet.world.rollupId.toString(),
              height: String(height),
              from: leaves.length,
              count: MAX_SEALED_ENTRIES_PER_CALL,
            }),
          );
          txCount = page.txCount;
          for (const e of page.entries) leaves.push(e.kind === "raw" ? keccak256(e.rawTx).toLowerCase() : "");
          if (page.entries.length === 0) break;
        }
        return true;
      });
      for (const r of receipts) if (leaves[r.index] !== r.leaf) lost += 1;
    }
    return lost;
  }

  get commitments(): number {
    return this.receipts.length;
  }
}

async function main(): Promise<void> {
  progress("starting the devnet (the nodes' default timeouts)");
  const devnet = await Devnet.start({ logLevel: "warn" });
  try {
    const bench = new FailoverBench(devnet);
    await bench.failover();
    await bench.deadMember();
    const lost = await bench.lost();
    emit("commitments_lost", lost, "count", { commitments: bench.commitments });
    if (lost > 0) process.exitCode = 1;
  } finally {
    await devnet.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
