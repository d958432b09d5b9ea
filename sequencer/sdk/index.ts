/** Veil's client SDK: see client.ts for the flow and docs/sdk.md for the checks and their reasons. */
export {
  VeilClient,
  type VeilClientOptions,
  type SentTransaction,
  type PreparedSubmission,
  type SlashOptions,
  type ForcedTransaction,
  type ForceOptions,
  type Delivery,
} from "./client";
export { isSequencerFailure, type FallbackOptions } from "./fallback";
export { ContractChainView, type ChainView, type CommittedBlock, type L1Addresses, type PostedEntry } from "./chain";
export { forcedVerdict, type ForcedVerdict } from "./force";
export { verifyReceipt, type VerifiedReceipt, type ExpectedOrder } from "./receipt";
export { verifyEncryptionKey, type RoundKeyPolicy } from "./round-key";
export { checkInclusion, type InclusionVerdict, type PostProof } from "./inclusion";
export { decodeSignedTransaction, type SignedTransaction } from "./raw-tx";
export { LookAhead, type LookAheadOptions } from "./look-ahead";
export { type LookupOptions } from "./settle";
export * from "./errors";
