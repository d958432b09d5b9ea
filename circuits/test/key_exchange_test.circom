pragma circom 2.1.6;

include "../src/key_exchange.circom";

// Test-only main: the ephemeral key exchange with its outputs public.
component main {public [publicKey]} = EphemeralKeyExchange();
