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

#include <math.h>
#include <openssl/rand.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <x86intrin.h>

#define BATCH 4096
#define CROPS 12

typedef struct {
    double n[2], mean[2], m2[2];
} welch;

static void welch_add(welch *w, int cls, double x) {
    w->n[cls] += 1;
    double d = x - w->mean[cls];
    w->mean[cls] += d / w->n[cls];
    w->m2[cls] += d * (x - w->mean[cls]);
}

static double welch_t(const welch *w) {
    if (w->n[0] < 2 || w->n[1] < 2) return 0;
    double v0 = w->m2[0] / (w->n[0] - 1), v1 = w->m2[1] / (w->n[1] - 1);
    return (w->mean[0] - w->mean[1]) / sqrt(v0 / w->n[0] + v1 / w->n[1]);
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t cycles(void) {
    unsigned aux;
    _mm_lfence();
    uint64_t t = __rdtscp(&aux);
    _mm_lfence();
    return t;
}

static int parse_hex(uint8_t *out, const char *s) {
    if (strlen(s) != 64) return 0;
    for (int i = 0; i < 32; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1) return 0;
        out[i] = (uint8_t)v;
    }
    return 1;
}

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
    /* thresholds: the 100·(1 − 0.5^(10·(c+1)/CROPS)) percentiles, as dudect crops */
    uint64_t *sorted = malloc(sizeof(uint64_t) * (size_t)runs);
    memcpy(sorted, all, sizeof(uint64_t) * (size_t)runs);
    qsort(sorted, (size_t)runs, sizeof(uint64_t), cmp_u64);
    welch w[CROPS + 1];
    memset(w, 0, sizeof w);
    uint64_t limit[CROPS];
    for (int c = 0; c < CROPS; c++) {
        double q = 1 - pow(0.5, 10.0 * (c + 1) / CROPS);
        limit[c] = sorted[(size_t)(q * (double)(runs - 1))];
    }
    for (long i = 0; i < runs; i++) {
        welch_add(&w[0], all_cls[i], (double)all[i]);
        for (int c = 0; c < CROPS; c++)
            if (all[i] <= limit[c]) welch_add(&w[c + 1], all_cls[i], (double)all[i]);
    }
    double max_t = 0;
    int max_at = 0;
    for (int c = 0; c <= CROPS; c++) {
        double a = fabs(welch_t(&w[c]));
        if (a > max_t) { max_t = a; max_at = c; }
    }
    printf("test %-6s runs %ld (class 0: %.0f, class 1: %.0f)  median %llu cycles per call of 8 lanes\n", argv[1], runs,
           w[0].n[0], w[0].n[1], (unsigned long long)sorted[runs / 2]);
    printf("  means: fixed %.1f, random %.1f cycles; t (all samples) = %.2f\n", w[0].mean[0], w[0].mean[1], welch_t(&w[0]));
    printf("  max |t| = %.2f (%s)  -> %s\n", max_t, max_at == 0 ? "all samples" : "a cropped set",
           max_t < 4.5 ? "no evidence of a timing difference" : "TIMING DIFFERENCE");
    free(all); free(all_cls); free(sorted);
    return max_t < 4.5 ? 0 : 1;
}
