/**
 * The check every process makes at start that the contracts it was configured with are one deployment. Kept
 * apart from deploy.ts so that the running roles load no deployment tooling (Ignition).
 */
import { getAddress } from "ethers";

/** The contracts a process was configured with are not one deployment. */
export class DeploymentMismatch extends Error {
  override readonly name = "DeploymentMismatch";
}

/**
 * Fails unless `slasher`, read from the configured registry, is the VSM this process uses: a process that
 * checks tasks or certificates against another VSM than the one that can slash the registry's bonds would
 * enforce promises nobody can be slashed for (nodes, validators and key generators check it at start).
 */
export function expectSlasher(slasher: string, validationServiceManager: string): void {
  if (BigInt(slasher) === 0n) {
    throw new DeploymentMismatch("the registry has no slasher: the deployment is not finished (setSlasher)");
  }
  if (getAddress(slasher) !== getAddress(validationServiceManager)) {
    throw new DeploymentMismatch(
      `the registry's slasher is ${getAddress(slasher)}, not the ValidationServiceManager ${getAddress(validationServiceManager)} configured here`,
    );
  }
}
