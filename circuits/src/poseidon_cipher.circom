pragma circom 2.1.6;

include "circomlib/circuits/poseidon.circom";
include "circomlib/circuits/bitify.circom";

// PoseidonEncrypt(L) constrains `ciphertext` to be the Poseidon-cipher encryption of `message[L]`
// under the shared point `key` with `nonce`, in the construction of @zk-kit/poseidon-cipher and MACI:
// state = (0, key.x, key.y, nonce + L·2^128); per block of 3 (zero-padded) message elements the state
// is permuted and the block is added to state[1..3], which is output; a last permutation outputs the
// tag state[1]. It also constrains nonce < 2^128, so that nonce and L cannot overlap in state[3].
template PoseidonEncrypt(L) {
    var BLOCKS = (L + 2) \ 3;
    signal input message[L];
    signal input key[2];
    signal input nonce;
    signal output ciphertext[3 * BLOCKS + 1];

    component nonceBits = Num2Bits(128);
    nonceBits.in <== nonce;

    component perm[BLOCKS + 1];
    for (var b = 0; b <= BLOCKS; b++) {
        perm[b] = PoseidonEx(3, 4);
        if (b == 0) {
            perm[b].initialState <== 0;
            perm[b].inputs[0] <== key[0];
            perm[b].inputs[1] <== key[1];
            perm[b].inputs[2] <== nonce + L * (2 ** 128);
        } else {
            perm[b].initialState <== perm[b - 1].out[0];
            for (var j = 0; j < 3; j++) {
                perm[b].inputs[j] <== ciphertext[3 * (b - 1) + j];
            }
        }
        if (b < BLOCKS) {
            for (var j = 0; j < 3; j++) {
                if (3 * b + j < L) {
                    ciphertext[3 * b + j] <== perm[b].out[j + 1] + message[3 * b + j];
                } else {
                    ciphertext[3 * b + j] <== perm[b].out[j + 1];
                }
            }
        }
    }
    ciphertext[3 * BLOCKS] <== perm[BLOCKS].out[1];
}
