// solidity-coverage: generated Groth16 verifiers are snarkjs output, not ours to cover; test harnesses
// only expose library functions to the suites.
module.exports = {
  skipFiles: ["generated/", "test/"],
};
