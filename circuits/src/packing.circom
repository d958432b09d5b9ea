pragma circom 2.1.6;

include "circomlib/circuits/bitify.circom";

// PackedBytes(C) constrains (len, chunk[C]) to be the canonical packing of a byte string of length
// len (sequencer/crypto/packing.ts): 1 ≤ len ≤ 31·C, every chunk < 2^248 (31 little-endian bytes),
// the chunks past ⌈len/31⌉ are zero, and in the last used chunk the bytes past len are zero.
template PackedBytes(C) {
    signal input len;
    signal input chunk[C];

    // Every chunk holds at most 31 bytes.
    component chunkBits[C];
    for (var i = 0; i < C; i++) {
        chunkBits[i] = Num2Bits(248);
        chunkBits[i].in <== chunk[i];
    }

    // used[i] = 1 iff chunk i holds a byte: a boolean, non-increasing vector starting with 1; its sum
    // is the number n of used chunks.
    signal used[C];
    var n = 0;
    for (var i = 0; i < C; i++) {
        used[i] <-- 31 * i < len ? 1 : 0;
        used[i] * (used[i] - 1) === 0;
        if (i == 0) {
            used[i] === 1;
        } else {
            used[i] * (1 - used[i - 1]) === 0;
        }
        n += used[i];
    }

    // inLast[k] = 1 iff byte k of the last used chunk is within len: boolean, non-increasing,
    // starting with 1 and summing to len − 31·(n − 1), which forces that value into 1..31 and so
    // n = ⌈len/31⌉ and len ≤ 31·C.
    signal inLast[31];
    var bytesInLast = 0;
    for (var k = 0; k < 31; k++) {
        inLast[k] <-- k < len - 31 * (n - 1) ? 1 : 0;
        inLast[k] * (inLast[k] - 1) === 0;
        if (k == 0) {
            inLast[k] === 1;
        } else {
            inLast[k] * (1 - inLast[k - 1]) === 0;
        }
        bytesInLast += inLast[k];
    }
    bytesInLast === len - 31 * (n - 1);

    // Unused chunks are zero; the last used chunk is selected (isLast[i] = used[i] − used[i+1]).
    signal selected[C];
    var last = 0;
    for (var i = 0; i < C; i++) {
        chunk[i] * (1 - used[i]) === 0;
        selected[i] <== chunk[i] * (used[i] - (i + 1 < C ? used[i + 1] : 0));
        last += selected[i];
    }

    // Its bytes past len are zero.
    component lastBits = Num2Bits(248);
    lastBits.in <== last;
    for (var k = 0; k < 31; k++) {
        var byte = 0;
        for (var b = 0; b < 8; b++) {
            byte += lastBits.out[8 * k + b] * (1 << b);
        }
        byte * (1 - inLast[k]) === 0;
    }
}
