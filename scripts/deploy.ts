/**
 * Deploys Veil's contracts to the selected Hardhat network and records their addresses in
 * deployments/<network>.json. Run with `npx hardhat run scripts/deploy.ts --network localhost`.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import hre, { ethers } from "hardhat";
import { PoseidonCommitmentVerifier__factory } from "../typechain-types";

export interface Deployment {
  readonly network: string;
  readonly chainId: number;
  readonly deployer: string;
  readonly contracts: Record<string, string>;
}

export async function deploy(): Promise<Deployment> {
  const [deployer] = await ethers.getSigners();
  if (!deployer) throw new Error("no deployer account on this network");
  const commitmentVerifier = await new PoseidonCommitmentVerifier__factory(deployer).deploy();
  await commitmentVerifier.waitForDeployment();
  const { chainId } = await ethers.provider.getNetwork();
  return {
    network: hre.network.name,
    chainId: Number(chainId),
    deployer: deployer.address,
    contracts: { PoseidonCommitmentVerifier: await commitmentVerifier.getAddress() },
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
