/**
 * Veil's contracts as one Hardhat Ignition module: the registry, the tx-validity verifier pair, the
 * forced-inclusion inbox and the ValidationServiceManager, wired together (the VSM becomes the registry's
 * slasher). Every deployment goes through it: `npx hardhat veil:deploy` on any network, the devnet, the
 * tests and the gas benchmark (sequencer/chain/deploy.ts runs it).
 *
 * Parameters (module "Veil") default to DEFAULT_CORE_PARAMS; integers may be given as bigint. The time-lock
 * policy is three parameters (timeLockModulus as 0x-hex, timeLockMinSquarings, insecureTestModulus); the
 * veil:deploy task refuses anything but RSA-2048 outside a development chain.
 */
import { buildModule } from "@nomicfoundation/ignition-core";
import { toBeHex } from "ethers";
import { DEFAULT_CORE_PARAMS } from "../../sequencer/chain/core-params";

export const VEIL_MODULE_ID = "Veil";

export default buildModule(VEIL_MODULE_ID, (m) => {
  const d = DEFAULT_CORE_PARAMS;
  const registry = m.contract("ClusterRegistry", [
    m.getParameter("minimumBond", d.minimumBond),
    m.getParameter("memberWithdrawalDelay", d.memberWithdrawalDelay),
    m.getParameter("epochLength", d.epochLength),
    {
      modulus: m.getParameter("timeLockModulus", toBeHex(d.timeLock.modulus)),
      minSquarings: m.getParameter("timeLockMinSquarings", d.timeLock.minSquarings),
      insecureTestModulus: m.getParameter("insecureTestModulus", d.timeLock.insecureTestModulus),
    },
  ]);
  const groth16 = m.contract("TxValidityGroth16Verifier");
  const txValidityVerifier = m.contract("TxValidityVerifier", [groth16]);
  const inbox = m.contract("ForcedInclusionInbox", [
    registry,
    txValidityVerifier,
    m.getParameter("forcedInclusionFee", d.forcedInclusion.fee),
    m.getParameter("forcedInclusionMaxEntriesPerHeight", d.forcedInclusion.maxEntriesPerHeight),
  ]);
  const vsm = m.contract("ValidationServiceManager", [
    registry,
    inbox,
    m.getParameter("quorumBps", d.quorumBps),
    m.getParameter("responseWindow", d.responseWindow),
    m.getParameter("challengeWindow", d.challengeWindow),
    m.getParameter("operatorWithdrawalDelay", d.operatorWithdrawalDelay),
    m.getParameter("minOperatorStake", d.minOperatorStake),
    m.getParameter("challengerRewardBps", d.challengerRewardBps),
  ]);
  m.call(registry, "setSlasher", [vsm]);
  return { registry, groth16, txValidityVerifier, inbox, vsm };
});
