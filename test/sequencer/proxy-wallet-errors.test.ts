import { expect } from "chai";
import { EIP1474_ERRORS, bodyTooLarge, l2Unreachable, toWalletError } from "../../sequencer/proxy/wallet-errors";
import { RpcCallError, RpcTimeoutError, RpcTransportError } from "../../sequencer/rpc/client";
import { STANDARD_ERRORS, VEIL_ERRORS, codeOf, type RpcErrorName } from "../../sequencer/rpc/errors";
import {
  InclusionError,
  NodeAnswerError,
  ReceiptError,
  RoundKeyError,
  SubmissionError,
  TransactionError,
  VeilSdkError,
  type VeilSdkErrorCode,
} from "../../sequencer/sdk/errors";

const WALLET_CODES = new Set<number>([...Object.values(EIP1474_ERRORS), ...Object.values(STANDARD_ERRORS)]);

describe("Veil's node error codes", () => {
  it("sit in -33001 to -33099: outside JSON-RPC 2.0's reserved range and clear of the Engine API's codes", () => {
    for (const [name, code] of Object.entries(VEIL_ERRORS)) {
      expect(code, name).to.be.within(-33099, -33001);
      expect(code <= -32000 && code >= -32768, `${name} in JSON-RPC's range`).to.equal(false);
      expect(code <= -38001 && code >= -38005, `${name} among the Engine API's codes`).to.equal(false);
    }
  });

  it("kept their last two digits when they moved, and -33006 stays retired", () => {
    expect(VEIL_ERRORS.PAYLOAD_TOO_LARGE).to.equal(-33001);
    expect(VEIL_ERRORS.UNAVAILABLE).to.equal(-33007);
    expect(VEIL_ERRORS.OUT_OF_ORDER).to.equal(-33018);
    expect(Object.values(VEIL_ERRORS)).to.not.include(-33006);
    expect(new Set(Object.values(VEIL_ERRORS)).size).to.equal(Object.keys(VEIL_ERRORS).length);
  });
});

describe("wallet errors: the encrypting RPC answers wallets with EIP-1474 codes only", () => {
  const { INVALID_INPUT, RESOURCE_NOT_FOUND, RESOURCE_UNAVAILABLE, TRANSACTION_REJECTED, LIMIT_EXCEEDED } =
    EIP1474_ERRORS;
  const { INVALID_PARAMS, INTERNAL_ERROR } = STANDARD_ERRORS;

  /** What a wallet gets for each error the node can answer send_encrypted_transaction with. */
  const NODE_CASES: Readonly<Record<RpcErrorName, number>> = {
    RATE_LIMITED: LIMIT_EXCEEDED,
    PAYLOAD_TOO_LARGE: LIMIT_EXCEEDED,
    UNAVAILABLE: RESOURCE_UNAVAILABLE,
    UPSTREAM_TIMEOUT: RESOURCE_UNAVAILABLE,
    NOT_LEADER: RESOURCE_UNAVAILABLE,
    UNKNOWN_ROLLUP: RESOURCE_UNAVAILABLE,
    WRONG_HEIGHT: RESOURCE_UNAVAILABLE,
    HEIGHT_SEALED: RESOURCE_UNAVAILABLE,
    INVALID_PROOF: TRANSACTION_REJECTED,
    WRONG_ROUND_KEY: TRANSACTION_REJECTED,
    DUPLICATE_CIPHERTEXT: INVALID_INPUT,
    NOT_FOUND: RESOURCE_NOT_FOUND,
    UNAUTHORIZED: INTERNAL_ERROR,
    INVALID_SIGNATURE: INTERNAL_ERROR,
    INDEX_TAKEN: INTERNAL_ERROR,
    OUT_OF_ORDER: INTERNAL_ERROR,
    PARSE_ERROR: INTERNAL_ERROR,
    INVALID_REQUEST: INTERNAL_ERROR,
    METHOD_NOT_FOUND: INTERNAL_ERROR,
    INVALID_PARAMS: INTERNAL_ERROR,
    INTERNAL_ERROR: INTERNAL_ERROR,
  };

  const refusal = (code: number, data?: unknown) =>
    new RpcCallError("send_encrypted_transaction", { code, message: "the node says no", data });

  it("covers every error name the node defines", () => {
    expect(Object.keys(NODE_CASES).sort()).to.deep.equal(Object.keys({ ...STANDARD_ERRORS, ...VEIL_ERRORS }).sort());
  });

  for (const [name, expected] of Object.entries(NODE_CASES) as [RpcErrorName, number][]) {
    it(`maps the node's ${name} to ${expected}, keeping the name and the node's data`, () => {
      const mapped = toWalletError(refusal(codeOf(name), { retryAfterMs: 250 }));
      expect(mapped?.code).to.equal(expected);
      expect(WALLET_CODES.has(mapped!.code)).to.equal(true);
      expect(mapped?.data).to.deep.equal({ retryAfterMs: 250, veilError: name });
      if (name === "DUPLICATE_CIPHERTEXT") expect(mapped?.message).to.equal("already known");
      else expect(mapped?.message).to.equal("the sequencer refused the transaction: the node says no");
    });
  }

  it("answers a code Veil does not define with internal error, naming the code", () => {
    const mapped = toWalletError(refusal(-33999));
    expect(mapped?.code).to.equal(INTERNAL_ERROR);
    expect(mapped?.data).to.deep.equal({ veilError: "UNKNOWN_CODE", veilCode: -33999 });
  });

  it("keeps node data that is not an object under `detail`, and never lets it replace veilError", () => {
    expect(toWalletError(refusal(VEIL_ERRORS.NOT_FOUND, "key 7"))?.data).to.deep.equal({
      detail: "key 7",
      veilError: "NOT_FOUND",
    });
    expect(toWalletError(refusal(VEIL_ERRORS.NOT_FOUND, [1, 2]))?.data).to.deep.equal({
      detail: [1, 2],
      veilError: "NOT_FOUND",
    });
    expect(toWalletError(refusal(VEIL_ERRORS.INVALID_PROOF, { veilError: "forged" }))?.data.veilError).to.equal(
      "INVALID_PROOF",
    );
  });

  it("answers a node that does not answer in time with resource unavailable (UPSTREAM_TIMEOUT)", () => {
    const mapped = toWalletError(new RpcTimeoutError("send_encrypted_transaction", 2_000));
    expect(mapped?.code).to.equal(RESOURCE_UNAVAILABLE);
    expect(mapped?.message).to.match(/sequencer did not answer/);
    expect(mapped?.data).to.deep.equal({ veilError: "UPSTREAM_TIMEOUT", timeoutMs: 2_000 });
  });

  it("answers an unreachable node with resource unavailable (UNAVAILABLE)", () => {
    const mapped = toWalletError(new RpcTransportError("send_encrypted_transaction", "connect ECONNREFUSED"));
    expect(mapped?.code).to.equal(RESOURCE_UNAVAILABLE);
    expect(mapped?.message).to.equal("the sequencer is unreachable: connect ECONNREFUSED");
    expect(mapped?.data).to.deep.equal({ veilError: "UNAVAILABLE" });
  });

  const SDK_CASES: readonly { error: VeilSdkError; code: number; data: Record<string, unknown> }[] = [
    {
      error: new TransactionError("not-hex", "odd"),
      code: INVALID_PARAMS,
      data: { veilError: "TRANSACTION_INVALID", reason: "not-hex" },
    },
    {
      error: new TransactionError("too-large", "big"),
      code: INVALID_PARAMS,
      data: { veilError: "TRANSACTION_INVALID", reason: "too-large" },
    },
    {
      error: new ReceiptError("leader-mismatch", "someone else signed"),
      code: TRANSACTION_REJECTED,
      data: { veilError: "RECEIPT_INVALID", reason: "leader-mismatch" },
    },
    {
      error: new RoundKeyError("key-mismatch", "not the aggregate"),
      code: RESOURCE_UNAVAILABLE,
      data: { veilError: "ROUND_KEY_INVALID", reason: "key-mismatch" },
    },
    {
      error: new NodeAnswerError("get_encryption_key", "missing field"),
      code: RESOURCE_UNAVAILABLE,
      data: { veilError: "NODE_ANSWER_INVALID" },
    },
    {
      error: new SubmissionError("no height accepted the transaction in 3 attempts", 3),
      code: RESOURCE_UNAVAILABLE,
      data: { veilError: "SUBMISSION_FAILED", attempts: 3 },
    },
    {
      error: new InclusionError("not-committed", "no block commitment yet"),
      code: RESOURCE_UNAVAILABLE,
      data: { veilError: "INCLUSION_UNVERIFIABLE", reason: "not-committed" },
    },
  ];

  for (const { error, code, data } of SDK_CASES) {
    it(`maps the SDK's ${error.name} to ${code} with its message and data ${JSON.stringify(data)}`, () => {
      const mapped = toWalletError(error);
      expect(mapped).to.deep.equal({ code, message: error.message, data });
    });
  }

  it("maps every SDK error code, also on the base class, to a wallet code", () => {
    const codes: readonly VeilSdkErrorCode[] = [
      "NODE_ANSWER_INVALID",
      "ROUND_KEY_INVALID",
      "RECEIPT_INVALID",
      "INCLUSION_UNVERIFIABLE",
      "TRANSACTION_INVALID",
      "SUBMISSION_FAILED",
    ];
    for (const code of codes) {
      const mapped = toWalletError(new VeilSdkError(code, "failed"));
      expect(WALLET_CODES.has(mapped!.code), code).to.equal(true);
      expect(mapped?.data).to.deep.equal({ veilError: code });
      const sample = SDK_CASES.find((c) => c.error.code === code);
      expect(sample, `a subclass case for ${code}`).to.not.equal(undefined);
      expect(mapped?.code, code).to.equal(sample!.code);
    }
  });

  it("leaves anything else to the caller (logged, answered -32603 without detail)", () => {
    for (const other of [new Error("bug"), new TypeError("x is undefined"), "a string", undefined, null]) {
      expect(toWalletError(other)).to.equal(undefined);
    }
  });

  it("answers the proxy's own oversize body with limit exceeded and an unreachable L2 with resource unavailable", () => {
    expect(bodyTooLarge(16_384)).to.deep.equal({
      code: LIMIT_EXCEEDED,
      message: "request body exceeds 16384 bytes",
      data: { veilError: "PAYLOAD_TOO_LARGE", limit: 16_384 },
    });
    const l2 = l2Unreachable("http://127.0.0.1:8545");
    expect(l2.code).to.equal(RESOURCE_UNAVAILABLE);
    expect(l2.data.veilError).to.equal("UNAVAILABLE");
  });

  it("never answers with one of the node's own codes", () => {
    const veilCodes = new Set<number>(Object.values(VEIL_ERRORS));
    const answers = [
      ...Object.values(VEIL_ERRORS).map((code) => toWalletError(refusal(code))),
      ...SDK_CASES.map((c) => toWalletError(c.error)),
      toWalletError(new RpcTimeoutError("m", 1)),
      toWalletError(new RpcTransportError("m", "down")),
      bodyTooLarge(1),
      l2Unreachable("x"),
    ];
    for (const answer of answers) {
      expect(veilCodes.has(answer!.code), JSON.stringify(answer)).to.equal(false);
      expect(WALLET_CODES.has(answer!.code), JSON.stringify(answer)).to.equal(true);
    }
  });
});
