/**
 * The testnet path of docs/deploy.md, end to end, against a `hardhat node` used as if it were a remote
 * network: every step is its own `npx hardhat <task> --network remote` process, with the RPC URL and each
 * role's key in Hardhat configuration variables (HARDHAT_VAR_*), signing locally as it would on a testnet.
 * Deploy (Ignition), create a cluster, three members join, an operator registers and stakes, the cluster
 * owner approves a rollup, the rollup owner registers it with its committee and the time-lock fields that
 * `veil timelock setup` computed. Then the chain is read back, and the refusals are checked.
 */
import { expect } from "chai";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { HDNodeWallet, JsonRpcProvider, Mnemonic, getAddress, parseEther } from "ethers";
import { mineUntilMembers } from "../../sequencer/chain/deploy";
import { deploymentFile, readDeployment } from "../../sequencer/chain/deployment-record";
import { startL1, type L1 } from "../../scripts/devnet/l1";
import { freePort } from "../../scripts/devnet/net";
import { ClusterRegistry__factory, ValidationServiceManager__factory } from "../../typechain-types";

const ROOT = path.join(__dirname, "..", "..");
const HARDHAT = path.join(ROOT, "node_modules", "hardhat", "internal", "cli", "bootstrap.js");
const CLI = path.join(ROOT, "sequencer", "cli.ts");
/** The accounts a `hardhat node` funds, from Hardhat's default mnemonic: each role gets its own. */
const MNEMONIC = Mnemonic.fromPhrase("test test test test test test test test test test test junk");
const account = (i: number) => HDNodeWallet.fromMnemonic(MNEMONIC, `m/44'/60'/0'/0/${i}`);
const [DEPLOYER, MEMBER_A, MEMBER_B, MEMBER_C, OPERATOR, ROLLUP_OWNER, EXECUTOR, KEYGEN_A, KEYGEN_B] = Array.from(
  { length: 9 },
  (_, i) => account(i),
);

interface Run {
  readonly code: number | null;
  readonly out: string;
}

function spawnAndWait(args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env } });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => child.on("exit", (code) => resolve({ code, out })));
}

describe("deploying to a remote network with the Hardhat tasks (docs/deploy.md)", function () {
  this.timeout(600_000);
  let l1: L1;
  let dir: string;
  let provider: JsonRpcProvider;
  const deploymentId = `test-remote-${process.pid}-${Date.now()}`;
  const record = deploymentFile("remote");
  let params: string;

  /** `npx hardhat <task> --network remote` as `who`. */
  const task = (who: HDNodeWallet | undefined, args: string[]) =>
    spawnAndWait([HARDHAT, ...args, "--network", "remote"], {
      HARDHAT_VAR_VEIL_REMOTE_RPC_URL: l1.url,
      ...(who === undefined ? {} : { HARDHAT_VAR_VEIL_L1_KEY: who.privateKey }),
    });
  const ok = async (who: HDNodeWallet | undefined, args: string[]): Promise<string> => {
    const { code, out } = await task(who, args);
    expect(code, `${args[0]} failed:\n${out}`).to.equal(0);
    return out;
  };
  const fails = async (who: HDNodeWallet | undefined, args: string[], reason: RegExp): Promise<void> => {
    const { code, out } = await task(who, args);
    expect(code, `${args[0]} succeeded:\n${out}`).to.not.equal(0);
    expect(out).to.match(reason);
  };

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "veil-remote-"));
    l1 = await startL1(await freePort(), path.join(dir, "l1.log"));
    provider = new JsonRpcProvider(l1.url, undefined, { staticNetwork: true });
  });
  after(async () => {
    provider?.destroy();
    await l1?.process.kill();
    rmSync(path.join(ROOT, "ignition", "deployments", deploymentId), { recursive: true, force: true });
    rmSync(record, { force: true });
  });

  it("deploys every contract with production parameters and records addresses, domain, parameters and block", async () => {
    // A least T of 35,000 squarings (1 ms of publication-to-seal time), so the test's setup takes a second.
    params = path.join(dir, "params.json");
    writeFileSync(
      params,
      JSON.stringify({ timeLockDelay: { lookaheadHeights: 0, blockTimeMs: 1, leaderTimeoutMs: 1, viewChanges: 0 } }),
    );
    const out = await ok(DEPLOYER, ["veil:deploy", "--params", params, "--deployment-id", deploymentId]);
    expect(out).to.match(/\[deploy\] confirmed Veil#ClusterRegistry\.setSlasher/);
    const d = readDeployment(record);
    expect(d.network).to.equal("remote");
    expect(d.deployer).to.equal(DEPLOYER!.address);
    for (const [name, address] of Object.entries(d.contracts)) {
      expect(await provider.getCode(address), name).to.not.equal("0x");
      expect(await provider.getCode(address, d.deployBlock - 1), `${name} before the deploy block`).to.equal("0x");
    }
    const registry = ClusterRegistry__factory.connect(d.contracts.ClusterRegistry, provider);
    expect(await registry.slasher()).to.equal(d.contracts.ValidationServiceManager);
    expect(await registry.insecureTestModulus()).to.equal(false);
    expect(await registry.minTimeLockSquarings()).to.equal(35_000n);
    expect(existsSync(path.join(ROOT, "ignition", "deployments", deploymentId, "journal.jsonl"))).to.equal(true);
  });

  it("a second veil:deploy with the same deployment id resumes from the journal: nothing sent, other parameters refused", async () => {
    const before = readDeployment(record);
    const nonce = await provider.getTransactionCount(DEPLOYER!.address);
    await ok(DEPLOYER, ["veil:deploy", "--params", params, "--deployment-id", deploymentId]);
    expect(readDeployment(record).contracts).to.deep.equal(before.contracts);
    expect(await provider.getTransactionCount(DEPLOYER!.address)).to.equal(nonce);
    // The defaults would change the registry's least T: Ignition refuses to reconcile the journal with them.
    await fails(
      DEPLOYER,
      ["veil:deploy", "--deployment-id", deploymentId],
      /RECONCILIATION_ERROR[\s\S]*ClusterRegistry/,
    );
    expect(await provider.getTransactionCount(DEPLOYER!.address)).to.equal(nonce);
  });

  it("sets up a cluster, its members, an operator and a rollup with its committee, each from its own account", async () => {
    const d = readDeployment(record);
    const registry = ClusterRegistry__factory.connect(d.contracts.ClusterRegistry, provider);
    const vsm = ValidationServiceManager__factory.connect(d.contracts.ValidationServiceManager, provider);

    const created = await ok(DEPLOYER, ["veil:create-cluster", "--bond", "1.5", "--max-members", "5"]);
    const clusterId = BigInt(/cluster (\d+) created/.exec(created)![1]!);
    const info = await registry.clusterInfo(clusterId);
    expect([info.owner, info.minBond, info.maxMembers]).to.deep.equal([DEPLOYER!.address, parseEther("1.5"), 5n]);

    for (const member of [MEMBER_A, MEMBER_B, MEMBER_C]) {
      await ok(member, ["veil:join", "--cluster", clusterId.toString()]);
    }
    await mineUntilMembers(registry, clusterId, 3, provider);
    expect(await registry.membersOf(clusterId)).to.deep.equal([
      MEMBER_A!.address,
      MEMBER_B!.address,
      MEMBER_C!.address,
    ]);

    await ok(OPERATOR, ["veil:register-operator", "--stake", "2"]);
    expect(await vsm.stakeOf(OPERATOR!.address)).to.equal(parseEther("2"));

    const timelock = path.join(dir, "timelock.json");
    const setup = await spawnAndWait(
      ["--import", "tsx", CLI, "timelock", "setup", "--squarings", "35000", "--out", timelock],
      {},
    );
    expect(setup.code, setup.out).to.equal(0);

    const rollup = ["--rollup", "42", "--cluster", clusterId.toString()];
    const registration = [
      "veil:register-rollup",
      ...rollup,
      "--executors",
      EXECUTOR!.address,
      "--key-generators",
      `${KEYGEN_B!.address},${KEYGEN_A!.address}`,
      "--timelock",
      timelock,
    ];
    // Not approved yet: the registry refuses it.
    await fails(ROLLUP_OWNER, registration, /RollupNotApproved|reverted/);
    await ok(DEPLOYER, ["veil:approve-rollup", ...rollup, "--owner", ROLLUP_OWNER!.address]);
    await ok(ROLLUP_OWNER, registration);
    expect(await registry.clusterOfRollup(42n)).to.equal(clusterId);
    const committee = [KEYGEN_A!.address, KEYGEN_B!.address].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
    expect((await registry.keyGeneratorsOf(42n)).map((a) => getAddress(a))).to.deep.equal(committee);
    expect(await registry.isExecutor(42n, EXECUTOR!.address)).to.equal(true);
  });

  it("refuses with the reason: a non-owner's approval, a bad argument, a foreign modulus, no account", async () => {
    // The cheapest attack: a member approves a rollup on a cluster it does not own.
    await fails(
      MEMBER_A,
      ["veil:approve-rollup", "--cluster", "1", "--rollup", "43", "--owner", MEMBER_A!.address],
      /Unauthorized|reverted/,
    );
    await fails(MEMBER_A, ["veil:join", "--cluster", "one"], /--cluster: cluster must be a non-negative integer/);
    await fails(DEPLOYER, ["veil:create-cluster", "--bond", "1 ETH"], /--bond: bond must be an amount of ETH/);
    const foreign = path.join(dir, "foreign.json");
    writeFileSync(
      foreign,
      JSON.stringify({
        timeLockSquarings: "35000",
        timeLockModulus: "0x0b",
        timeLockH: "0x02",
        timeLockHProof: "0x03",
      }),
    );
    await fails(
      ROLLUP_OWNER,
      [
        "veil:register-rollup",
        "--rollup",
        "44",
        "--cluster",
        "1",
        "--executors",
        EXECUTOR!.address,
        "--key-generators",
        KEYGEN_A!.address,
        "--timelock",
        foreign,
      ],
      /--timelock: its modulus is not the deployment's/,
    );
    await fails(undefined, ["veil:register-operator"], /has no account: set the configuration variable VEIL_L1_KEY/);
  });
});
