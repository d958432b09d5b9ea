/**
 * Decrypt-and-build time of a 1,000-transaction block (target ≤ 1 s): real signed EIP-1559 transfers,
 * encrypted to a round key, built with the released secret on 1 and on 2 worker threads (one JSON line each).
 */
import { Wallet, getBytes, parseEther } from "ethers";
import { buildBlock, type SealedEntry } from "../../sequencer/block";
import { mulBase, randomScalar } from "../../sequencer/crypto/babyjub";
import { DecryptionPool } from "../../sequencer/crypto/decrypt-pool";
import { blockHeight, encryptTransaction, rollupId } from "../../sequencer/crypto/encryption";
import { emit, median, progress, timeRuns } from "./report";

const TXS = 1_000;
const ROLLUP = 4242n;
const HEIGHT = 1n;

export async function runBlockBuildBench(): Promise<void> {
  const secretKey = randomScalar();
  const roundKey = mulBase(secretKey);
  const wallet = new Wallet(`0x${"5a".repeat(32)}`);
  progress(`signing and encrypting ${TXS} transactions`);
  const entries: SealedEntry[] = [];
  for (let nonce = 0; nonce < TXS; nonce++) {
    const raw = await wallet.signTransaction({
      type: 2,
      chainId: ROLLUP,
      nonce,
      to: `0x${"66".repeat(20)}`,
      value: parseEther("0.001"),
      gasLimit: 21_000n,
      maxFeePerGas: 10n ** 9n,
      maxPriorityFeePerGas: 10n ** 9n,
    });
    const r = encryptTransaction(getBytes(raw), { rollupId: rollupId(ROLLUP), height: blockHeight(HEIGHT), roundKey });
    entries.push({ kind: "encrypted", tx: r.encrypted, txCommitment: r.txCommitment });
  }
  for (const threads of [1, 2]) {
    const pool = new DecryptionPool({ threads });
    await pool.ready();
    try {
      let valid = 0;
      const runs = await timeRuns(3, async () => {
        const block = await buildBlock({
          rollupId: ROLLUP,
          height: HEIGHT,
          entries,
          roundKey,
          secretKey,
          chainId: ROLLUP,
          decrypter: pool,
        });
        valid = block.slots.filter((s) => s.status === "valid").length;
      });
      if (valid !== TXS) throw new Error(`only ${valid} of ${TXS} slots were valid`);
      emit("block_decrypt_and_build_1000_txs", median(runs), "ms", {
        threads,
        txs: TXS,
        runs: runs.length,
        targetMs: 1_000,
      });
    } finally {
      await pool.close();
    }
  }
}

if (require.main === module) {
  runBlockBuildBench().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
