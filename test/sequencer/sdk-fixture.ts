/**
 * Shared by the SDK suites: the contract world of test/contracts/fixture.ts (registry, VSM, a cluster of 4
 * members serving rollup 4242), a ChainView over it, and an order receipt made the way the leader makes
 * one: a real encrypted transaction appended to a real block tree and signed with EIP-712 by the registry's
 * leader of the height.
 */
import { ethers } from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { Wallet, parseEther } from "ethers";
import { mulBase } from "../../sequencer/crypto/babyjub";
import { blockHeight, encryptTransaction, rollupId } from "../../sequencer/crypto/encryption";
import { signMessage, type OrderCommitment } from "../../sequencer/chain/eip712";
import { IncrementalMerkleTree, toBytes32, type AppendReceipt } from "../../sequencer/chain/merkle";
import type { OrderReceiptJson } from "../../sequencer/api/wire";
import { ContractChainView } from "../../sequencer/sdk/chain";
import { fieldToBytes32 } from "../../sequencer/sdk/hashes";
import { ROLLUP_ID, leaderSigner, world, type World } from "../contracts/fixture";

export const HEIGHT = 30n;
export const ROUND_SECRET = 0x1d2c3b4a5968778695a4b3c2d1e0f1e2d3c4b5a69788796a5b4c3d2e1fn;

/** A signed L2 transfer (EIP-1559, chain id = the rollup id), as a wallet would produce it. */
export async function signedTransfer(nonce = 0): Promise<string> {
  const wallet = new Wallet(`0x${"11".repeat(32)}`);
  return wallet.signTransaction({
    type: 2,
    chainId: ROLLUP_ID,
    nonce,
    to: `0x${"22".repeat(20)}`,
    value: parseEther("0.5"),
    gasLimit: 21_000n,
    maxFeePerGas: 2_000_000_000n,
    maxPriorityFeePerGas: 1_000_000_000n,
  });
}

export interface SdkWorld extends World {
  chain: ContractChainView;
}

export async function sdkWorld(): Promise<SdkWorld> {
  const w = await world();
  const chain = await ContractChainView.connect(ethers.provider, {
    registry: await w.registry.getAddress(),
    validationServiceManager: await w.vsm.getAddress(),
  });
  return { ...w, chain };
}

/** One ordered transaction: our encrypted tx at `index` of a block tree, after `index` other txs. */
export interface Ordered {
  encTxHash: string;
  tree: IncrementalMerkleTree;
  append: AppendReceipt;
  order: OrderCommitment;
  signature: string;
  leader: HardhatEthersSigner;
}

export async function orderOurTransaction(w: World, index = 3, height = HEIGHT, view = 0): Promise<Ordered> {
  const raw = await signedTransfer();
  const enc = encryptTransaction(ethers.getBytes(raw), {
    rollupId: rollupId(ROLLUP_ID),
    height: blockHeight(height),
    roundKey: mulBase(ROUND_SECRET),
  });
  const encTxHash = fieldToBytes32(enc.encTxHash);
  const tree = new IncrementalMerkleTree();
  for (let i = 0; i < index; i++) tree.append(toBytes32(BigInt(i) + 1000n));
  const append = tree.append(encTxHash);
  const order: OrderCommitment = {
    rollupId: ROLLUP_ID,
    blockHeight: height,
    txIndex: index,
    encTxHash,
    preRoot: append.preRoot,
    viewNumber: view,
    epoch: Number(await w.registry.currentEpoch()),
  };
  const leader = leaderSigner(w, height, view);
  const signature = await signMessage(leader, w.domain, "OrderCommitment", order);
  return { encTxHash, tree, append, order, signature, leader };
}

/** The receipt as the node sends it on the wire. */
export function receiptJson(
  o: Ordered,
  view = o.order.viewNumber,
  overrides: Partial<OrderReceiptJson> = {},
): OrderReceiptJson {
  return {
    commitment: {
      rollupId: o.order.rollupId.toString(),
      blockHeight: o.order.blockHeight.toString(),
      txIndex: o.order.txIndex,
      encTxHash: o.order.encTxHash,
      preRoot: o.order.preRoot,
      viewNumber: o.order.viewNumber,
      epoch: o.order.epoch,
    },
    signature: o.signature,
    leader: o.leader.address,
    viewNumber: view,
    preProof: [...o.append.preProof],
    ...overrides,
  };
}
