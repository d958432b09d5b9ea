import { expect } from "chai";
import { Command } from "commander";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import YAML from "yaml";
import { ConfigError } from "../../sequencer/config/layered";
import { registerOperatorCommands } from "../../sequencer/operator/cli";
import { loadOperatorConfig, parseOperatorConfig } from "../../sequencer/operator/config";

const KEY = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";
const REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const VSM = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512";

describe("rollup operator configuration and CLI", () => {
  let dir: string;
  let file: string;
  const base = {
    operator: { signingKey: KEY, rollupId: "7", stateFile: "/tmp/op/state.json" },
    sequencer: { urls: ["http://127.0.0.1:8550", "http://127.0.0.1:8551"] },
    l2: { rpcUrl: "http://127.0.0.1:8546" },
    l1: {
      rpcUrl: "http://127.0.0.1:8545",
      contracts: { clusterRegistry: REGISTRY.toLowerCase(), validationServiceManager: VSM },
    },
  };

  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), "veil-operator-config-"));
    file = path.join(dir, "operator.yaml");
    writeFileSync(file, YAML.stringify(base));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("loads a file with defaults, a checksummed registry address and a hidden signing key", () => {
    const config = loadOperatorConfig(file, {});
    expect(config.operator.rollupId).to.equal(7n);
    expect(config.operator.blockTimeMs).to.equal(2_000);
    expect(config.operator.requestDeadlineSeconds).to.equal(120);
    expect(config.operator.startHeight).to.equal(undefined);
    expect(config.sequencer.urls).to.deep.equal(base.sequencer.urls);
    expect(config.sequencer.requestTimeoutMs).to.equal(60_000);
    expect(config.l1.contracts.clusterRegistry).to.equal(REGISTRY);
    expect(config.rpc).to.deep.equal({ host: "127.0.0.1", port: 8580 });
    expect(config.log.level).to.equal("info");
    expect(JSON.stringify(config.operator, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v))).not.to.contain(
      KEY.slice(2),
    );
    expect(config.operator.signingKey.reveal()).to.equal(KEY);
  });

  it("lets VEIL_OPERATOR__ variables override fields (lists comma-separated or JSON) and ignores other prefixes", () => {
    const config = loadOperatorConfig(file, {
      VEIL_OPERATOR__OPERATOR__BLOCK_TIME_MS: "500",
      VEIL_OPERATOR__OPERATOR__START_HEIGHT: "3",
      VEIL_OPERATOR__SEQUENCER__URLS: "http://10.0.0.1:1, http://10.0.0.2:2",
      VEIL_OPERATOR__L2__RPC_URL: "http://127.0.0.1:9999",
      VEIL_OPERATOR__RPC__PORT: "0",
      VEIL_NODE__RPC__PORT: "1234",
      VEIL_VALIDATOR__RPC__PORT: "4321",
    });
    expect(config.operator.blockTimeMs).to.equal(500);
    expect(config.operator.startHeight).to.equal(3);
    expect(config.sequencer.urls).to.deep.equal(["http://10.0.0.1:1", "http://10.0.0.2:2"]);
    expect(config.l2.rpcUrl).to.equal("http://127.0.0.1:9999");
    expect(config.rpc.port).to.equal(0);
    const json = loadOperatorConfig(file, { VEIL_OPERATOR__SEQUENCER__URLS: '["http://a:1"]' });
    expect(json.sequencer.urls).to.deep.equal(["http://a:1"]);
  });

  it("names every bad field and where it came from, without echoing the key", () => {
    const bad = {
      ...base,
      extra: 1,
      operator: { ...base.operator, signingKey: "0x12", rollupId: "0" },
      sequencer: { urls: [] },
    };
    writeFileSync(file, YAML.stringify(bad));
    let message = "";
    try {
      loadOperatorConfig(file, { VEIL_OPERATOR__L2__RPC_URL: "ftp://x", VEIL_OPERATOR__OPERATOR__BLOCK_TIME_MS: "5" });
    } catch (error) {
      expect(error).to.be.instanceOf(ConfigError);
      message = (error as Error).message;
    } finally {
      writeFileSync(file, YAML.stringify(base));
    }
    expect(message).to.match(/unknown field "extra"/);
    expect(message).to.match(/operator\.signingKey: expected a 32-byte hex private key/);
    expect(message).to.match(/operator\.rollupId: expected a rollup id/);
    expect(message).to.match(/sequencer\.urls: list at least one sequencer node/);
    expect(message).to.match(/l2\.rpcUrl: expected an http\(s\) URL \(from VEIL_OPERATOR__L2__RPC_URL\)/);
    expect(message).to.match(/operator\.blockTimeMs: .*from VEIL_OPERATOR__OPERATOR__BLOCK_TIME_MS/);
    expect(message).not.to.contain("0x12");
  });

  it("requires the state file, the L2 and the L1 contracts", () => {
    expect(() =>
      parseOperatorConfig({ operator: { signingKey: KEY, rollupId: 1 }, sequencer: { urls: ["http://a:1"] } }),
    ).to.throw(ConfigError, /operator\.stateFile: required[\s\S]*l2: required[\s\S]*l1: required/);
    expect(() => loadOperatorConfig(path.join(dir, "missing.yaml"), {})).to.throw(ConfigError, /cannot read/);
  });

  it("registers operator start and operator status with their options", () => {
    const program = new Command("veil");
    registerOperatorCommands(program);
    const operator = program.commands.find((c) => c.name() === "operator")!;
    const start = operator.commands.find((c) => c.name() === "start")!;
    const status = operator.commands.find((c) => c.name() === "status")!;
    expect(start.helpInformation()).to.contain("--config <file>");
    expect(status.helpInformation()).to.contain("--config <file>");
    expect(status.helpInformation()).to.contain("--url <url>");
  });
});
