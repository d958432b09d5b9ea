import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { inspect } from "node:util";
import YAML from "yaml";
import { ConfigError, configSchema, envVarPath, loadConfig } from "../../sequencer/node/config";

const KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

function validConfig(): Record<string, Record<string, unknown>> {
  return {
    node: { signingKey: KEY },
    cluster: { id: "0x2a", peers: ["http://127.0.0.1:8551"] },
    storage: { path: "./db" },
    l1: {
      rpcUrl: "http://127.0.0.1:8545",
      contracts: {
        clusterRegistry: "0x5fbdb2315678afecb367f032d93f642f64180aa3",
        validationServiceManager: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
      },
    },
  };
}

describe("node configuration", () => {
  let dir: string;
  before(() => (dir = mkdtempSync(path.join(os.tmpdir(), "veil-config-"))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  function write(name: string, content: string): string {
    const file = path.join(dir, name);
    writeFileSync(file, content);
    return file;
  }

  function configError(file: string | undefined, env: NodeJS.ProcessEnv = {}): string {
    try {
      loadConfig(file, env);
    } catch (error) {
      expect(error).to.be.instanceOf(ConfigError);
      return (error as Error).message;
    }
    throw new Error("expected a ConfigError");
  }

  it("loads YAML and JSON files into the same typed config with defaults", () => {
    const fromYaml = loadConfig(write("a.yaml", YAML.stringify(validConfig())), {});
    const fromJson = loadConfig(write("a.json", JSON.stringify(validConfig())), {});
    for (const c of [fromYaml, fromJson]) {
      expect(c.cluster.id).to.equal(42n);
      expect(c.rpc.port).to.equal(8550);
      expect(c.rpc.rateLimit.enabled).to.equal(true);
      expect(c.l1.contracts.clusterRegistry).to.equal("0x5FbDB2315678afecb367f032d93F642f64180aa3");
      expect(c.node.signingKey.reveal()).to.equal(KEY);
    }
  });

  it("lets environment variables override the file, field by field, with types coerced", () => {
    const config = loadConfig(write("b.yaml", YAML.stringify(validConfig())), {
      VEIL_NODE__RPC__PORT: "9001",
      VEIL_NODE__RPC__RATE_LIMIT__ENABLED: "false",
      VEIL_NODE__CLUSTER__PEERS: "http://a:1, http://b:2",
      VEIL_NODE__STORAGE__PATH: "/var/veil",
      VEIL_PTAU: "/not/a/config/var",
      OTHER: "ignored",
    });
    expect(config.rpc.port).to.equal(9001);
    expect(config.rpc.rateLimit.enabled).to.equal(false);
    expect(config.cluster.peers).to.deep.equal(["http://a:1", "http://b:2"]);
    expect(config.storage.path).to.equal("/var/veil");
    expect(config.rpc.host).to.equal("127.0.0.1");
  });

  it("can be configured from the environment alone", () => {
    const config = loadConfig(undefined, {
      VEIL_NODE__NODE__SIGNING_KEY: KEY,
      VEIL_NODE__CLUSTER__ID: "7",
      VEIL_NODE__STORAGE__PATH: "/tmp/x",
      VEIL_NODE__L1__RPC_URL: "http://127.0.0.1:8545",
      VEIL_NODE__L1__CONTRACTS__CLUSTER_REGISTRY: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
      VEIL_NODE__L1__CONTRACTS__VALIDATION_SERVICE_MANAGER: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
    });
    expect(config.cluster.id).to.equal(7n);
  });

  describe("rpc.clusterMaxBodyBytes (the members' /cluster path)", () => {
    it("defaults to 64 MiB next to the 1 MiB public limit, with or without an rpc section", () => {
      const withRpc = { ...validConfig(), rpc: { port: 9000 } };
      for (const config of [configSchema.parse(validConfig()), configSchema.parse(withRpc)]) {
        expect(config.rpc.clusterMaxBodyBytes).to.equal(64 * 1024 * 1024);
        expect(config.rpc.maxBodyBytes).to.equal(1024 * 1024);
      }
    });

    it("reads VEIL_NODE__RPC__CLUSTER_MAX_BODY_BYTES from the environment", () => {
      const file = write("cluster-body.yaml", YAML.stringify(validConfig()));
      expect(loadConfig(file, { VEIL_NODE__RPC__CLUSTER_MAX_BODY_BYTES: "2097152" }).rpc.clusterMaxBodyBytes).to.equal(
        2_097_152,
      );
    });

    it("refuses values outside 1 MiB..256 MiB and non-integers, naming the field", () => {
      const file = write("cluster-body.yaml", YAML.stringify(validConfig()));
      for (const bad of ["1048575", "268435457", "1.5e6", "lots"]) {
        expect(configError(file, { VEIL_NODE__RPC__CLUSTER_MAX_BODY_BYTES: bad })).to.match(/rpc\.clusterMaxBodyBytes/);
      }
    });
  });

  it("maps variable names to field paths", () => {
    expect(envVarPath("VEIL_NODE__RPC__RATE_LIMIT__BURST")).to.deep.equal(["rpc", "rateLimit", "burst"]);
    expect(envVarPath("VEIL_NODE__L1__RPC_URL")).to.deep.equal(["l1", "rpcUrl"]);
    expect(envVarPath("VEIL_PTAU")).to.equal(undefined);
    expect(envVarPath("VEIL_rpc__port")).to.equal(undefined);
    expect(envVarPath("NOT_VEIL__X")).to.equal(undefined);
  });

  it("leaves the key generator's and the encrypting RPC's variables to them", () => {
    expect(envVarPath("VEIL_KEYGEN__RPC__PORT")).to.equal(undefined);
    expect(envVarPath("VEIL_PROXY__L2__RPC_URL")).to.equal(undefined);
  });

  it("refuses a Veil variable no role reads, rather than running without it", () => {
    const file = write("stray.yaml", YAML.stringify(validConfig()));
    for (const name of ["VEIL_RPC__PORT", "VEIL_NODES__RPC__PORT", "VEIL_NODE__rpc__port"]) {
      expect(configError(file, { [name]: "9001" }), name).to.match(
        new RegExp(`${name}: not a Veil configuration variable.*VEIL_NODE__`),
      );
    }
    // Another role's variables, and unstructured ones such as VEIL_PTAU, are not this role's concern.
    const config = loadConfig(file, { VEIL_KEYGEN__RPC__PORT: "1", VEIL_PROXY__RPC__PORT: "2", VEIL_PTAU: "/p" });
    expect(config.rpc.port).to.equal(8550);
  });

  it("names every bad field and where its value came from", () => {
    const bad = validConfig();
    bad.rpc = { port: 70_000, extra: true };
    bad.cluster = { id: "-1", peers: ["ftp://x"] };
    bad.l1 = { rpcUrl: "not a url", contracts: { clusterRegistry: "0x1234" } };
    const message = configError(write("c.yaml", YAML.stringify(bad)), { VEIL_NODE__LIMITS__MAX_TX_PER_BLOCK: "0" });
    expect(message).to.match(/rpc\.port: .*65535.* \(in .*c\.yaml\)/);
    expect(message).to.match(/rpc: unknown field "extra"/);
    expect(message).to.match(/cluster\.id: expected a non-negative integer/);
    expect(message).to.match(/cluster\.peers\.0: expected an http\(s\) URL/);
    expect(message).to.match(/l1\.rpcUrl: expected an http\(s\) URL/);
    expect(message).to.match(/l1\.contracts\.clusterRegistry: expected a 20-byte hex address/);
    expect(message).to.match(/l1\.contracts\.validationServiceManager: required/);
    expect(message).to.match(/limits\.maxTxPerBlock: .* \(from VEIL_NODE__LIMITS__MAX_TX_PER_BLOCK\)/);
    expect(configError(undefined)).to.match(/node: required \(not set\)/);
    expect(configError(write("d.yaml", YAML.stringify(validConfig())), { VEIL_NODE__RPC__PORTT: "1" })).to.match(
      /rpc: unknown field "portt" \(from VEIL_NODE__RPC__PORTT\)/,
    );
  });

  it("reports unreadable and unparsable files clearly", () => {
    expect(configError(path.join(dir, "missing.yaml"))).to.match(/missing\.yaml: cannot read it \(ENOENT\)/);
    expect(configError(write("e.json", "{ not json"))).to.match(/e\.json: not valid JSON/);
    expect(configError(write("f.yaml", "a: [unclosed"))).to.match(/f\.yaml: not valid YAML/);
    expect(configError(write("g.yaml", "- a\n- b\n"))).to.match(/top level must be a mapping/);
  });

  it("never shows the signing key: not in errors, not when the config is printed or serialised", () => {
    const config = loadConfig(write("h.yaml", YAML.stringify(validConfig())), {});
    expect(inspect(config, { depth: 10 })).to.not.include(KEY.slice(2));
    expect(JSON.stringify(config, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v))).to.not.include(
      KEY.slice(2),
    );
    expect(String(config.node.signingKey)).to.equal("[redacted]");

    const almost = `${KEY.slice(0, -1)}g`;
    const wrong = configError(write("i.yaml", YAML.stringify(validConfig())), { VEIL_NODE__NODE__SIGNING_KEY: almost });
    expect(wrong).to.match(/node\.signingKey: expected a 32-byte hex private key/);
    expect(wrong).to.not.include(almost.slice(2, 40));
    const zero = configError(write("j.yaml", YAML.stringify(validConfig())), {
      VEIL_NODE__NODE__SIGNING_KEY: `0x${"0".repeat(64)}`,
    });
    expect(zero).to.match(/not a valid secp256k1 private key/);
  });
});
