import { expect } from "chai";
import { Command } from "commander";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { ConfigError } from "../../sequencer/config/layered";
import { l2ChainIdOf, loadProxyConfig, proxyEnvPath } from "../../sequencer/proxy/config";
import { registerProxyCommands } from "../../sequencer/proxy/cli";

const REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const VSM = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512";

describe("encrypting RPC: configuration and CLI", () => {
  let dir: string;
  before(() => (dir = mkdtempSync(path.join(tmpdir(), "veil-proxy-config-"))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const file = (name: string, text: string): string => {
    const p = path.join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  const yaml = `rollupId: 4242
l2: { rpcUrl: "http://127.0.0.1:9545" }
node: { url: "http://127.0.0.1:8550" }
l1:
  rpcUrl: "http://127.0.0.1:8545"
  contracts: { clusterRegistry: "${REGISTRY.toLowerCase()}", validationServiceManager: "${VSM}" }
`;

  it("reads a YAML file, applies defaults and checksums addresses", () => {
    const config = loadProxyConfig(file("a.yaml", yaml), {});
    expect(config.rollupId).to.equal(4242n);
    expect(l2ChainIdOf(config)).to.equal(4242n);
    expect(config.rpc).to.deep.equal({ host: "127.0.0.1", port: 8547, maxBodyBytes: 1024 * 1024 });
    expect(config.l1.contracts.clusterRegistry).to.equal(REGISTRY);
    expect(config.sequencing.blockTimeMs).to.equal(2_000);
  });

  it("lets VEIL_PROXY__ environment variables override the file, field by field", () => {
    const config = loadProxyConfig(file("b.yaml", yaml), {
      VEIL_PROXY__RPC__PORT: "9999",
      VEIL_PROXY__L2__CHAIN_ID: "31337",
      VEIL_OTHER: "ignored",
    });
    expect(config.rpc.port).to.equal(9999);
    expect(l2ChainIdOf(config)).to.equal(31337n);
    expect(proxyEnvPath("VEIL_PROXY__SEQUENCING__BLOCK_TIME_MS")).to.deep.equal(["sequencing", "blockTimeMs"]);
    expect(proxyEnvPath("VEIL_NODE__RPC__PORT")).to.equal(undefined);
  });

  it("configures from the environment alone", () => {
    const config = loadProxyConfig(undefined, {
      VEIL_PROXY__ROLLUP_ID: "7",
      VEIL_PROXY__L2__RPC_URL: "http://l2:8545",
      VEIL_PROXY__NODE__URL: "http://node:8550",
      VEIL_PROXY__L1__RPC_URL: "http://l1:8545",
      VEIL_PROXY__L1__CONTRACTS__CLUSTER_REGISTRY: REGISTRY,
      VEIL_PROXY__L1__CONTRACTS__VALIDATION_SERVICE_MANAGER: VSM,
    });
    expect(config.rollupId).to.equal(7n);
  });

  it("names every bad field and where its value came from", () => {
    const bad = () =>
      loadProxyConfig(file("c.yaml", yaml.replace("4242", "0")), {
        VEIL_PROXY__RPC__PORT: "70000",
        VEIL_PROXY__L1__CONTRACTS__CLUSTER_REGISTRY: "0x1234",
      });
    expect(bad).to.throw(ConfigError);
    try {
      bad();
    } catch (error) {
      const message = (error as Error).message;
      expect(message).to.match(/rollupId: must be non-zero \(.*c\.yaml\)/);
      expect(message).to.match(/rpc\.port: .*\(from VEIL_PROXY__RPC__PORT\)/);
      expect(message).to.match(
        /l1\.contracts\.clusterRegistry: expected a 20-byte hex address \(from VEIL_PROXY__L1__CONTRACTS__CLUSTER_REGISTRY\)/,
      );
    }
    expect(() => loadProxyConfig(file("d.yaml", "rollupId: [1"), {})).to.throw(ConfigError, /not valid YAML/);
    expect(() => loadProxyConfig(path.join(dir, "missing.yaml"), {})).to.throw(ConfigError, /cannot read/);
    expect(() => loadProxyConfig(file("e.yaml", `${yaml}extra: 1\n`), {})).to.throw(ConfigError, /extra|Unrecognized/);
  });

  describe("force: the fallback to the L1 inbox", () => {
    const L1_KEY = `0x${"2b".repeat(32)}`;

    it("is off by default, and needs the L1 key that pays the fee once it is on", () => {
      const off = loadProxyConfig(file("f.yaml", yaml), {});
      expect(off.force).to.deep.include({ enabled: false, afterFailures: 3, retryDelayMs: 500 });
      expect(() => loadProxyConfig(file("g.yaml", yaml), { VEIL_PROXY__FORCE__ENABLED: "true" })).to.throw(
        ConfigError,
        /force\.l1Key: force\.enabled needs force\.l1Key/,
      );
      const on = loadProxyConfig(file("h.yaml", yaml), {
        VEIL_PROXY__FORCE__ENABLED: "true",
        VEIL_PROXY__FORCE__L1_KEY: L1_KEY,
        VEIL_PROXY__FORCE__AFTER_FAILURES: "2",
      });
      expect(on.force.enabled).to.equal(true);
      expect(on.force.afterFailures).to.equal(2);
      expect(on.force.l1Key?.reveal()).to.equal(L1_KEY);
      expect(JSON.stringify(on.force)).to.not.include(L1_KEY.slice(2));
    });

    it("refuses a malformed key, a failure count of 0 and a local address that is a network", () => {
      expect(() =>
        loadProxyConfig(file("i.yaml", yaml), {
          VEIL_PROXY__FORCE__L1_KEY: "0x1234",
          VEIL_PROXY__FORCE__AFTER_FAILURES: "0",
          VEIL_PROXY__NODE__LOCAL_ADDRESS: "127.0.0.0/8",
        }),
      ).to.throw(
        ConfigError,
        /force\.l1Key[\s\S]*force\.afterFailures[\s\S]*node\.localAddress|node\.localAddress[\s\S]*force/,
      );
      expect(
        loadProxyConfig(file("j.yaml", yaml), { VEIL_PROXY__NODE__LOCAL_ADDRESS: "127.0.0.2" }).node.localAddress,
      ).to.equal("127.0.0.2");
    });
  });

  it("registers `proxy start` with --config and a --help that explains it", () => {
    const program = new Command("veil").exitOverride();
    let help = "";
    program.configureOutput({ writeOut: (s) => (help += s), writeErr: (s) => (help += s) });
    registerProxyCommands(program);
    expect(() => program.parse(["node", "veil", "proxy", "start", "--help"])).to.throw();
    expect(help).to.contain("--config <file>").and.to.contain("eth_sendRawTransaction");
  });
});
