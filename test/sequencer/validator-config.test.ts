/** The validator's configuration (file, VEIL_VALIDATOR__ variables, errors naming field and source) and its CLI. */
import { expect } from "chai";
import { Command, CommanderError } from "commander";
import fc from "fast-check";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import YAML from "yaml";
import { ConfigError } from "../../sequencer/config/layered";
import { registerValidatorCommands } from "../../sequencer/validator/cli";
import {
  chainIdsOf,
  loadValidatorConfig,
  parseValidatorConfig,
  type ValidatorConfigInput,
} from "../../sequencer/validator/config";

const KEY = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";
const REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const VSM = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512";

const base = {
  validator: { signingKey: KEY },
  l1: {
    rpcUrl: "http://127.0.0.1:8545",
    contracts: { clusterRegistry: REGISTRY.toLowerCase(), validationServiceManager: VSM },
  },
  node: { url: "http://127.0.0.1:8550" },
  keyGenerators: ["http://127.0.0.1:8560", "http://127.0.0.1:8561"],
  peers: ["http://127.0.0.1:8571", "http://127.0.0.1:8572"],
  rollups: [{ rollupId: "7", chainId: 1007 }],
  storage: { votesPath: "/tmp/votes.jsonl" },
} satisfies ValidatorConfigInput;

/** The ConfigError message of `run`, failing the test if it does not throw one. */
function configError(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error("expected a ConfigError");
}

describe("validator configuration and CLI", () => {
  let dir: string;
  let file: string;

  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), "veil-validator-config-"));
    file = path.join(dir, "validator.yaml");
  });
  beforeEach(() => writeFileSync(file, YAML.stringify(base)));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("loads a file with defaults, checksummed addresses, chain ids per rollup and a hidden key", () => {
    const config = loadValidatorConfig(file, {});
    expect(config.l1.contracts.clusterRegistry).to.equal(REGISTRY);
    expect(config.l1.chainId).to.equal(undefined);
    expect(config.keyGenerators).to.have.length(2);
    expect(chainIdsOf(config)).to.deep.equal(new Map([[7n, 1007n]]));
    expect(config.rpc.port).to.equal(8570);
    expect(config.rpc.rateLimit.enabled).to.equal(true);
    expect(config.poll).to.deep.equal({ intervalMs: 2_000, maxBlockRange: 2_000 });
    expect(config.l1.deployBlock).to.equal(0);
    expect(config.log.level).to.equal("info");
    expect(JSON.stringify(config.validator)).not.to.contain(KEY.slice(2));
    expect(config.validator.signingKey.reveal()).to.equal(KEY);
  });

  it("reads JSON files as well as YAML", () => {
    const json = path.join(dir, "validator.json");
    writeFileSync(json, JSON.stringify({ ...base, poll: { intervalMs: 50 } }));
    expect(loadValidatorConfig(json, {}).poll.intervalMs).to.equal(50);
  });

  it("lets VEIL_VALIDATOR__ variables override fields, lists included, and ignores other processes' variables", () => {
    const config = loadValidatorConfig(file, {
      VEIL_VALIDATOR__RPC__PORT: "9100",
      VEIL_VALIDATOR__RPC__RATE_LIMIT__ENABLED: "false",
      VEIL_VALIDATOR__POLL__INTERVAL_MS: "250",
      VEIL_VALIDATOR__L1__DEPLOY_BLOCK: "12",
      VEIL_VALIDATOR__PEERS: "http://10.0.0.1:1,http://10.0.0.2:2",
      VEIL_VALIDATOR__ROLLUPS: '[{"rollupId":"0x10","chainId":"5"}]',
      VEIL_VALIDATOR__L1__CHAIN_ID: "31337",
      VEIL_NODE__RPC__PORT: "1234",
      VEIL_KEYGEN__RPC__PORT: "4321",
    });
    expect(config.rpc.port).to.equal(9100);
    expect(config.rpc.rateLimit.enabled).to.equal(false);
    expect(config.poll).to.deep.equal({ intervalMs: 250, maxBlockRange: 2_000 });
    expect(config.l1.deployBlock).to.equal(12);
    expect(config.peers).to.deep.equal(["http://10.0.0.1:1", "http://10.0.0.2:2"]);
    expect(chainIdsOf(config)).to.deep.equal(new Map([[16n, 5n]]));
    expect(config.l1.chainId).to.equal(31337n);
  });

  it("runs from the environment alone, without a file", () => {
    const config = loadValidatorConfig(undefined, {
      VEIL_VALIDATOR__VALIDATOR__SIGNING_KEY: KEY,
      VEIL_VALIDATOR__L1__RPC_URL: "http://127.0.0.1:8545",
      VEIL_VALIDATOR__L1__CONTRACTS__CLUSTER_REGISTRY: REGISTRY,
      VEIL_VALIDATOR__L1__CONTRACTS__VALIDATION_SERVICE_MANAGER: VSM,
      VEIL_VALIDATOR__NODE__URL: "http://127.0.0.1:8550",
      VEIL_VALIDATOR__KEY_GENERATORS: "http://127.0.0.1:8560",
      VEIL_VALIDATOR__STORAGE__VOTES_PATH: "/tmp/v.jsonl",
    });
    expect(config.peers).to.deep.equal([]);
    expect(config.rollups).to.deep.equal([]);
  });

  it("names every bad field of the file and the file it came from, without echoing the key", () => {
    const bad = {
      ...base,
      validator: { signingKey: "0x12" },
      keyGenerators: [],
      peers: ["ftp://x"],
      rollups: [
        { rollupId: "7", chainId: 1 },
        { rollupId: 7, chainId: 2 },
      ],
      extra: 1,
    };
    writeFileSync(file, YAML.stringify(bad));
    const message = configError(() => loadValidatorConfig(file, {}));
    expect(message).to.match(/validator\.signingKey: expected a 32-byte hex private key \(in .*validator\.yaml\)/);
    expect(message).to.match(/keyGenerators: list at least one key generator/);
    expect(message).to.match(/peers\.0: expected an http\(s\) URL/);
    expect(message).to.match(/rollups: a rollup is listed twice/);
    expect(message).to.match(/unknown field "extra"/);
    expect(message).not.to.contain("0x12");
  });

  it("names the variable a bad value came from", () => {
    const message = configError(() =>
      loadValidatorConfig(file, {
        VEIL_VALIDATOR__RPC__PORT: "99999",
        VEIL_VALIDATOR__NODE__URL: "not a url",
        VEIL_VALIDATOR__POLL__INTERVAL_MS: "1",
        VEIL_VALIDATOR__L1__CHAIN_ID: "0",
      }),
    );
    expect(message).to.match(/rpc\.port: .*\(from VEIL_VALIDATOR__RPC__PORT\)/);
    expect(message).to.match(/node\.url: expected an http\(s\) URL \(from VEIL_VALIDATOR__NODE__URL\)/);
    expect(message).to.match(/poll\.intervalMs: .*\(from VEIL_VALIDATOR__POLL__INTERVAL_MS\)/);
    expect(message).to.match(/l1\.chainId: expected a chain id in \[1, 2\^64\)/);
  });

  it("requires the key, the L1, the node, the key generators and the vote store", () => {
    const message = configError(() => parseValidatorConfig({}));
    for (const field of ["validator", "l1", "node", "keyGenerators", "storage"]) {
      expect(message).to.match(new RegExp(`\\n  ${field}: required`));
    }
    expect(() => loadValidatorConfig(path.join(dir, "missing.yaml"), {})).to.throw(ConfigError, /cannot read/);
  });

  it("rejects signing keys outside the secp256k1 range and addresses that are not addresses", () => {
    const zero = configError(() =>
      parseValidatorConfig({ ...base, validator: { signingKey: `0x${"00".repeat(32)}` } }),
    );
    expect(zero).to.match(/validator\.signingKey: not a valid secp256k1 private key/);
    const order = configError(() =>
      parseValidatorConfig({ ...base, validator: { signingKey: `0x${"ff".repeat(32)}` } }),
    );
    expect(order).to.match(/validator\.signingKey: not a valid secp256k1 private key/);
    const addr = configError(() =>
      parseValidatorConfig({
        ...base,
        l1: { ...base.l1, contracts: { ...base.l1.contracts, validationServiceManager: "0x1234" } },
      }),
    );
    expect(addr).to.match(/l1\.contracts\.validationServiceManager: expected a 20-byte hex address/);
  });

  it("accepts every rollup and chain id in [1, 2^64) and refuses everything outside", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: (1n << 64n) - 1n }), fc.boolean(), (id, hex) => {
        const text = hex ? `0x${id.toString(16)}` : id.toString();
        const config = parseValidatorConfig({ ...base, rollups: [{ rollupId: text, chainId: text }] });
        expect(chainIdsOf(config).get(id)).to.equal(id);
      }),
    );
    fc.assert(
      fc.property(fc.oneof(fc.constant(0n), fc.bigInt({ min: 1n << 64n, max: 1n << 80n })), (id) => {
        expect(() => parseValidatorConfig({ ...base, rollups: [{ rollupId: id.toString(), chainId: 1 }] })).to.throw(
          ConfigError,
          /rollups\.0\.rollupId/,
        );
      }),
    );
  });

  it("registers validator start and validator status with their help", () => {
    const program = new Command("veil");
    registerValidatorCommands(program);
    const validator = program.commands.find((c) => c.name() === "validator")!;
    expect(validator.commands.map((c) => c.name())).to.deep.equal(["start", "status"]);
    const [start, status] = validator.commands as [Command, Command];
    expect(start.helpInformation()).to.contain("--config <file>");
    expect(start.helpInformation()).to.contain("VEIL_VALIDATOR__");
    expect(status.helpInformation()).to.contain("--url <url>");
    expect(status.helpInformation()).to.contain("--timeout <ms>");
  });

  it("validator start refuses a bad config with the ConfigError, validator status requires --url", async () => {
    const program = new Command("veil").exitOverride().configureOutput({ writeErr: () => undefined });
    registerValidatorCommands(program);
    program.commands[0]!.exitOverride();
    for (const c of program.commands[0]!.commands) c.exitOverride().configureOutput({ writeErr: () => undefined });
    writeFileSync(file, YAML.stringify({ ...base, node: { url: "nope" } }));
    let error: unknown;
    await program.parseAsync(["validator", "start", "--config", file], { from: "user" }).catch((e: unknown) => {
      error = e;
    });
    expect(error).to.be.instanceOf(ConfigError);
    expect((error as Error).message).to.match(/node\.url: expected an http\(s\) URL/);
    error = undefined;
    await program.parseAsync(["validator", "status"], { from: "user" }).catch((e: unknown) => {
      error = e;
    });
    expect(error).to.be.instanceOf(CommanderError);
    expect((error as CommanderError).code).to.equal("commander.missingMandatoryOptionValue");
    error = undefined;
    await program
      .parseAsync(["validator", "status", "--url", "http://127.0.0.1:1", "--timeout", "0"], { from: "user" })
      .catch((e: unknown) => {
        error = e;
      });
    expect((error as CommanderError).code).to.equal("commander.invalidArgument");
  });
});
