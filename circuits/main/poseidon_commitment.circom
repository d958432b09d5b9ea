pragma circom 2.1.6;

include "../src/commitment.circom";

// Public: the commitment (output). Private: the four message elements.
component main = PoseidonCommitment(4);
