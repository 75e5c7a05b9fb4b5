// A dudect-style timing test of the eight-lane IFMA ristretto255 kernels (Sources/CCleanRoomShim/
// ristretto255_ifma.c), with the statistics of dudect_x25519.c (dudect_common.h): each timed call
// gets an input class at random, 0 (fixed) or 1 (random), and Welch's t compares the two timing
// distributions on all samples and on samples cropped at 12 upper percentiles. |t| above about
// 4.5 is evidence of a timing leak.
//
// Usage: dudect_r255 TEST [RUNS] [FIXED]   (FIXED: 64 hex digits, little-endian scalar)
//   fb        cr_r255_fixed_mul8 with the table of the RFC 9496 generator B. Class 0: every lane
//             gets the scalar FIXED (default 0, whose result is the identity); class 1: eight
//             independent uniformly random 32-byte scalars with bit 255 cleared.
//   rerand    cr_r255_rerandomize8 on eight valid tags made once (c1 = r·B, c2 = m·B, random r
//             and m), with the tables of B and of a random key Y = x·B. Class 0: every lane's s is
//             FIXED (default 0); class 1: random s as in fb. The tags are copied back before each
//             call, outside the timed region.
//   open      cr_r255_open8 on eight valid tags made once, as in rerand. Class 0: y = FIXED
//             (default 0, whose result is c2); class 1: a random y (bit 255 cleared) per call.
//   open-msg  cr_r255_open8 with y fixed (one random y, drawn at start) and fresh tags for every
//             call: c1 = r·B for random r in both classes; class 0: c2 = y·c1 + M with M = FIXED·B
//             (default FIXED = 0: M and the result are the identity), so every lane decrypts to M;
//             class 1: c2 = a random point, so the result is random. It tests whether the time
//             depends on what a tag decrypts to. The tags are made with the kernel itself
//             (cr_r255_fixed_mul8) and libsodium's scalar arithmetic, outside the timed region.
//   selftest  open with a deliberate leak: class 0 also runs 300 iterations of an empty volatile
//             loop inside the timed region; the test must report it.
// Results are checked outside the timed region: every call's returned invalid-lane mask must be 0,
// the first call of each batch is compared with libsodium (fb, open), and in open-msg every class-0
// lane must decrypt to M.
#include "CCleanRoomShim.h"

#include "dudect_common.h"

#include <openssl/rand.h>
#include <sodium.h>

/* RFC 9496 §4.4: the encoding of the generator B */
static const char GENERATOR_HEX[] = "e2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2d76";

enum { FB, RERAND, OPEN, OPEN_MSG, SELFTEST, MUL, HASH };

/* A uniformly random scalar below 2^255 (bit 255 cleared). */
static void random_scalar255(uint8_t k[32]) {
    RAND_bytes(k, 32);
    k[31] &= 0x7f;
}

/* A uniformly random scalar mod l. */
static void random_scalar_l(uint8_t k[32]) {
    uint8_t wide[64];
    RAND_bytes(wide, 64);
    crypto_core_ristretto255_scalar_reduce(k, wide);
}

static void die(const char *what) {
    fprintf(stderr, "dudect_r255: %s\n", what);
    exit(4);
}

/* k·B with libsodium; the identity (which libsodium refuses) as 32 zero bytes. */
static void sodium_base(uint8_t out[32], const uint8_t k[32]) {
    if (crypto_scalarmult_ristretto255_base(out, k) != 0) memset(out, 0, 32);
}

/* Eight valid tags (c1 = r·B, c2 = m·B, random r and m), made with libsodium. */
static void make_tags(uint8_t tags[8 * 64]) {
    for (int lane = 0; lane < 8; lane++) {
        uint8_t r[32], m[32];
        random_scalar_l(r);
        random_scalar_l(m);
        if (crypto_scalarmult_ristretto255_base(tags + 64 * lane, r) != 0 ||
            crypto_scalarmult_ristretto255_base(tags + 64 * lane + 32, m) != 0)
            die("could not make a tag");
    }
}

int main(int argc, char **argv) {
    static const char *names[] = {"fb", "rerand", "open", "open-msg", "selftest", "mul", "hash"};
    int test = -1;
    for (int i = 0; argc >= 2 && i < 7; i++)
        if (strcmp(argv[1], names[i]) == 0) test = i;
    if (test < 0) {
        fprintf(stderr, "usage: %s fb|rerand|open|open-msg|selftest|mul|hash [runs] [fixed-hex]\n", argv[0]);
        return 2;
    }
    const long runs = argc > 2 ? atol(argv[2]) : 1000000;
    uint8_t fixed[32] = {0};
    if (argc > 3 && !parse_hex(fixed, argv[3])) {
        fprintf(stderr, "fixed value must be 64 hex digits\n");
        return 2;
    }
    if (sodium_init() < 0) die("sodium_init failed");
    if (!cr_ifma_supported()) {
        fprintf(stderr, "the IFMA kernel is not available on this CPU (or CLEANROOM_DISABLE_IFMA is set)\n");
        return 3;
    }
    uint8_t gen[32], x[32], key_enc[32];
    if (!parse_hex(gen, GENERATOR_HEX)) die("bad generator constant");
    cr_r255_table *tb = cr_r255_table_new(gen);
    if (tb == NULL) die("cr_r255_table_new(B) failed");
    random_scalar_l(x);
    sodium_base(key_enc, x);
    cr_r255_table *ty = cr_r255_table_new(key_enc);
    if (ty == NULL) die("cr_r255_table_new(Y) failed");

    /* fixed tags (rerand, open, selftest) */
    uint8_t fixed_tags[8 * 64], fixed_points[8 * 32];
    make_tags(fixed_tags);
    /* mul: the eight tags' c1 as the (public) points */
    for (int lane = 0; lane < 8; lane++) memcpy(fixed_points + 32 * lane, fixed_tags + 64 * lane, 32);
    /* open-msg: y (fixed for both classes), M = FIXED·B and its encoding */
    uint8_t y_msg[32], y_red[32], m_red[32], m_enc[32];
    random_scalar255(y_msg);
    {
        uint8_t wide[64] = {0};
        memcpy(wide, y_msg, 32);
        crypto_core_ristretto255_scalar_reduce(y_red, wide);
        memset(wide, 0, sizeof wide);
        memcpy(wide, fixed, 32);
        wide[31] &= 0x7f;
        crypto_core_ristretto255_scalar_reduce(m_red, wide);
        sodium_base(m_enc, m_red);
    }

    static uint8_t k[BATCH][256];        /* fb, rerand: eight scalars; open: y in the first 32 bytes */
    static uint8_t tags[BATCH][512];     /* rerand (scratch copies), open-msg */
    static uint8_t outs[BATCH][256];
    static uint8_t cls[BATCH];
    static int ret[BATCH];
    static uint64_t t[BATCH];
    static uint8_t r1[BATCH][256], r2[BATCH][256]; /* open-msg: the scalars of c1 and c2 */
    uint64_t *all = malloc(sizeof(uint64_t) * (size_t)runs);
    uint8_t *all_cls = malloc((size_t)runs);
    if (all == NULL || all_cls == NULL) die("out of memory");
    long done = 0;
    for (int warm = 1; warm >= 0; warm--) {
        long todo = warm ? BATCH : runs;
        while (todo > 0) {
            const int b = todo < BATCH ? (int)todo : BATCH;
            RAND_bytes(cls, b);
            RAND_bytes(&k[0][0], 256 * b);
            for (int i = 0; i < b; i++) {
                cls[i] &= 1;
                for (int lane = 0; lane < 8; lane++) k[i][32 * lane + 31] &= 0x7f;
                if (test == OPEN_MSG) {
                    for (int lane = 0; lane < 8; lane++) {
                        uint8_t *s1 = r1[i] + 32 * lane, *s2 = r2[i] + 32 * lane;
                        random_scalar_l(s1);
                        if (cls[i] == 0) {
                            crypto_core_ristretto255_scalar_mul(s2, s1, y_red);
                            crypto_core_ristretto255_scalar_add(s2, s2, m_red);
                        } else {
                            random_scalar_l(s2);
                        }
                    }
                    uint8_t c1[256], c2[256];
                    if (cr_r255_fixed_mul8(c1, tb, r1[i]) != 0 || cr_r255_fixed_mul8(c2, tb, r2[i]) != 0)
                        die("cr_r255_fixed_mul8 failed while making tags");
                    for (int lane = 0; lane < 8; lane++) {
                        memcpy(tags[i] + 64 * lane, c1 + 32 * lane, 32);
                        memcpy(tags[i] + 64 * lane + 32, c2 + 32 * lane, 32);
                    }
                    memcpy(k[i], y_msg, 32);
                } else if (test == HASH) {
                    /* the secret is the uniform string (from a private identifier): class 0 has
                       FIXED ‖ FIXED in every lane, class 1 random bytes; scalars random in both */
                    if (cls[i] == 0) {
                        for (int lane = 0; lane < 16; lane++) memcpy(tags[i] + 32 * lane, fixed, 32);
                    } else {
                        RAND_bytes(tags[i], 512);
                    }
                } else if (test == RERAND) {
                    memcpy(tags[i], fixed_tags, sizeof fixed_tags);
                    if (cls[i] == 0)
                        for (int lane = 0; lane < 8; lane++) memcpy(k[i] + 32 * lane, fixed, 32);
                } else if (cls[i] == 0) {
                    /* fb: all eight scalars; open, selftest: y */
                    for (int lane = 0; lane < 8; lane++) memcpy(k[i] + 32 * lane, fixed, 32);
                }
            }
            for (int i = 0; i < b; i++) {
                const uint64_t t0 = cycles();
                switch (test) {
                case FB: ret[i] = cr_r255_fixed_mul8(outs[i], tb, k[i]); break;
                case RERAND: ret[i] = cr_r255_rerandomize8(tags[i], tb, ty, k[i]); break;
                case OPEN: ret[i] = cr_r255_open8(outs[i], fixed_tags, k[i]); break;
                case OPEN_MSG: ret[i] = cr_r255_open8(outs[i], tags[i], k[i]); break;
                case MUL: ret[i] = cr_r255_mul8(outs[i], fixed_points, k[i], 32); break;
                case HASH: ret[i] = cr_r255_hash_mul8(outs[i], tags[i], k[i], 32); break;
                default:
                    ret[i] = cr_r255_open8(outs[i], fixed_tags, k[i]);
                    if (cls[i] == 0) {
                        for (volatile int spin = 0; spin < 300; spin++) {
                        }
                    }
                }
                t[i] = cycles() - t0;
            }
            /* checks, outside the timed region */
            for (int i = 0; i < b; i++) {
                /* hash: an all-zero FIXED hashes to the identity, which the mask reports */
                if (ret[i] < 0 || (ret[i] != 0 && test != HASH)) die("a kernel call failed or reported an invalid lane");
                if (test == OPEN_MSG && cls[i] == 0)
                    for (int lane = 0; lane < 8; lane++)
                        if (memcmp(outs[i] + 32 * lane, m_enc, 32) != 0) die("open-msg: a lane did not decrypt to M");
            }
            if (test == MUL) {
                for (int lane = 0; lane < 8; lane++) {
                    uint8_t want[32];
                    if (crypto_scalarmult_ristretto255(want, k[0] + 32 * lane, fixed_points + 32 * lane) != 0) memset(want, 0, 32);
                    if (memcmp(want, outs[0] + 32 * lane, 32) != 0) die("mul: result differs from libsodium");
                }
            }
            if (test == FB) {
                for (int lane = 0; lane < 8; lane++) {
                    uint8_t want[32];
                    sodium_base(want, k[0] + 32 * lane);
                    if (memcmp(want, outs[0] + 32 * lane, 32) != 0) die("fb: result differs from libsodium");
                }
            } else if (test == OPEN || test == SELFTEST) {
                for (int lane = 0; lane < 8; lane++) {
                    uint8_t yc1[32], want[32];
                    const uint8_t *c1 = fixed_tags + 64 * lane, *c2 = c1 + 32;
                    /* c2 − y·c1; y·c1 with libsodium (y < 2^255, not clamped) */
                    if (crypto_scalarmult_ristretto255(yc1, k[0], c1) != 0) {
                        memcpy(want, c2, 32); /* y·c1 is the identity */
                    } else if (crypto_core_ristretto255_sub(want, c2, yc1) != 0) {
                        die("libsodium sub failed");
                    }
                    if (memcmp(want, outs[0] + 32 * lane, 32) != 0) {
                        /* c2 − y·c1 may be the identity, which libsodium's sub encodes as zero too */
                        die("open: result differs from libsodium");
                    }
                }
            }
            if (!warm) {
                memcpy(all + done, t, sizeof(uint64_t) * (size_t)b);
                memcpy(all_cls + done, cls, (size_t)b);
                done += b;
            }
            todo -= b;
        }
    }
    const int status = dudect_report(names[test], all, all_cls, runs);
    cr_r255_table_free(tb);
    cr_r255_table_free(ty);
    free(all);
    free(all_cls);
    return status;
}
