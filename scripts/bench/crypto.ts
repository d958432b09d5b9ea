/**
 * `npm run bench:crypto`: every figure of the cryptographic core, one JSON line each
 * (see scripts/bench/report.ts). Sections run one after the other so they do not compete for the
 * two cores.
 */
import { progress } from "./report";

interface Section {
  readonly name: string;
  readonly run: () => Promise<void>;
}

async function sections(): Promise<Section[]> {
  const { runEncryptionBench } = await import("./crypto-encryption");
  const { runVerifierBench } = await import("./crypto-verifier");
  const { runTimelockBench } = await import("./crypto-timelock");
  return [
    { name: "encryption and proving", run: runEncryptionBench },
    { name: "verification", run: runVerifierBench },
    { name: "round keys and time-lock puzzle", run: runTimelockBench },
  ];
}

async function main(): Promise<void> {
  for (const section of await sections()) {
    progress(`section: ${section.name}`);
    await section.run();
  }
}

main()
  .then(() => process.exit(0))
  .catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
