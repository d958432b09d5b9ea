pragma circom 2.1.6;

include "circomlib/circuits/poseidon.circom";

// PoseidonCommitment(n) constrains `commitment` to equal Poseidon(message[0], ..., message[n-1])
// over the BN254 scalar field, with circomlib's Poseidon parameters (1 <= n <= 16).
template PoseidonCommitment(n) {
    signal input message[n];
    signal output commitment;

    component hash = Poseidon(n);
    for (var i = 0; i < n; i++) {
        hash.inputs[i] <== message[i];
    }
    commitment <== hash.out;
}
