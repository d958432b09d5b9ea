/**
 * An L1 signer whose transactions are sent one at a time. The encrypting RPC forces the transactions of
 * several senders at once with its one L1 key: each send reads the account's pending nonce, so two sends
 * in flight together would read the same one and the second would be refused as a replacement.
 */
import {
  AbstractSigner,
  type Provider,
  type Signer,
  type TransactionRequest,
  type TransactionResponse,
  type TypedDataDomain,
  type TypedDataField,
} from "ethers";

export class SerialSigner extends AbstractSigner {
  readonly #inner: Signer;
  /** Settles once the last queued transaction was broadcast (or failed to be). */
  #tail: Promise<unknown> = Promise.resolve();

  constructor(inner: Signer) {
    super(inner.provider);
    this.#inner = inner;
  }

  getAddress(): Promise<string> {
    return this.#inner.getAddress();
  }

  connect(provider: Provider | null): SerialSigner {
    return new SerialSigner(this.#inner.connect(provider));
  }

  signTransaction(tx: TransactionRequest): Promise<string> {
    return this.#inner.signTransaction(tx);
  }

  signMessage(message: string | Uint8Array): Promise<string> {
    return this.#inner.signMessage(message);
  }

  signTypedData(
    domain: TypedDataDomain,
    types: Record<string, TypedDataField[]>,
    value: Record<string, unknown>,
  ): Promise<string> {
    return this.#inner.signTypedData(domain, types, value);
  }

  /** Waits for the transactions queued before it to be broadcast, then sends (and so reads the next nonce). */
  override sendTransaction(tx: TransactionRequest): Promise<TransactionResponse> {
    const sent = this.#tail.then(() => this.#inner.sendTransaction(tx));
    this.#tail = sent.catch(() => undefined);
    return sent;
  }
}
