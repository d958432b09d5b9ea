pragma circom 2.1.6;

include "./packing.circom";
include "./key_exchange.circom";
include "./poseidon_cipher.circom";
include "./poseidon_chain.circom";

// TxValidity(C) constrains, for the public (encTxHash, txCommitment, roundKey), that the prover knows
// a packed plaintext (length + C chunks of 31 bytes), rho, nonce, rollupId and height such that:
//   the plaintext is a canonical packing (PackedBytes), R = rho·B8 ≠ identity and K = rho·roundKey,
//   ciphertext = PoseidonEncrypt(plaintext, K, nonce) with nonce < 2^128,
//   txCommitment = PoseidonChain(plaintext),
//   encTxHash = PoseidonChain(rollupId, height, R.x, R.y, nonce, ciphertext).
// The verifier recomputes encTxHash from the submitted ciphertext, so the proof holds for that one
// ciphertext, rollup, height and round key only.
template TxValidity(C) {
    var L = C + 1;
    var CT = 3 * ((L + 2) \ 3) + 1;

    signal input encTxHash;
    signal input txCommitment;
    signal input roundKey[2];

    signal input rollupId;
    signal input height;
    signal input nonce;
    signal input rho;
    signal input plaintext[L];

    component packing = PackedBytes(C);
    packing.len <== plaintext[0];
    for (var i = 0; i < C; i++) {
        packing.chunk[i] <== plaintext[i + 1];
    }

    component keys = EphemeralKeyExchange();
    keys.rho <== rho;
    keys.publicKey[0] <== roundKey[0];
    keys.publicKey[1] <== roundKey[1];

    component cipher = PoseidonEncrypt(L);
    cipher.key[0] <== keys.sharedKey[0];
    cipher.key[1] <== keys.sharedKey[1];
    cipher.nonce <== nonce;
    for (var i = 0; i < L; i++) {
        cipher.message[i] <== plaintext[i];
    }

    component commitment = PoseidonChain(L);
    for (var i = 0; i < L; i++) {
        commitment.in[i] <== plaintext[i];
    }
    txCommitment === commitment.out;

    component leaf = PoseidonChain(5 + CT);
    leaf.in[0] <== rollupId;
    leaf.in[1] <== height;
    leaf.in[2] <== keys.ephemeralKey[0];
    leaf.in[3] <== keys.ephemeralKey[1];
    leaf.in[4] <== nonce;
    for (var i = 0; i < CT; i++) {
        leaf.in[5 + i] <== cipher.ciphertext[i];
    }
    encTxHash === leaf.out;
}
