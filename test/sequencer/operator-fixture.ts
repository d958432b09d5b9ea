/**
 * Test pieces for the rollup operator: a real Hardhat node child process started as the L2 (with
 * hardhat.l2.config.ts, or with the L1 config to show what a fee-ordered mempool does), funded
 * senders (Hardhat's well-known development accounts), and signed transfers as block slots.
 */
import {
  type BaseWallet,
  HDNodeWallet,
  Mnemonic,
  Wallet,
  keccak256,
  randomBytes,
  hexlify,
  type TransactionRequest,
} from "ethers";
import os from "node:os";
import path from "node:path";
import type { BuiltSlotJson } from "../../sequencer/api/wire";
import { freePort, waitUntil } from "../../scripts/devnet/net";
import { ManagedProcess } from "../../scripts/devnet/process";

const ROOT = path.join(__dirname, "..", "..");
const HARDHAT_CLI = path.join(ROOT, "node_modules", "hardhat", "internal", "cli", "bootstrap.js");
export const L2_CHAIN_ID = 31338n;

export interface HardhatChild {
  readonly url: string;
  readonly process: ManagedProcess;
}

/** Starts `hardhat node` (L2 config by default) on a free loopback port; resolves once it answers. */
export async function startHardhatNode(kind: "l2" | "default" = "l2"): Promise<HardhatChild> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const configArgs = kind === "l2" ? ["--config", path.join(ROOT, "hardhat.l2.config.ts")] : [];
  const child = ManagedProcess.start({
    name: `hardhat-${kind}`,
    args: [HARDHAT_CLI, ...configArgs, "node", "--hostname", "127.0.0.1", "--port", String(port)],
    cwd: ROOT,
    logFile: path.join(os.tmpdir(), `veil-operator-test-${kind}-${port}.log`),
  });
  const answers = async (): Promise<boolean> => {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      signal: AbortSignal.timeout(2_000),
    });
    return res.ok;
  };
  try {
    await waitUntil(`hardhat node (${kind})`, answers, { timeoutMs: 120_000, process: child, intervalMs: 300 });
  } catch (error) {
    await child.kill();
    throw error;
  }
  return { url, process: child };
}

/** Hardhat's development accounts (public keys of a public mnemonic), funded on every Hardhat node. */
export function devAccounts(count: number): Wallet[] {
  const mnemonic = Mnemonic.fromPhrase("test test test test test test test test test test test junk");
  return Array.from({ length: count }, (_, i) => {
    const w = HDNodeWallet.fromMnemonic(mnemonic, `m/44'/60'/0'/0/${i}`);
    return new Wallet(w.privateKey);
  });
}

/** A signed EIP-1559 transfer for the L2; `tip` lets a later transaction outbid an earlier one. */
export async function signedTransfer(
  from: BaseWallet,
  nonce: number,
  options: { tip?: bigint; to?: string; value?: bigint; chainId?: bigint } = {},
): Promise<string> {
  const tx: TransactionRequest = {
    type: 2,
    chainId: options.chainId ?? L2_CHAIN_ID,
    nonce,
    to: options.to ?? Wallet.createRandom().address,
    value: options.value ?? 1_000n,
    gasLimit: 21_000n,
    maxPriorityFeePerGas: options.tip ?? 1n,
    maxFeePerGas: 100_000_000_000n,
  };
  return from.signTransaction(tx);
}

/** Slots of a block: raw transactions as valid slots, `null` as an invalid slot, in index order. */
export function slotsOf(raws: readonly (string | null)[]): BuiltSlotJson[] {
  return raws.map((raw, index) =>
    raw === null
      ? { index, status: "invalid", encTxHash: hexlify(randomBytes(32)), reason: "undecryptable", detail: "test" }
      : {
          index,
          status: "valid",
          encTxHash: hexlify(randomBytes(32)),
          rawTx: raw.toLowerCase(),
          txHash: keccak256(raw).toLowerCase(),
        },
  );
}
