import "@nomicfoundation/hardhat-toolbox";
import { subtask } from "hardhat/config";
import { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } from "hardhat/builtin-tasks/task-names";
import type { HardhatUserConfig } from "hardhat/types";
import { readFileSync } from "node:fs";
import path from "node:path";

/**
 * The one Solidity version of the project. It must equal the exact version of the `solc` npm
 * package in package.json: this machine cannot download compilers, so Hardhat is pointed at the
 * package's soljson.js instead of its usual download.
 */
export const SOLIDITY_VERSION = "0.8.28";

subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, (args: { solcVersion: string }) => {
  const solcPackage = JSON.parse(
    readFileSync(path.join(path.dirname(require.resolve("solc/package.json")), "package.json"), "utf8"),
  ) as { version: string };
  if (args.solcVersion !== solcPackage.version) {
    throw new Error(
      `Solidity ${args.solcVersion} was requested but the installed solc npm package is ${solcPackage.version}. ` +
        `Set SOLIDITY_VERSION in hardhat.config.ts and the exact "solc" version in package.json to the same value, then run npm install.`,
    );
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const solc = require("solc") as { version(): string };
  return Promise.resolve({
    compilerPath: require.resolve("solc/soljson.js"),
    isSolcJs: true,
    version: args.solcVersion,
    longVersion: solc.version().replace(/\.Emscripten\.clang$/, ""),
  });
});

const config: HardhatUserConfig = {
  solidity: {
    version: SOLIDITY_VERSION,
    settings: {
      evmVersion: "cancun",
      optimizer: { enabled: true, runs: 10_000 },
    },
  },
  paths: {
    sources: "./contracts",
    tests: "./test",
    cache: "./cache",
    artifacts: "./artifacts",
  },
  typechain: {
    outDir: "typechain-types",
    target: "ethers-v6",
  },
  mocha: {
    timeout: 600_000,
  },
  gasReporter: {
    enabled: process.env.REPORT_GAS === "true",
  },
  networks: {
    hardhat: {},
    localhost: { url: process.env.L1_RPC_URL ?? "http://127.0.0.1:8545" },
  },
};

export default config;
