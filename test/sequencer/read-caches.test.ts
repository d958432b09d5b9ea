/**
 * What reads may cost a node beyond its store: a read of a rollup nobody registered asks L1 once per id
 * and while (concurrent asks share one lookup), and the ids remembered are bounded; a read of a round key
 * nobody published asks the key generators at most once per UNPUBLISHED_TTL_MS.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { deployCore, insecureTestTimeLockPolicy } from "../../sequencer/chain/deploy";
import { loadBigMath } from "../../sequencer/crypto/timelock/bigmath";
import { generateTestOnlyModulus } from "../../sequencer/crypto/timelock/test-modulus";
import { veilDomain } from "../../sequencer/chain/eip712";
import { ChainView, MAX_UNKNOWN_ROLLUPS, type RollupInfo } from "../../sequencer/node/chain-view";
import {
  MemoryRoundKeySource,
  RoundKeyUnavailable,
  RoundKeys,
  UNPUBLISHED_TTL_MS,
  type RoundKeySource,
} from "../../sequencer/node/round-keys";
import type { ClusterRegistry } from "../../typechain-types";
import { PARAMS } from "../contracts/fixture";

describe("read caches: what a read of something unknown may cost", function () {
  this.timeout(300_000);

  describe("rollups nobody registered", () => {
    let registry: ClusterRegistry;
    let lookups = 0;
    /** The deployed registry, counting its rollupInfo calls (each one is an L1 call). */
    let counted: ClusterRegistry;

    before(async () => {
      const [deployer] = await ethers.getSigners();
      const N = generateTestOnlyModulus(await loadBigMath(), 1024).N;
      ({ registry } = await deployCore(deployer!, { ...PARAMS, timeLock: insecureTestTimeLockPolicy(N) }));
      counted = new Proxy(registry, {
        get(target, key, receiver) {
          if (key === "rollupInfo") {
            return (...args: unknown[]) => {
              lookups += 1;
              return (target.rollupInfo as unknown as (...a: unknown[]) => unknown)(...args);
            };
          }
          return Reflect.get(target, key, receiver) as unknown;
        },
      });
    });
    beforeEach(() => (lookups = 0));

    it("concurrent and repeated reads of one unknown id ask L1 once", async () => {
      const chain = new ChainView(counted, 1n);
      const answers = await Promise.all(Array.from({ length: 50 }, () => chain.rollup(123_456n)));
      expect(answers.every((a) => a === undefined)).to.equal(true);
      expect(await chain.rollup(123_456n)).to.equal(undefined);
      expect(lookups).to.equal(1);
    });

    it(`remembers at most ${MAX_UNKNOWN_ROLLUPS} unknown ids: the one asked about longest ago goes first`, async () => {
      const chain = new ChainView(counted, 1n);
      for (let id = 1n; id <= BigInt(MAX_UNKNOWN_ROLLUPS) + 1n; id++) await chain.rollup(1_000_000n + id);
      expect(lookups).to.equal(MAX_UNKNOWN_ROLLUPS + 1);
      await chain.rollup(1_000_000n + BigInt(MAX_UNKNOWN_ROLLUPS) + 1n); // the latest: remembered
      expect(lookups).to.equal(MAX_UNKNOWN_ROLLUPS + 1);
      await chain.rollup(1_000_001n); // the first: forgotten, asked again
      expect(lookups).to.equal(MAX_UNKNOWN_ROLLUPS + 2);
    });
  });

  describe("round keys nobody published", () => {
    const rollup = { rollupId: 9n, keyGenerators: [] } as unknown as RollupInfo;
    const domain = veilDomain(31337n, "0x00000000000000000000000000000000000000bb");

    it(`asks the source once per ${UNPUBLISHED_TTL_MS} ms for a round it does not have`, async () => {
      let asked = 0;
      const memory = new MemoryRoundKeySource();
      const source: RoundKeySource = {
        contributions: (r, h) => {
          asked += 1;
          return memory.contributions(r, h);
        },
      };
      const keys = new RoundKeys(source, domain);
      const unavailable = async (height: bigint): Promise<void> => {
        const error = await keys.get(rollup, height).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).to.be.instanceOf(RoundKeyUnavailable);
      };
      for (let i = 0; i < 20; i++) await unavailable(5n);
      expect(asked).to.equal(1);
      await unavailable(6n); // another round is asked for itself
      expect(asked).to.equal(2);
      await new Promise((r) => setTimeout(r, UNPUBLISHED_TTL_MS + 50));
      await unavailable(5n);
      expect(asked).to.equal(3);
    });
  });
});
