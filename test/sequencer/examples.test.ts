/**
 * examples/: one commented config per role. Each loads through its role's own loader, with the signing key
 * from the role's variable as the comments say, and no field of it is unknown or invalid.
 */
import { expect } from "chai";
import { readdirSync } from "node:fs";
import path from "node:path";
import { loadKeygenConfig } from "../../sequencer/keygen/config";
import { loadConfig as loadNodeConfig } from "../../sequencer/node/config";
import { loadOperatorConfig } from "../../sequencer/operator/config";
import { loadProxyConfig } from "../../sequencer/proxy/config";
import { loadValidatorConfig } from "../../sequencer/validator/config";

const EXAMPLES = path.join(__dirname, "..", "..", "examples");
const KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const example = (name: string) => path.join(EXAMPLES, name);

describe("examples/: a commented config per role, each loading as it stands", () => {
  it("has exactly one example per role", () => {
    expect(readdirSync(EXAMPLES).sort()).to.deep.equal([
      "keygen.yaml",
      "node.yaml",
      "operator.yaml",
      "proxy.yaml",
      "validator.yaml",
    ]);
  });

  it("node.yaml", () => {
    const config = loadNodeConfig(example("node.yaml"), { VEIL_NODE__NODE__SIGNING_KEY: KEY });
    expect(config.cluster.id).to.equal(1n);
    expect(config.rpc.port).to.equal(8550);
    expect(config.node.signingKey.reveal()).to.equal(KEY);
  });

  it("keygen.yaml", () => {
    const config = loadKeygenConfig(example("keygen.yaml"), { VEIL_KEYGEN__KEYGEN__SIGNING_KEY: KEY });
    expect(config.rollups).to.deep.equal([7n]);
    expect(config.rpc.port).to.equal(8560);
  });

  it("proxy.yaml", () => {
    const config = loadProxyConfig(example("proxy.yaml"), {});
    expect(config.rollupId).to.equal(7n);
    expect(config.rpc.port).to.equal(8547);
    expect(config.force.enabled).to.equal(false);
  });

  it("validator.yaml", () => {
    const config = loadValidatorConfig(example("validator.yaml"), { VEIL_VALIDATOR__VALIDATOR__SIGNING_KEY: KEY });
    expect(config.rpc.port).to.equal(8570);
    expect(config.l1.deployBlock).to.equal(0);
  });

  it("operator.yaml", () => {
    const config = loadOperatorConfig(example("operator.yaml"), { VEIL_OPERATOR__OPERATOR__SIGNING_KEY: KEY });
    expect(config.operator.rollupId).to.equal(7n);
    expect(config.rpc.port).to.equal(8580);
  });

  it("a role refuses another role's example: the files are not interchangeable by accident", () => {
    expect(() => loadProxyConfig(example("node.yaml"), {})).to.throw(/unknown field/);
  });
});
