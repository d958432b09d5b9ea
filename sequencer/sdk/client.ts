/**
 * VeilClient: what an application uses to send a rollup transaction through Veil and hold the leader to
 * its promise.
 *
 *   send(signedTx)       key for the target height (verified against the registry's committee), encrypt and
 *                        prove in this process, submit, verify the receipt (leader's EIP-712 signature per the
 *                        registry schedule, PRE proof, our encTxHash); the same ciphertext is sent again
 *                        after a passing failure (a view change), and a send whose answer is lost or late is
 *                        looked up by its encTxHash before anything is reported (settle.ts)
 *   checkInclusion(sent) once the block commitment is on L1: POST proof against its encRoot, PRE/POST agreement,
 *                        or the slashing evidence when the promise was broken
 *   slash(verdict)       submits that evidence to the ValidationServiceManager
 *   force(signedTx)      when the sequencer refuses the sender: the same encryption and proof, posted to the
 *                        L1 inbox for a height far ahead; forcedInclusion(forced) then says whether the
 *                        height's block holds it, and slashOmission(verdict) slashes a block that left it out
 *   sendOrForce(signedTx) send, and force once the sequencer refused or ignored it a few times (fallback.ts)
 *
 * The plaintext and the proof's witness never leave the process: only the ciphertext, its commitment and
 * the proof are sent.
 */
import type { ContractRunner, ContractTransactionResponse, Provider } from "ethers";
import { encryptedSubmissionToJson, groth16Proof, type EncryptedSubmission } from "../api/wire";
import { blockHeight, encryptTransaction, rollupId as toRollupId, type EncryptionResult } from "../crypto/encryption";
import type { RoundKey } from "../crypto/roundkey";
import { timelockParams } from "../crypto/timelock/params";
import { warnIfTestModulus, type WarningSink } from "../crypto/timelock/policy";
import { RpcCallError, RpcClient } from "../rpc/client";
import { proveTxValidity, type TxValidityProof } from "../zk/prover";
import type { ChainView, PostedEntry } from "./chain";
import { DEFAULT_AFTER_FAILURES, DEFAULT_RETRY_DELAY_MS, isSequencerFailure, type FallbackOptions } from "./fallback";
import { forcedVerdict, type ForcedVerdict } from "./force";
import { InclusionError, SubmissionError } from "./errors";
import { fieldToBytes32, type Hash } from "./hashes";
import { checkInclusion, type InclusionVerdict } from "./inclusion";
import { LookAhead, type LookAheadOptions } from "./look-ahead";
import { NodeApi } from "./node-api";
import { verifyReceipt, type VerifiedReceipt } from "./receipt";
import { heightRefusal, isHeightRefusal, isPassingFailure, mayBeOrdered, settle, type LookupOptions } from "./settle";
import { requiredContributors } from "../crypto/roundkey";
import { verifyEncryptionKey, type RoundKeyPolicy } from "./round-key";

const consoleWarnings: WarningSink = { warn: (fields, message) => console.warn(`veil: ${message}`, fields) };

export interface VeilClientOptions {
  /** A node's JSON-RPC URL (any node: followers forward to the leader), or a configured client. */
  readonly node: string | RpcClient;
  readonly chain: ChainView;
  readonly rollupId: bigint;
  readonly lookAhead: LookAheadOptions;
  readonly roundKeyPolicy?: RoundKeyPolicy;
  /** Where the client reports, once, a rollup on a test time-lock modulus (default: the console). */
  readonly log?: WarningSink;
  /** Attempts when the target height closes before the transaction reaches the leader (default 3). */
  readonly maxAttempts?: number;
  /** The prover (default: Groth16 tx-validity in this process). */
  readonly prove?: (encryption: EncryptionResult) => Promise<TxValidityProof>;
  /** How long a send without a clear answer is looked up before its error is reported (settle.ts). */
  readonly lookups?: LookupOptions;
  /** How a send that met a passing failure (a view change, a leader out of reach) is sent again. */
  readonly resubmit?: ResubmitOptions;
}

/**
 * Sending the same ciphertext again after a passing failure (settle.ts, `isPassingFailure`): a view change
 * lasts a few leader timeouts, and the height usually stays open through it.
 */
export interface ResubmitOptions {
  /** Sends of the same ciphertext in all, the first included (default 4; 1 never sends again). */
  readonly attempts?: number;
  /** The wait before the second send; it doubles after each, up to 2 s (default 250 ms). */
  readonly delayMs?: number;
}

const DEFAULT_RESUBMIT_ATTEMPTS = 4;
const DEFAULT_RESUBMIT_DELAY_MS = 250;
const MAX_RESUBMIT_DELAY_MS = 2_000;

/** A transaction Veil ordered: everything needed to check it later and, if need be, to slash. */
export interface SentTransaction {
  readonly receipt: VerifiedReceipt;
  readonly height: bigint;
  readonly encTxHash: Hash;
  readonly txCommitment: bigint;
  readonly provingMs: number;
}

/** An encrypted, proven transaction ready to submit. */
export interface PreparedSubmission {
  readonly submission: EncryptedSubmission;
  readonly height: bigint;
  readonly encTxHash: Hash;
  readonly provingMs: number;
}

/** How one submission ended: ordered and verified, or an error and whether it is proven not ordered. */
type Submitted = { readonly sent: SentTransaction } | { readonly error: unknown; readonly notOrdered: boolean };

/** How `send` chooses its height. */
export interface SendOptions {
  /**
   * The lowest height to encrypt for: a sender's next transaction must not be ordered at a lower height than
   * its previous one, which the rollup would then execute first (its nonce would be out of order).
   */
  readonly notBelow?: bigint;
}

/** A transaction posted to the forced-inclusion inbox. */
export interface ForcedTransaction extends PostedEntry {
  readonly height: bigint;
  readonly encTxHash: Hash;
  readonly provingMs: number;
}

/** How `force` chooses its height. */
export interface ForceOptions {
  /** The height to encrypt for (default: the farthest height whose round key is published). */
  readonly height?: bigint;
}

/** How a `sendOrForce` ended: ordered by the sequencer, or forced through the L1 inbox after its failures. */
export type Delivery =
  | { readonly kind: "ordered"; readonly sent: SentTransaction }
  | { readonly kind: "forced"; readonly forced: ForcedTransaction; readonly failures: readonly unknown[] };

/** How `slash` waits for its claim to mature. */
export interface SlashOptions {
  /** How often the L1's block number is read while waiting (default 500 ms). */
  readonly pollMs?: number;
  /** How long to wait for the claim to mature before giving up (default 120 s). */
  readonly timeoutMs?: number;
  /**
   * Called instead of sleeping between reads: a development chain that mines only on transactions can
   * mine a block here (Hardhat's `hardhat_mine`); a public chain never needs it.
   */
  readonly whileWaiting?: () => Promise<unknown>;
}

export class VeilClient {
  readonly rollupId: bigint;
  readonly node: NodeApi;
  readonly lookAhead: LookAhead;
  readonly #chain: ChainView;
  readonly #options: VeilClientOptions;
  readonly #keys = new Map<bigint, Promise<RoundKey>>();

  constructor(options: VeilClientOptions) {
    this.rollupId = toRollupId(options.rollupId);
    this.node = new NodeApi(typeof options.node === "string" ? new RpcClient(options.node) : options.node);
    this.lookAhead = new LookAhead(options.lookAhead);
    this.#chain = options.chain;
    this.#options = options;
  }

  get chain(): ChainView {
    return this.#chain;
  }

  /**
   * The height a transaction prepared now should target: the look-ahead's choice, capped by the highest height
   * the node accepts, and lowered to the highest height whose round key is already published (key generators
   * publish a bounded number of heights ahead). Never below the open height.
   */
  async targetHeight(notBelow = 0n): Promise<bigint> {
    const { openHeight, maxHeight } = await this.node.heights(this.rollupId);
    const target = this.lookAhead.target(openHeight);
    const wanted = target > notBelow ? target : notBelow;
    const lowest = openHeight > notBelow ? openHeight : notBelow;
    return this.#highestKeyed(wanted < maxHeight ? wanted : maxHeight, lowest);
  }

  /** The highest height from `from` down to `lowest` whose round key is published and verifies. */
  async #highestKeyed(from: bigint, lowest: bigint): Promise<bigint> {
    let last: RpcCallError | undefined;
    for (let height = from; height >= lowest; height--) {
      try {
        await this.roundKey(height);
        return height;
      } catch (error) {
        if (!(error instanceof RpcCallError && error.errorName === "NOT_FOUND")) throw error;
        last = error;
      }
    }
    throw last ?? new Error(`no height from ${lowest} has a published round key`);
  }

  /** The round key of `height`, verified against the registry's committee (cached once verified). */
  roundKey(height: bigint): Promise<RoundKey> {
    let key = this.#keys.get(height);
    if (key === undefined) {
      key = this.#fetchRoundKey(height);
      key.catch(() => this.#keys.delete(height));
      this.#keys.set(height, key);
    }
    return key;
  }

  async #fetchRoundKey(height: bigint): Promise<RoundKey> {
    const [raw, committee, config, registered] = await Promise.all([
      this.node.encryptionKey(this.rollupId, height),
      this.#chain.keyGeneratorsOf(this.rollupId),
      this.#chain.timelockConfig(this.rollupId),
      this.#chain.minContributorsOf(this.rollupId),
    ]);
    // The registry publishes h with its proof: checked in milliseconds, never recomputed.
    warnIfTestModulus(config.N, this.#options.log ?? consoleWarnings, { rollupId: this.rollupId.toString() });
    const params = await timelockParams(config);
    // The rollup's registered rule, unless this client asks for more contributors than it does.
    const required = requiredContributors(committee.length, registered);
    const asked = this.#options.roundKeyPolicy?.minContributors ?? 0;
    return verifyEncryptionKey(raw, { rollupId: this.rollupId, height }, committee, params, this.#chain.domain, {
      minContributors: Math.max(required, asked),
    });
  }

  /** Encrypts `signedTx` to the round key of `height` and proves the ciphertext well formed. */
  async prepare(signedTx: Uint8Array, height: bigint): Promise<PreparedSubmission> {
    // The look-ahead learns the whole preparation: a key verified on the way costs the window as much as proving.
    const preparing = performance.now();
    const key = await this.roundKey(height);
    const encryption = encryptTransaction(signedTx, {
      rollupId: toRollupId(this.rollupId),
      height: blockHeight(height),
      roundKey: key.publicKey,
    });
    const started = performance.now();
    const { proof } = await (this.#options.prove ?? proveTxValidity)(encryption);
    const provingMs = performance.now() - started;
    this.lookAhead.observe(performance.now() - preparing);
    const submission: EncryptedSubmission = {
      tx: { ...encryption.encrypted, ciphertext: [...encryption.encrypted.ciphertext] },
      txCommitment: encryption.txCommitment,
      proof: groth16Proof.parse(proof),
    };
    return { submission, height, encTxHash: fieldToBytes32(encryption.encTxHash), provingMs };
  }

  /**
   * Submits a prepared transaction and verifies the receipt the leader returns. After a passing failure (a
   * view change, a leader out of reach, a lost connection) the same ciphertext is sent again a few times
   * (`resubmit`). When the last answer leaves open whether the leader ordered it (lost, late, UNAVAILABLE,
   * UPSTREAM_TIMEOUT, DUPLICATE_CIPHERTEXT, ...), the ciphertext is looked up at its height first: ordered,
   * it gets its receipt, verified the same way; otherwise the node's original error is thrown.
   */
  async submit(prepared: PreparedSubmission): Promise<SentTransaction> {
    const outcome = await this.#submit(prepared);
    if ("sent" in outcome) return outcome.sent;
    throw outcome.error;
  }

  async #submit(prepared: PreparedSubmission): Promise<Submitted> {
    const leaf = { rollupId: this.rollupId, height: prepared.height, encTxHash: prepared.encTxHash };
    let raw: unknown;
    try {
      raw = await this.#sendResubmitting(prepared.submission);
    } catch (error) {
      const refusal = heightRefusal(error);
      if (refusal !== undefined) this.lookAhead.missed();
      if (refusal === undefined && !mayBeOrdered(error)) return { error, notOrdered: false };
      const settled = await settle(this.node, leaf, this.#options.lookups, refusal);
      if (settled.kind !== "ordered") return { error, notOrdered: settled.kind === "not-ordered" };
      raw = settled.receipt;
    }
    const receipt = await verifyReceipt(raw, leaf, this.#chain);
    return {
      sent: {
        receipt,
        height: prepared.height,
        encTxHash: prepared.encTxHash,
        txCommitment: prepared.submission.txCommitment,
        provingMs: prepared.provingMs,
      },
    };
  }

  /**
   * Sends a submission, and the very same ciphertext again after each passing failure, a bounded number of
   * times: the last failure is thrown for `#submit` to settle.
   */
  async #sendResubmitting(submission: EncryptedSubmission): Promise<unknown> {
    const json = encryptedSubmissionToJson(submission);
    const attempts = Math.max(1, this.#options.resubmit?.attempts ?? DEFAULT_RESUBMIT_ATTEMPTS);
    let delay = this.#options.resubmit?.delayMs ?? DEFAULT_RESUBMIT_DELAY_MS;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.node.sendEncrypted(json);
      } catch (error) {
        if (attempt >= attempts || !isPassingFailure(error)) throw error;
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(2 * delay, Math.max(delay, MAX_RESUBMIT_DELAY_MS));
      }
    }
  }

  /**
   * Encrypts, proves, submits and verifies the receipt. When the target height closes first (the node
   * answers HEIGHT_SEALED or WRONG_HEIGHT) and the ciphertext is not ordered there, starts over for a later
   * height, up to `maxAttempts` times. A transaction that may be ordered is never encrypted again.
   */
  async send(signedTx: Uint8Array, options: SendOptions = {}): Promise<SentTransaction> {
    const attempts = this.#options.maxAttempts ?? 3;
    let last: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const prepared = await this.prepare(signedTx, await this.targetHeight(options.notBelow));
      const outcome = await this.#submit(prepared);
      if ("sent" in outcome) return outcome.sent;
      if (!(isHeightRefusal(outcome.error) && outcome.notOrdered)) throw outcome.error;
      last = outcome.error;
    }
    const reason = last instanceof Error ? ` (last: ${last.message})` : "";
    throw new SubmissionError(`no height accepted the transaction in ${attempts} attempts${reason}`, attempts, {
      cause: last,
    });
  }

  /**
   * The farthest height whose round key is published and verified: the target of a forced transaction, which
   * must be posted well before its height is sealed (docs/forced-inclusion.md, "The deadline rule").
   */
  async farthestKeyedHeight(): Promise<bigint> {
    const { openHeight, maxHeight } = await this.node.heights(this.rollupId);
    return this.#highestKeyed(maxHeight, openHeight);
  }

  /**
   * Forces `signedTx` through the L1: encrypts and proves it as `send` does, for a height far ahead, and posts
   * it to the forced-inclusion inbox with its fee (`signer` pays the fee and the gas, and is the entry's
   * sender on L1). The sequencer is not asked: this is the path around a leader that refuses the sender.
   */
  async force(signedTx: Uint8Array, signer: ContractRunner, options: ForceOptions = {}): Promise<ForcedTransaction> {
    const height = options.height ?? (await this.farthestKeyedHeight());
    const prepared = await this.prepare(signedTx, height);
    const key = await this.roundKey(height);
    const { tx: wire, txCommitment, proof } = prepared.submission;
    const tx = { ...wire, rollupId: toRollupId(wire.rollupId), height: blockHeight(wire.height) };
    const posted = await this.#chain.postForced(signer, { tx, txCommitment, roundKey: key.publicKey, proof });
    return { ...posted, height, encTxHash: prepared.encTxHash, provingMs: prepared.provingMs };
  }

  /**
   * Sends as `send` does and, once the sequencer has refused the transaction or left it unanswered
   * `afterFailures` times (fallback.ts says which failures count), forces it through the L1 inbox (`force`,
   * `signer` paying). While its height is open the same ciphertext is submitted again, so that a send whose
   * fate was unknown is found by its lookup rather than ordered twice; a height that closes takes a new
   * encryption for a later one. A transaction forced after an unanswered send may have been ordered all the
   * same: the rollup then runs the sequenced copy, at the lower height, and refuses the forced one for its nonce.
   */
  async sendOrForce(
    signedTx: Uint8Array,
    signer: ContractRunner,
    options: SendOptions & FallbackOptions = {},
  ): Promise<Delivery> {
    const limit = options.afterFailures ?? DEFAULT_AFTER_FAILURES;
    const failures: unknown[] = [];
    const failed = (error: unknown): void => {
      if (!isSequencerFailure(error)) throw error;
      failures.push(error);
      options.onFailure?.(error, failures.length);
    };
    let prepared: PreparedSubmission | undefined;
    while (failures.length < limit) {
      if (failures.length > 0) await sleep(options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS);
      try {
        prepared ??= await this.prepare(signedTx, await this.targetHeight(options.notBelow));
      } catch (error) {
        failed(error);
        continue;
      }
      const outcome = await this.#submit(prepared);
      if ("sent" in outcome) return { kind: "ordered", sent: outcome.sent };
      failed(outcome.error);
      if (isHeightRefusal(outcome.error) && outcome.notOrdered) prepared = undefined;
    }
    const notBelow = options.notBelow ?? 0n;
    const farthest = await this.farthestKeyedHeight();
    const forced = await this.force(signedTx, signer, { height: farthest > notBelow ? farthest : notBelow });
    return { kind: "forced", forced, failures };
  }

  /** What became of a forced transaction, from its height's block commitment on L1 (pending until there is one). */
  async forcedInclusion(forced: Pick<ForcedTransaction, "height" | "postedBlock" | "index">): Promise<ForcedVerdict> {
    return forcedVerdict(forced, await this.#chain.committedBlock(this.rollupId, forced.height));
  }

  /**
   * Slashes the signer of a block that left a due forced transaction out, claim first (as `slash` does);
   * `signer` pays and receives the challenger's reward.
   */
  async slashOmission(
    verdict: Extract<ForcedVerdict, { status: "omitted" }>,
    signer: ContractRunner & { provider: Provider | null },
    options: SlashOptions = {},
  ): Promise<ContractTransactionResponse> {
    const { commitment, signature } = verdict.block;
    if (signature === undefined)
      throw new InclusionError(
        "signature-unavailable",
        "the block commitment's signature is not in its createNewTask call",
      );
    const { revealFrom } = await this.#chain.claimForcedInclusionOmission(signer, commitment, signature);
    await untilBlock(signer.provider, revealFrom, options);
    return this.#chain.slashForcedInclusionOmission(signer, commitment, signature);
  }

  /**
   * Once the block commitment of the receipt's height is on L1: whether the leader kept its promise (POST
   * proof from the node against the on-chain encRoot, PRE and POST agree), or the evidence that it did not.
   */
  async checkInclusion(sent: Pick<SentTransaction, "receipt">): Promise<InclusionVerdict> {
    const { rollupId, blockHeight: height, txIndex } = sent.receipt.commitment;
    const committed = await this.#chain.committedBlock(rollupId, height);
    if (committed === undefined) {
      throw new InclusionError("not-committed", `no block commitment for rollup ${rollupId} height ${height} yet`);
    }
    const post =
      txIndex < committed.commitment.txCount ? await this.node.postProof(rollupId, height, txIndex) : undefined;
    return checkInclusion(sent.receipt, committed.commitment, post);
  }

  /**
   * Submits the evidence of a broken promise; `signer` pays the gas and receives the challenger's reward. It
   * commits the claim first and sends the slash once the claim has matured (ValidationServiceManager
   * CLAIM_DELAY blocks later), so that nobody can copy the evidence from the mempool for the reward.
   */
  async slash(
    sent: Pick<SentTransaction, "receipt">,
    verdict: Extract<InclusionVerdict, { kept: false }>,
    signer: ContractRunner & { provider: Provider | null },
    options: SlashOptions = {},
  ): Promise<ContractTransactionResponse> {
    const { revealFrom } = await this.#chain.claimBrokenOrderCommitment(
      signer,
      sent.receipt,
      verdict.block,
      verdict.evidence,
    );
    await untilBlock(signer.provider, revealFrom, options);
    return this.#chain.slashBrokenOrderCommitment(signer, sent.receipt, verdict.block, verdict.evidence);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until a transaction sent now lands in `block` or later: a claim made CLAIM_DELAY blocks before has matured. */
async function untilBlock(provider: Provider | null, block: number, options: SlashOptions): Promise<void> {
  if (provider === null) throw new Error("the signer needs a provider to wait for its claim to mature");
  const deadline = performance.now() + (options.timeoutMs ?? 120_000);
  while ((await provider.getBlockNumber()) + 1 < block) {
    if (performance.now() > deadline) throw new Error(`the L1 did not reach block ${block} in time`);
    await (options.whileWaiting?.() ?? sleep(options.pollMs ?? 500));
  }
}
