import { certifySeal, sealCertificateToJson } from "../../sequencer/chain/certificate";
/**
 * Key generator service: a committee of real processes' worth of services in this process, each with
 * its own LevelDB and JSON-RPC on loopback, reading a ClusterRegistry deployed on Hardhat's
 * in-process network. Small T and a test-only 1024-bit modulus keep the puzzles fast.
 */
import { expect } from "chai";
import { freePort } from "../../scripts/devnet/net";
import { Wallet, ZeroHash, getAddress, toBeHex } from "ethers";
import { ethers } from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { uint64 } from "../../sequencer/api/wire";
import {
  DEFAULT_CORE_PARAMS,
  deployCore,
  insecureTestTimeLockPolicy,
  mineUntilMembers,
} from "../../sequencer/chain/deploy";
import { DeploymentMismatch } from "../../sequencer/chain/deployment-check";
import { timelockConfigFields } from "../../sequencer/chain/timelock-config";
import { veilDomain, type Seal, type VeilDomain } from "../../sequencer/chain/eip712";
import {
  aggregateRoundKey,
  contributionFromJson,
  contributionToJson,
  createSignedContribution,
  isRoundSecret,
  signContribution,
  verifyContributionSignature,
  roundKeyFromJson,
  roundKeyToJson,
  shareRevealFromJson,
  verifyContribution,
  verifyReveal,
  verifySolution,
} from "../../sequencer/crypto/roundkey";
import { loadBigMath } from "../../sequencer/crypto/timelock/bigmath";
import { setupTimelock, type TimelockParams } from "../../sequencer/crypto/timelock/params";
import { generateTestOnlyModulus } from "../../sequencer/crypto/timelock/test-modulus";
import { toHex } from "../../sequencer/crypto/timelock/wire";
import { parseKeygenConfig } from "../../sequencer/keygen/config";
import { startKeygen, type RunningKeygen } from "../../sequencer/keygen/keygen";
import { sealFileSchema, solveRound } from "../../sequencer/keygen/solve";
import { roundSecretFromJson, roundSecretToJson } from "../../sequencer/keygen/round-secret";
import { RpcCallError, RpcClient } from "../../sequencer/rpc/client";
import { Health } from "../../sequencer/common/health";
import { createRegistry } from "../../sequencer/common/metrics";
import { MethodRegistry } from "../../sequencer/rpc/registry";
import { RpcServer } from "../../sequencer/rpc/server";
import type { ClusterRegistry } from "../../typechain-types";

const ROLLUP = 77n;
const OTHER_ROLLUP = 78n;
const T = 96;
const silent = pino({ level: "silent" });
/** Warnings of the members (rejected contributions and why), as parsed log lines. */
const warnings: { generator?: string; reason?: string; msg?: string }[] = [];
const warningLog = pino(
  { level: "warn" },
  { write: (line: string) => void warnings.push(JSON.parse(line) as (typeof warnings)[number]) },
);

async function until<T>(what: string, attempt: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const value = await attempt();
      if (value !== undefined) return value;
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function rpcError(promise: Promise<unknown>): Promise<RpcCallError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof RpcCallError) return error;
    throw error;
  }
  throw new Error("expected a JSON-RPC error");
}

async function expectRejection(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  try {
    await promise;
  } catch (error) {
    expect((error as Error).message).to.match(pattern);
    return;
  }
  throw new Error("expected a rejection");
}

const round = (height: bigint) => ({ rollupId: ROLLUP.toString(), height: height.toString() });

describe("key generator service", function () {
  let dir: string;
  let registry: ClusterRegistry;
  let registryAddress = "";
  let domain: VeilDomain;
  let members: HardhatEthersSigner[];
  let outsider: HardhatEthersSigner;
  let params: TimelockParams;
  let wallets: Wallet[];
  let ports: number[];
  let liar: { wallet: Wallet; server: RpcServer; url: string };
  let committee: string[];
  const running = new Map<number, RunningKeygen>();
  const clients: RpcClient[] = [];

  const leaderOf = async (height: bigint, view = 0): Promise<HardhatEthersSigner> => {
    const address = await registry.leaderOf(1n, height, view);
    return members.find((m) => m.address === address)!;
  };
  /** The epoch the world's members were fixed in (the tests stay within it and the next one). */
  let epoch = 0;
  const seal = (height: bigint, viewNumber = 0, rollupId = ROLLUP): Seal => ({
    rollupId,
    height,
    txCount: 3,
    encRoot: toBeHex(height + 1000n, 32),
    inboxBlock: 0n,
    viewNumber,
    epoch,
  });
  /**
   * reveal_share's params: a certificate of `s` by `signers` (default: three of the four members, a
   * majority), with the certificates of the heights from 1 (the generators' start) below it, as a node sends
   * them to a generator that releases heights in order.
   */
  const signedSeal = async (s: Seal, signers?: HardhatEthersSigner[], d: VeilDomain = domain) => {
    const by = signers ?? members.slice(0, 3);
    const previous = [];
    for (let h = 1n; h < s.height && h < 40n; h++) {
      previous.push(sealCertificateToJson(await certifySeal(by, d, { ...seal(h, 0, s.rollupId) })));
    }
    return { certificate: sealCertificateToJson(await certifySeal(by, d, s)), previous };
  };

  function configFor(i: number, overrides: { solver?: boolean; startHeight?: number } = {}) {
    return parseKeygenConfig({
      keygen: { signingKey: wallets[i]!.privateKey },
      rollups: [ROLLUP.toString()],
      committee: [
        ...wallets.map((w, j) => ({ address: w.address, url: `http://127.0.0.1:${ports[j]}` })),
        { address: liar.wallet.address, url: liar.url },
      ],
      schedule: { lookahead: 2, startHeight: overrides.startHeight ?? 1, tickMs: 50, aggregationTimeoutMs: 3_000 },
      solver: { enabled: overrides.solver ?? true, revealTimeoutMs: 2_000 },
      rpc: { port: ports[i], rateLimit: { enabled: false } },
      storage: { path: path.join(dir, `keygen-${i}`) },
      l1: {
        rpcUrl: "http://127.0.0.1:1",
        contracts: { clusterRegistry: registryAddress, validationServiceManager: domain.verifyingContract },
      },
      timeouts: { peerRequestMs: 2_000, shutdownGraceMs: 100 },
      log: { level: "silent" },
    });
  }

  async function start(i: number, overrides: { solver?: boolean } = {}): Promise<RunningKeygen> {
    const keygen = await startKeygen(configFor(i, overrides), warningLog, { runner: ethers.provider });
    running.set(i, keygen);
    return keygen;
  }
  async function stop(i: number): Promise<void> {
    await running.get(i)?.stop();
    running.delete(i);
  }
  const client = (i: number): RpcClient => clients[i]!;

  before(async function () {
    dir = mkdtempSync(path.join(os.tmpdir(), "veil-keygen-"));
    const signers = await ethers.getSigners();
    const [deployer, clusterOwner, rollupOwner, executor] = signers;
    members = signers.slice(5, 9);
    outsider = signers[10]!;
    const math = await loadBigMath();
    const { N } = generateTestOnlyModulus(math, 1024);
    params = await setupTimelock({ N, T });
    const core = await deployCore(deployer!, { ...DEFAULT_CORE_PARAMS, timeLock: insecureTestTimeLockPolicy(N) });
    registry = core.registry;
    registryAddress = await registry.getAddress();
    const { chainId } = await ethers.provider.getNetwork();
    domain = veilDomain(chainId, await core.vsm.getAddress());

    wallets = [0, 1, 2].map(() => Wallet.createRandom() as unknown as Wallet);
    const liarWallet = Wallet.createRandom() as unknown as Wallet;
    committee = [...wallets.map((w) => w.address), liarWallet.address].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
    await registry.connect(clusterOwner).createCluster(ethers.parseEther("1"), 8);
    for (const m of members) await registry.connect(m).join(1n, { value: ethers.parseEther("1") });
    await mineUntilMembers(registry, 1n, members.length, ethers.provider);
    epoch = Number(await registry.currentEpoch());
    const config = {
      clusterId: 1n,
      maxTxsPerBlock: 1024,
      blockGasLimit: 30_000_000n,
      ...timelockConfigFields(params),
      minContributors: 0,
    };
    for (const id of [ROLLUP, OTHER_ROLLUP]) {
      await registry.connect(clusterOwner).approveRollup(1n, id, rollupOwner!.address);
    }
    await registry.connect(rollupOwner).registerRollup(ROLLUP, config, [executor!.address], committee);
    await registry.connect(rollupOwner).registerRollup(OTHER_ROLLUP, config, [executor!.address], committee);

    // The fourth member serves a bad contribution, a different fault by height: no signature; a valid
    // proof signed by another key; a signature made over another of its contributions; a tampered proof
    // (correctly signed).
    const liarMethods = new MethodRegistry().register("get_contribution", {
      params: { rollupId: uint64, height: uint64 },
      handler: async ({ rollupId, height }) => {
        const r = { rollupId, height };
        const { contribution } = await createSignedContribution(params, domain, r, liarWallet);
        switch (height % 4n) {
          case 1n: {
            const { signature: _dropped, ...unsigned } = contributionToJson(contribution);
            return unsigned;
          }
          case 2n: {
            const stranger = Wallet.createRandom();
            const signed = await signContribution(stranger, domain, { ...contribution, generator: stranger.address });
            return contributionToJson({ ...contribution, signature: signed.signature });
          }
          case 3n: {
            const other = (await createSignedContribution(params, domain, r, liarWallet)).contribution;
            return contributionToJson({ ...contribution, signature: other.signature });
          }
          default: {
            const tampered = { ...contribution, proof: { ...contribution.proof, zs: contribution.proof.zs + 1n } };
            return contributionToJson(await signContribution(liarWallet, domain, tampered));
          }
        }
      },
    });
    const liarServer = new RpcServer({
      methods: liarMethods,
      log: silent,
      metricsRegistry: createRegistry({ processMetrics: false }),
      health: new Health(),
      maxBodyBytes: 1 << 20,
      maxBatchSize: 10,
      requestTimeoutMs: 10_000,
    });
    const listening = await liarServer.listen(0, "127.0.0.1");
    liar = { wallet: liarWallet, server: liarServer, url: listening.url };

    ports = [await freePort(), await freePort(), await freePort()];
    for (const i of [0, 1, 2]) {
      await start(i);
      clients.push(new RpcClient(`http://127.0.0.1:${ports[i]}`, { timeoutMs: 30_000 }));
    }
  });

  after(async () => {
    for (const i of [...running.keys()]) await stop(i);
    await liar?.server.close(100);
    rmSync(dir, { recursive: true, force: true });
  });

  const roundKeyOf = (i: number, height: bigint) =>
    until(`round key ${height} from member ${i}`, () => client(i).call("get_round_key", round(height)));

  it("publishes the same round key ahead on every member, in registry order, without the forged contribution", async () => {
    for (const height of [1n, 2n, 3n]) {
      const keys = await Promise.all([0, 1, 2].map((i) => roundKeyOf(i, height)));
      expect(keys[1]).to.deep.equal(keys[0]);
      expect(keys[2]).to.deep.equal(keys[0]);
      const published = keys[0] as { roundKey: unknown; contributions: unknown[] };
      const key = roundKeyFromJson(published.roundKey);
      const honest = committee.filter((a) => a !== liar.wallet.address);
      expect(key.generators).to.deep.equal(honest);
      const contributions = published.contributions.map((c) => contributionFromJson(c));
      for (const c of contributions) {
        expect((await verifyContribution(params, c, key.round)).ok).to.equal(true);
        expect(verifyContributionSignature(domain, c)).to.deep.equal({ ok: true });
      }
      const { key: recomputed } = await aggregateRoundKey(params, key.round, contributions);
      expect(roundKeyToJson(recomputed)).to.deep.equal(published.roundKey);
    }
    const liarReasons = (height: bigint): (string | undefined)[] =>
      warnings
        .filter((w) => w.generator === liar.wallet.address && w.msg === "contribution rejected and excluded")
        .filter((w) => (w as { round?: string }).round === `${ROLLUP}/${height}`)
        .map((w) => w.reason);
    expect(liarReasons(1n)).to.include("malformed contribution");
    expect(liarReasons(2n)).to.include("contribution is not signed by its generator");
    expect(liarReasons(3n)).to.include("contribution is not signed by its generator");
    const alias = await client(1).call("get_encryption_key", round(2n));
    expect(alias).to.deep.equal(await client(0).call("get_round_key", round(2n)));
  });

  it("refuses heights beyond the publication window and rollups it does not serve", async () => {
    const beyond = await rpcError(client(0).call("get_round_key", round(50n)));
    expect(beyond.errorName).to.equal("WRONG_HEIGHT");
    const contribution = await rpcError(client(0).call("get_contribution", round(50n)));
    expect(contribution.errorName).to.equal("WRONG_HEIGHT");
    const other = await rpcError(client(0).call("get_round_key", { rollupId: "78", height: "1" }));
    expect(other.errorName).to.equal("UNKNOWN_ROLLUP");
  });

  it("keeps its secrets across a restart and serves the same key and contribution", async () => {
    const before = await client(0).call("get_round_key", round(2n));
    const ownBefore = await client(0).call("get_contribution", round(2n));
    await stop(0);
    await start(0);
    expect(await client(0).call("get_round_key", round(2n))).to.deep.equal(before);
    expect(await client(0).call("get_contribution", round(2n))).to.deep.equal(ownBefore);
    // The secret survived too: the reveal opens the contribution published before the restart.
    const { reveal } = (await client(0).call("reveal_share", await signedSeal(seal(1n)))) as { reveal: unknown };
    const published = (await client(0).call("get_round_key", round(1n))) as { contributions: unknown[] };
    const own = published.contributions
      .map((c) => contributionFromJson(c))
      .find((c) => c.generator === running.get(0)!.generator)!;
    expect((await verifyReveal(params, own, shareRevealFromJson(reveal))).ok).to.equal(true);
  });

  describe("reveal_share", () => {
    it("refuses a call without a certificate, or one without signatures", async () => {
      const none = await rpcError(client(1).call("reveal_share", {}));
      expect(none.errorName).to.equal("INVALID_PARAMS");
      expect(none.message).to.match(/certificate/);
      const { certificate } = await signedSeal(seal(1n));
      const unsigned = await rpcError(
        client(1).call("reveal_share", { certificate: { ...certificate, signatures: [] } }),
      );
      expect(unsigned.errorName).to.equal("INVALID_PARAMS");
    });

    it("refuses to start when the registry's slasher is another VSM than the one it signs for", async () => {
      const config = configFor(0);
      const elsewhere = {
        ...config,
        l1: { ...config.l1, contracts: { ...config.l1.contracts, validationServiceManager: registryAddress } },
      };
      let refused: unknown;
      await startKeygen(elsewhere, warningLog, { runner: ethers.provider }).then(
        (k) => k.stop(),
        (error: unknown) => (refused = error),
      );
      expect(refused).to.be.instanceOf(DeploymentMismatch);
      expect((refused as Error).message).to.match(/not the ValidationServiceManager/);
    });

    it("refuses a certificate of an epoch whose members are not final, or older than the previous epoch", async () => {
      const ahead = await rpcError(client(1).call("reveal_share", await signedSeal({ ...seal(1n), epoch: epoch + 5 })));
      expect(ahead.errorName).to.equal("INVALID_SIGNATURE");
      expect(ahead.message).to.match(/the current epoch is/);
      // Two epochs later, a majority of the old epoch is no longer sure to share a member with today's.
      const epochLength = await registry.epochLength();
      const before = epoch;
      await ethers.provider.send("hardhat_mine", [`0x${(2n * epochLength).toString(16)}`]);
      epoch = Number(await registry.currentEpoch()); // the next tests seal in today's epoch
      const stale = await rpcError(client(1).call("reveal_share", await signedSeal({ ...seal(1n), epoch: before })));
      expect(stale.errorName).to.equal("INVALID_SIGNATURE");
      expect(stale.message).to.match(new RegExp(`is of epoch ${before}; the current epoch is ${epoch}`));
    });

    it("refuses one member's seal for a view it leads (the key-release attack), and any minority", async () => {
      // Member (1 + 3) % 4 leads height 1 at view 3: an unused view, its own seal of an empty block.
      const attacker = await leaderOf(1n, 3);
      const empty: Seal = {
        rollupId: ROLLUP,
        height: 1n,
        txCount: 0,
        encRoot: ZeroHash,
        inboxBlock: 0n,
        viewNumber: 3,
        epoch,
      };
      const alone = await rpcError(client(1).call("reveal_share", await signedSeal(empty, [attacker])));
      expect(alone.errorName).to.equal("INVALID_SIGNATURE");
      expect(alone.message).to.match(/a majority of 4 members is 3/);
      const other = members.find((m) => m.address !== attacker.address)!;
      const two = await rpcError(client(1).call("reveal_share", await signedSeal(empty, [attacker, other])));
      expect(two.errorName).to.equal("INVALID_SIGNATURE");
      // A seal for a height not reached yet is refused the same way.
      const future = await rpcError(
        client(1).call("reveal_share", await signedSeal({ ...empty, height: 3n }, [attacker])),
      );
      expect(future.errorName).to.equal("INVALID_SIGNATURE");
      const stranger = await rpcError(
        client(1).call("reveal_share", await signedSeal(empty, [attacker, other, outsider])),
      );
      expect(stranger.errorName).to.equal("INVALID_SIGNATURE");
      expect(stranger.message).to.match(/not a member/);
    });

    it("releases heights in order: a later height needs the certificates of the heights before it", async () => {
      const { from: base, to } = await running.get(1)!.service.window(ROLLUP);
      await until("the window's last contribution", () => client(1).call("get_contribution", round(to)));
      const { certificate, previous } = await signedSeal(seal(to));
      const skipped = await rpcError(client(1).call("reveal_share", { certificate }));
      expect(skipped.errorName).to.equal("OUT_OF_ORDER");
      expect(skipped.data).to.deep.equal({ next: base.toString() });
      // A list that stops short moves the window as far as it reaches, and no further.
      const upToBase = previous.slice(0, Number(base));
      const short = await rpcError(client(1).call("reveal_share", { certificate, previous: upToBase }));
      expect(short.errorName).to.equal("OUT_OF_ORDER");
      expect(short.data).to.deep.equal({ next: (base + 1n).toString() });
      // A minority "certificate" among the previous ones is refused outright.
      const forged = await signedSeal(seal(base + 1n), members.slice(0, 1));
      const weak = await rpcError(client(1).call("reveal_share", { certificate, previous: [forged.certificate] }));
      expect(weak.errorName).to.equal("INVALID_SIGNATURE");
      const { reveal } = (await client(1).call("reveal_share", { certificate, previous })) as { reveal: unknown };
      expect(reveal).to.be.an("object");
    });

    it("refuses a certificate with a duplicated or unsorted signer", async () => {
      const { certificate } = await signedSeal(seal(1n));
      const [a, b] = certificate.signatures as [string, string, string];
      const duplicated = await rpcError(
        client(1).call("reveal_share", { certificate: { ...certificate, signatures: [a, a, b] } }),
      );
      expect(duplicated.message).to.match(/ascend strictly/);
      const unsorted = await rpcError(
        client(1).call("reveal_share", {
          certificate: { ...certificate, signatures: [...certificate.signatures].reverse() },
        }),
      );
      expect(unsorted.message).to.match(/ascend strictly/);
    });

    it("refuses a certificate whose signatures were made for another height, root or deployment", async () => {
      const { certificate } = await signedSeal(seal(1n));
      const otherHeight = await rpcError(
        client(1).call("reveal_share", { certificate: { ...certificate, seal: { ...certificate.seal, height: "2" } } }),
      );
      expect(otherHeight.errorName).to.equal("INVALID_SIGNATURE");
      const otherRoot = await rpcError(
        client(1).call("reveal_share", {
          certificate: { ...certificate, seal: { ...certificate.seal, encRoot: toBeHex(9n, 32) } },
        }),
      );
      expect(otherRoot.errorName).to.equal("INVALID_SIGNATURE");
      const foreignDomain = veilDomain(domain.chainId + 1n, domain.verifyingContract);
      const elsewhere = await rpcError(
        client(1).call("reveal_share", await signedSeal(seal(1n), undefined, foreignDomain)),
      );
      expect(elsewhere.errorName).to.equal("INVALID_SIGNATURE");
      const otherRollup = await rpcError(client(1).call("reveal_share", await signedSeal(seal(1n, 0, OTHER_ROLLUP))));
      expect(otherRollup.errorName).to.equal("UNKNOWN_ROLLUP");
    });

    it("refuses a malformed or forged signature", async () => {
      const { certificate } = await signedSeal(seal(1n));
      const forged = [...certificate.signatures];
      forged[0] = `0x${"ab".repeat(65)}`;
      const garbage = await rpcError(
        client(1).call("reveal_share", { certificate: { ...certificate, signatures: forged } }),
      );
      expect(garbage.errorName).to.equal("INVALID_SIGNATURE");
      forged[0] = "0x1234";
      const short = await rpcError(
        client(1).call("reveal_share", { certificate: { ...certificate, signatures: forged } }),
      );
      expect(short.errorName).to.equal("INVALID_PARAMS");
    });

    it("refuses a height it never contributed to, even with a valid seal", async () => {
      const error = await rpcError(client(1).call("reveal_share", await signedSeal(seal(40n))));
      expect(error.errorName).to.equal("NOT_FOUND");
    });

    it("reveals against a seal certificate (any view), idempotently, and the share opens its contribution", async () => {
      const signed = await signedSeal(seal(2n, 1));
      const first = (await client(1).call("reveal_share", signed)) as { reveal: unknown; contribution: unknown };
      const again = await client(1).call("reveal_share", signed);
      expect(again).to.deep.equal(first);
      const published = (await client(1).call("get_round_key", round(2n))) as { contributions: unknown[] };
      const own = published.contributions
        .map((c) => contributionFromJson(c))
        .find((c) => c.generator === running.get(1)!.generator)!;
      expect(contributionToJson(own)).to.deep.equal(first.contribution);
      expect((await verifyReveal(params, own, shareRevealFromJson(first.reveal))).ok).to.equal(true);
    });
  });

  it("recovers the round secret from the reveals when every member answers", async () => {
    const signed = await signedSeal(seal(1n));
    await client(2).call("reveal_share", signed);
    await running.get(2)!.service.recovery({ rollupId: ROLLUP, height: 1n });
    const answer = (await until("round secret 1", () => client(2).call("get_round_secret", round(1n)))) as {
      roundKey: unknown;
      secretKey: string;
      evidence: { kind: string };
    };
    expect(answer.evidence.kind).to.equal("reveals");
    expect(isRoundSecret(roundKeyFromJson(answer.roundKey), BigInt(answer.secretKey))).to.equal(true);
  });

  it("with one member down, solves the puzzle and publishes a key whose Wesolowski proof verifies", async () => {
    const published = (await roundKeyOf(0, 3n)) as { roundKey: unknown };
    const key = roundKeyFromJson(published.roundKey);
    const unknown = await rpcError(client(0).call("get_round_secret", round(3n)));
    expect(unknown.errorName).to.equal("NOT_FOUND");
    await stop(2);
    await client(0).call("reveal_share", await signedSeal(seal(3n)));
    await running.get(0)!.service.recovery({ rollupId: ROLLUP, height: 3n });
    const answer = (await client(0).call("get_round_secret", round(3n))) as { secretKey: string; evidence: unknown };
    const secret = roundSecretFromJson({ secretKey: answer.secretKey, evidence: answer.evidence });
    expect(secret.evidence.kind).to.equal("solution");
    if (secret.evidence.kind !== "solution") return;
    expect((await verifySolution(params, key, secret.evidence.solution)).ok).to.equal(true);
    expect(isRoundSecret(key, secret.secretKey)).to.equal(true);

    // Member 1 had no solver: it accepts the published solution after checking it, and refuses a forgery.
    const forged = roundSecretToJson({
      secretKey: secret.secretKey,
      evidence: { kind: "solution", solution: { ...secret.evidence.solution, w: secret.evidence.solution.w + 1n } },
    });
    const refused = await rpcError(client(1).call("publish_round_secret", { ...round(3n), roundSecret: forged }));
    expect(refused.errorName).to.equal("INVALID_PROOF");
    const wrongKey = roundSecretToJson({ ...secret, secretKey: secret.secretKey + 1n });
    const refusedKey = await rpcError(client(1).call("publish_round_secret", { ...round(3n), roundSecret: wrongKey }));
    expect(refusedKey.errorName).to.equal("INVALID_PROOF");
    const accepted = await client(1).call("publish_round_secret", {
      ...round(3n),
      roundSecret: roundSecretToJson(secret),
    });
    expect(accepted).to.deep.equal({ accepted: true, path: "solution" });
    expect(((await client(1).call("get_round_secret", round(3n))) as { secretKey: string }).secretKey).to.equal(
      toHex(secret.secretKey),
    );
    await start(2);
  });

  it("the solve command recovers a sealed round from outside the committee and publishes it", async () => {
    const height = await until("a published height past the seals", async () => {
      const { from } = await running.get(0)!.service.window(ROLLUP);
      await client(0).call("get_round_key", round(from));
      await client(1).call("get_round_key", round(from));
      return from;
    });
    await stop(2);
    const signed = await signedSeal(seal(height));
    const sealFile = sealFileSchema.parse(signed.certificate);
    const result = await solveRound({
      url: `http://127.0.0.1:${ports[1]}`,
      certificate: sealFile,
      solve: true,
      publish: true,
      revealTimeoutMs: 2_000,
      log: silent,
    });
    expect(result.roundSecret.evidence.kind).to.equal("solution");
    expect(result.publishedTo).to.have.length(2);
    const key = roundKeyFromJson(
      ((await client(0).call("get_round_key", round(height))) as { roundKey: unknown }).roundKey,
    );
    expect(isRoundSecret(key, BigInt(result.roundSecret.secretKey))).to.equal(true);
    const served = (await client(1).call("get_round_secret", round(height))) as { secretKey: string };
    expect(served.secretKey).to.equal(result.roundSecret.secretKey);
    await expectRejection(
      solveRound({
        url: `http://127.0.0.1:${ports[1]}`,
        certificate: sealFile,
        solve: false,
        publish: false,
        revealTimeoutMs: 500,
        log: silent,
      }),
      /solver is off/,
    );
    await start(2);
  });

  describe("bad JSON-RPC input", () => {
    it("names the bad field of a malformed round", async () => {
      const error = await rpcError(client(0).call("get_round_key", { rollupId: "abc", height: "1" }));
      expect(error.errorName).to.equal("INVALID_PARAMS");
      expect(error.message).to.match(/rollupId/);
      const extra = await rpcError(client(0).call("get_round_key", { ...round(1n), junk: 1 }));
      expect(extra.message).to.match(/junk/);
      const negative = await rpcError(client(0).call("get_contribution", { rollupId: "77", height: -1 }));
      expect(negative.errorName).to.equal("INVALID_PARAMS");
    });

    it("answers malformed JSON, unknown methods and a malformed round secret with typed errors", async () => {
      const response = await fetch(`http://127.0.0.1:${ports[0]}/`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{not json",
      });
      const body = (await response.json()) as { error: { code: number } };
      expect(body.error.code).to.equal(-32700);
      const unknown = await rpcError(client(0).call("get_everything", {}));
      expect(unknown.errorName).to.equal("METHOD_NOT_FOUND");
      const secret = await rpcError(
        client(0).call("publish_round_secret", {
          ...round(1n),
          roundSecret: { secretKey: "0x1", evidence: { kind: "magic" } },
        }),
      );
      expect(secret.errorName).to.equal("INVALID_PARAMS");
      expect(secret.message).to.match(/roundSecret/);
    });

    it("serves /health and /metrics", async () => {
      const health = await fetch(`http://127.0.0.1:${ports[0]}/health`);
      expect(health.status).to.equal(200);
      const metrics = await (await fetch(`http://127.0.0.1:${ports[0]}/metrics`)).text();
      expect(metrics).to.match(/veil_keygen_round_keys_published_total/);
      expect(metrics).to.match(/veil_keygen_reveals_served_total/);
    });
  });

  it("lists its committee in registry order with the URLs it uses", async () => {
    const listed = (await client(0).call("get_committee", { rollupId: "77" })) as { address: string }[];
    expect(listed.map((m) => m.address)).to.deep.equal(committee.map((a) => getAddress(a)));
  });
});
