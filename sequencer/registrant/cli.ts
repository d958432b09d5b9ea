/**
 * What a rollup's registrant runs before `registerRollup`:
 * `veil timelock size`: the least T for a look-ahead, block time, leader timeout and view-change budget;
 * `veil timelock setup --squarings T`: h = g^(2^T) and its Wesolowski proof, on a worker thread, with
 * progress on stderr and a checkpoint it resumes from; prints the registry's time-lock fields as JSON.
 */
import { InvalidArgumentError, type Command } from "commander";
import { writeFileSync } from "node:fs";
import { positiveInt } from "../cli-support/args";
import { Interrupted } from "../cli-support/shutdown";
import { RSA_2048_MODULUS } from "../crypto/timelock/modulus";
import {
  ASIC_SQUARINGS_PER_SECOND,
  DEFAULT_DELAY_INPUTS,
  publicationToSealSeconds,
  timeLockSquaringsFor,
} from "../crypto/timelock/policy";

// eslint-disable-next-line @typescript-eslint/no-require-imports, @typescript-eslint/consistent-type-imports -- loaded when a command runs, not for --help (docs/cli.md)
const timelockParams = () => require("../crypto/timelock/params") as typeof import("../crypto/timelock/params");

const nonNegativeInt = (value: string): number => {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError("expected a non-negative integer");
  return n;
};

const hexModulus = (value: string): bigint => {
  if (!/^0x[0-9a-fA-F]+$/.test(value)) throw new InvalidArgumentError("expected 0x-hex");
  return BigInt(value);
};

function timelockSize(options: {
  lookahead: number;
  blockTimeMs: number;
  leaderTimeoutMs: number;
  viewChanges: number;
}): void {
  const inputs = {
    lookaheadHeights: options.lookahead,
    blockTimeMs: options.blockTimeMs,
    leaderTimeoutMs: options.leaderTimeoutMs,
    viewChanges: options.viewChanges,
  };
  const T = timeLockSquaringsFor(inputs);
  const answer = {
    squarings: T,
    publicationToSealSeconds: publicationToSealSeconds(inputs),
    attackerSquaringsPerSecond: ASIC_SQUARINGS_PER_SECOND,
    inputs,
  };
  process.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
}

async function timelockSetup(options: {
  squarings: number;
  modulus?: bigint;
  checkpoint?: string;
  out?: string;
}): Promise<void> {
  const controller = new AbortController();
  process.once("SIGINT", () => controller.abort(new Interrupted("interrupted: run the same command again to resume")));
  const started = performance.now();
  let lastReport = 0;
  let lastPhase = "";
  const params = await timelockParams().setupTimelock({
    N: options.modulus ?? RSA_2048_MODULUS,
    T: options.squarings,
    signal: controller.signal,
    ...(options.checkpoint === undefined ? {} : { checkpointPath: options.checkpoint }),
    onProgress: ({ phase, done, total }) => {
      const now = performance.now();
      // Each phase's start (its resumed position, too), every 5 s, and its end.
      if (phase === lastPhase && now - lastReport < 5_000 && done < total) return;
      lastReport = now;
      lastPhase = phase;
      const percent = ((100 * done) / total).toFixed(1);
      process.stderr.write(
        `timelock setup: ${phase} ${done}/${total} (${percent} %), ${Math.round((now - started) / 1000)} s\n`,
      );
    },
  });
  // Loaded here, not at start: it brings ethers, which `veil --help` has no use for.
  // eslint-disable-next-line @typescript-eslint/no-require-imports, @typescript-eslint/consistent-type-imports -- loaded when the command runs (docs/cli.md)
  const { timelockConfigFields } = require("../chain/timelock-config") as typeof import("../chain/timelock-config");
  const fields = timelockConfigFields(params);
  const json = `${JSON.stringify({ ...fields, timeLockSquarings: fields.timeLockSquarings.toString() }, null, 2)}\n`;
  if (options.out !== undefined) writeFileSync(options.out, json);
  process.stdout.write(json);
}

/** Adds `timelock size` and `timelock setup` to the `veil` program. */
export function registerTimelockCommands(program: Command): void {
  const timelock = program
    .command("timelock")
    .description("size a rollup's time-lock T, and compute the h = g^(2^T) its registration publishes");
  timelock
    .command("size")
    .description("print the least T (sequential squarings) for a look-ahead, block time and leader timeout")
    .option(
      "--lookahead <heights>",
      "key generators' look-ahead (keygen schedule.lookahead)",
      nonNegativeInt,
      DEFAULT_DELAY_INPUTS.lookaheadHeights,
    )
    .option("--block-time-ms <ms>", "the rollup's block time", positiveInt, DEFAULT_DELAY_INPUTS.blockTimeMs)
    .option("--leader-timeout-ms <ms>", "the nodes' leader timeout", positiveInt, DEFAULT_DELAY_INPUTS.leaderTimeoutMs)
    .option(
      "--view-changes <count>",
      "failed leaders budgeted per height",
      nonNegativeInt,
      DEFAULT_DELAY_INPUTS.viewChanges,
    )
    .action(timelockSize);
  timelock
    .command("setup")
    .description(
      "compute h = g^(2^T) and its Wesolowski proof (about 2T squarings: an hour at the default T), printing the registry's time-lock fields as JSON",
    )
    .requiredOption("-T, --squarings <count>", "T, at least the deployment's minTimeLockSquarings", positiveInt)
    .option("--modulus <hex>", "the deployment's modulus (default: RSA-2048)", hexModulus)
    .option("--checkpoint <file>", "save progress here, and resume from it when the command is run again")
    .option("-o, --out <file>", "also write the JSON to this file")
    .action(timelockSetup);
}
