/**
 * Deploys Veil's contracts to the selected Hardhat network and records their addresses in
 * deployments/<network>.json. Run with `npx hardhat run scripts/deploy.ts --network localhost`.
 *
 * Parameters default to DEFAULT_CORE_PARAMS (sequencer/chain/deploy.ts); `VEIL_DEPLOY_CONFIG=file.json`
 * overrides any of them (integers as strings or numbers, validated before anything is deployed).
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import hre, { ethers } from "hardhat";
import { z } from "zod";
import { PoseidonCommitmentVerifier__factory } from "../typechain-types";
import { DEFAULT_CORE_PARAMS, deployCore, type CoreParams } from "../sequencer/chain/deploy";

export interface Deployment {
  readonly network: string;
  readonly chainId: number;
  readonly deployer: string;
  readonly contracts: Record<string, string>;
  /** The EIP-712 domain every Veil signature on this deployment uses. */
  readonly eip712Domain: { name: string; version: string; chainId: number; verifyingContract: string };
  readonly params: Record<keyof CoreParams, string>;
}

const integer = z.union([z.number().int().nonnegative(), z.string().regex(/^[0-9]+$/)]).transform((v) => BigInt(v));
const paramsSchema = z.strictObject({
  minimumBond: integer,
  memberWithdrawalDelay: integer,
  quorumBps: integer,
  responseWindow: integer,
  challengeWindow: integer,
  operatorWithdrawalDelay: integer,
  minOperatorStake: integer,
  challengerRewardBps: integer,
});

/** DEFAULT_CORE_PARAMS overridden by the JSON file named by VEIL_DEPLOY_CONFIG, if any. */
export function loadParams(file = process.env.VEIL_DEPLOY_CONFIG): CoreParams {
  if (!file) return DEFAULT_CORE_PARAMS;
  const overrides = paramsSchema.partial().parse(JSON.parse(readFileSync(file, "utf8")));
  return { ...DEFAULT_CORE_PARAMS, ...overrides };
}

export async function deploy(params: CoreParams = loadParams()): Promise<Deployment> {
  const [deployer] = await ethers.getSigners();
  if (!deployer) throw new Error("no deployer account on this network");
  const commitmentVerifier = await new PoseidonCommitmentVerifier__factory(deployer).deploy();
  await commitmentVerifier.waitForDeployment();
  const { registry, vsm } = await deployCore(deployer, params);
  const { chainId } = await ethers.provider.getNetwork();
  const vsmAddress = await vsm.getAddress();
  return {
    network: hre.network.name,
    chainId: Number(chainId),
    deployer: deployer.address,
    contracts: {
      PoseidonCommitmentVerifier: await commitmentVerifier.getAddress(),
      ClusterRegistry: await registry.getAddress(),
      ValidationServiceManager: vsmAddress,
    },
    eip712Domain: { name: "Veil", version: "1", chainId: Number(chainId), verifyingContract: vsmAddress },
    params: Object.fromEntries(Object.entries(params).map(([k, v]) => [k, String(v)])) as Record<
      keyof CoreParams,
      string
    >,
  };
}

export function deploymentFile(network: string): string {
  return path.join(__dirname, "..", "deployments", `${network}.json`);
}

if (require.main === module) {
  deploy()
    .then((deployment) => {
      const file = deploymentFile(deployment.network);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, `${JSON.stringify(deployment, null, 2)}\n`);
      for (const [name, address] of Object.entries(deployment.contracts)) console.log(`${name}: ${address}`);
      console.log(`addresses written to ${path.relative(process.cwd(), file)}`);
    })
    .catch((err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    });
}
