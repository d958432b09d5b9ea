pragma circom 2.1.6;

include "../src/tx_validity.circom";

// Public: encTxHash, txCommitment, roundKey (x, y). Private: the packed plaintext (length + 17
// chunks, at most 527 bytes), rho, nonce, rollupId, height.
component main {public [encTxHash, txCommitment, roundKey]} = TxValidity(17);
