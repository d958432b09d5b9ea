import { expect } from "chai";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ethers } from "hardhat";
import { DEFAULT_CORE_PARAMS, insecureTestTimeLockPolicy, type CoreParams } from "../../sequencer/chain/core-params";
import { DeploymentMismatch, expectSlasher } from "../../sequencer/chain/deployment-check";
import { deployForNetwork, loadParams, readDeployment, writeDeployment } from "../../sequencer/chain/deployment-record";
import { loadBigMath } from "../../sequencer/crypto/timelock/bigmath";
import { RSA_2048_MODULUS } from "../../sequencer/crypto/timelock/modulus";
import { generateTestOnlyModulus } from "../../sequencer/crypto/timelock/test-modulus";
import {
  ClusterRegistry__factory,
  ForcedInclusionInbox__factory,
  TxValidityVerifier__factory,
  ValidationServiceManager__factory,
} from "../../typechain-types";

/** Deploys as veil:deploy does, with Ignition's journal in a fresh temporary folder. */
async function deploy(params: CoreParams) {
  const [deployer] = await ethers.getSigners();
  const ignitionDir = mkdtempSync(path.join(os.tmpdir(), "veil-ignition-"));
  return deployForNetwork(deployer!, params, { network: "hardhat", ignitionDir });
}

describe("the deployment (Ignition module ignition/modules/Veil.ts, sequencer/chain/deployment-record.ts)", () => {
  it("deploys the registry, the tx-validity verifier, the forced-inclusion inbox and the VSM wired together, and reports the EIP-712 domain", async () => {
    const d = await deploy(DEFAULT_CORE_PARAMS);
    const [deployer] = await ethers.getSigners();
    const registry = ClusterRegistry__factory.connect(d.contracts.ClusterRegistry!, deployer);
    const vsm = ValidationServiceManager__factory.connect(d.contracts.ValidationServiceManager!, deployer);
    expect(await registry.slasher()).to.equal(d.contracts.ValidationServiceManager);
    expect(await vsm.registry()).to.equal(d.contracts.ClusterRegistry);
    expect(await vsm.challengeWindow()).to.equal(DEFAULT_CORE_PARAMS.challengeWindow);
    expect(d.eip712Domain.verifyingContract).to.equal(d.contracts.ValidationServiceManager);
    const inbox = ForcedInclusionInbox__factory.connect(d.contracts.ForcedInclusionInbox!, deployer);
    expect(await inbox.verifier()).to.equal(d.contracts.TxValidityVerifier);
    expect(await inbox.registry()).to.equal(d.contracts.ClusterRegistry);
    expect(await inbox.submissionFee()).to.equal(BigInt(d.forcedInclusion.fee));
    const verifier = TxValidityVerifier__factory.connect(d.contracts.TxValidityVerifier!, deployer);
    expect(await verifier.GROTH16()).to.equal(d.contracts.TxValidityGroth16Verifier);
    expect(await ethers.provider.getCode(d.contracts.TxValidityGroth16Verifier!)).to.not.equal("0x");
    expect(d.params.quorumBps).to.equal("6666");
    // The deploy block is the block of the deployment's first transaction: no contract exists before it.
    expect(await ethers.provider.getCode(d.contracts.ClusterRegistry!, d.deployBlock - 1)).to.equal("0x");
    expect(await ethers.provider.getCode(d.contracts.ClusterRegistry!, d.deployBlock)).to.not.equal("0x");
    expect(d.ignitionDeploymentId).to.equal("chain-31337");
    // The production time-lock: RSA-2048 only, and T from the sizing rule (13 s against 35M squarings/s).
    expect(await registry.insecureTestModulus()).to.equal(false);
    expect(await registry.minTimeLockSquarings()).to.equal(455_000_000n);
    expect(d.timeLock).to.deep.equal({
      modulus: "RSA-2048",
      modulusHash: await registry.RSA_2048_MODULUS_HASH(),
      minSquarings: "455000000",
      attackerSeconds: 13,
    });
  });

  it("never deploys a test modulus, whatever the parameters say", async () => {
    const { N } = generateTestOnlyModulus(await loadBigMath(), 1024);
    for (const timeLock of [insecureTestTimeLockPolicy(N), { ...DEFAULT_CORE_PARAMS.timeLock, modulus: N }]) {
      await deploy({ ...DEFAULT_CORE_PARAMS, timeLock }).then(
        () => expect.fail("deployed a test modulus"),
        (e: Error) => expect(e.message).to.match(/only the RSA-2048 modulus/),
      );
    }
    // Nor can the configuration file name one: the modulus and the flag are not parameters at all.
    const dir = mkdtempSync(path.join(os.tmpdir(), "veil-deploy-"));
    for (const [name, body] of Object.entries({
      modulus: { timeLock: { modulus: "0x0b" } },
      flag: { insecureTestModulus: true },
      t: { timeLockDelay: { attackerSquaringsPerSecond: 1 } },
    })) {
      const file = path.join(dir, `${name}.json`);
      writeFileSync(file, JSON.stringify(body));
      expect(() => loadParams(file), name).to.throw();
    }
  });

  it("sizes the least T from the delay inputs of the configuration file", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "veil-deploy-"));
    const file = path.join(dir, "delay.json");
    writeFileSync(file, JSON.stringify({ timeLockDelay: { lookaheadHeights: 9, blockTimeMs: 12_000 } }));
    // (10 × 12 s + 1 × 3 s) × 35M/s
    expect(loadParams(file).timeLock).to.deep.equal({
      modulus: RSA_2048_MODULUS,
      minSquarings: 4_305_000_000n,
      insecureTestModulus: false,
    });
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

  it("resumes from Ignition's journal: a second run with the same journal deploys nothing new", async () => {
    const [deployer] = await ethers.getSigners();
    const ignitionDir = mkdtempSync(path.join(os.tmpdir(), "veil-ignition-"));
    const first = await deployForNetwork(deployer!, DEFAULT_CORE_PARAMS, { network: "hardhat", ignitionDir });
    const nonce = await ethers.provider.getTransactionCount(deployer!.address);
    const again = await deployForNetwork(deployer!, DEFAULT_CORE_PARAMS, { network: "hardhat", ignitionDir });
    expect(again.contracts).to.deep.equal(first.contracts);
    expect(again.deployBlock).to.equal(first.deployBlock);
    expect(await ethers.provider.getTransactionCount(deployer!.address), "no transaction sent").to.equal(nonce);
  });

  it("writes a record that reads back, and refuses a record with a missing or malformed address", async () => {
    const d = await deploy(DEFAULT_CORE_PARAMS);
    const dir = mkdtempSync(path.join(os.tmpdir(), "veil-record-"));
    const file = writeDeployment(d, path.join(dir, "hardhat.json"));
    expect(readDeployment(file).contracts).to.deep.equal(d.contracts);
    const { ForcedInclusionInbox: _dropped, ...partial } = d.contracts;
    writeFileSync(file, JSON.stringify({ ...d, contracts: partial }));
    expect(() => readDeployment(file)).to.throw(/contracts\.ForcedInclusionInbox/);
    writeFileSync(file, JSON.stringify({ ...d, contracts: { ...d.contracts, ClusterRegistry: "0x1234" } }));
    expect(() => readDeployment(file)).to.throw(/contracts\.ClusterRegistry: an address/);
    expect(() => readDeployment(path.join(dir, "absent.json"))).to.throw(/cannot read the deployment record/);
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
