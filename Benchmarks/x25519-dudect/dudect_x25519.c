// A dudect-style timing test of the eight-lane IFMA X25519 kernel (Sources/CCleanRoomShim/
// x25519_ifma.c), after Reparaz, Balasch and Verbauwhede, "Dude, is my code constant time?"
// (DATE 2017): time many calls whose input class (fixed or random) is drawn at random, and test
// whether the two timing distributions differ with Welch's t-test, on all samples and on samples
// cropped at several upper percentiles. |t| above about 4.5 is evidence of a timing leak.
//
// Tests: "scalar" (u random for both classes; class 0 scalar fixed, class 1 random) and "u"
// (scalar random for both; class 0 u fixed, class 1 random). Usage: dudect_x25519 TEST [RUNS] [FIXED]
// where FIXED (hex, 32 bytes) overrides the fixed value (defaults: the all-zero scalar, which
// clamps to 2^254, and u = 0, a low-order point whose result is all zero). Test "selftest" is
// the scalar test with a deliberate leak (class 0 runs 300 extra loop iterations, about 0.2% of a
// call), to show that the harness can see a difference of that size. Test "h2c" times the
// hash-to-curve kernel (hash_to_curve_ifma.c) instead: class 0 gives every lane the fixed 96 bytes
// (FIXED repeated three times; default all zero, whose two field elements are 0: the exceptional
// Elligator/Edwards case and an identity result), class 1 random bytes.
#include "CCleanRoomShim.h"

#include "dudect_common.h"

#include <openssl/rand.h>

int main(int argc, char **argv) {
    if (argc < 2 || (strcmp(argv[1], "scalar") != 0 && strcmp(argv[1], "u") != 0 && strcmp(argv[1], "selftest") != 0 &&
                     strcmp(argv[1], "h2c") != 0)) {
        fprintf(stderr, "usage: %s scalar|u|selftest|h2c [runs] [fixed-hex]\n", argv[0]);
        return 2;
    }
    const int selftest = strcmp(argv[1], "selftest") == 0;
    const int h2c = strcmp(argv[1], "h2c") == 0;
    const int test_scalar = selftest || strcmp(argv[1], "scalar") == 0;
    const long runs = argc > 2 ? atol(argv[2]) : 1000000;
    uint8_t fixed[32] = {0};
    if (argc > 3 && !parse_hex(fixed, argv[3])) {
        fprintf(stderr, "fixed value must be 64 hex digits\n");
        return 2;
    }
    if (!cr_ifma_supported()) {
        fprintf(stderr, "the IFMA kernel is not available on this CPU (or CLEANROOM_DISABLE_IFMA is set)\n");
        return 3;
    }
    /* a warm-up pass is discarded; then `runs` timed calls in batches whose inputs are made first */
    static uint8_t k[BATCH][256], u[BATCH][256], out[256];
    static uint8_t h[BATCH][768];
    static uint8_t cls[BATCH];
    static uint64_t t[BATCH];
    uint64_t *all = malloc(sizeof(uint64_t) * (size_t)runs);
    uint8_t *all_cls = malloc((size_t)runs);
    long done = 0;
    for (int warm = 1; warm >= 0; warm--) {
        long todo = warm ? BATCH : runs;
        while (todo > 0) {
            int b = todo < BATCH ? (int)todo : BATCH;
            RAND_bytes(cls, b);
            RAND_bytes(&k[0][0], 256 * b);
            RAND_bytes(&u[0][0], 256 * b);
            if (h2c) RAND_bytes(&h[0][0], 768 * b);
            for (int i = 0; i < b; i++) {
                cls[i] &= 1;
                if (cls[i] == 0 && h2c) {
                    for (int part = 0; part < 24; part++) memcpy(h[i] + 32 * part, fixed, 32);
                } else if (cls[i] == 0) {
                    for (int lane = 0; lane < 8; lane++) memcpy((test_scalar ? k[i] : u[i]) + 32 * lane, fixed, 32);
                }
            }
            for (int i = 0; i < b; i++) {
                uint64_t t0 = cycles();
                if (h2c) {
                    cr_h2c_u_ifma8(out, h[i]);
                } else {
                    cr_x25519_ifma8(out, k[i], 32, u[i]);
                }
                if (selftest && cls[i] == 0) {
                    for (volatile int spin = 0; spin < 300; spin++) {
                    }
                }
                t[i] = cycles() - t0;
            }
            if (!warm) {
                memcpy(all + done, t, sizeof(uint64_t) * (size_t)b);
                memcpy(all_cls + done, cls, (size_t)b);
                done += b;
            }
            todo -= b;
        }
    }
    const int status = dudect_report(argv[1], all, all_cls, runs);
    free(all); free(all_cls);
    return status;
}
