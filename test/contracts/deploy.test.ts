import { expect } from "chai";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ethers } from "hardhat";
import { deploy, loadParams } from "../../scripts/deploy";
import { DEFAULT_CORE_PARAMS, DeploymentMismatch, expectSlasher } from "../../sequencer/chain/deploy";
import { ClusterRegistry__factory, ValidationServiceManager__factory } from "../../typechain-types";

describe("scripts/deploy.ts", () => {
  it("deploys the verifier, the registry and the VSM wired together, and reports the EIP-712 domain", async () => {
    const d = await deploy(DEFAULT_CORE_PARAMS);
    const [deployer] = await ethers.getSigners();
    const registry = ClusterRegistry__factory.connect(d.contracts.ClusterRegistry!, deployer);
    const vsm = ValidationServiceManager__factory.connect(d.contracts.ValidationServiceManager!, deployer);
    expect(await registry.slasher()).to.equal(d.contracts.ValidationServiceManager);
    expect(await vsm.registry()).to.equal(d.contracts.ClusterRegistry);
    expect(await vsm.challengeWindow()).to.equal(DEFAULT_CORE_PARAMS.challengeWindow);
    expect(d.eip712Domain.verifyingContract).to.equal(d.contracts.ValidationServiceManager);
    expect(await ethers.provider.getCode(d.contracts.PoseidonCommitmentVerifier!)).to.not.equal("0x");
    expect(d.params.quorumBps).to.equal("6666");
  });

  it("reads overrides from a JSON file and rejects unknown or malformed keys", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "veil-deploy-"));
    const good = path.join(dir, "good.json");
    writeFileSync(good, JSON.stringify({ quorumBps: 7500, challengeWindow: "100" }));
    expect(loadParams(good)).to.deep.equal({ ...DEFAULT_CORE_PARAMS, quorumBps: 7500n, challengeWindow: 100n });
    expect(loadParams(undefined)).to.equal(DEFAULT_CORE_PARAMS);
    const unknown = path.join(dir, "unknown.json");
    writeFileSync(unknown, JSON.stringify({ quorum: 1 }));
    expect(() => loadParams(unknown)).to.throw();
    const negative = path.join(dir, "negative.json");
    writeFileSync(negative, JSON.stringify({ quorumBps: -1 }));
    expect(() => loadParams(negative)).to.throw();
  });

  it("expectSlasher: a process accepts only the VSM that can slash the registry's bonds", async () => {
    const d = await deploy(DEFAULT_CORE_PARAMS);
    const [deployer] = await ethers.getSigners();
    const slasher = await ClusterRegistry__factory.connect(d.contracts.ClusterRegistry!, deployer).slasher();
    expect(() => expectSlasher(slasher, d.contracts.ValidationServiceManager!.toLowerCase())).to.not.throw();
    expect(() => expectSlasher(slasher, d.contracts.ClusterRegistry!)).to.throw(DeploymentMismatch, /slasher is/);
    expect(() => expectSlasher(ethers.ZeroAddress, d.contracts.ValidationServiceManager!)).to.throw(
      DeploymentMismatch,
      /no slasher/,
    );
  });
});
