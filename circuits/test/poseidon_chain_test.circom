pragma circom 2.1.6;

include "../src/poseidon_chain.circom";

// Test-only main: a chain over 33 elements (16, then 15, then 2).
component main = PoseidonChain(33);
