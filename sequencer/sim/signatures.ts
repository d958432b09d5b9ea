/**
 * Signatures inside the simulator. Real ECDSA costs milliseconds per signature, which would make a
 * campaign of 100,000 seeds take days, so the simulator signs with a keyed hash: member m's signature over
 * a statement is H(secret_m, statement), and only the simulator holds the secrets, so a replica can no more
 * forge another member's signature here than with ECDSA. The real node uses EIP-712 ECDSA (node/order-signing.ts);
 * the replica sees only the `Signatures` port.
 */
import { createHash } from "node:crypto";
import type { Address, Commitment, Seal, Signatures, ViewVote } from "../replica/types";

export class SimKeys {
  private readonly secrets = new Map<Address, string>();
  /**
   * Signatures already computed, per signer and statement: the same statements are signed and checked over
   * and over (every member checks every entry of every log it receives), and a lookup costs far less than
   * a hash. One SimKeys lives for one seed, so the cache goes with it.
   */
  private readonly macs = new Map<Address, Map<string, string>>();

  constructor(members: readonly Address[], seed: number) {
    members.forEach((m, i) => this.secrets.set(m, `sim-secret-${seed}-${i}`));
  }

  private mac(signer: Address, statement: string): string {
    let known = this.macs.get(signer);
    const cached = known?.get(statement);
    if (cached !== undefined) return cached;
    const secret = this.secrets.get(signer);
    if (secret === undefined) throw new Error(`no key for ${signer}`);
    const mac = createHash("sha256").update(secret).update("\0").update(statement).digest("hex").slice(0, 32);
    if (known === undefined) this.macs.set(signer, (known = new Map<string, string>()));
    known.set(statement, mac);
    return mac;
  }

  /** The Signatures port of `member` for `height`. */
  portFor(member: Address, height: number): Signatures {
    const commitment = (c: Commitment): string => `c/${height}/${c.index}/${c.leaf}/${c.preRoot}/${c.view}/${c.epoch}`;
    const seal = (s: Seal): string => `s/${height}/${s.count}/${s.root}/${s.inboxBlock}/${s.view}/${s.epoch}`;
    const vote = (v: ViewVote): string => `v/${height}/${v.view}/${v.epoch}`;
    const verify = (statement: string, signature: string, signer: Address): boolean =>
      this.secrets.has(signer) && this.mac(signer, statement) === signature;
    return {
      self: member,
      signCommitment: (c) => this.mac(member, commitment(c)),
      signSeal: (s) => this.mac(member, seal(s)),
      signVote: (v) => this.mac(member, vote(v)),
      isCommitmentSignedBy: (c, sig, signer) => verify(commitment(c), sig, signer),
      isSealSignedBy: (s, sig, signer) => verify(seal(s), sig, signer),
      isVoteSignedBy: (v, sig, signer) => verify(vote(v), sig, signer),
    };
  }
}
