// Field arithmetic mod p = 2^255 − 19 on eight AVX-512 IFMA lanes, shared by x25519_ifma.c and
// hash_to_curve_ifma.c. Private to CCleanRoomShim (not in include/, so Swift does not import it);
// include it only inside `#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))`.
//
// Representation, limb bounds, the carry schedule and the constant-time rules are described at
// the top of x25519_ifma.c (and in docs/crypto.md): a field element of eight lanes is five zmm
// registers of 52-bit limbs, every function returns a "carried" element (l_0..l_3 < 2^52,
// l_4 < 2^47 + 2^6) and every multiplication input must be carried.
#ifndef CR_FE25519_IFMA_H
#define CR_FE25519_IFMA_H

#include <stdint.h>
#include <immintrin.h>
#include <openssl/crypto.h>

#define X_TARGET __attribute__((target("avx512f,avx512vl,avx512ifma")))
/* Optimised builds inline every field operation into the ladder (a frame of under 2 KiB). Without
   optimisation, forced inlining would give the ladder a frame of about 500 KiB (every temporary of
   every inlined call gets its own slot), too much for a worker thread's stack and for the stack
   cleansing below, so there they stay ordinary functions. */
#if defined(__OPTIMIZE__)
#define X_INLINE static inline __attribute__((always_inline, unused))
#else
#define X_INLINE static __attribute__((unused))
#endif

typedef struct {
    __m512i l[5];
} fe8;

#define M52 0xFFFFFFFFFFFFFull
#define M47 0x7FFFFFFFFFFFull
/* Stack cleansed after a kernel: several times its deepest use (objdump, X25519 ladder: under 2 KiB
   optimised, about 23 KiB for the ladder and its deepest call chain unoptimised). */
#if defined(__OPTIMIZE__)
#define CR_IFMA_BURN_BYTES 8192
#else
#define CR_IFMA_BURN_BYTES 65536
#endif

X_TARGET X_INLINE __m512i bc(uint64_t x) { return _mm512_set1_epi64((long long)x); }

/* The carry schedule described above. */
X_TARGET X_INLINE void fe_carry(fe8 *r) {
    const __m512i m52 = bc(M52), m47 = bc(M47), k19 = bc(19);
    __m512i c = _mm512_srli_epi64(r->l[4], 47);
    r->l[4] = _mm512_and_si512(r->l[4], m47);
    /* c < 2^17, so the low half of c·19 is exact */
    r->l[0] = _mm512_madd52lo_epu64(r->l[0], c, k19);
    for (int j = 0; j < 4; j++) {
        c = _mm512_srli_epi64(r->l[j], 52);
        r->l[j] = _mm512_and_si512(r->l[j], m52);
        r->l[j + 1] = _mm512_add_epi64(r->l[j + 1], c);
    }
}

X_TARGET X_INLINE void fe_add(fe8 *r, const fe8 *a, const fe8 *b) {
    for (int j = 0; j < 5; j++) r->l[j] = _mm512_add_epi64(a->l[j], b->l[j]);
    fe_carry(r);
}

/* r = a + 16p − b, for carried a and b. */
X_TARGET X_INLINE void fe_sub(fe8 *r, const fe8 *a, const fe8 *b) {
    static const uint64_t p16[5] = {(1ull << 53) - 304, (1ull << 53) - 2, (1ull << 53) - 2, (1ull << 53) - 2,
                                    (1ull << 51) - 2};
    for (int j = 0; j < 5; j++) r->l[j] = _mm512_sub_epi64(_mm512_add_epi64(a->l[j], bc(p16[j])), b->l[j]);
    fe_carry(r);
}

/* Folds ten columns (each < 2^57) into five and carries. */
X_TARGET X_INLINE void fe_fold(fe8 *r, __m512i c[10]) {
    const __m512i k608 = bc(608), zero = _mm512_setzero_si512();
    for (int i = 0; i < 5; i++) c[i] = _mm512_madd52lo_epu64(c[i], c[i + 5], k608);
    for (int i = 0; i < 4; i++) {
        c[i + 1] = _mm512_madd52hi_epu64(c[i + 1], c[i + 5], k608);
        c[i + 1] = _mm512_madd52lo_epu64(c[i + 1], _mm512_srli_epi64(c[i + 5], 52), k608);
    }
    __m512i h = _mm512_madd52hi_epu64(zero, c[9], k608);
    h = _mm512_madd52lo_epu64(h, _mm512_srli_epi64(c[9], 52), k608);
    c[0] = _mm512_madd52lo_epu64(c[0], h, k608);
    for (int i = 0; i < 5; i++) r->l[i] = c[i];
    fe_carry(r);
}

X_TARGET X_INLINE void fe_mul(fe8 *r, const fe8 *a, const fe8 *b) {
    __m512i c[10];
    for (int k = 0; k < 10; k++) c[k] = _mm512_setzero_si512();
    for (int i = 0; i < 5; i++) {
        for (int j = 0; j < 5; j++) {
            c[i + j] = _mm512_madd52lo_epu64(c[i + j], a->l[i], b->l[j]);
            c[i + j + 1] = _mm512_madd52hi_epu64(c[i + j + 1], a->l[i], b->l[j]);
        }
    }
    fe_fold(r, c);
}

/* Squaring: the ten cross products once, doubled (each column < 2·5·2^52), then the squares. */
X_TARGET X_INLINE void fe_sq(fe8 *r, const fe8 *a) {
    __m512i c[10];
    for (int k = 0; k < 10; k++) c[k] = _mm512_setzero_si512();
    for (int i = 0; i < 5; i++) {
        for (int j = i + 1; j < 5; j++) {
            c[i + j] = _mm512_madd52lo_epu64(c[i + j], a->l[i], a->l[j]);
            c[i + j + 1] = _mm512_madd52hi_epu64(c[i + j + 1], a->l[i], a->l[j]);
        }
    }
    for (int k = 1; k < 10; k++) c[k] = _mm512_add_epi64(c[k], c[k]);
    for (int i = 0; i < 5; i++) {
        c[2 * i] = _mm512_madd52lo_epu64(c[2 * i], a->l[i], a->l[i]);
        c[2 * i + 1] = _mm512_madd52hi_epu64(c[2 * i + 1], a->l[i], a->l[i]);
    }
    fe_fold(r, c);
}

X_TARGET X_INLINE void fe_sqn(fe8 *r, const fe8 *a, int n) {
    fe_sq(r, a);
    for (int i = 1; i < n; i++) fe_sq(r, r);
}

/* Swaps a and b in the lanes where mask is all ones. */
X_TARGET X_INLINE void fe_cswap(fe8 *a, fe8 *b, __m512i mask) {
    for (int j = 0; j < 5; j++) {
        const __m512i t = _mm512_and_si512(_mm512_xor_si512(a->l[j], b->l[j]), mask);
        a->l[j] = _mm512_xor_si512(a->l[j], t);
        b->l[j] = _mm512_xor_si512(b->l[j], t);
    }
}

/* t = z^(2^250 − 1) and z11 = z^11: the common part of the inversion and of the square-root
   exponent (p − 5)/8. */
X_TARGET X_INLINE void fe_pow2_250_1(fe8 *t, fe8 *z11, const fe8 *z) {
    fe8 z2, z9, a5, a10, a20, a50, a100;
    fe_sq(&z2, z);              /* 2 */
    fe_sqn(t, &z2, 2);          /* 8 */
    fe_mul(&z9, t, z);          /* 9 */
    fe_mul(z11, &z9, &z2);      /* 11 */
    fe_sq(t, z11);              /* 22 */
    fe_mul(&a5, t, &z9);        /* 2^5 − 1 */
    fe_sqn(t, &a5, 5);
    fe_mul(&a10, t, &a5);       /* 2^10 − 1 */
    fe_sqn(t, &a10, 10);
    fe_mul(&a20, t, &a10);      /* 2^20 − 1 */
    fe_sqn(t, &a20, 20);
    fe_mul(t, t, &a20);         /* 2^40 − 1 */
    fe_sqn(t, t, 10);
    fe_mul(&a50, t, &a10);      /* 2^50 − 1 */
    fe_sqn(t, &a50, 50);
    fe_mul(&a100, t, &a50);     /* 2^100 − 1 */
    fe_sqn(t, &a100, 100);
    fe_mul(t, t, &a100);        /* 2^200 − 1 */
    fe_sqn(t, t, 50);
    fe_mul(t, t, &a50);         /* 2^250 − 1 */
}

/* r = z^(p−2) = z^(2^255 − 21): the addition chain of 254 squarings and 11 multiplications. */
X_TARGET X_INLINE void fe_invert(fe8 *r, const fe8 *z) {
    fe8 t, z11;
    fe_pow2_250_1(&t, &z11, z);
    fe_sqn(&t, &t, 5);          /* 2^255 − 32 */
    fe_mul(r, &t, &z11);        /* 2^255 − 21 */
}

/* Writes the eight canonical results (five 52-bit limbs per lane) as 32-byte little-endian strings. */
static inline void cr_store_lanes(uint8_t *out, uint64_t r[5][8]) {
    for (int lane = 0; lane < 8; lane++) {
        const uint64_t w[4] = {r[0][lane] | (r[1][lane] << 52), (r[1][lane] >> 12) | (r[2][lane] << 40),
                               (r[2][lane] >> 24) | (r[3][lane] << 28), (r[3][lane] >> 36) | (r[4][lane] << 16)};
        for (int i = 0; i < 32; i++) out[32 * lane + i] = (uint8_t)(w[i >> 3] >> (8 * (i & 7)));
    }
}

/* The unique representative in [0, p) of a carried element. */
X_TARGET X_INLINE void fe_canonical(fe8 *r) {
    const __m512i m52 = bc(M52), m47 = bc(M47), k19 = bc(19);
    /* A second pass: the carry out of l_4 is now at most 1 and the value ends below 2^255 + 19 < 2p. */
    fe_carry(r);
    /* q = 1 exactly when v + 19 ≥ 2^255, that is v ≥ p; then v − p = v + 19 − 2^255. */
    __m512i t[5];
    t[0] = _mm512_add_epi64(r->l[0], k19);
    for (int j = 0; j < 4; j++) {
        t[j + 1] = _mm512_add_epi64(r->l[j + 1], _mm512_srli_epi64(t[j], 52));
        t[j] = _mm512_and_si512(t[j], m52);
    }
    const __m512i q = _mm512_srli_epi64(t[4], 47);
    const __m512i mask = _mm512_sub_epi64(_mm512_setzero_si512(), q);
    t[4] = _mm512_and_si512(t[4], m47);
    for (int j = 0; j < 5; j++) r->l[j] = _mm512_ternarylogic_epi64(mask, t[j], r->l[j], 0xCA); /* mask ? t : r */
}

/* Zero or all-ones per lane, from a value that is 0 or 1 per lane. */
X_TARGET X_INLINE __m512i fe_mask_of_bit(__m512i bit) { return _mm512_sub_epi64(_mm512_setzero_si512(), bit); }

/* r = mask ? b : a, per lane (mask all-ones or all-zero in each lane). r may alias a or b. */
X_TARGET X_INLINE void fe_select(fe8 *r, const fe8 *a, const fe8 *b, __m512i mask) {
    for (int j = 0; j < 5; j++) r->l[j] = _mm512_ternarylogic_epi64(mask, b->l[j], a->l[j], 0xCA);
}

/* All-ones in the lanes where the carried element a is ≡ 0 (mod p), else zero. Works on a copy. */
X_TARGET X_INLINE __m512i fe_is_zero_mask(const fe8 *a) {
    fe8 t = *a;
    fe_canonical(&t);
    __m512i x = t.l[0];
    for (int j = 1; j < 5; j++) x = _mm512_or_si512(x, t.l[j]);
    /* (x | −x) has its top bit set exactly when x ≠ 0 */
    const __m512i nz = _mm512_srli_epi64(_mm512_or_si512(x, _mm512_sub_epi64(_mm512_setzero_si512(), x)), 63);
    return _mm512_sub_epi64(nz, bc(1));
}

/* All-ones in the lanes where a ≡ b (mod p). */
X_TARGET X_INLINE __m512i fe_equal_mask(const fe8 *a, const fe8 *b) {
    fe8 t;
    fe_sub(&t, a, b);
    return fe_is_zero_mask(&t);
}

/* Every lane set to the same canonical constant, given as five 52-bit limbs. */
X_TARGET X_INLINE void fe_broadcast(fe8 *r, const uint64_t c[5]) {
    for (int j = 0; j < 5; j++) r->l[j] = bc(c[j]);
}

/* Zeroes every vector register (the kernel's values are dead; all of them are caller-saved). */
X_TARGET __attribute__((noinline, unused)) static void cr_zero_vector_registers(void) {
    __asm__ volatile("vpxord %%zmm0, %%zmm0, %%zmm0\n\tvpxord %%zmm1, %%zmm1, %%zmm1\n\t"
                     "vpxord %%zmm2, %%zmm2, %%zmm2\n\tvpxord %%zmm3, %%zmm3, %%zmm3\n\t"
                     "vpxord %%zmm4, %%zmm4, %%zmm4\n\tvpxord %%zmm5, %%zmm5, %%zmm5\n\t"
                     "vpxord %%zmm6, %%zmm6, %%zmm6\n\tvpxord %%zmm7, %%zmm7, %%zmm7\n\t"
                     "vpxord %%zmm8, %%zmm8, %%zmm8\n\tvpxord %%zmm9, %%zmm9, %%zmm9\n\t"
                     "vpxord %%zmm10, %%zmm10, %%zmm10\n\tvpxord %%zmm11, %%zmm11, %%zmm11\n\t"
                     "vpxord %%zmm12, %%zmm12, %%zmm12\n\tvpxord %%zmm13, %%zmm13, %%zmm13\n\t"
                     "vpxord %%zmm14, %%zmm14, %%zmm14\n\tvpxord %%zmm15, %%zmm15, %%zmm15\n\t"
                     "vpxord %%zmm16, %%zmm16, %%zmm16\n\tvpxord %%zmm17, %%zmm17, %%zmm17\n\t"
                     "vpxord %%zmm18, %%zmm18, %%zmm18\n\tvpxord %%zmm19, %%zmm19, %%zmm19\n\t"
                     "vpxord %%zmm20, %%zmm20, %%zmm20\n\tvpxord %%zmm21, %%zmm21, %%zmm21\n\t"
                     "vpxord %%zmm22, %%zmm22, %%zmm22\n\tvpxord %%zmm23, %%zmm23, %%zmm23\n\t"
                     "vpxord %%zmm24, %%zmm24, %%zmm24\n\tvpxord %%zmm25, %%zmm25, %%zmm25\n\t"
                     "vpxord %%zmm26, %%zmm26, %%zmm26\n\tvpxord %%zmm27, %%zmm27, %%zmm27\n\t"
                     "vpxord %%zmm28, %%zmm28, %%zmm28\n\tvpxord %%zmm29, %%zmm29, %%zmm29\n\t"
                     "vpxord %%zmm30, %%zmm30, %%zmm30\n\tvpxord %%zmm31, %%zmm31, %%zmm31\n\t"
                     "vzeroupper" ::
                         : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
                           "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20",
                           "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30",
                           "xmm31");
}

/* Overwrites the stack below the caller's frame, where the core kept its spilled registers. */
__attribute__((noinline, unused)) static void cr_burn_stack(void) {
    volatile unsigned char pad[CR_IFMA_BURN_BYTES];
    OPENSSL_cleanse((void *)pad, sizeof pad);
}

static inline __attribute__((unused)) uint64_t cr_load64(const uint8_t *p) {
    uint64_t w = 0;
    for (int i = 7; i >= 0; i--) w = (w << 8) | p[i];
    return w;
}

#endif
