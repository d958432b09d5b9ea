pragma circom 2.1.6;

include "circomlib/circuits/bitify.circom";
include "circomlib/circuits/escalarmulfix.circom";
include "circomlib/circuits/escalarmulany.circom";

// EphemeralKeyExchange constrains ephemeralKey = rho·B8 and sharedKey = rho·publicKey for one and
// the same scalar rho < 2^253, and ephemeralKey ≠ identity (rho is not a multiple of ℓ). The caller
// guarantees that publicKey is a point of the prime-order subgroup (it is the registered round key,
// a public input checked outside the circuit).
template EphemeralKeyExchange() {
    signal input rho;
    signal input publicKey[2];
    signal output ephemeralKey[2];
    signal output sharedKey[2];

    var BASE8[2] = [
        5299619240641551281634865583518297030282874472190772894086521144482721001553,
        16950150798460657717958625567821834550301663161624707787222815936182638968203
    ];

    component rhoBits = Num2Bits(253);
    rhoBits.in <== rho;

    component fixedBase = EscalarMulFix(253, BASE8);
    component anyBase = EscalarMulAny(253);
    for (var i = 0; i < 253; i++) {
        fixedBase.e[i] <== rhoBits.out[i];
        anyBase.e[i] <== rhoBits.out[i];
    }
    anyBase.p[0] <== publicKey[0];
    anyBase.p[1] <== publicKey[1];

    ephemeralKey[0] <== fixedBase.out[0];
    ephemeralKey[1] <== fixedBase.out[1];
    sharedKey[0] <== anyBase.out[0];
    sharedKey[1] <== anyBase.out[1];

    // The identity is the only subgroup point with x = 0: x must be invertible.
    signal xInverse;
    xInverse <-- ephemeralKey[0] != 0 ? 1 / ephemeralKey[0] : 0;
    xInverse * ephemeralKey[0] === 1;
}
