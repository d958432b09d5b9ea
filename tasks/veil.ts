/**
 * Hardhat tasks that deploy Veil and set it up on any network of the Hardhat configuration, each from the
 * network's configured account (the account that must take the step: cluster owner, member, rollup owner,
 * operator):
 *
 *   veil:deploy             the Ignition module, then deployments/<network>.json
 *   veil:create-cluster     a cluster owned by the account
 *   veil:join               the account joins a cluster with its bond
 *   veil:approve-rollup     the cluster owner lets a rollup owner register a rollup on the cluster
 *   veil:register-rollup    the rollup, its executors and key-generator committee, its time-lock fields
 *   veil:register-operator  the account becomes a VSM operator with its stake
 *
 * Every task but veil:deploy reads the addresses from the deployment record. This file is loaded with the
 * Hardhat configuration, before anything is compiled: the task bodies load their code when they run.
 */
/* eslint-disable @typescript-eslint/no-require-imports, @typescript-eslint/consistent-type-imports -- task code loads when the task runs (see above) */
import { task } from "hardhat/config";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { z } from "zod";

const chain = () => require("../sequencer/chain/admin") as typeof import("../sequencer/chain/admin");
const records = () =>
  require("../sequencer/chain/deployment-record") as typeof import("../sequencer/chain/deployment-record");
const bindings = () => require("../typechain-types") as typeof import("../typechain-types");

const uint = (what: string) =>
  z
    .string()
    .regex(/^[0-9]+$/, `${what} must be a non-negative integer`)
    .transform((v) => BigInt(v));
const ether = (what: string) =>
  z
    .string()
    .regex(/^[0-9]+(\.[0-9]{1,18})?$/, `${what} must be an amount of ETH, such as 1 or 0.5`)
    .transform((v) => (require("ethers") as typeof import("ethers")).parseEther(v));
const addressList = (what: string) =>
  z
    .string()
    .transform((v) => v.split(",").map((a) => a.trim()))
    .pipe(z.array(z.string().regex(/^0x[0-9a-fA-F]{40}$/, `${what} must be comma-separated addresses`)).min(1));

/** Parses a task argument with `schema`, failing with the argument's name and the reason. */
function arg<T>(schema: z.ZodType<T>, value: unknown, name: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new Error(`--${name}: ${parsed.error.issues[0]!.message}`);
}

async function account(hre: HardhatRuntimeEnvironment) {
  const [signer] = await hre.ethers.getSigners();
  if (signer === undefined) {
    throw new Error(
      `network ${hre.network.name} has no account: set the configuration variable VEIL_L1_KEY (docs/deploy.md)`,
    );
  }
  return signer;
}

/** The deployment's contracts, connected to the network's account. */
async function deployed(hre: HardhatRuntimeEnvironment, file: string | undefined) {
  const record = records().readDeployment(file ?? records().deploymentFile(hre.network.name));
  const { chainId } = await hre.ethers.provider.getNetwork();
  if (BigInt(record.chainId) !== chainId) {
    throw new Error(
      `the deployment record is for chain ${record.chainId}, but ${hre.network.name} is chain ${chainId}`,
    );
  }
  const signer = await account(hre);
  const { ClusterRegistry__factory, ValidationServiceManager__factory } = bindings();
  return {
    signer,
    registry: ClusterRegistry__factory.connect(record.contracts.ClusterRegistry, signer),
    vsm: ValidationServiceManager__factory.connect(record.contracts.ValidationServiceManager, signer),
  };
}

const formatEther = (wei: bigint) => (require("ethers") as typeof import("ethers")).formatEther(wei);

task("veil:deploy", "Deploy Veil's contracts with the Ignition module and write deployments/<network>.json")
  .addOptionalParam("params", "JSON file overriding the deployment parameters (docs/deploy.md)")
  .addOptionalParam("deploymentId", "Ignition deployment id (default chain-<chainId>); a rerun resumes it")
  .setAction(async (args: { params?: string; deploymentId?: string }, hre) => {
    const { deployForNetwork, loadParams, writeDeployment } = records();
    const params = loadParams(args.params);
    const deployment = await deployForNetwork(await account(hre), params, {
      network: hre.network.name,
      ...(args.deploymentId === undefined ? {} : { deploymentId: args.deploymentId }),
      onProgress: (line) => console.log(`[deploy] ${line}`),
    });
    for (const [name, address] of Object.entries(deployment.contracts)) console.log(`${name}: ${address}`);
    console.log(`deploy block: ${deployment.deployBlock}`);
    console.log(`record written to ${writeDeployment(deployment)}`);
    console.log(`verify on the explorer: npx hardhat ignition verify ${deployment.ignitionDeploymentId}`);
    return deployment;
  });

task("veil:create-cluster", "Create a cluster owned by the network's account")
  .addParam("bond", "the bond each member locks, in ETH (at least the deployment's minimum)")
  .addOptionalParam("maxMembers", "the most members the cluster takes", "8")
  .addOptionalParam("deployment", "the deployment record (default deployments/<network>.json)")
  .setAction(async (args: { bond: string; maxMembers: string; deployment?: string }, hre) => {
    const minBond = arg(ether("bond"), args.bond, "bond");
    const maxMembers = Number(arg(uint("max-members"), args.maxMembers, "max-members"));
    const { registry, signer } = await deployed(hre, args.deployment);
    const clusterId = await chain().createCluster(registry, { minBond, maxMembers });
    console.log(
      `cluster ${clusterId} created by ${signer.address}: bond ${formatEther(minBond)} ETH, ${maxMembers} members at most`,
    );
    return clusterId;
  });

task("veil:join", "Join a cluster with the network's account, locking its bond")
  .addParam("cluster", "the cluster id")
  .addOptionalParam("bond", "the bond in ETH (default: the cluster's minimum)")
  .addOptionalParam("deployment", "the deployment record (default deployments/<network>.json)")
  .setAction(async (args: { cluster: string; bond?: string; deployment?: string }, hre) => {
    const clusterId = arg(uint("cluster"), args.cluster, "cluster");
    const bond = args.bond === undefined ? undefined : arg(ether("bond"), args.bond, "bond");
    const { registry, signer } = await deployed(hre, args.deployment);
    const locked = await chain().joinCluster(registry, clusterId, bond);
    const epoch = await registry.currentEpoch();
    console.log(
      `${signer.address} joined cluster ${clusterId} with ${formatEther(locked)} ETH; its seat counts from a later epoch (now ${epoch})`,
    );
  });

task("veil:approve-rollup", "As the cluster's owner, let an account register a rollup on the cluster")
  .addParam("cluster", "the cluster id")
  .addParam("rollup", "the rollup id")
  .addParam("owner", "the address that will register the rollup")
  .addOptionalParam("deployment", "the deployment record (default deployments/<network>.json)")
  .setAction(async (args: { cluster: string; rollup: string; owner: string; deployment?: string }, hre) => {
    const clusterId = arg(uint("cluster"), args.cluster, "cluster");
    const rollupId = arg(uint("rollup"), args.rollup, "rollup");
    const [owner] = arg(addressList("owner"), args.owner, "owner");
    const { registry } = await deployed(hre, args.deployment);
    await chain().approveRollup(registry, clusterId, rollupId, owner!);
    console.log(`rollup ${rollupId} may be registered on cluster ${clusterId} by ${owner}`);
  });

const timelockFile = z.strictObject({
  timeLockSquarings: z.union([z.string().regex(/^[0-9]+$/), z.number().int().positive()]),
  timeLockModulus: z.string().regex(/^0x[0-9a-fA-F]+$/),
  timeLockH: z.string().regex(/^0x[0-9a-fA-F]+$/),
  timeLockHProof: z.string().regex(/^0x[0-9a-fA-F]+$/),
});

task("veil:register-rollup", "Register a rollup (approved by its cluster's owner) from the network's account")
  .addParam("rollup", "the rollup id")
  .addParam("cluster", "the cluster that orders it")
  .addParam("executors", "comma-separated addresses allowed to request blocks and post them")
  .addParam("keyGenerators", "comma-separated addresses of the key-generator committee")
  .addParam("timelock", "the JSON that `veil timelock setup --out <file>` wrote (docs/round-keys.md)")
  .addOptionalParam("maxTxsPerBlock", "the most transactions a block holds", "65536")
  .addOptionalParam("blockGasLimit", "the rollup's block gas limit", "30000000")
  .addOptionalParam("minContributors", "contributions a round key needs beyond the committee's", "0")
  .addOptionalParam("deployment", "the deployment record (default deployments/<network>.json)")
  .setAction(
    async (
      args: {
        rollup: string;
        cluster: string;
        executors: string;
        keyGenerators: string;
        timelock: string;
        maxTxsPerBlock: string;
        blockGasLimit: string;
        minContributors: string;
        deployment?: string;
      },
      hre,
    ) => {
      const { readFileSync } = require("node:fs") as typeof import("node:fs");
      const { keccak256 } = require("ethers") as typeof import("ethers");
      const { timelockParams } =
        require("../sequencer/crypto/timelock/params") as typeof import("../sequencer/crypto/timelock/params");
      const rollupId = arg(uint("rollup"), args.rollup, "rollup");
      const clusterId = arg(uint("cluster"), args.cluster, "cluster");
      const executors = arg(addressList("executors"), args.executors, "executors");
      const keyGenerators = arg(addressList("key-generators"), args.keyGenerators, "key-generators");
      let json: unknown;
      try {
        json = JSON.parse(readFileSync(args.timelock, "utf8"));
      } catch (error) {
        throw new Error(`--timelock: cannot read ${args.timelock}: ${(error as Error).message}`, { cause: error });
      }
      const fields = arg(timelockFile, json, "timelock");
      const { registry } = await deployed(hre, args.deployment);
      // What the registry would refuse, refused here with the reason, before any gas is spent.
      if (keccak256(fields.timeLockModulus) !== (await registry.timeLockModulusHash())) {
        throw new Error("--timelock: its modulus is not the deployment's (run veil timelock setup with its modulus)");
      }
      const T = BigInt(fields.timeLockSquarings);
      const least = await registry.minTimeLockSquarings();
      if (T < least) throw new Error(`--timelock: T = ${T} is below the deployment's least T, ${least}`);
      // Checks h against its proof: a wrong h would make every round key of the rollup unopenable.
      const timelock = await timelockParams({
        N: BigInt(fields.timeLockModulus),
        T: Number(T),
        h: BigInt(fields.timeLockH),
        hProof: BigInt(fields.timeLockHProof),
      });
      await chain().registerRollup(registry, {
        rollupId,
        clusterId,
        timelock,
        executors,
        keyGenerators,
        maxTxsPerBlock: Number(arg(uint("max-txs-per-block"), args.maxTxsPerBlock, "max-txs-per-block")),
        blockGasLimit: arg(uint("block-gas-limit"), args.blockGasLimit, "block-gas-limit"),
        minContributors: Number(arg(uint("min-contributors"), args.minContributors, "min-contributors")),
      });
      console.log(
        `rollup ${rollupId} registered on cluster ${clusterId}: ${executors.length} executor(s), ${keyGenerators.length} key generator(s), T = ${T}`,
      );
    },
  );

task("veil:register-operator", "Register the network's account as a validation operator, with its stake")
  .addOptionalParam("stake", "the stake in ETH (default: the deployment's minimum)")
  .addOptionalParam("deployment", "the deployment record (default deployments/<network>.json)")
  .setAction(async (args: { stake?: string; deployment?: string }, hre) => {
    const stake = args.stake === undefined ? undefined : arg(ether("stake"), args.stake, "stake");
    const { vsm, signer } = await deployed(hre, args.deployment);
    const staked = await chain().registerOperator(vsm, stake);
    console.log(`${signer.address} is an operator with ${formatEther(staked)} ETH staked`);
  });
