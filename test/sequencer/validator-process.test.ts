import { certifySeal } from "../../sequencer/chain/certificate";
/**
 * Validators as processes (startValidator) in a real in-process world: core contracts on Hardhat's
 * chain with 3 staked operators (quorum 66.67%, so no validator settles a task alone), a 3-member
 * cluster of real nodes, a 2-member committee of real key generators (TEST-ONLY 1024-bit modulus,
 * T = 64) that the nodes take their round keys and secrets from. Raw transactions are ordered and
 * finalized (the leader seals, obtains the round secret, builds the block and creates its VSM task), and
 * the 3 validators settle the task through their JSON-RPC vote exchange.
 */
import { expect } from "chai";
import { Command } from "commander";
import { ethers } from "hardhat";
import { Wallet, parseEther, toBeHex } from "ethers";
import fc from "fast-check";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { deployCore, insecureTestTimeLockPolicy, mineUntilMembers } from "../../sequencer/chain/deploy";
import { timelockConfigFields } from "../../sequencer/chain/timelock-config";
import { setupTimelock } from "../../sequencer/crypto/timelock/params";
import { ConfigError } from "../../sequencer/config/layered";
import { signMessage, veilDomain, type VeilDomain } from "../../sequencer/chain/eip712";
import { loadBigMath } from "../../sequencer/crypto/timelock/bigmath";
import { generateTestOnlyModulus } from "../../sequencer/crypto/timelock/test-modulus";
import { parseKeygenConfig } from "../../sequencer/keygen/config";
import { startKeygen, type RunningKeygen } from "../../sequencer/keygen/keygen";
import { configSchema } from "../../sequencer/node/config";
import { startNode, type RunningNode } from "../../sequencer/node/node";
import { RpcRoundKeySource } from "../../sequencer/node/round-keys";
import { RpcClient, RpcTransportError } from "../../sequencer/rpc/client";
import { VEIL_ERRORS } from "../../sequencer/rpc/errors";
import { registerValidatorCommands } from "../../sequencer/validator/cli";
import { parseValidatorConfig, type ValidatorConfigInput } from "../../sequencer/validator/config";
import { startValidator, validatorStatusSchema, type RunningValidator } from "../../sequencer/validator/process";
import { MicroBatcher } from "../../sequencer/zk/micro-batcher";
import { Groth16VerifierPool } from "../../sequencer/zk/verifier";
import {
  ValidationServiceManager__factory,
  type ClusterRegistry,
  type ValidationServiceManager,
} from "../../typechain-types";
import { freePorts } from "../../scripts/devnet/net";
import { PARAMS } from "../contracts/fixture";
import { rejects } from "./cluster-harness";

const ROLLUP = 11n;
const L2_CHAIN_ID = 1011n;
const SQUARINGS = 64;
const PENDING = 1n;
const VALIDATED = 2n;
const silent = pino({ level: "silent" });

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A raw POST to `url`: the HTTP status and the parsed JSON body. */
async function post(url: string, body: string): Promise<{ status: number; json: unknown }> {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body });
  const text = await res.text();
  return { status: res.status, json: text === "" ? undefined : (JSON.parse(text) as unknown) };
}

describe("validator processes: a VSM task reaches quorum through the JSON-RPC vote exchange", function () {
  this.timeout(300_000);
  let dir: string;
  let registry: ClusterRegistry;
  let vsm: ValidationServiceManager;
  let domain: VeilDomain;
  let members: Wallet[];
  let operators: Wallet[];
  let executor: Wallet;
  let pool: Groth16VerifierPool;
  let batcher: MicroBatcher;
  const nodes: RunningNode[] = [];
  const keygens: RunningKeygen[] = [];
  const validators: (RunningValidator | undefined)[] = [];
  let nodePorts: number[];
  let keygenPorts: number[];
  let validatorPorts: number[];
  const url = (port: number): string => `http://127.0.0.1:${port}`;
  let taskId: string;

  const validatorConfig = (i: number, overrides: Partial<ValidatorConfigInput> = {}) =>
    parseValidatorConfig({
      validator: { signingKey: operators[i]!.privateKey },
      l1: {
        rpcUrl: "http://127.0.0.1:1",
        contracts: { clusterRegistry: registry.target as string, validationServiceManager: domain.verifyingContract },
      },
      node: { url: url(nodePorts[i]!) },
      keyGenerators: keygenPorts.map(url),
      peers: validatorPorts.filter((_, j) => j !== i).map(url),
      rollups: [{ rollupId: ROLLUP.toString(), chainId: L2_CHAIN_ID.toString() }],
      rpc: { port: validatorPorts[i], rateLimit: { enabled: false }, maxBodyBytes: 4_096 },
      storage: { votesPath: path.join(dir, `votes-${i}.jsonl`) },
      poll: { intervalMs: 100 },
      timeouts: { requestMs: 5_000, shutdownGraceMs: 100 },
      ...overrides,
    });
  const start = async (i: number): Promise<RunningValidator> => {
    const v = await startValidator(validatorConfig(i), silent, { provider: ethers.provider });
    validators[i] = v;
    return v;
  };

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "veil-validator-process-"));
    const ports = await freePorts(8);
    nodePorts = ports.slice(0, 3);
    keygenPorts = ports.slice(3, 5);
    validatorPorts = ports.slice(5, 8);
    const [deployer] = await ethers.getSigners();
    const { N } = generateTestOnlyModulus(await loadBigMath(), 1024);
    const timelock = await setupTimelock({ N, T: SQUARINGS });
    ({ registry, vsm } = await deployCore(deployer!, { ...PARAMS, timeLock: insecureTestTimeLockPolicy(N) }));
    const { chainId } = await ethers.provider.getNetwork();
    domain = veilDomain(chainId, await vsm.getAddress());
    const fund = async (w: Wallet): Promise<void> => {
      await (await deployer!.sendTransaction({ to: w.address, value: parseEther("10") })).wait();
    };
    const random = (): Wallet => Wallet.createRandom().connect(ethers.provider) as unknown as Wallet;
    members = [random(), random(), random()];
    operators = [random(), random(), random()];
    executor = random();
    for (const w of [...members, ...operators]) await fund(w);
    await (await registry.createCluster(parseEther("1"), 8)).wait();
    const clusterId = (await registry.nextClusterId()) - 1n;
    for (const m of members) await (await registry.connect(m).join(clusterId, { value: parseEther("1") })).wait();
    await mineUntilMembers(registry, clusterId, members.length, ethers.provider);
    const generators = [random(), random()].sort((a, b) => (BigInt(a.address) < BigInt(b.address) ? -1 : 1));
    await (await registry.approveRollup(clusterId, ROLLUP, deployer!.address)).wait();
    await (
      await registry.registerRollup(
        ROLLUP,
        {
          clusterId,
          maxTxsPerBlock: 4096,
          blockGasLimit: 30_000_000n,
          ...timelockConfigFields(timelock),
          minContributors: 0,
        },
        [executor.address],
        generators.map((g) => g.address),
      )
    ).wait();
    // The devnet's operator registration: each operator stakes at least minOperatorStake.
    for (const o of operators) await (await vsm.connect(o).registerOperator({ value: parseEther("2") })).wait();

    const contracts = {
      clusterRegistry: registry.target as string,
      validationServiceManager: domain.verifyingContract,
    };
    for (let i = 0; i < generators.length; i++) {
      const config = parseKeygenConfig({
        keygen: { signingKey: generators[i]!.privateKey },
        rollups: [ROLLUP.toString()],
        committee: generators.map((g, j) => ({ address: g.address, url: url(keygenPorts[j]!) })),
        schedule: { lookahead: 2, startHeight: 0, tickMs: 100, aggregationTimeoutMs: 5_000 },
        solver: { enabled: true, revealTimeoutMs: 2_000 },
        rpc: { port: keygenPorts[i], rateLimit: { enabled: false } },
        storage: { path: path.join(dir, `keygen-${i}`) },
        l1: { rpcUrl: "http://127.0.0.1:1", contracts },
        timeouts: { peerRequestMs: 2_000, shutdownGraceMs: 100 },
        log: { level: "silent" },
      });
      keygens.push(await startKeygen(config, silent, { runner: ethers.provider }));
    }
    pool = Groth16VerifierPool.forCircuit("tx_validity", { threads: 1 });
    batcher = new MicroBatcher(pool);
    for (let i = 0; i < members.length; i++) {
      const config = configSchema.parse({
        node: { signingKey: members[i]!.privateKey },
        cluster: { id: clusterId.toString(), peers: nodePorts.filter((_, j) => j !== i).map(url) },
        rpc: { port: nodePorts[i], rateLimit: { enabled: false } },
        storage: { path: path.join(dir, `node-${i}`) },
        l1: { rpcUrl: "http://127.0.0.1:1", contracts },
        timeouts: { peerRequestMs: 3_000 },
        keyGenerator: { url: url(keygenPorts[0]!) },
        blocks: { chainIds: { [ROLLUP.toString()]: L2_CHAIN_ID.toString() } },
      });
      nodes.push(
        await startNode(config, silent, {
          registry,
          chainId,
          roundKeySource: new RpcRoundKeySource(url(keygenPorts[0]!)),
          verifier: batcher,
        }),
      );
    }
    const client = new RpcClient(url(nodePorts[0]!), { timeoutMs: 20_000 });
    await waitFor("the cluster to be ready", async () => ((await nodes[0]!.health.report()).ready ? true : undefined));
    for (const i of [0, 1, 2]) await start(i);
    // Height 0: three signed L2 transfers, ordered by the cluster and sealed by the rollup's executor.
    const sender = Wallet.createRandom();
    for (let nonce = 0; nonce < 3; nonce++) {
      const rawTx = await sender.signTransaction({
        type: 2,
        chainId: L2_CHAIN_ID,
        nonce,
        to: operators[0]!.address,
        value: parseEther("0.01"),
        gasLimit: 21_000n,
        maxFeePerGas: 10n ** 9n,
        maxPriorityFeePerGas: 10n ** 9n,
      });
      await client.call("send_raw_transaction", { rollupId: ROLLUP.toString(), height: "0", rawTx });
    }
    const request = { rollupId: ROLLUP, height: 0n, deadline: BigInt(Math.floor(Date.now() / 1000) + 600) };
    // The leader seals, obtains the round secret from the key generators, builds the block and creates its VSM task.
    const finalized = (await client.call("finalize_block", {
      request: { rollupId: ROLLUP.toString(), height: "0", deadline: request.deadline.toString() },
      signature: await signMessage(executor, domain, "FinalizeRequest", request),
    })) as { block: { commitment: { txCount: number } } };
    expect(finalized.block.commitment.txCount).to.equal(3);
    taskId = await vsm.taskIdOf(ROLLUP, 0n);
    expect((await vsm.getTask(taskId)).status).to.not.equal(0n);
  });

  after(async () => {
    for (const v of validators) await v?.stop();
    for (const n of nodes) await n.stop();
    for (const k of keygens) await k.stop();
    await batcher?.close();
    await pool?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("refuses to start against a VSM that is not the registry's slasher (votes nobody could enforce)", async () => {
    // A second VSM over the same registry: it names the registry, but the registry's bonds are not its to slash.
    const [deployer] = await ethers.getSigners();
    const rogue = await new ValidationServiceManager__factory(deployer).deploy(
      registry.target,
      await vsm.inbox(),
      PARAMS.quorumBps,
      PARAMS.responseWindow,
      PARAMS.challengeWindow,
      PARAMS.operatorWithdrawalDelay,
      PARAMS.minOperatorStake,
      PARAMS.challengerRewardBps,
    );
    const config = validatorConfig(0);
    const misdirected = {
      ...config,
      l1: { ...config.l1, contracts: { ...config.l1.contracts, validationServiceManager: rogue.target as string } },
    };
    let refused: unknown;
    await startValidator(misdirected, silent, { provider: ethers.provider }).then(
      (v) => v.stop(),
      (error: unknown) => (refused = error),
    );
    expect(refused).to.be.instanceOf(ConfigError);
    expect((refused as Error).message).to.match(/the registry's slasher is .*, not the ValidationServiceManager/);
  });

  it("settles the task: approved on-chain by a stake quorum of votes exchanged over JSON-RPC", async () => {
    const status = await waitFor("the task to settle", async () => {
      const s = (await vsm.getTask(taskId)).status;
      return s === PENDING ? undefined : s;
    });
    expect(status).to.equal(VALIDATED);
    // Every validator voted approve, recorded its vote on disk and serves it to its peers.
    for (let i = 0; i < 3; i++) {
      const answer = await waitFor(`validator ${i}'s vote`, () =>
        new RpcClient(validators[i]!.url).call("get_task_response", { taskId }),
      );
      expect(answer).to.include({ taskId: taskId.toLowerCase(), approve: true, operator: operators[i]!.address });
      const file = path.join(dir, `votes-${i}.jsonl`);
      expect(existsSync(file) && readFileSync(file, "utf8")).to.contain(taskId.toLowerCase());
    }
    // The aggregate carried at least two operators' stake: one validator alone (1/3) cannot settle it.
    const [resolved] = await vsm.queryFilter(vsm.filters.TaskResolved(taskId));
    expect(resolved!.args.status).to.equal(VALIDATED);
    expect(resolved!.args.answerStake).to.be.at.least(parseEther("4"));
    expect(resolved!.args.totalStake).to.equal(parseEther("6"));
  });

  it("serves get_validator_status, /health (ready: L1 and node reachable) and /metrics", async () => {
    const v = validators[0]!;
    const status = await new RpcClient(v.url).call("get_validator_status", undefined, validatorStatusSchema);
    expect(status).to.include({ operator: operators[0]!.address, stake: parseEther("2").toString(), ready: true });
    expect(status.votes).to.equal(1);
    expect(status.peers).to.equal(2);
    expect(status.scannedThrough).to.be.greaterThan(0);
    expect(status.polls.completed).to.be.greaterThan(0);
    const health = await fetch(`${v.url}/health`);
    expect(health.status).to.equal(200);
    const report = (await health.json()) as { ready: boolean; checks: Record<string, { ok: boolean }> };
    expect(report.ready).to.equal(true);
    expect(report.checks.l1?.ok).to.equal(true);
    expect(report.checks.node?.ok).to.equal(true);
    const metrics = await (await fetch(`${v.url}/metrics`)).text();
    expect(metrics).to.match(/veil_validator_votes_total\{answer="approve",validator="0x[0-9a-fA-F]{40}"\} 1/);
    expect(metrics).to.match(/veil_validator_polls_total\{outcome="ok"/);
    expect(metrics).to.contain("veil_validator_scanned_block");
    expect(metrics).to.contain("veil_process_cpu_user_seconds_total");
    const methods = (await new RpcClient(v.url).call("rpc_methods")) as { name: string }[];
    expect(methods.map((m) => m.name)).to.have.members(["get_task_response", "get_validator_status", "rpc_methods"]);
  });

  it("validator status (CLI) prints the running validator's status", async () => {
    const program = new Command("veil").exitOverride();
    registerValidatorCommands(program);
    let out = "";
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = (chunk: string) => {
      out += chunk;
      return true;
    };
    try {
      await program.parseAsync(["validator", "status", "--url", validators[1]!.url], { from: "user" });
    } finally {
      process.stdout.write = write;
    }
    const status = validatorStatusSchema.parse(JSON.parse(out));
    expect(status.operator).to.equal(operators[1]!.address);
  });

  describe("get_task_response refuses bad input with a JSON-RPC error naming the field", () => {
    const call = (params: unknown) => new RpcClient(url(validatorPorts[2]!)).call("get_task_response", params as never);

    it("missing, mistyped, short, non-hex or extra params are INVALID_PARAMS", async () => {
      await rejects(call({}), "INVALID_PARAMS", /taskId/);
      await rejects(call({ taskId: 5 }), "INVALID_PARAMS", /taskId/);
      await rejects(call({ taskId: `0x${"ab".repeat(31)}` }), "INVALID_PARAMS", /taskId: must be a bytes32/);
      await rejects(call({ taskId: `0x${"zz".repeat(32)}` }), "INVALID_PARAMS", /taskId: must be a bytes32/);
      await rejects(call({ taskId, extra: 1 }), "INVALID_PARAMS", /unknown field "extra"/);
      await rejects(call({ taskId, commitmentHash: "0x12" }), "INVALID_PARAMS", /commitmentHash: must be a bytes32/);
      await rejects(call([taskId, 1]), "INVALID_PARAMS", /commitmentHash/);
      await rejects(call([taskId, taskId, 1]), "INVALID_PARAMS", /at most 2 positional/);
    });

    it("a task it never voted on is NOT_FOUND; a positional taskId is accepted", async () => {
      await rejects(call({ taskId: `0x${"00".repeat(32)}` }), "NOT_FOUND", /a response to task/);
      expect(await call([taskId])).to.include({ approve: true });
    });

    it("any string that is not a bytes32 is INVALID_PARAMS and the server keeps answering", async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.string({ maxLength: 80 }).filter((s) => !/^0x[0-9a-fA-F]{64}$/.test(s)),
          async (s) => {
            await rejects(call({ taskId: s }), "INVALID_PARAMS", /taskId/);
          },
        ),
        { numRuns: 30 },
      );
      expect(await call({ taskId })).to.include({ approve: true });
    });

    it("malformed JSON, a wrong envelope and an oversize body get their errors", async () => {
      const endpoint = url(validatorPorts[2]!);
      const bad = await post(endpoint, "{not json");
      expect(bad.json).to.nested.include({ "error.code": -32700 });
      const envelope = await post(endpoint, JSON.stringify({ jsonrpc: "1.0", id: 1, method: "get_task_response" }));
      expect(envelope.json).to.nested.include({ "error.code": -32600 });
      const huge = await post(
        endpoint,
        JSON.stringify({ jsonrpc: "2.0", id: 1, method: "get_task_response", params: { taskId: "x".repeat(8_000) } }),
      );
      expect(huge.status).to.equal(413);
      expect(huge.json).to.nested.include({ "error.code": VEIL_ERRORS.PAYLOAD_TOO_LARGE });
    });
  });

  it("keeps its vote across a restart and serves the same signature", async () => {
    const before = await new RpcClient(validators[0]!.url).call("get_task_response", { taskId });
    await validators[0]!.stop();
    let down: unknown;
    await new RpcClient(url(validatorPorts[0]!), { timeoutMs: 1_000 }).call("rpc_methods").catch((e: unknown) => {
      down = e;
    });
    expect(down).to.be.instanceOf(RpcTransportError);
    const restarted = await start(0);
    expect(await new RpcClient(restarted.url).call("get_task_response", { taskId })).to.deep.equal(before);
  });

  it("reports not ready (503) while its node is unreachable, and stays live", async () => {
    const config = validatorConfig(0, {
      node: { url: "http://127.0.0.1:1" },
      rpc: { port: 0, rateLimit: { enabled: false } },
      storage: { votesPath: path.join(dir, "votes-orphan.jsonl") },
      peers: [],
    });
    const orphan = await startValidator(config, silent, { provider: ethers.provider });
    try {
      const health = await fetch(`${orphan.url}/health`);
      expect(health.status).to.equal(503);
      const report = (await health.json()) as { checks: Record<string, { ok: boolean }> };
      expect(report.checks.node?.ok).to.equal(false);
      expect(report.checks.l1?.ok).to.equal(true);
      expect((await fetch(`${orphan.url}/health/live`)).status).to.equal(200);
    } finally {
      await orphan.stop();
    }
  });

  it("scans TaskCreated logs in windows of poll.maxBlockRange without skipping a block", async () => {
    const latest = await ethers.provider.getBlockNumber();
    const config = validatorConfig(1, {
      rpc: { port: 0, rateLimit: { enabled: false } },
      storage: { votesPath: path.join(dir, "votes-narrow.jsonl") },
      poll: { intervalMs: 50, maxBlockRange: 1 },
    });
    const narrow = await startValidator(config, silent, { provider: ethers.provider });
    try {
      const status = await waitFor("the scan to reach the head", async () => {
        const s = await new RpcClient(narrow.url).call("get_validator_status", undefined, validatorStatusSchema);
        return s.scannedThrough >= latest && s.votes === 1 ? s : undefined;
      });
      expect(status.openTasks).to.equal(0);
      expect(await new RpcClient(narrow.url).call("get_task_response", { taskId })).to.include({ approve: true });
    } finally {
      await narrow.stop();
    }
  });

  it("retries a task it cannot check yet, and forgets it once the response window closed", async () => {
    const height = 3n;
    const [leaderAddress] = await registry.leaderOfRollup(ROLLUP, height, 0);
    const leader = members.find((m) => m.address === leaderAddress)!;
    const commitment = {
      rollupId: ROLLUP,
      height,
      txCount: 1,
      encRoot: toBeHex(1, 32),
      inboxBlock: 0n,
      forcedCount: 0,
      rawRoot: toBeHex(2, 32),
      viewNumber: 0,
    };
    const signature = await signMessage(leader, domain, "BlockCommitment", commitment);
    const { rawRoot: _raw, forcedCount: _forced, ...content } = commitment;
    const sealed = { ...content, epoch: Number(await registry.currentEpoch()) };
    const certificate = await certifySeal(members.slice(0, 2), domain, sealed);
    await (
      await vsm
        .connect(leader)
        .createNewTask(commitment, { seal: certificate.seal, signatures: [...certificate.signatures] }, signature)
    ).wait();
    const open = await vsm.taskIdOf(ROLLUP, height);
    const v = validators[2]!;
    const status = () => new RpcClient(v.url).call("get_validator_status", undefined, validatorStatusSchema);
    // Height 3 is not sealed: no vote (a fetch failure is not an answer), the task stays open.
    await waitFor("a failed fetch", async () =>
      /veil_validator_failures_total\{stage="fetch"[^}]*\} [1-9]/.test(await v.metricsRegistry.metrics())
        ? true
        : undefined,
    );
    expect((await status()).openTasks).to.equal(1);
    await rejects(new RpcClient(v.url).call("get_task_response", { taskId: open }), "NOT_FOUND");
    await ethers.provider.send("hardhat_mine", [toBeHex(PARAMS.responseWindow + 1n)]);
    await waitFor("the task to be forgotten", async () => ((await status()).openTasks === 0 ? true : undefined));
    expect((await vsm.getTask(open)).status).to.equal(PENDING);
    await rejects(new RpcClient(v.url).call("get_task_response", { taskId: open }), "NOT_FOUND");
  });

  describe("refuses to start on a deployment or vote store that does not fit, naming the field", () => {
    const startError = async (overrides: Partial<ValidatorConfigInput>): Promise<Error> => {
      const config = validatorConfig(0, { rpc: { port: 0 }, ...overrides });
      let error: unknown;
      await startValidator(config, silent, { provider: ethers.provider }).catch((e: unknown) => (error = e));
      expect(error).to.be.instanceOf(ConfigError);
      return error as Error;
    };
    const l1 = (clusterRegistry: string, validationServiceManager: string) => ({
      rpcUrl: "http://127.0.0.1:1",
      contracts: { clusterRegistry, validationServiceManager },
    });

    it("a VSM of another registry", async () => {
      const error = await startError({ l1: l1(operators[2]!.address, domain.verifyingContract) });
      expect(error.message).to.match(/l1\.contracts\.clusterRegistry: the VSM at .* belongs to the registry/);
    });

    it("an address without a VSM", async () => {
      const error = await startError({ l1: l1(registry.target as string, operators[2]!.address) });
      expect(error.message).to.match(/l1\.contracts\.validationServiceManager: no ValidationServiceManager at/);
    });

    it("a vote store with a corrupt record", async () => {
      const file = path.join(dir, "votes-corrupt.jsonl");
      writeFileSync(file, '{"taskId":"0x01"}\n');
      const error = await startError({ storage: { votesPath: file } });
      expect(error.message).to.match(/storage\.votesPath: vote store .* line 1 is not a vote record/);
    });
  });
});
