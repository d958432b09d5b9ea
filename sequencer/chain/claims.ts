/**
 * Slashing claims (ValidationServiceManager.commitClaim): slashing evidence is public calldata, so the VSM
 * pays a slash only to a caller that committed to exactly that call CLAIM_DELAY blocks or more before. This
 * is the one place that computes a claim: the SDK, the gas benchmark and the tests commit through it.
 */
import type { ContractTransactionReceipt, Signer } from "ethers";
import type { ValidationServiceManager } from "../../typechain-types";

/** A committed claim: the block from which the slash may be sent, and the commitment's receipt. */
export interface CommittedClaim {
  readonly revealFrom: number;
  readonly receipt: ContractTransactionReceipt;
}

/**
 * Commits the claim of `vsm`'s signer on the call `method(...args)`; the slash is then sent by the same
 * signer, with the same arguments, from block `revealFrom` on.
 */
export async function commitSlashClaim(
  vsm: ValidationServiceManager,
  method: string,
  args: readonly unknown[],
): Promise<CommittedClaim> {
  const data = vsm.interface.encodeFunctionData(method as never, [...args] as never);
  const beneficiary = await (vsm.runner as Signer).getAddress();
  const receipt = await (await vsm.commitClaim(await vsm.claimOf(beneficiary, data))).wait();
  if (receipt === null) throw new Error("the claim's transaction has no receipt");
  return { revealFrom: receipt.blockNumber + Number(await vsm.CLAIM_DELAY()), receipt };
}
