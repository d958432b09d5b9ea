/**
 * Hardhat's compiled artifacts (artifacts/contracts/**) as Ignition's ArtifactResolver, so that the Ignition
 * module deploys from any process (the devnet, a test, a task) without a Hardhat runtime. Contract names are
 * unique in this project; a name found twice is refused rather than guessed.
 */
import type { Artifact, ArtifactResolver, BuildInfo } from "@nomicfoundation/ignition-core";
import { readFile, readdir } from "node:fs/promises";
import path from "node:path";

export const ARTIFACTS_DIR = path.join(__dirname, "..", "..", "artifacts");

export class ArtifactsFolder implements ArtifactResolver {
  #index: Promise<Map<string, string[]>> | undefined;
  readonly #buildInfos = new Map<string, Promise<BuildInfo>>();

  /**
   * @param withBuildInfo whether to hand Ignition the compiler input and output. Only a journaled deployment
   *   keeps them (explorer verification reads them there); parsing them costs about half a second a contract.
   */
  constructor(
    private readonly withBuildInfo: boolean,
    private readonly root = ARTIFACTS_DIR,
  ) {}

  async loadArtifact(contractName: string): Promise<Artifact> {
    return JSON.parse(await readFile(await this.#file(contractName), "utf8")) as Artifact;
  }

  /** The compiler input and output the contract came from (what explorer verification submits). */
  async getBuildInfo(contractName: string): Promise<BuildInfo | undefined> {
    if (!this.withBuildInfo) return undefined;
    const debugFile = (await this.#file(contractName)).replace(/\.json$/, ".dbg.json");
    const { buildInfo } = JSON.parse(await readFile(debugFile, "utf8")) as { buildInfo: string };
    const file = path.resolve(path.dirname(debugFile), buildInfo);
    let parsed = this.#buildInfos.get(file);
    if (parsed === undefined) {
      parsed = readFile(file, "utf8").then((text) => JSON.parse(text) as BuildInfo);
      this.#buildInfos.set(file, parsed);
    }
    return parsed;
  }

  async #file(contractName: string): Promise<string> {
    const found = (await (this.#index ??= this.#scan())).get(contractName) ?? [];
    if (found.length === 1) return found[0]!;
    if (found.length === 0) {
      throw new Error(`no artifact for ${contractName} in ${this.root}: run npm run build:contracts`);
    }
    throw new Error(`${contractName} names ${found.length} artifacts: ${found.join(", ")}`);
  }

  async #scan(): Promise<Map<string, string[]>> {
    const index = new Map<string, string[]>();
    const entries = await readdir(path.join(this.root, "contracts"), { recursive: true, withFileTypes: true });
    for (const entry of entries) {
      if (!entry.isFile() || !entry.name.endsWith(".json") || entry.name.endsWith(".dbg.json")) continue;
      const name = entry.name.slice(0, -".json".length);
      index.set(name, [...(index.get(name) ?? []), path.join(entry.parentPath, entry.name)]);
    }
    return index;
  }
}
