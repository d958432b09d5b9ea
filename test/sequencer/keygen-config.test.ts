import { expect } from "chai";
import { Command } from "commander";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import YAML from "yaml";
import { ConfigError } from "../../sequencer/node/config";
import { registerKeygenCommands } from "../../sequencer/keygen/cli";
import { loadKeygenConfig } from "../../sequencer/keygen/config";

const KEY = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";
const REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const VSM = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512";

describe("key generator configuration and CLI", () => {
  let dir: string;
  let file: string;
  const base = {
    keygen: { signingKey: KEY },
    rollups: ["77"],
    committee: [{ address: REGISTRY.toLowerCase(), url: "http://127.0.0.1:8561" }],
    storage: { path: "/tmp/kg" },
    l1: { rpcUrl: "http://127.0.0.1:8545", contracts: { clusterRegistry: REGISTRY, validationServiceManager: VSM } },
  };

  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), "veil-keygen-config-"));
    file = path.join(dir, "keygen.yaml");
    writeFileSync(file, YAML.stringify(base));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("loads a file with defaults, checksummed addresses and a hidden signing key", () => {
    const config = loadKeygenConfig(file, {});
    expect(config.rollups).to.deep.equal([77n]);
    expect(config.committee[0]!.address).to.equal(REGISTRY);
    expect(config.schedule.lookahead).to.equal(4);
    expect(config.solver.enabled).to.equal(true);
    expect(JSON.stringify(config.keygen)).not.to.contain(KEY.slice(2));
    expect(config.keygen.signingKey.reveal()).to.equal(KEY);
  });

  it("lets VEIL_KEYGEN__ variables override fields and ignores the node's variables", () => {
    const config = loadKeygenConfig(file, {
      VEIL_KEYGEN__RPC__PORT: "9000",
      VEIL_KEYGEN__SCHEDULE__LOOKAHEAD: "7",
      VEIL_KEYGEN__SOLVER__ENABLED: "false",
      VEIL_KEYGEN__ROLLUPS: "5,6",
      VEIL_NODE__RPC__PORT: "1234",
    });
    expect(config.rpc.port).to.equal(9000);
    expect(config.schedule.lookahead).to.equal(7);
    expect(config.solver.enabled).to.equal(false);
    expect(config.rollups).to.deep.equal([5n, 6n]);
  });

  it("names every bad field and where it came from, without echoing the key", () => {
    writeFileSync(file, YAML.stringify({ ...base, rollups: [], extra: 1, keygen: { signingKey: "0x12" } }));
    let message = "";
    try {
      loadKeygenConfig(file, { VEIL_KEYGEN__RPC__PORT: "99999" });
    } catch (error) {
      expect(error).to.be.instanceOf(ConfigError);
      message = (error as Error).message;
    }
    expect(message).to.match(/rollups: serve at least one rollup/);
    expect(message).to.match(/unknown field "extra"/);
    expect(message).to.match(/keygen\.signingKey: expected a 32-byte hex private key/);
    expect(message).to.match(/rpc\.port: .*from VEIL_KEYGEN__RPC__PORT/);
    expect(() => loadKeygenConfig(path.join(dir, "missing.yaml"), {})).to.throw(ConfigError, /cannot read/);
    writeFileSync(file, YAML.stringify(base));
  });

  it("registers keygen start and keygen solve with their help", () => {
    const program = new Command("veil");
    registerKeygenCommands(program);
    const keygen = program.commands.find((c) => c.name() === "keygen")!;
    const start = keygen.commands.find((c) => c.name() === "start")!;
    const solve = keygen.commands.find((c) => c.name() === "solve")!;
    expect(start.helpInformation()).to.contain("--config <file>");
    expect(solve.helpInformation()).to.contain("--seal <file>");
    expect(solve.helpInformation()).to.contain("--publish");
    expect(solve.helpInformation()).to.contain("--no-solve");
  });
});
