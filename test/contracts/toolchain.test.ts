import { expect } from "chai";
import hre from "hardhat";
import { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } from "hardhat/builtin-tasks/task-names";
import { SOLIDITY_VERSION } from "../../hardhat.config";

interface SolcBuild {
  compilerPath: string;
  isSolcJs: boolean;
  version: string;
  longVersion: string;
}

describe("offline Solidity toolchain", () => {
  it("resolves the configured compiler to the solc npm package's soljson.js", async () => {
    const build = (await hre.run(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, {
      quiet: true,
      solcVersion: SOLIDITY_VERSION,
    })) as SolcBuild;
    expect(build.isSolcJs).to.equal(true);
    expect(build.compilerPath).to.match(/node_modules\/solc\/soljson\.js$/);
    expect(build.longVersion).to.match(
      new RegExp(`^${SOLIDITY_VERSION.replace(/\./g, "\\.")}\\+commit\\.[0-9a-f]{8}$`),
    );
  });

  it("fails with instructions when a version other than the installed package is requested", async () => {
    const failure = await hre.run(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, { quiet: true, solcVersion: "0.8.19" }).then(
      () => undefined,
      (err: Error) => err,
    );
    expect(failure?.message).to.match(
      /Solidity 0\.8\.19 was requested but the installed solc npm package is .*package\.json/,
    );
  });
});
