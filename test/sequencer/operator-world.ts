import { certifySeal, sealCertificateToJson } from "../../sequencer/chain/certificate";
/**
 * An L1 for operator tests on the in-process Hardhat network: the core contracts, a three-member
 * cluster, one rollup with an executor, and finalize_block answers signed the way the leader signs
 * them (seal and BlockCommitment by the registry's leader of the height and view), built from raw
 * transactions, so that the operator's checks run against real signatures and the real schedule.
 */
import { ethers } from "hardhat";
import { Wallet, getAddress } from "ethers";
import type { BuiltSlotJson, FinalizeResultWire } from "../../sequencer/api/wire";
import { deployCore, mineUntilMembers } from "../../sequencer/chain/deploy";
import { signMessage, structHash, taskIdOf, veilDomain, type VeilDomain } from "../../sequencer/chain/eip712";
import { hashLeaf, rootOfLeafHashes } from "../../sequencer/chain/merkle";
import { rawRootOf } from "../../sequencer/block/raw-root";
import type { ClusterRegistry } from "../../typechain-types";
import { PARAMS, rollupConfig } from "../contracts/fixture";

export const OPERATOR_ROLLUP = 11n;

export interface OperatorWorld {
  readonly registry: ClusterRegistry;
  readonly domain: VeilDomain;
  readonly members: Wallet[];
  readonly executor: Wallet;
}

export async function deployOperatorWorld(): Promise<OperatorWorld> {
  const [deployer] = await ethers.getSigners();
  const { registry, vsm } = await deployCore(deployer!, PARAMS);
  const { chainId } = await ethers.provider.getNetwork();
  const domain = veilDomain(chainId, await vsm.getAddress());
  const members = [0, 1, 2].map(() => Wallet.createRandom().connect(ethers.provider)) as unknown as Wallet[];
  for (const m of members) {
    await (await deployer!.sendTransaction({ to: m.address, value: ethers.parseEther("10") })).wait();
  }
  await (await registry.createCluster(ethers.parseEther("1"), 8)).wait();
  const clusterId = (await registry.nextClusterId()) - 1n;
  for (const m of members) await (await registry.connect(m).join(clusterId, { value: ethers.parseEther("1") })).wait();
  await mineUntilMembers(registry, clusterId, members.length, ethers.provider);
  const executor = Wallet.createRandom() as unknown as Wallet;
  await (await registry.approveRollup(clusterId, OPERATOR_ROLLUP, deployer!.address)).wait();
  await (
    await registry.registerRollup(
      OPERATOR_ROLLUP,
      rollupConfig(clusterId), // operators never open a puzzle: the fixture's time-lock fields will do
      [executor.address],
      [Wallet.createRandom().address],
    )
  ).wait();
  return { registry, domain, members, executor };
}

/** The member that leads `height` at `view`, per the registry. */
export async function leaderWallet(w: OperatorWorld, height: bigint, view = 0): Promise<Wallet> {
  const { leader } = await w.registry.leaderOfRollup(OPERATOR_ROLLUP, height, view);
  return w.members.find((m) => m.address === getAddress(leader))!;
}

/**
 * A finalize_block answer for `height` holding `slots`, certified in `view`, whose commitment is signed
 * by `signer` (default: the scheduled leader) for `commitmentView` (default: `view`).
 */
export async function signedAnswer(
  w: OperatorWorld,
  height: bigint,
  slots: readonly BuiltSlotJson[],
  options: { view?: number; commitmentView?: number; signer?: Wallet; certifiers?: Wallet[] } = {},
): Promise<FinalizeResultWire> {
  const view = options.view ?? 0;
  const signer = options.signer ?? (await leaderWallet(w, height, view));
  const encRoot = rootOfLeafHashes(slots.map((s) => hashLeaf(s.encTxHash))).toLowerCase();
  const rawRoot = rawRootOf(slots.map((s) => (s.status === "valid" ? { txHash: s.txHash } : {}))).toLowerCase();
  const commitmentView = options.commitmentView ?? view;
  const commitment = {
    rollupId: OPERATOR_ROLLUP,
    height,
    txCount: slots.length,
    encRoot,
    inboxBlock: 0n,
    forcedCount: 0,
    rawRoot,
    viewNumber: commitmentView,
  };
  const epoch = Number(await w.registry.currentEpoch());
  const seal = {
    rollupId: OPERATOR_ROLLUP,
    height,
    txCount: slots.length,
    encRoot,
    inboxBlock: 0n,
    viewNumber: view,
    epoch,
  };
  // The seal certified by a majority of the members (two of three), as the cluster certifies it.
  const certifiers = options.certifiers ?? w.members.slice(0, 2);
  return {
    seal: sealCertificateToJson(await certifySeal(certifiers, w.domain, seal)),
    block: {
      commitment: {
        ...commitment,
        rollupId: OPERATOR_ROLLUP.toString(),
        height: height.toString(),
        inboxBlock: commitment.inboxBlock.toString(),
      },
      commitmentHash: structHash("BlockCommitment", commitment).toLowerCase(),
      viewNumber: view,
      leader: signer.address,
      signature: await signMessage(signer, w.domain, "BlockCommitment", commitment),
      taskId: taskIdOf(OPERATOR_ROLLUP, height).toLowerCase(),
      transactions: [...slots],
    },
  };
}
