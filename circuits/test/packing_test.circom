pragma circom 2.1.6;

include "../src/packing.circom";

// Test-only main: PackedBytes over 3 chunks (up to 93 bytes).
component main = PackedBytes(3);
