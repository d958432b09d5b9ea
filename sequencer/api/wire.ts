/**
 * JSON encodings of the values that cross Veil's external JSON-RPC API, shared by the node (which
 * parses requests), the SDK and the encrypting RPC (which build them). Field elements and 64-bit
 * integers travel as decimal strings (JSON numbers lose precision past 2^53); hashes and byte strings
 * as 0x-hex. Every schema parses untrusted input into typed values and rejects anything else with a
 * message that names the field.
 */
import { z } from "zod";
import { sealCertificateSchema, sealResultSchema, viewCertificateSchema } from "../chain/certificate";
import { FIELD, type Point } from "../crypto/babyjub";
import { CIPHERTEXT_ELEMENTS } from "../crypto/encryption";
import { schemas } from "../chain/eip712";

const DECIMAL = /^(0|[1-9][0-9]{0,77})$/;

/** A non-negative integer below `bound`, as a decimal string (or a safe JSON integer). */
function boundedInteger(bound: bigint, what: string) {
  return z
    .union([z.string().regex(DECIMAL, `${what} must be a decimal string`), z.number().int().nonnegative().safe()])
    .transform((v) => BigInt(v))
    .refine((v) => v < bound, `${what} is out of range`);
}

export const uint64 = boundedInteger(1n << 64n, "a uint64");
export const fieldElement = boundedInteger(FIELD, "a BN254 field element");
export const uint32 = z
  .number()
  .int()
  .min(0)
  .max(2 ** 32 - 1);
export const bytes32 = z
  .string()
  .regex(/^0x[0-9a-fA-F]{64}$/, "must be 32 bytes of 0x-hex")
  .transform((v) => v.toLowerCase());
export const hexBytes = z
  .string()
  .regex(/^0x([0-9a-fA-F]{2})*$/, "must be 0x-hex bytes")
  .transform((v) => v.toLowerCase());
export const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, "must be a 20-byte 0x-hex address");

export const point = z.tuple([fieldElement, fieldElement]).transform((p): Point => [p[0], p[1]]);

/** A snarkjs Groth16 proof as JSON (decimal coordinates). Curve checks happen in the verifier. */
export const groth16Proof = z.strictObject({
  pi_a: z.array(z.string().max(80)).min(2).max(3),
  pi_b: z
    .array(z.array(z.string().max(80)).length(2))
    .min(2)
    .max(3),
  pi_c: z.array(z.string().max(80)).min(2).max(3),
  protocol: z.literal("groth16"),
  curve: z.literal("bn128"),
});

/** Everything public about one encrypted transaction (see EncryptedTransaction). */
export const encryptedTransaction = z.strictObject({
  rollupId: uint64,
  height: uint64,
  ephemeralKey: point,
  nonce: boundedInteger(1n << 128n, "the nonce"),
  ciphertext: z.array(fieldElement).length(CIPHERTEXT_ELEMENTS, `must hold ${CIPHERTEXT_ELEMENTS} field elements`),
});

/** The body of `send_encrypted_transaction`. */
export const encryptedSubmission = z.strictObject({
  tx: encryptedTransaction,
  txCommitment: fieldElement,
  proof: groth16Proof,
});

export type EncryptedSubmission = z.output<typeof encryptedSubmission>;
export type EncryptedSubmissionJson = z.input<typeof encryptedSubmission>;

/** Encodes a submission for the wire (the inverse of `encryptedSubmission.parse`). */
export function encryptedSubmissionToJson(s: EncryptedSubmission): EncryptedSubmissionJson {
  return {
    tx: {
      rollupId: s.tx.rollupId.toString(),
      height: s.tx.height.toString(),
      ephemeralKey: [s.tx.ephemeralKey[0].toString(), s.tx.ephemeralKey[1].toString()],
      nonce: s.tx.nonce.toString(),
      ciphertext: s.tx.ciphertext.map(String),
    },
    txCommitment: s.txCommitment.toString(),
    proof: s.proof,
  };
}

/** What the leader returns for an ordered transaction: its promise, signed, with the PRE proof. */
export const orderReceipt = z
  .strictObject({
    /** The EIP-712 OrderCommitment message (see sequencer/chain/eip712.ts). */
    commitment: schemas.OrderCommitment,
    /** The leader's EIP-712 signature over `commitment` (65 bytes, 0x-hex). */
    signature: z.string().regex(/^0x[0-9a-fA-F]{130}$/, "must be a 65-byte signature"),
    /** Address of the leader that signed, and the view it led. */
    leader: address,
    viewNumber: uint32,
    /** The left frontier at insertion: DEPTH sibling hashes from the leaf up. */
    preProof: z.array(bytes32),
    /**
     * Above view 0, the proof that the view began: a majority's ViewChange signatures for this height and
     * view. The leader adds it to its answers; entries in the members' logs go without it.
     */
    viewCertificate: viewCertificateSchema.optional(),
  })
  .refine((r) => r.viewNumber === r.commitment.viewNumber, {
    message: "viewNumber must be the view the commitment is signed in",
    path: ["viewNumber"],
  })
  .refine(
    ({ viewCertificate: c, commitment }) =>
      c === undefined ||
      (c.view.rollupId === commitment.rollupId &&
        c.view.height === commitment.blockHeight &&
        c.view.viewNumber === commitment.viewNumber &&
        c.view.epoch === commitment.epoch),
    {
      message: "the view certificate must be for the commitment's height, view and epoch",
      path: ["viewCertificate"],
    },
  );

export type OrderReceipt = z.output<typeof orderReceipt>;
export type OrderReceiptJson = z.input<typeof orderReceipt>;

// ---- params and results of every external method --------------------------------------------------

/** A 65-byte secp256k1 signature as 0x-hex. */
export const signature65 = z.string().regex(/^0x[0-9a-fA-F]{130}$/, "must be a 65-byte signature");

/** (rollupId, height): the coordinates of one block. */
export const blockRef = { rollupId: uint64, height: uint64 } as const;
/** (rollupId, height, index): the coordinates of one ordered transaction. */
export const entryRef = { ...blockRef, index: uint32 } as const;

/**
 * The params of `get_order_commitment`: a height and either the index of an entry or its leaf's hash
 * (`encTxHash`: the Poseidon hash of an encrypted transaction, keccak-256 of a raw one), never both.
 * By hash, a client that lost the answer to its send finds its receipt wherever the leaf is now.
 */
export const orderCommitmentParams = {
  ...blockRef,
  index: uint32.optional(),
  encTxHash: bytes32.optional(),
} as const;
export const ORDER_COMMITMENT_TARGET = "give exactly one of index and encTxHash";
/** The rule across `orderCommitmentParams`' fields: exactly one of index and encTxHash. */
export function namesOneEntry(p: { index?: number | undefined; encTxHash?: string | undefined }): boolean {
  return (p.index === undefined) !== (p.encTxHash === undefined);
}

/** The body of `send_raw_transaction`: a signed rollup transaction that needs no protection. */
export const rawSubmission = z.strictObject({
  ...blockRef,
  /** The raw signed transaction; its Merkle leaf is keccak-256 of these bytes (its Ethereum hash). */
  rawTx: hexBytes.refine((v) => v.length > 2, "must not be empty"),
});
export type RawSubmission = z.output<typeof rawSubmission>;
export type RawSubmissionJson = z.input<typeof rawSubmission>;

/** What one index of a block holds: an encrypted submission or a raw transaction. */
export const orderedTransaction = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("encrypted"), submission: encryptedSubmission }),
  z.strictObject({ kind: z.literal("raw"), rawTx: hexBytes }),
]);
export type OrderedTransactionJson = z.input<typeof orderedTransaction>;

/** The canonical JSON of an ordered transaction (the inverse of `orderedTransaction.parse`). */
export function orderedTransactionToJson(tx: z.output<typeof orderedTransaction>): OrderedTransactionJson {
  return tx.kind === "raw"
    ? { kind: "raw", rawTx: tx.rawTx }
    : { kind: "encrypted", submission: encryptedSubmissionToJson(tx.submission) };
}

/** Result of `get_encryption_key`: the round key of (rollupId, height) as the key generators published it. */
export const encryptionKeyResult = z.strictObject({
  rollupId: uint64,
  height: uint64,
  /** PK_h = Σ pk_i as decimal coordinates: what a client encrypts to. */
  publicKey: point,
  /** The full RoundKeyJson (round, publicKey, puzzle, generators) of sequencer/crypto/roundkey.ts. */
  roundKey: z.unknown(),
  /** The generators' signed contributions it aggregates (ContributionJson): a client re-verifies the key with them. */
  contributions: z.array(z.unknown()),
});
export type EncryptionKeyResultJson = z.input<typeof encryptionKeyResult>;

/** Result of `get_block`. `seal` is present once the height is sealed. */
export const blockResult = z.strictObject({
  rollupId: uint64,
  height: uint64,
  status: z.enum(["open", "sealed", "finalized"]),
  txCount: uint32,
  /** The root of the entries ordered so far (the final encRoot once sealed). */
  encRoot: bytes32,
  /** The leader's signed seal (chain/certificate.ts). */
  seal: sealResultSchema.optional(),
});
export type BlockResultJson = z.input<typeof blockResult>;

/** Result of `get_post_merkle_proof` (sealed heights only): the leaf's path in the sealed tree. */
export const postProofResult = z.strictObject({
  index: uint32,
  leafHash: bytes32,
  encRoot: bytes32,
  proof: z.array(bytes32),
});
export type PostProofResultJson = z.input<typeof postProofResult>;

/** Result of `get_block_height`: the heights this cluster accepts transactions for. */
export const blockHeightResult = z.strictObject({
  rollupId: uint64,
  /** The lowest height that is not sealed: the block being filled now. */
  openHeight: uint64,
  /** The highest height accepted now (openHeight + the node's look-ahead). */
  maxHeight: uint64,
});
export type BlockHeightResultJson = z.input<typeof blockHeightResult>;

/** The body of `finalize_block`: a FinalizeRequest signed (EIP-712) by a registered executor of the rollup. */
export const finalizeParams = {
  request: schemas.FinalizeRequest,
  signature: signature65,
} as const;

// ---- built blocks: the answer of `finalize_block` and `get_raw_transaction_list` --------------------

/** One slot of a built block, by index; an invalid slot keeps its index (indices never shift). */
export const builtSlotJson = z.discriminatedUnion("status", [
  z.strictObject({
    index: z.number().int().nonnegative(),
    status: z.literal("valid"),
    encTxHash: bytes32,
    rawTx: hexBytes,
    txHash: bytes32,
  }),
  z.strictObject({
    index: z.number().int().nonnegative(),
    status: z.literal("invalid"),
    encTxHash: bytes32,
    reason: z.string(),
    detail: z.string(),
  }),
]);
export type BuiltSlotJson = z.output<typeof builtSlotJson>;

/** A decrypted, built block with its signed commitment and the VSM task that carries it. */
export const builtBlockJson = z.strictObject({
  /**
   * The EIP-712 BlockCommitment (rollupId and height as decimal strings on the wire); its `viewNumber` is
   * the view of the seal certificate the block was built under, which a reader checks.
   */
  commitment: z.strictObject({
    rollupId: uint64,
    height: uint64,
    txCount: uint32,
    encRoot: bytes32,
    inboxBlock: uint64,
    forcedCount: uint32,
    rawRoot: bytes32,
    viewNumber: uint32,
  }),
  /** hashStruct(commitment): the VSM task's commitmentHash. */
  commitmentHash: bytes32,
  /** The view whose leader signed. */
  viewNumber: uint32,
  leader: address,
  /** EIP-712 BlockCommitment signature by `leader`. */
  signature: signature65,
  /** VSM taskIdOf(rollupId, height); the task exists on L1 when this is answered. */
  taskId: bytes32,
  /** Every slot, in index order: the `txCount` sealed ones, then the `forcedCount` forced ones. */
  transactions: z.array(builtSlotJson),
});
export type BuiltBlockJson = z.output<typeof builtBlockJson>;
export type BuiltBlockWire = z.input<typeof builtBlockJson>;

/**
 * The answer of `finalize_block`: the seal certificate (a majority of the cluster signed the seal in the
 * view the leader built the block in) and the built block.
 */
export const finalizeResult = z.strictObject({ seal: sealCertificateSchema, block: builtBlockJson });
export type FinalizeResultJson = z.output<typeof finalizeResult>;
export type FinalizeResultWire = z.input<typeof finalizeResult>;

/** Most entries `get_sealed_entries` answers per call. */
export const MAX_SEALED_ENTRIES_PER_CALL = 1024;

/** The params of `get_sealed_entries`: a window of a sealed height's entries. */
export const sealedEntriesParams = {
  ...blockRef,
  from: uint32,
  count: z.number().int().min(1).max(MAX_SEALED_ENTRIES_PER_CALL),
} as const;

/** The answer of `get_sealed_entries`: the seal's size and root, and entries from `from` in index order. */
export const sealedEntriesResult = z.strictObject({
  txCount: uint32,
  encRoot: bytes32,
  from: uint32,
  entries: z.array(orderedTransaction),
});
export type SealedEntriesResultWire = z.input<typeof sealedEntriesResult>;
