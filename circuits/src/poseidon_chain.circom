pragma circom 2.1.6;

include "circomlib/circuits/poseidon.circom";

// PoseidonChain(n) constrains `out` to the hash of the fixed-length vector `in[n]` (n ≥ 1):
// Poseidon of the first (up to) 16 elements, then for every further group of up to 15 elements
// Poseidon(previous, group). sequencer/crypto/poseidon.ts (poseidonChain) computes the same.
template PoseidonChain(n) {
    signal input in[n];
    signal output out;

    var FIRST = n < 16 ? n : 16;
    var GROUPS = n <= 16 ? 0 : (n - 16 + 14) \ 15;

    component first = Poseidon(FIRST);
    for (var i = 0; i < FIRST; i++) {
        first.inputs[i] <== in[i];
    }

    component next[GROUPS];
    signal acc[GROUPS + 1];
    acc[0] <== first.out;
    for (var g = 0; g < GROUPS; g++) {
        var start = 16 + 15 * g;
        var size = n - start < 15 ? n - start : 15;
        next[g] = Poseidon(size + 1);
        next[g].inputs[0] <== acc[g];
        for (var i = 0; i < size; i++) {
            next[g].inputs[i + 1] <== in[start + i];
        }
        acc[g + 1] <== next[g].out;
    }
    out <== acc[GROUPS];
}
