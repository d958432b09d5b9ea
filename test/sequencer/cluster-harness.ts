/**
 * An in-process Veil world for cluster tests: core contracts on the Hardhat network, a cluster of
 * three members (fresh wallets that posted their bond), one rollup with a two-member key-generator
 * committee, real round-key contributions (TEST-ONLY 1024-bit modulus, T = 64) and nodes on loopback
 * HTTP with real LevelDB stores and one shared worker-thread verifier.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { Wallet } from "ethers";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pino, { type Logger } from "pino";
import {
  encryptedSubmissionToJson,
  encryptionKeyResult,
  type EncryptedSubmission,
  type EncryptedSubmissionJson,
} from "../../sequencer/api/wire";
import { deployCore, insecureTestTimeLockPolicy, mineUntilMembers } from "../../sequencer/chain/deploy";
import { timelockConfigFields } from "../../sequencer/chain/timelock-config";
import { ClusterMessageKind, signMessage, veilDomain, type VeilDomain } from "../../sequencer/chain/eip712";
import { sealEnvelope } from "../../sequencer/node/cluster/envelope";
import { blockHeight, encryptTransaction, rollupId } from "../../sequencer/crypto/encryption";
import { createSignedContribution, type Contribution } from "../../sequencer/crypto/roundkey";
import { loadBigMath } from "../../sequencer/crypto/timelock/bigmath";
import { setupTimelock, type TimelockParams } from "../../sequencer/crypto/timelock/params";
import { generateTestOnlyModulus } from "../../sequencer/crypto/timelock/test-modulus";
import { configSchema } from "../../sequencer/node/config";
import { startNode, type NodeDeps, type RunningNode } from "../../sequencer/node/node";
import { MemoryRoundSecrets } from "../../sequencer/node/round-secrets";
import { MemoryRoundKeySource } from "../../sequencer/node/round-keys";
import { RpcCallError, RpcClient } from "../../sequencer/rpc/client";
import type { RpcErrorName } from "../../sequencer/rpc/errors";
import { MicroBatcher } from "../../sequencer/zk/micro-batcher";
import { proveTxValidity } from "../../sequencer/zk/prover";
import { Groth16VerifierPool } from "../../sequencer/zk/verifier";
import type { ClusterRegistry } from "../../typechain-types";
import { PARAMS } from "../contracts/fixture";

export const ROLLUP = 7n;

/** A member's signed ViewChange vote for `view` of `height` (what StartViewChange and DoViewChange carry). */
export function viewVote(
  member: Wallet,
  domain: VeilDomain,
  height: number,
  view: number,
  epoch: number,
  rollup = ROLLUP,
) {
  return signMessage(member, domain, "ViewChange", {
    rollupId: rollup,
    height: BigInt(height),
    viewNumber: view,
    epoch,
  });
}

/**
 * Speaks for member `from` on the cluster wire: sends replica messages (as JSON) of one height to member
 * `to` in a packet signed by `from`'s key, and waits until `to` has taken them (its replica acts on them
 * in the background, so a test then looks at what changed).
 */
export async function sendReplica(
  w: Pick<ClusterWorld, "members" | "domain" | "clusterId" | "clients" | "epoch">,
  from: number,
  to: number,
  height: number,
  messages: readonly unknown[],
): Promise<void> {
  const payload = { rollupId: ROLLUP.toString(), height, epoch: w.epoch, messages };
  const env = await sealEnvelope(w.members[from]!, w.domain, w.clusterId, 0, ClusterMessageKind.Replica, payload);
  await w.clients[to]!.call("cluster_replica", env);
  await new Promise((r) => setTimeout(r, 150));
}

/** The registry's current membership epoch: what the nodes run fresh heights in (the harness starts one). */
export async function epochNow(w: { registry: ClusterRegistry }): Promise<number> {
  return Number(await w.registry.currentEpoch());
}
export const SQUARINGS = 64;

/** Encrypts `plaintext` to the round key `client` serves for (ROLLUP, height) and proves it (real proof). */
export async function provenSubmission(
  client: RpcClient,
  height: number,
  plaintext: Uint8Array | string,
): Promise<EncryptedSubmissionJson> {
  const key = await client.call("get_encryption_key", { rollupId: ROLLUP.toString(), height }, encryptionKeyResult);
  const bytes = typeof plaintext === "string" ? new TextEncoder().encode(plaintext) : plaintext;
  const enc = encryptTransaction(bytes, {
    rollupId: rollupId(ROLLUP),
    height: blockHeight(BigInt(height)),
    roundKey: key.publicKey,
  });
  const { proof } = await proveTxValidity(enc);
  return encryptedSubmissionToJson({
    tx: enc.encrypted,
    txCommitment: enc.txCommitment,
    proof,
  } as unknown as EncryptedSubmission);
}

export interface ClusterWorld {
  registry: ClusterRegistry;
  /** The membership epoch the world starts in (mineUntilMembers leaves a whole epoch ahead). */
  epoch: number;
  domain: VeilDomain;
  chainId: bigint;
  clusterId: bigint;
  members: Wallet[];
  executor: Wallet;
  outsider: Wallet;
  keySource: MemoryRoundKeySource;
  /** The share secrets behind `keySource`'s contributions: what finalize_block's round secret comes from. */
  roundSecrets: MemoryRoundSecrets;
  /** The key generators' wallets (registry order) and the rollup's time-lock parameters, to run real ones. */
  generators: Wallet[];
  timelock: TimelockParams;
  contributions: Map<number, Contribution[]>;
  ports: number[];
  dirs: string[];
  pool: Groth16VerifierPool;
  batcher: MicroBatcher;
  nodes: (RunningNode | undefined)[];
  clients: RpcClient[];
}

export async function deployWorld(heightsWithKeys: readonly number[]): Promise<ClusterWorld> {
  const [deployer] = await ethers.getSigners();
  const math = await loadBigMath();
  const N = generateTestOnlyModulus(math, 1024).N;
  const { registry, vsm } = await deployCore(deployer!, { ...PARAMS, timeLock: insecureTestTimeLockPolicy(N) });
  const { chainId } = await ethers.provider.getNetwork();
  const domain = veilDomain(chainId, await vsm.getAddress());
  const members = [0, 1, 2].map(() => Wallet.createRandom().connect(ethers.provider)) as unknown as Wallet[];
  for (const m of members) {
    await (await deployer!.sendTransaction({ to: m.address, value: ethers.parseEther("10") })).wait();
  }
  await (await registry.createCluster(ethers.parseEther("1"), 8)).wait();
  const clusterId = (await registry.nextClusterId()) - 1n;
  for (const m of members) await (await registry.connect(m).join(clusterId, { value: ethers.parseEther("1") })).wait();
  await mineUntilMembers(registry, clusterId, members.length, ethers.provider);
  const generatorKeys = [Wallet.createRandom(), Wallet.createRandom()].sort((a, b) =>
    BigInt(a.address) < BigInt(b.address) ? -1 : 1,
  );
  const generators = generatorKeys.map((g) => g.address);
  const executor = Wallet.createRandom() as unknown as Wallet;
  const params = await setupTimelock({ N, T: SQUARINGS });
  await (await registry.approveRollup(clusterId, ROLLUP, deployer!.address)).wait();
  await (
    await registry.registerRollup(
      ROLLUP,
      {
        clusterId,
        maxTxsPerBlock: 4096,
        blockGasLimit: 30_000_000n,
        ...timelockConfigFields(params),
        minContributors: 0,
      },
      [executor.address],
      generators,
    )
  ).wait();
  const keySource = new MemoryRoundKeySource();
  const roundSecrets = new MemoryRoundSecrets();
  const contributions = new Map<number, Contribution[]>();
  for (const height of heightsWithKeys) {
    const list: Contribution[] = [];
    for (const g of generatorKeys) {
      const round = { rollupId: ROLLUP, height: BigInt(height) };
      const { contribution, secret } = await createSignedContribution(params, domain, round, g);
      keySource.add(contribution);
      roundSecrets.add(contribution, secret);
      list.push(contribution);
    }
    contributions.set(height, list);
  }
  const base = 20_000 + Math.floor(Math.random() * 20_000);
  const ports = [base, base + 1, base + 2];
  const dirs = members.map(() => mkdtempSync(path.join(os.tmpdir(), "veil-cluster-")));
  const pool = Groth16VerifierPool.forCircuit("tx_validity", { threads: 1 });
  const batcher = new MicroBatcher(pool);
  return {
    registry,
    epoch: Number(await registry.currentEpoch()),
    domain,
    chainId,
    clusterId,
    members,
    executor,
    outsider: Wallet.createRandom() as unknown as Wallet,
    keySource,
    roundSecrets,
    generators: generatorKeys as unknown as Wallet[],
    timelock: params,
    contributions,
    ports,
    dirs,
    pool,
    batcher,
    nodes: [undefined, undefined, undefined],
    clients: ports.map((p) => new RpcClient(`http://127.0.0.1:${p}`, { timeoutMs: 20_000 })),
  };
}

export async function startMember(
  w: ClusterWorld,
  i: number,
  overrides: Record<string, unknown> = {},
  deps: Partial<NodeDeps> = {},
  log: Logger = pino({ level: "silent" }),
): Promise<RunningNode> {
  const config = configSchema.parse({
    node: { signingKey: w.members[i]!.privateKey },
    cluster: {
      id: w.clusterId.toString(),
      peers: w.ports.filter((_, j) => j !== i).map((p) => `http://127.0.0.1:${p}`),
    },
    rpc: { port: w.ports[i], rateLimit: { enabled: false } },
    storage: { path: w.dirs[i] },
    l1: {
      rpcUrl: "http://127.0.0.1:1",
      contracts: {
        clusterRegistry: await w.registry.getAddress(),
        validationServiceManager: w.domain.verifyingContract,
      },
      // Tests mine whole epochs at once between a node's 2 s head reads; the cut rule has its own tests.
      inbox: { confirmations: 1, maxLagBlocks: 100_000 },
    },
    // The members share this process's one event loop with Hardhat's chain and the prover: a pause of the loop
    // delays every member alike and is no leader failure. Tests of failover set their own, shorter timeouts.
    timeouts: { peerRequestMs: 3_000, leaderTimeoutMs: 3_000 },
    ...overrides,
  });
  const node = await startNode(config, log, {
    registry: w.registry,
    chainId: w.chainId,
    roundKeySource: w.keySource,
    roundSecretSource: w.roundSecrets,
    verifier: w.batcher,
    ...deps,
  });
  w.nodes[i] = node;
  return node;
}

export async function stopMember(w: ClusterWorld, i: number): Promise<void> {
  await w.nodes[i]?.stop();
  w.nodes[i] = undefined;
}

export async function teardown(w: ClusterWorld | undefined): Promise<void> {
  if (w === undefined) return;
  for (let i = 0; i < w.nodes.length; i++) await stopMember(w, i);
  await w.batcher.close();
  await w.pool.close();
  for (const d of w.dirs) rmSync(d, { recursive: true, force: true });
}

/** Awaits `p` and checks it fails with the Veil JSON-RPC error `name` (and a message matching `pattern`). */
export async function rejects(p: Promise<unknown>, name: RpcErrorName, pattern?: RegExp): Promise<RpcCallError> {
  try {
    await p;
  } catch (error) {
    expect(error, String(error)).to.be.instanceOf(RpcCallError);
    const e = error as RpcCallError;
    expect(e.errorName, e.message).to.equal(name);
    if (pattern) expect(e.message).to.match(pattern);
    return e;
  }
  throw new Error(`expected ${name}`);
}

/** Retries `attempt` (a throw counts as not yet) until it gives a value, or fails after `timeoutMs`. */
export async function until<T>(what: string, attempt: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await attempt().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
