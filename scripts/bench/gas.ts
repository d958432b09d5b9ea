/**
 * Gas of every on-chain path, one JSON line each (`npm run bench:gas`). Runs on the in-process Hardhat
 * network with the default parameters: a 5-member cluster, one rollup, 4 operators of equal stake.
 * Targets: createNewTask with a 3-of-5 seal certificate <= 150k, 3-of-4 aggregate <= 150k, slash by
 * order-commitment proof <= 200k, member join <= 120k, a forced-inclusion entry with its on-chain proof check
 * <= 400k (all including the 21k transaction base cost).
 */
import { ethers } from "hardhat";
import {
  keccak256,
  parseEther,
  toBeHex,
  toUtf8Bytes,
  type ContractTransactionReceipt,
  type ContractTransactionResponse,
} from "ethers";
import { certifySeal } from "../../sequencer/chain/certificate";
import { commitSlashClaim } from "../../sequencer/chain/claims";
import { DEFAULT_CORE_PARAMS, deployCore } from "../../sequencer/chain/deploy";
import {
  signMessage,
  structHash,
  veilDomain,
  type BlockCommitment,
  type OrderCommitment,
} from "../../sequencer/chain/eip712";
import { forcedSubmission } from "../../sequencer/chain/inbox";
import { IncrementalMerkleTree } from "../../sequencer/chain/merkle";
import { mulBase, randomScalar } from "../../sequencer/crypto/babyjub";
import { blockHeight, encryptTransaction, rollupId as asRollupId } from "../../sequencer/crypto/encryption";
import { proveTxValidity } from "../../sequencer/zk/prover";
import type { ValidationServiceManager } from "../../typechain-types";
import { emit, progress } from "./report";

const TARGETS: Record<string, number> = {
  createNewTask_3_of_5: 150_000,
  respondToTask_3_of_4: 150_000,
  slashBrokenOrderCommitment_other_leaf: 200_000,
  slashBrokenOrderCommitment_prefix_rewritten: 200_000,
  join: 120_000,
  join_first_member: 120_000,
  forcedSubmission: 400_000,
  forcedSubmission_first_of_height: 400_000,
  slashForcedInclusionOmission: 250_000,
};

/**
 * The VSM as its signer sends slashes: each `slash*` call first commits the signer's claim on exactly that
 * call (printed once as gas_commitClaim) and mines past CLAIM_DELAY, as an honest challenger does.
 */
let claimPrinted = false;
function claiming(vsm: ValidationServiceManager): ValidationServiceManager {
  return new Proxy(vsm, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof prop !== "string" || !prop.startsWith("slash") || typeof value !== "function") return value;
      return async (...args: unknown[]) => {
        const { revealFrom, receipt } = await commitSlashClaim(target, prop, args);
        if (!claimPrinted) emit("gas_commitClaim", Number(receipt.gasUsed), "gas", {});
        claimPrinted = true;
        const now = await ethers.provider.getBlockNumber();
        if (revealFrom - 1 > now)
          await ethers.provider.send("hardhat_mine", [`0x${(revealFrom - 1 - now).toString(16)}`]);
        return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
      };
    },
  });
}

async function gasOf(
  name: string,
  sent: Promise<ContractTransactionResponse>,
  extra: Record<string, unknown> = {},
): Promise<ContractTransactionReceipt> {
  const receipt = await (await sent).wait();
  if (!receipt) throw new Error(`${name}: no receipt`);
  const target = TARGETS[name];
  emit(
    `gas_${name}`,
    Number(receipt.gasUsed),
    "gas",
    target === undefined ? extra : { ...extra, target, within_target: receipt.gasUsed <= BigInt(target) },
  );
  return receipt;
}

async function main(): Promise<void> {
  const signers = await ethers.getSigners();
  const [deployer, clusterOwner, rollupOwner, executor, challenger] = signers;
  const members = [...signers.slice(5, 9), signers[17]!];
  const operators = signers.slice(9, 13).sort((a, b) => (BigInt(a.address) < BigInt(b.address) ? -1 : 1));
  if (!deployer || !clusterOwner || !rollupOwner || !executor || !challenger) throw new Error("need 16 accounts");
  const { registry, vsm, inbox } = await deployCore(deployer, DEFAULT_CORE_PARAMS);
  const domain = veilDomain((await ethers.provider.getNetwork()).chainId, await vsm.getAddress());
  const epochLength = await registry.epochLength();
  const lead = await registry.EPOCH_LEAD();
  /**
   * Mines past the epoch boundaries at which the `changes` joins, exits or slashes just made take effect
   * (ClusterRegistry: a change made in epoch c applies from c + EPOCH_LEAD, one change per epoch), so the
   * next step sees the new member list. Called only where no task window is open that the mining would close.
   */
  const settleMembership = async (changes = 1): Promise<void> => {
    const blocks = (lead + BigInt(changes)) * epochLength;
    await ethers.provider.send("hardhat_mine", [`0x${blocks.toString(16)}`]);
  };
  /** The membership epoch seals and order commitments made now name. */
  const epochNow = async (): Promise<number> => Number(await registry.currentEpoch());
  const rollupId = 777n;
  const leaderFor = async (h: bigint) => {
    const [address] = await registry.leaderOfRollup(rollupId, h, 0);
    const signer = signers.find((x) => x.address === address);
    if (!signer) throw new Error(`leader ${address} is not a local account`);
    return signer;
  };
  /** A seal certificate of `c` at view 0 by the first majority of the current members. */
  const certified = async (c: BlockCommitment) => {
    const current = await registry.membersOf(1);
    const majority = current.slice(0, Math.floor(current.length / 2) + 1);
    const local = majority.map((a) => signers.find((x) => x.address === a)!);
    const seal = {
      rollupId,
      height: c.height,
      txCount: c.txCount,
      encRoot: c.encRoot,
      inboxBlock: c.inboxBlock,
      viewNumber: 0,
      epoch: await epochNow(),
    };
    const certificate = await certifySeal(local, domain, seal);
    return { seal, signatures: [...certificate.signatures] };
  };
  const bond = parseEther("2");
  progress("cluster, members, rollup, operators");
  await gasOf("createCluster", registry.connect(clusterOwner).createCluster(bond, 16));
  for (const [i, m] of members.entries()) {
    await gasOf(i === 0 ? "join_first_member" : "join", registry.connect(m).join(1, { value: bond }), {
      members_before: i,
    });
    await settleMembership();
  }
  await gasOf("approveRollup", registry.connect(clusterOwner).approveRollup(1, rollupId, rollupOwner.address));
  await gasOf(
    "registerRollup",
    registry.connect(rollupOwner).registerRollup(
      rollupId,
      {
        clusterId: 1n,
        maxTxsPerBlock: 4096,
        blockGasLimit: 30_000_000n,
        // The production policy's T and modulus; the registry stores h and its proof unchecked, so
        // 256-byte stand-ins cost what the real ones do (computing h at this T takes about an hour here).
        timeLockSquarings: DEFAULT_CORE_PARAMS.timeLock.minSquarings,
        timeLockModulus: toBeHex(DEFAULT_CORE_PARAMS.timeLock.modulus),
        timeLockH: toBeHex(DEFAULT_CORE_PARAMS.timeLock.modulus - 3n),
        timeLockHProof: toBeHex(DEFAULT_CORE_PARAMS.timeLock.modulus - 5n),
        minContributors: 0,
      },
      [executor.address],
      [signers[13]!.address].sort(),
    ),
    { modulus_bits: 2048 },
  );
  for (const [i, o] of operators.entries())
    await gasOf(
      i === 0 ? "registerOperator_first" : "registerOperator",
      vsm.connect(o).registerOperator({ value: parseEther("10") }),
    );

  // Forced inclusion: two entries of one height, each with a real tx-validity proof checked on-chain. The
  // first of a height also creates its entry list's length slot.
  progress("forced-inclusion entries (proving 2 transactions)");
  const roundKey = mulBase(randomScalar());
  const fee = DEFAULT_CORE_PARAMS.forcedInclusion.fee;
  let lastForcedBlock = 0n;
  for (const [i, name] of ["forcedSubmission_first_of_height", "forcedSubmission"].entries()) {
    const enc = encryptTransaction(new Uint8Array(120).fill(i + 1), {
      rollupId: asRollupId(rollupId),
      height: blockHeight(90n),
      roundKey,
    });
    const { proof } = await proveTxValidity(enc);
    const submission = forcedSubmission({ tx: enc.encrypted, txCommitment: enc.txCommitment, roundKey, proof });
    const receipt = await gasOf(name, inbox.connect(challenger).submit(submission, { value: fee }), {
      ciphertext_elements: 19,
    });
    lastForcedBlock = BigInt(receipt.blockNumber);
  }

  // A block of 1,000 txs in which the leader promised index 999 then moved another tx there.
  const height = 40n;
  const leader = await leaderFor(height);
  progress("building a 1,000-tx block");
  const honest = new IncrementalMerkleTree();
  const data = Array.from({ length: 1000 }, (_, i) => keccak256(toUtf8Bytes(`tx ${i}`)));
  const receipts = data.map((d) => honest.append(d));
  const index = 999;
  const order: OrderCommitment = {
    rollupId,
    blockHeight: height,
    txIndex: index,
    encTxHash: data[index]!,
    preRoot: receipts[index]!.preRoot,
    viewNumber: 0,
    epoch: await epochNow(),
  };
  const orderSig = await signMessage(leader, domain, "OrderCommitment", order);
  const sealed = new IncrementalMerkleTree();
  data.forEach((d, i) => sealed.append(i === index ? keccak256(toUtf8Bytes("front-runner")) : d));
  const commitment: BlockCommitment = {
    rollupId,
    height,
    txCount: 1000,
    encRoot: sealed.root,
    inboxBlock: 0n,
    forcedCount: 0,
    rawRoot: keccak256(toUtf8Bytes("raw")),
    viewNumber: 0,
  };
  const certificate = await certified(commitment);
  await gasOf(
    "createNewTask_3_of_5",
    vsm
      .connect(leader)
      .createNewTask(commitment, certificate, await signMessage(leader, domain, "BlockCommitment", commitment)),
    { members: 5, certificate_signatures: certificate.signatures.length },
  );
  // Two conflicting 3-of-5 certificates share one signer: it is slashed. (It leaves the schedule two epochs
  // on; the membership settles after the slash below, once the response to the task above is in.)
  const conflictA = {
    rollupId,
    height: 45n,
    txCount: 3,
    encRoot: keccak256(toUtf8Bytes("e1")),
    inboxBlock: 0n,
    viewNumber: 0,
    epoch: await epochNow(),
  };
  const conflictB = { ...conflictA, encRoot: keccak256(toUtf8Bytes("e2")), viewNumber: 1 };
  const members45 = (await registry.membersOf(1)).map((a) => signers.find((x) => x.address === a)!);
  const majority45 = Math.floor(members45.length / 2) + 1;
  const certA = await certifySeal(members45.slice(0, majority45), domain, { ...conflictA, height: 45n });
  const certB = await certifySeal(members45.slice(-majority45), domain, { ...conflictB, height: 45n });
  await gasOf(
    "slashConflictingCertificates",
    claiming(vsm).slashConflictingCertificates(
      { seal: certA.seal, signatures: [...certA.signatures] },
      { seal: certB.seal, signatures: [...certB.signatures] },
    ),
    {
      members: members45.length,
      certificate_signatures: majority45,
      members_slashed: 2 * majority45 - members45.length,
    },
  );
  const taskId = await vsm.taskIdOf(rollupId, height);
  const response = { taskId, commitmentHash: structHash("BlockCommitment", commitment), approve: true };
  const sigs = await Promise.all(
    operators.slice(0, 3).map((o) => signMessage(o, domain, "OperatorResponse", response)),
  );
  await gasOf("respondToTask_3_of_4", vsm.respondToTask(taskId, true, sigs));
  await gasOf(
    "slashBrokenOrderCommitment_other_leaf",
    claiming(vsm.connect(challenger)).slashBrokenOrderCommitment(
      order,
      orderSig,
      commitment,
      sealed.leafHash(index),
      sealed.proof(index),
      [...receipts[index]!.preProof],
    ),
    { tree_leaves: 1000, index },
  );
  await settleMembership(2);

  // Prefix rewritten: same leaf at its index, an earlier tx replaced (needs both PRE and POST proofs).
  const height2 = 41n;
  const leader2 = await leaderFor(height2);
  const order2 = { ...order, blockHeight: height2 };
  const rewritten = new IncrementalMerkleTree();
  data.forEach((d, i) => rewritten.append(i === 3 ? keccak256(toUtf8Bytes("censored")) : d));
  const commitment2 = { ...commitment, height: height2, encRoot: rewritten.root };
  await vsm
    .connect(leader2)
    .createNewTask(
      commitment2,
      await certified(commitment2),
      await signMessage(leader2, domain, "BlockCommitment", commitment2),
    );
  await gasOf(
    "slashBrokenOrderCommitment_prefix_rewritten",
    claiming(vsm).slashBrokenOrderCommitment(
      order2,
      await signMessage(leader2, domain, "OrderCommitment", order2),
      commitment2,
      rewritten.leafHash(index),
      rewritten.proof(index),
      [...receipts[index]!.preProof],
    ),
    { tree_leaves: 1000, index },
  );
  await settleMembership();

  progress("equivocations, double vote, exits");
  const leader3 = await leaderFor(42n);
  const a: OrderCommitment = { ...order, blockHeight: 42n };
  const b: OrderCommitment = { ...a, encTxHash: keccak256(toUtf8Bytes("other")) };
  await gasOf(
    "slashOrderEquivocation",
    claiming(vsm).slashOrderEquivocation(
      a,
      await signMessage(leader3, domain, "OrderCommitment", a),
      b,
      await signMessage(leader3, domain, "OrderCommitment", b),
    ),
  );
  await settleMembership();
  const leader4 = await leaderFor(43n);
  await registry.connect(signers[16]).join(1, { value: bond });
  await settleMembership();
  const ba = { ...commitment, height: 43n };
  const bb = { ...ba, rawRoot: keccak256(toUtf8Bytes("other raw")) };
  await gasOf(
    "slashBlockEquivocation",
    claiming(vsm).slashBlockEquivocation(
      ba,
      await signMessage(leader4, domain, "BlockCommitment", ba),
      bb,
      await signMessage(leader4, domain, "BlockCommitment", bb),
    ),
  );
  await settleMembership();
  // The leader of a view never certified commits another encRoot than the height's 3-of-5 certified seal.
  // Four members join for this step (the slashes above left one) and stay for the paths below.
  const extra = [signers[14]!, signers[15]!, signers[18]!, signers[19]!];
  for (const m of extra) {
    await (await registry.connect(m).join(1, { value: bond })).wait();
    await settleMembership();
  }
  const c46 = { ...commitment, height: 46n };
  const certificate46 = await certified(c46);
  const members46 = (await registry.membersOf(1)).length;
  const [forgerAddress] = await registry.leaderOfRollup(rollupId, 46n, 1);
  const forger = signers.find((x) => x.address === forgerAddress);
  if (!forger) throw new Error(`leader ${forgerAddress} is not a local account`);
  const forged = { ...c46, encRoot: keccak256(toUtf8Bytes("forged")), viewNumber: 1 };
  await gasOf(
    "slashUncertifiedBlockCommitment",
    claiming(vsm).slashUncertifiedBlockCommitment(
      forged,
      await signMessage(forger, domain, "BlockCommitment", forged),
      certificate46,
    ),
    { members: members46, certificate_signatures: certificate46.signatures.length },
  );
  // The leader of height 90 signs its block without the entries due at its cut (both of height 90 above).
  const omitting = { ...commitment, height: 90n, inboxBlock: lastForcedBlock, forcedCount: 0 };
  await gasOf(
    "slashForcedInclusionOmission",
    claiming(vsm).slashForcedInclusionOmission(
      omitting,
      await signMessage(await leaderFor(90n), domain, "BlockCommitment", omitting),
    ),
    { entries_due: 2, forced_count: 0 },
  );
  await settleMembership();
  progress("seal equivocation and conflicting certificates");
  const current = (await registry.membersOf(1)).map((a) => signers.find((x) => x.address === a)!);
  const sealA = {
    rollupId,
    height: 44n,
    txCount: 3,
    encRoot: keccak256(toUtf8Bytes("e1")),
    inboxBlock: 0n,
    viewNumber: 0,
    epoch: await epochNow(),
  };
  // Two seals of one view (seals of different views are no fault).
  const sealB = { ...sealA, encRoot: keccak256(toUtf8Bytes("e2")) };
  // Not signers[16], whose exit and withdrawal are measured below.
  const equivocator = current.find((m) => m.address !== signers[16]!.address)!;
  await gasOf(
    "slashSealEquivocation",
    claiming(vsm).slashSealEquivocation(
      sealA,
      await signMessage(equivocator, domain, "Seal", sealA),
      sealB,
      await signMessage(equivocator, domain, "Seal", sealB),
    ),
  );
  await settleMembership();
  const op = operators[3]!;
  const no = { ...response, approve: false };
  await gasOf(
    "slashOperatorDoubleVote",
    claiming(vsm).slashOperatorDoubleVote(
      response,
      await signMessage(op, domain, "OperatorResponse", response),
      no,
      await signMessage(op, domain, "OperatorResponse", no),
    ),
  );

  const height5 = 50n;
  const signer5 = await leaderFor(height5);
  const c5 = { ...commitment, height: height5 };
  await vsm
    .connect(signer5)
    .createNewTask(c5, await certified(c5), await signMessage(signer5, domain, "BlockCommitment", c5));
  await ethers.provider.send("hardhat_mine", [`0x${(DEFAULT_CORE_PARAMS.responseWindow + 1n).toString(16)}`]);
  await gasOf("expireTask", vsm.expireTask(await vsm.taskIdOf(rollupId, height5)));
  await gasOf("addStake", vsm.connect(operators[0]).addStake({ value: parseEther("1") }));
  await gasOf("requestWithdrawal", vsm.connect(operators[0]).requestWithdrawal(parseEther("1")));
  await gasOf("requestExit", registry.connect(signers[16]).requestExit(1));
  // The bond unlocks memberWithdrawalDelay blocks after the member's last epoch ends.
  await settleMembership();
  await ethers.provider.send("hardhat_mine", [`0x${DEFAULT_CORE_PARAMS.memberWithdrawalDelay.toString(16)}`]);
  await gasOf("withdraw", vsm.connect(operators[0]).withdraw());
  await gasOf("withdrawBond", registry.connect(signers[16]).withdrawBond(1));
  await gasOf("setExecutor", registry.connect(rollupOwner).setExecutor(rollupId, challenger.address, true));

  // Removal in the largest cluster (MAX_MEMBERS = 256): an exit ends the leaver's seat, found by a scan of
  // the record, and withdrawBond takes the seat out of it; the last member to join is the costliest.
  progress("removal at 256 members");
  const size = Number(await registry.MAX_MEMBERS());
  await registry.connect(clusterOwner).createCluster(bond, size);
  const big = (await registry.nextClusterId()) - 1n;
  const crowd = Array.from({ length: size }, () => ethers.Wallet.createRandom().connect(ethers.provider));
  for (const m of crowd) {
    await (await deployer.sendTransaction({ to: m.address, value: bond + parseEther("1") })).wait();
    await (await registry.connect(m).join(big, { value: bond })).wait();
  }
  await ethers.provider.send("hardhat_mine", [
    `0x${((BigInt(size) + 3n) * DEFAULT_CORE_PARAMS.epochLength).toString(16)}`,
  ]);
  const seats = (await registry.membersOf(big)).length;
  const last = crowd[size - 1]!;
  await gasOf("requestExit_at_256_last_seat", registry.connect(last).requestExit(big), { members: seats });
  await gasOf("requestExit_at_256_first_seat", registry.connect(crowd[0]).requestExit(big), { members: seats });
  await ethers.provider.send("hardhat_mine", [
    `0x${(3n * DEFAULT_CORE_PARAMS.epochLength + DEFAULT_CORE_PARAMS.memberWithdrawalDelay).toString(16)}`,
  ]);
  await gasOf("withdrawBond_at_256_last_seat", registry.connect(last).withdrawBond(big), { members: seats });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
