import { expect } from "chai";
import { censorSwitch } from "../../sequencer/node/censor";
import { ConfigError, loadConfig } from "../../sequencer/node/config";

const warnings: unknown[] = [];
const log = { warn: (fields: unknown) => void warnings.push(fields) } as never;

describe("the censoring switch (testing.censorClients): a test-only misbehaviour", () => {
  it("is off without entries: nobody is censored, and nothing is logged", () => {
    warnings.length = 0;
    expect(censorSwitch([], 31_337n, log)).to.equal(undefined);
    expect(warnings).to.have.length(0);
  });

  it("refuses to turn on outside a development chain, naming the switch and the chain", () => {
    for (const chainId of [1n, 11_155_111n, 31_338n]) {
      expect(() => censorSwitch(["127.0.0.2"], chainId, log)).to.throw(
        Error,
        new RegExp(`testing\\.censorClients is a test switch; it is refused on L1 chain ${chainId}`),
      );
    }
  });

  it("censors exactly the listed addresses and blocks, and says so in the log", () => {
    warnings.length = 0;
    const censors = censorSwitch(["127.0.0.2", "10.1.0.0/16", "fd00::/8"], 31_337n, log)!;
    expect(["127.0.0.2", "10.1.200.3", "fd00::1"].map(censors)).to.deep.equal([true, true, true]);
    expect(["127.0.0.1", "10.2.0.1", "::1", "unknown"].map(censors)).to.deep.equal([false, false, false, false]);
    expect(warnings).to.have.length(1);
  });

  it("is read from the configuration and the environment, and refuses an entry that is not an address", () => {
    const base = {
      VEIL_NODE__NODE__SIGNING_KEY: `0x${"59".repeat(32)}`,
      VEIL_NODE__CLUSTER__ID: "7",
      VEIL_NODE__STORAGE__PATH: "/tmp/x",
      VEIL_NODE__L1__RPC_URL: "http://127.0.0.1:8545",
      VEIL_NODE__L1__CONTRACTS__CLUSTER_REGISTRY: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
      VEIL_NODE__L1__CONTRACTS__VALIDATION_SERVICE_MANAGER: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
    };
    expect(loadConfig(undefined, base).testing.censorClients).to.deep.equal([]);
    const on = loadConfig(undefined, { ...base, VEIL_NODE__TESTING__CENSOR_CLIENTS: "127.0.0.2, 10.0.0.0/8" });
    expect(on.testing.censorClients).to.deep.equal(["127.0.0.2", "10.0.0.0/8"]);
    expect(() => loadConfig(undefined, { ...base, VEIL_NODE__TESTING__CENSOR_CLIENTS: "the bad ones" })).to.throw(
      ConfigError,
      /testing\.censorClients/,
    );
  });
});
