/**
 * The key generator's durable store (LevelDB via classic-level, every write a synced batch).
 *
 *   own/<rollup>/<height>        this generator's contribution AND its secret (sk_i, r_i), one batch
 *   peer/<rollup>/<height>/<g>   a verified contribution of another member
 *   key/<rollup>/<height>        the aggregated round key with the contributions it was built from
 *   seal/<rollup>/<height>       the first valid leader-signed seal seen (what justified a reveal)
 *   secret/<rollup>/<height>     the round secret with its evidence (reveals or a solved puzzle)
 *   base/<rollup>                first height not known to be sealed
 *   params/<sha256(N,T)>         h = g^(2^T) and its Wesolowski proof, computed once
 *
 * The secret share is on disk (synced) before its contribution can be served: a contribution whose
 * secret were lost could only be opened by the slow path. Rollup ids and heights are fixed-width hex
 * so that keys sort numerically.
 */
import { ClassicLevel } from "classic-level";
import { mkdirSync } from "node:fs";
import type { Round } from "../crypto/roundkey";

type Db = ClassicLevel<string, string>;
const SYNC = { sync: true } as const;
const hex = (x: bigint, width: number): string => x.toString(16).padStart(width, "0");
const roundPath = (r: Round): string => `${hex(r.rollupId, 16)}/${hex(r.height, 16)}`;

export class KeygenStore {
  private constructor(
    private readonly db: Db,
    readonly location: string,
  ) {}

  static async open(location: string): Promise<KeygenStore> {
    // Secret shares live here: only the owner may read the directory.
    mkdirSync(location, { recursive: true, mode: 0o700 });
    const db: Db = new ClassicLevel<string, string>(location, { valueEncoding: "utf8" });
    await db.open();
    return new KeygenStore(db, location);
  }

  get isOpen(): boolean {
    return this.db.status === "open";
  }

  close(): Promise<void> {
    return this.db.close();
  }

  private async read<T>(key: string): Promise<T | undefined> {
    const text = await this.db.get(key);
    return text === undefined ? undefined : (JSON.parse(text) as T);
  }

  private write(key: string, value: unknown): Promise<void> {
    return this.db.put(key, JSON.stringify(value), SYNC);
  }

  /** The generator's own contribution and secret, written together; refuses to overwrite. */
  async putOwn<T>(round: Round, record: T): Promise<void> {
    const key = `own/${roundPath(round)}`;
    if ((await this.db.get(key)) !== undefined) throw new Error(`contribution for ${key} already exists`);
    await this.write(key, record);
  }

  getOwn<T>(round: Round): Promise<T | undefined> {
    return this.read(`own/${roundPath(round)}`);
  }

  putPeer<T>(round: Round, generator: string, contribution: T): Promise<void> {
    return this.write(`peer/${roundPath(round)}/${generator.toLowerCase()}`, contribution);
  }

  getPeer<T>(round: Round, generator: string): Promise<T | undefined> {
    return this.read(`peer/${roundPath(round)}/${generator.toLowerCase()}`);
  }

  putRoundKey<T>(round: Round, published: T): Promise<void> {
    return this.write(`key/${roundPath(round)}`, published);
  }

  getRoundKey<T>(round: Round): Promise<T | undefined> {
    return this.read(`key/${roundPath(round)}`);
  }

  putSeal<T>(round: Round, seal: T): Promise<void> {
    return this.write(`seal/${roundPath(round)}`, seal);
  }

  getSeal<T>(round: Round): Promise<T | undefined> {
    return this.read(`seal/${roundPath(round)}`);
  }

  putRoundSecret<T>(round: Round, secret: T): Promise<void> {
    return this.write(`secret/${roundPath(round)}`, secret);
  }

  getRoundSecret<T>(round: Round): Promise<T | undefined> {
    return this.read(`secret/${roundPath(round)}`);
  }

  async getBase(rollupId: bigint): Promise<bigint | undefined> {
    const value = await this.read<string>(`base/${hex(rollupId, 16)}`);
    return value === undefined ? undefined : BigInt(value);
  }

  putBase(rollupId: bigint, height: bigint): Promise<void> {
    return this.write(`base/${hex(rollupId, 16)}`, height.toString());
  }
}
