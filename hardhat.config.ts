import "@nomicfoundation/hardhat-toolbox";
import { subtask, vars } from "hardhat/config";
import { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } from "hardhat/builtin-tasks/task-names";
import type { HardhatUserConfig } from "hardhat/types";
import { readFileSync } from "node:fs";
import path from "node:path";
import "./tasks/veil";

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

/**
 * The L1s beyond the in-process one, from Hardhat configuration variables (`npx hardhat vars set NAME`, or HARDHAT_VAR_NAME in the
 * environment), never from the repository: a network exists once its RPC URL is set, and signs with the
 * key in VEIL_L1_KEY (each role's own account: deployer, cluster owner, member, operator). `remote` is any
 * chain at VEIL_REMOTE_RPC_URL; the tests use it against a local `hardhat node` (docs/deploy.md). The
 * explorer key for `npx hardhat ignition verify` is ETHERSCAN_API_KEY.
 */
function l1Networks(): NonNullable<HardhatUserConfig["networks"]> {
  const accounts = vars.has("VEIL_L1_KEY") ? [vars.get("VEIL_L1_KEY")] : [];
  // A local `hardhat node` signs with its own funded accounts unless a key is set.
  const networks: NonNullable<HardhatUserConfig["networks"]> = {
    localhost: { url: "http://127.0.0.1:8545", ...(accounts.length > 0 ? { accounts } : {}) },
  };
  const remotes = {
    sepolia: ["SEPOLIA_RPC_URL", 11_155_111],
    holesky: ["HOLESKY_RPC_URL", 17_000],
    remote: ["VEIL_REMOTE_RPC_URL"],
  };
  for (const [name, [urlVariable, chainId]] of Object.entries(remotes) as [string, [string, number?]][]) {
    if (!vars.has(urlVariable)) continue;
    networks[name] = { url: vars.get(urlVariable), accounts, ...(chainId === undefined ? {} : { chainId }) };
  }
  return networks;
}

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
    ...l1Networks(),
  },
  etherscan: { apiKey: vars.get("ETHERSCAN_API_KEY", "") },
  sourcify: { enabled: false },
};

export default config;
