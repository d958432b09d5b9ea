/**
 * The Hardhat config of the rollup's L2 node (not the L1): started with
 * `npx hardhat --config hardhat.l2.config.ts node --hostname 127.0.0.1 --port 8546`.
 *
 * The rollup operator executes every sequencer block as exactly one L2 block, in the committed order,
 * so the node must neither mine on its own (automine and interval mining off) nor reorder its
 * mempool by fee (Hardhat's default "priority" order): FIFO keeps arrival order, and the operator
 * sends in index order. The mempool order can only be set here, not over RPC; `prepareL2`
 * (sequencer/operator/l2.ts) turns mining off over RPC and checks the order by probing.
 * No toolbox plugins: this node compiles nothing.
 */
import type { HardhatUserConfig } from "hardhat/types";

/** The L2's chain id (different from the L1's 31337, so that signed transactions cannot cross). */
export const L2_CHAIN_ID = Number(process.env.VEIL_L2_CHAIN_ID ?? 31338);

const config: HardhatUserConfig = {
  defaultNetwork: "hardhat",
  networks: {
    hardhat: {
      chainId: L2_CHAIN_ID,
      mining: { auto: false, interval: 0, mempool: { order: "fifo" } },
    },
  },
  paths: { cache: "./cache/l2", artifacts: "./artifacts/l2", sources: "./cache/l2/no-sources" },
};

export default config;
