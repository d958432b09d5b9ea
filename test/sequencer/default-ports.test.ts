import { expect } from "chai";
import { configSchema as nodeSchema } from "../../sequencer/node/config";
import { keygenConfigSchema } from "../../sequencer/keygen/config";
import { validatorConfigSchema } from "../../sequencer/validator/config";
import { operatorConfigSchema } from "../../sequencer/operator/config";
import { proxyConfigSchema } from "../../sequencer/proxy/config";

/** The port a config that leaves `section` out gets. */
function defaultPort(schema: { shape: Record<string, unknown> }, section: string): number {
  const parsed = (schema.shape[section] as { parse(v: unknown): { port: number } }).parse(undefined);
  return parsed.port;
}

describe("default ports: one host runs one process of every role with no port configured", () => {
  it("gives every role its own default port", () => {
    const ports = {
      node: defaultPort(nodeSchema, "rpc"),
      keygen: defaultPort(keygenConfigSchema, "rpc"),
      validator: defaultPort(validatorConfigSchema, "rpc"),
      operator: defaultPort(operatorConfigSchema, "rpc"),
      proxy: defaultPort(proxyConfigSchema, "rpc"),
    };
    expect(ports).to.deep.equal({ node: 8550, keygen: 8560, validator: 8570, operator: 8580, proxy: 8547 });
    expect(new Set(Object.values(ports)).size).to.equal(Object.keys(ports).length);
  });
});
