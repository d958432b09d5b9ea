import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { toBeHex } from "ethers";
import { ethers } from "hardhat";
import { veilDomain } from "../../sequencer/chain/eip712";
import { mulBase, randomScalar } from "../../sequencer/crypto/babyjub";
import { blockHeight, encryptTransaction, rollupId } from "../../sequencer/crypto/encryption";
import {
  aggregateRoundKey,
  contributionToJson,
  createContribution,
  createSignedContribution,
  signContribution,
  roundKeyToJson,
  type Contribution,
  type Round,
} from "../../sequencer/crypto/roundkey";
import { RSA_2048_MODULUS } from "../../sequencer/crypto/timelock/modulus";
import { setupTimelock, timelockParams, type TimelockParams } from "../../sequencer/crypto/timelock/params";
import { timelockConfigFields } from "../../sequencer/chain/timelock-config";
import { txValidityPublicSignals, proveTxValidity, TX_VALIDITY_CIRCUIT } from "../../sequencer/zk/prover";
import { verify } from "../../sequencer/zk/groth16";
import { NodeAnswerError, RoundKeyError, type RoundKeyFailure } from "../../sequencer/sdk/errors";
import { verifyEncryptionKey } from "../../sequencer/sdk/round-key";
import { ROLLUP_ID, rollupConfig } from "../contracts/fixture";
import { sdkWorld, signedTransfer, type SdkWorld } from "./sdk-fixture";

const T = 1_024;
const ROUND: Round = { rollupId: ROLLUP_ID, height: 77n };

/** The world with the rollup's time-lock set to RSA-2048 and a small development T, h published. */
async function keyWorld(): Promise<SdkWorld> {
  const w = await sdkWorld();
  await w.registry.connect(w.rollupOwner).updateRollupConfig(ROLLUP_ID, {
    ...rollupConfig(w.clusterId),
    ...timelockConfigFields(await setupTimelock({ T })),
  });
  return w;
}

describe("SDK: round-key verification against the registered committee", function () {
  this.timeout(300_000);
  let w: SdkWorld;
  let params: TimelockParams;
  let committee: string[];
  let contributions: Contribution[];

  before(async () => {
    w = await loadFixture(keyWorld);
    const config = await w.chain.timelockConfig(ROLLUP_ID);
    params = await timelockParams(config);
    expect(params).to.include({ N: RSA_2048_MODULUS, T });
    committee = await w.chain.keyGeneratorsOf(ROLLUP_ID);
    expect(committee).to.have.length(3);
    contributions = [];
    for (const g of committee) {
      const signer = await ethers.getSigner(g);
      contributions.push((await createSignedContribution(params, w.domain, ROUND, signer)).contribution);
    }
  });

  /** What an honest node serves for a set of contributions: their aggregate and the contributions. */
  async function served(list: readonly Contribution[]) {
    const key = await verifyEncryptionKey(
      { roundKey: roundKeyToJson(await aggregate(list)), contributions: list.map(contributionToJson) },
      ROUND,
      committee,
      params,
      w.domain,
      { minContributors: 1 },
    );
    return { roundKey: roundKeyToJson(key), contributions: list.map(contributionToJson) };
  }
  async function aggregate(list: readonly Contribution[]) {
    return (await aggregateRoundKey(params, ROUND, list)).key;
  }

  async function failure(raw: unknown, round = ROUND, minContributors?: number): Promise<RoundKeyFailure> {
    try {
      await verifyEncryptionKey(
        raw,
        round,
        committee,
        params,
        w.domain,
        minContributors === undefined ? {} : { minContributors },
      );
    } catch (error) {
      expect(error).to.be.instanceOf(RoundKeyError);
      return (error as RoundKeyError).reason;
    }
    return expect.fail("the round key was accepted");
  }

  it("accepts the aggregate of the whole committee; a transaction encrypted to it proves and verifies", async () => {
    const key = await verifyEncryptionKey(await served(contributions), ROUND, committee, params, w.domain);
    expect(key.generators).to.deep.equal(committee);
    const enc = encryptTransaction(Buffer.from((await signedTransfer()).slice(2), "hex"), {
      rollupId: rollupId(ROLLUP_ID),
      height: blockHeight(ROUND.height),
      roundKey: key.publicKey,
    });
    const { proof } = await proveTxValidity(enc);
    expect(await verify(TX_VALIDITY_CIRCUIT, proof, txValidityPublicSignals(enc))).to.equal(true);
  });

  it("accepts a key of all members but one by default, and refuses fewer or what the rollup's minimum forbids", async () => {
    const partial = await served(contributions.slice(0, 2));
    expect((await verifyEncryptionKey(partial, ROUND, committee, params, w.domain)).generators).to.have.length(2);
    expect(await failure(partial, ROUND, 3)).to.equal("committee-incomplete");
    // One generator alone knows the secret of a key it made alone.
    expect(await failure(await served(contributions.slice(0, 1)))).to.equal("committee-incomplete");
  });

  it("rejects a contribution from an address outside the registered committee", async () => {
    const outsider = (await createSignedContribution(params, w.domain, ROUND, w.outsider)).contribution;
    const list = [...contributions.slice(0, 2), outsider];
    const raw = { roundKey: roundKeyToJson(await aggregate(list)), contributions: list.map(contributionToJson) };
    expect(await failure(raw)).to.equal("not-in-committee");
  });

  it("rejects a contribution whose proof does not bind its public key", async () => {
    const list = contributions.map(contributionToJson);
    const other = mulBase(randomScalar());
    list[1] = { ...list[1]!, publicKey: [toBeHex(other[0]), toBeHex(other[1])] };
    const raw = { roundKey: roundKeyToJson(await aggregate(contributions)), contributions: list };
    expect(await failure(raw)).to.equal("contribution-invalid");
  });

  it("rejects a contribution without a signature", async () => {
    const list = contributions.map(contributionToJson);
    const { signature: _dropped, ...unsigned } = list[1]!;
    const raw = {
      roundKey: roundKeyToJson(await aggregate(contributions)),
      contributions: [list[0], unsigned, list[2]],
    };
    let caught: unknown;
    try {
      await verifyEncryptionKey(raw, ROUND, committee, params, w.domain);
    } catch (error) {
      caught = error;
    }
    expect(caught).to.be.instanceOf(NodeAnswerError);
    expect((caught as Error).message).to.match(/signature/);
  });

  it("rejects a member's contribution fabricated and signed by another member (one generator knowing the secret)", async () => {
    // The serving generator (committee[0]) makes every other member's contribution itself: valid proofs
    // for their addresses, signed with its own key.
    const liar = await ethers.getSigner(committee[0]!);
    const list: Contribution[] = [contributions[0]!];
    for (const g of committee.slice(1)) {
      const body = (await createContribution(params, ROUND, g)).contribution;
      const { signature } = await signContribution(liar, w.domain, { ...body, generator: liar.address });
      list.push({ ...body, signature });
    }
    const raw = { roundKey: roundKeyToJson(await aggregate(list)), contributions: list.map(contributionToJson) };
    expect(await failure(raw)).to.equal("contribution-invalid");
  });

  it("rejects a signature over another contribution or in another deployment's domain", async () => {
    const signer = await ethers.getSigner(committee[1]!);
    const replacement = (await createSignedContribution(params, w.domain, ROUND, signer)).contribution;
    const moved = [...contributions];
    moved[1] = { ...contributions[1]!, signature: replacement.signature };
    const raw = {
      roundKey: roundKeyToJson(await aggregate(contributions)),
      contributions: moved.map(contributionToJson),
    };
    expect(await failure(raw)).to.equal("contribution-invalid");
    const elsewhere = veilDomain(w.domain.chainId + 1n, w.domain.verifyingContract);
    const foreign = [...contributions];
    foreign[1] = await signContribution(signer, elsewhere, contributions[1]!);
    const raw2 = {
      roundKey: roundKeyToJson(await aggregate(contributions)),
      contributions: foreign.map(contributionToJson),
    };
    expect(await failure(raw2)).to.equal("contribution-invalid");
  });

  it("rejects a served key that is not the aggregate (a key the node knows the secret of)", async () => {
    const honest = await served(contributions);
    const own = mulBase(randomScalar());
    const swapped = { ...honest, roundKey: { ...honest.roundKey, publicKey: [toBeHex(own[0]), toBeHex(own[1])] } };
    expect(await failure(swapped)).to.equal("key-mismatch");
    const reordered = {
      ...honest,
      roundKey: { ...honest.roundKey, generators: [...honest.roundKey.generators].reverse() },
    };
    expect(await failure(reordered)).to.equal("key-mismatch");
  });

  it("rejects a key for another round and malformed answers", async () => {
    expect(await failure(await served(contributions), { ...ROUND, height: ROUND.height + 1n })).to.equal("wrong-round");
    let caught: unknown;
    try {
      await verifyEncryptionKey({ roundKey: {} }, ROUND, committee, params, w.domain);
    } catch (error) {
      caught = error;
    }
    expect(caught).to.be.instanceOf(NodeAnswerError);
  });
});
