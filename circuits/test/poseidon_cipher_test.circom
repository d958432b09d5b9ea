pragma circom 2.1.6;

include "../src/poseidon_cipher.circom";

// Test-only main: Poseidon encryption of 4 elements (one padded block beyond the first).
component main = PoseidonEncrypt(4);
