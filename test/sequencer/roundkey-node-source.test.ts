/**
 * The node's round-key source: a key is only accepted when every contribution is signed by its
 * generator in the deployment's EIP-712 domain, whichever source (JSON-RPC key generator, memory)
 * served it. Small test-only modulus and T for speed.
 */
import { expect } from "chai";
import { freePort } from "../../scripts/devnet/net";
import { Wallet } from "ethers";
import pino from "pino";
import { uint64 } from "../../sequencer/api/wire";
import { veilDomain } from "../../sequencer/chain/eip712";
import {
  aggregateRoundKey,
  contributionToJson,
  createContribution,
  createSignedContribution,
  roundKeyToJson,
  signContribution,
  type Contribution,
  type ContributionJson,
} from "../../sequencer/crypto/roundkey";
import { loadBigMath } from "../../sequencer/crypto/timelock/bigmath";
import { setupTimelock, type TimelockParams } from "../../sequencer/crypto/timelock/params";
import { generateTestOnlyModulus } from "../../sequencer/crypto/timelock/test-modulus";
import type { RollupInfo } from "../../sequencer/node/chain-view";
import { Health } from "../../sequencer/common/health";
import { createRegistry } from "../../sequencer/common/metrics";
import {
  MemoryRoundKeySource,
  RoundKeyUnavailable,
  RoundKeys,
  RpcRoundKeySource,
  type RoundKeySource,
} from "../../sequencer/node/round-keys";
import { MethodRegistry } from "../../sequencer/rpc/registry";
import { RpcServer } from "../../sequencer/rpc/server";

const T = 64;
const HEIGHT = 5n;
const DOMAIN = veilDomain(31337n, "0x00000000000000000000000000000000000000bb");
const KEYS = [11, 12, 13]
  .map((i) => new Wallet(`0x${i.toString(16).padStart(64, "0")}`))
  .sort((a, b) => (BigInt(a.address) < BigInt(b.address) ? -1 : 1));

/** A source that serves a fixed list of contributions for every height. */
const fixedSource = (list: readonly Contribution[]): RoundKeySource => ({
  contributions: () => Promise.resolve(list),
});

describe("node round-key source: contribution signatures", function () {
  this.timeout(120_000);
  let params: TimelockParams;
  let rollup: RollupInfo;
  let honest: Contribution[];
  const round = { rollupId: 9n, height: HEIGHT };

  before(async () => {
    const math = await loadBigMath();
    const { N } = generateTestOnlyModulus(math, 1024);
    params = await setupTimelock({ N, T });
    rollup = {
      rollupId: round.rollupId,
      clusterId: 1n,
      maxTxsPerBlock: 1024,
      timelock: params,
      keyGenerators: KEYS.map((k) => k.address),
      minContributors: 0,
    };
    honest = [];
    for (const key of KEYS) honest.push((await createSignedContribution(params, DOMAIN, round, key)).contribution);
  });

  async function unavailable(keys: RoundKeys): Promise<string> {
    try {
      await keys.get(rollup, HEIGHT);
    } catch (error) {
      expect(error).to.be.instanceOf(RoundKeyUnavailable);
      return (error as Error).message;
    }
    return expect.fail("the round key was accepted");
  }

  it("accepts the committee's signed contributions and aggregates them, warning once of the test modulus", async () => {
    const warnings: string[] = [];
    const log = { warn: (_fields: object, message: string) => warnings.push(message) };
    const keys = new RoundKeys(fixedSource(honest), DOMAIN, log);
    const key = await keys.get(rollup, HEIGHT);
    expect(key.generators).to.deep.equal(KEYS.map((k) => k.address));
    expect(key).to.deep.equal((await aggregateRoundKey(params, round, honest)).key);
    await keys.get(rollup, HEIGHT + 1n).catch(() => undefined);
    expect(warnings).to.have.length(1);
    expect(warnings[0]).to.match(/INSECURE time-lock modulus/);
  });

  it("refuses a rollup whose published h fails its proof", async () => {
    const forged = { ...rollup, timelock: { ...rollup.timelock, h: rollup.timelock.h + 1n } };
    const refused = await new RoundKeys(fixedSource(honest), DOMAIN).get(forged, HEIGHT).then(
      () => expect.fail("a round key was served under a forged h"),
      (error: Error) => error,
    );
    expect(refused).to.be.instanceOf(RoundKeyUnavailable);
    expect(refused.message).to.match(/time-lock parameters.*published h/);
  });

  it("refuses a key one generator made alone (its secret is that generator's), serves it with all but one", async () => {
    // Three generators: by default two must have contributed (all but one).
    expect(await unavailable(new RoundKeys(fixedSource([honest[0]!]), DOMAIN))).to.match(
      /1 of 3 generators contributed, 2 required/,
    );
    const twoOfThree = await new RoundKeys(fixedSource(honest.slice(0, 2)), DOMAIN).get(rollup, HEIGHT);
    expect(twoOfThree.generators).to.have.length(2);
    // A rollup that registered a higher minimum gets it.
    const strict = { ...rollup, minContributors: 3 };
    const keys = new RoundKeys(fixedSource(honest.slice(0, 2)), DOMAIN);
    await keys.get(strict, HEIGHT).then(
      () => expect.fail("a key of 2 contributors was served under a minimum of 3"),
      (error: unknown) => expect((error as Error).message).to.match(/2 of 3 generators contributed, 3 required/),
    );
  });

  it("rejects a contribution whose signature is missing", async () => {
    const unsigned = { ...honest[1]!, signature: "" };
    expect(await unavailable(new RoundKeys(fixedSource([honest[0]!, unsigned, honest[2]!]), DOMAIN))).to.match(
      /not signed/,
    );
    const { signature: _dropped, ...json } = contributionToJson(honest[1]!);
    expect(() => new MemoryRoundKeySource().addJson(json)).to.throw(/signature/);
  });

  it("rejects another member's contribution fabricated by one generator and signed with its own key", async () => {
    const [liar, victim] = [KEYS[0]!, KEYS[1]!];
    const body = (await createContribution(params, round, victim.address)).contribution;
    const { signature } = await signContribution(liar, DOMAIN, { ...body, generator: liar.address });
    const list = [honest[0]!, { ...body, signature }, honest[2]!];
    expect(await unavailable(new RoundKeys(fixedSource(list), DOMAIN))).to.match(
      new RegExp(`${victim.address} rejected \\(contribution is not signed by its generator\\)`),
    );
  });

  it("rejects a signature made over another contribution or in another domain", async () => {
    const again = (await createSignedContribution(params, DOMAIN, round, KEYS[2]!)).contribution;
    const moved = [honest[0]!, honest[1]!, { ...honest[2]!, signature: again.signature }];
    expect(await unavailable(new RoundKeys(fixedSource(moved), DOMAIN))).to.match(/not signed by its generator/);
    const foreign = await signContribution(KEYS[2]!, veilDomain(1n, DOMAIN.verifyingContract), honest[2]!);
    const list = [honest[0]!, honest[1]!, foreign];
    expect(await unavailable(new RoundKeys(fixedSource(list), DOMAIN))).to.match(/not signed by its generator/);
  });

  it("over JSON-RPC, accepts a signed answer and treats an unsigned or forged one as unpublished", async () => {
    let served: ContributionJson[] = honest.map(contributionToJson);
    const methods = new MethodRegistry().register("get_round_key", {
      params: { rollupId: uint64, height: uint64 },
      handler: async () => ({
        roundKey: roundKeyToJson((await aggregateRoundKey(params, round, honest)).key),
        contributions: served,
      }),
    });
    const server = new RpcServer({
      methods,
      log: pino({ level: "silent" }),
      metricsRegistry: createRegistry({ processMetrics: false }),
      health: new Health(),
      maxBodyBytes: 1 << 20,
      maxBatchSize: 10,
      requestTimeoutMs: 10_000,
    });
    const { url } = await server.listen(0, "127.0.0.1");
    try {
      const source = new RpcRoundKeySource(url);
      expect((await new RoundKeys(source, DOMAIN).get(rollup, HEIGHT)).generators).to.have.length(3);
      const { signature: _dropped, ...unsigned } = served[1]!;
      served = [served[0]!, unsigned as ContributionJson, served[2]!];
      expect(await unavailable(new RoundKeys(source, DOMAIN))).to.match(/no round key is published/);
      served = honest.map(contributionToJson);
      served[1] = { ...served[1]!, signature: served[2]!.signature };
      expect(await unavailable(new RoundKeys(source, DOMAIN))).to.match(/not signed by its generator/);
      // A generator that is down is skipped: the next configured one serves the round.
      served = honest.map(contributionToJson);
      const dead = `http://127.0.0.1:${await freePort()}`;
      const fallback = new RpcRoundKeySource([dead, url], 2_000);
      expect((await new RoundKeys(fallback, DOMAIN).get(rollup, HEIGHT)).generators).to.have.length(3);
      expect(await new RpcRoundKeySource([dead], 2_000).contributions(rollup.rollupId, HEIGHT)).to.equal(undefined);
    } finally {
      await server.close(100);
    }
  });
});
