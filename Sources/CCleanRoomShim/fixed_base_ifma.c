// Paired fixed-base exponentiation on AVX-512 IFMA (x86-64 only; elsewhere the constructor
// returns NULL and callers use the OpenSSL BN path).
//
// What it computes: g1^e mod m1 and g2^e mod m2 for one exponent e, the shape of the Paillier
// key owner's CRT randomiser (hs^α mod p² and mod q²). Fixed-base windowing (HAC §14.6.3):
// T[i][d] = g^(d·2^(w·i)), g^e = Π_i T[i][e_i], one modular multiplication per nonzero digit.
//
// Arithmetic: numbers are L = 8·nv limbs of 52 bits (one zmm register holds 8 limbs), in
// Montgomery form with R = 2^(52·L) ≥ 4m. The multiplication is word-by-word "almost Montgomery"
// (inputs and outputs < 2m, no final subtraction), using VPMADD52LUQ/VPMADD52HUQ for the low and
// high 52 bits of each 52×52-bit product, as in Gueron and Krasnov, "Accelerating Big Integer
// Arithmetic Using Intel IFMA Extensions" (ARITH 2016). Each step adds a·b_i and q·m into the
// accumulator, where q = acc_0·(−m⁻¹) mod 2^52 makes the lowest limb divisible by 2^52, then shifts
// the accumulator down one limb. Lanes are left unnormalised inside the loop (each stays below
// 4·L·2^52 < 2^61) and carried at the end, in registers. The two moduli's products run in the same loop
// so that one chain's latency hides behind the other's.
//
// Timing: which table entries are read and how many products run depend on the digits of e;
// this is the variable-time path (see FixedBaseTable.swift), and so is the carry loop. Tables and
// accumulators are wiped with OPENSSL_cleanse.
#include "CCleanRoomShim.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#define CR_MASK52 0xFFFFFFFFFFFFFull
#define CR_MAX_NV 8
#define CR_MAX_EXPONENT_BITS 4096 /* so that at most this many windows, even of one bit */

struct cr_fixed_base2 {
    int nv;              /* zmm registers per number */
    int limbs;           /* L = 8·nv */
    int window;
    int windows;
    int exponent_bits;
    uint64_t k1, k2;     /* −m⁻¹ mod 2^52 */
    uint64_t *m1, *m2;   /* L limbs each */
    mpz_t mz1, mz2;      /* the moduli, for the final reduction */
    uint64_t *t1, *t2;   /* windows·(2^w − 1) entries of L limbs each */
    size_t table_bytes;
};

typedef void (*cr_amm_fn)(uint64_t *, const uint64_t *, const uint64_t *, const uint64_t *, uint64_t,
                          uint64_t *, const uint64_t *, const uint64_t *, const uint64_t *, uint64_t);

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define CR_IFMA_TARGET __attribute__((target("avx512f,avx512ifma,avx512vl")))
#define CR_INLINE inline __attribute__((always_inline))

/* Carries the unnormalised lanes of x into 52-bit limbs and stores them. One pass leaves every
   lane below 2^52 + 2^9, so a second pass is rarely needed; the loop ends when no lane carries
   (the value is below 2^(52·L), so nothing leaves the top lane). */
CR_IFMA_TARGET static CR_INLINE void cr_normalise_store(uint64_t *r, __m512i *x, const int nv) {
    const __m512i mask = _mm512_set1_epi64((long long)CR_MASK52);
    const __m512i zero = _mm512_setzero_si512();
    for (;;) {
        __m512i c[CR_MAX_NV];
        __mmask8 any = 0;
        for (int v = 0; v < nv; v++) {
            c[v] = _mm512_srli_epi64(x[v], 52);
            any |= _mm512_test_epi64_mask(c[v], c[v]);
        }
        if (any == 0) break;
        for (int v = 0; v < nv; v++) x[v] = _mm512_and_si512(x[v], mask);
        /* lane j's carry goes to lane j+1: [previous vector's lane 7, this vector's lanes 0–6] */
        x[0] = _mm512_add_epi64(x[0], _mm512_alignr_epi64(c[0], zero, 7));
        for (int v = 1; v < nv; v++) x[v] = _mm512_add_epi64(x[v], _mm512_alignr_epi64(c[v], c[v - 1], 7));
    }
    for (int v = 0; v < nv; v++) _mm512_storeu_si512(r + 8 * v, x[v]);
}

/* r1 = a1·b1·R⁻¹ (mod m1) and r2 = a2·b2·R⁻¹ (mod m2), each < 2m when the inputs are < 2m. */
CR_IFMA_TARGET static CR_INLINE void cr_amm52x2(
    uint64_t *r1, const uint64_t *a1, const uint64_t *b1, const uint64_t *m1, uint64_t k1,
    uint64_t *r2, const uint64_t *a2, const uint64_t *b2, const uint64_t *m2, uint64_t k2, const int nv) {
    __m512i x[CR_MAX_NV], y[CR_MAX_NV];
    const __m512i zero = _mm512_setzero_si512();
    for (int v = 0; v < nv; v++) {
        x[v] = zero;
        y[v] = zero;
    }
    const int L = nv * 8;
    const uint64_t m10 = m1[0], m20 = m2[0];
    for (int i = 0; i < L; i++) {
        const __m512i bx = _mm512_set1_epi64((long long)b1[i]);
        const __m512i by = _mm512_set1_epi64((long long)b2[i]);
        x[0] = _mm512_madd52lo_epu64(x[0], _mm512_loadu_si512(a1), bx);
        y[0] = _mm512_madd52lo_epu64(y[0], _mm512_loadu_si512(a2), by);
        const uint64_t x0 = (uint64_t)_mm_cvtsi128_si64(_mm512_castsi512_si128(x[0]));
        const uint64_t y0 = (uint64_t)_mm_cvtsi128_si64(_mm512_castsi512_si128(y[0]));
        for (int v = 1; v < nv; v++) {
            x[v] = _mm512_madd52lo_epu64(x[v], _mm512_loadu_si512(a1 + 8 * v), bx);
            y[v] = _mm512_madd52lo_epu64(y[v], _mm512_loadu_si512(a2 + 8 * v), by);
        }
        const uint64_t qx = (x0 * k1) & CR_MASK52, qy = (y0 * k2) & CR_MASK52;
        const __m512i qxv = _mm512_set1_epi64((long long)qx), qyv = _mm512_set1_epi64((long long)qy);
        /* lane 0 becomes ≡ 0 (mod 2^52) after adding lo(q·m0); what is above 2^52 moves up. */
        const uint64_t cx = (x0 + ((m10 * qx) & CR_MASK52)) >> 52;
        const uint64_t cy = (y0 + ((m20 * qy) & CR_MASK52)) >> 52;
        for (int v = 0; v < nv; v++) {
            x[v] = _mm512_madd52lo_epu64(x[v], _mm512_loadu_si512(m1 + 8 * v), qxv);
            y[v] = _mm512_madd52lo_epu64(y[v], _mm512_loadu_si512(m2 + 8 * v), qyv);
        }
        for (int v = 0; v < nv - 1; v++) {
            x[v] = _mm512_alignr_epi64(x[v + 1], x[v], 1);
            y[v] = _mm512_alignr_epi64(y[v + 1], y[v], 1);
        }
        x[nv - 1] = _mm512_alignr_epi64(zero, x[nv - 1], 1);
        y[nv - 1] = _mm512_alignr_epi64(zero, y[nv - 1], 1);
        x[0] = _mm512_mask_add_epi64(x[0], 1, x[0], _mm512_set1_epi64((long long)cx));
        y[0] = _mm512_mask_add_epi64(y[0], 1, y[0], _mm512_set1_epi64((long long)cy));
        /* high halves of limb j's products belong to limb j+1, which is lane j after the shift */
        for (int v = 0; v < nv; v++) {
            x[v] = _mm512_madd52hi_epu64(x[v], _mm512_loadu_si512(a1 + 8 * v), bx);
            y[v] = _mm512_madd52hi_epu64(y[v], _mm512_loadu_si512(a2 + 8 * v), by);
        }
        for (int v = 0; v < nv; v++) {
            x[v] = _mm512_madd52hi_epu64(x[v], _mm512_loadu_si512(m1 + 8 * v), qxv);
            y[v] = _mm512_madd52hi_epu64(y[v], _mm512_loadu_si512(m2 + 8 * v), qyv);
        }
    }
    cr_normalise_store(r1, x, nv);
    cr_normalise_store(r2, y, nv);
}

#define CR_AMM_NV(NV)                                                                              \
    CR_IFMA_TARGET static void cr_amm52x2_##NV(                                                    \
        uint64_t *r1, const uint64_t *a1, const uint64_t *b1, const uint64_t *m1, uint64_t k1,     \
        uint64_t *r2, const uint64_t *a2, const uint64_t *b2, const uint64_t *m2, uint64_t k2) {   \
        cr_amm52x2(r1, a1, b1, m1, k1, r2, a2, b2, m2, k2, NV);                                    \
    }
CR_AMM_NV(5)
CR_AMM_NV(6)
CR_AMM_NV(7)
CR_AMM_NV(8)

static cr_amm_fn cr_amm_for(int nv) {
    switch (nv) {
    case 5: return cr_amm52x2_5;
    case 6: return cr_amm52x2_6;
    case 7: return cr_amm52x2_7;
    case 8: return cr_amm52x2_8;
    default: return NULL;
    }
}

static pthread_once_t cr_ifma_once = PTHREAD_ONCE_INIT;
static int cr_ifma_usable = 0;

static void cr_ifma_detect(void) {
    __builtin_cpu_init();
    const char *off = getenv("CLEANROOM_DISABLE_IFMA");
    cr_ifma_usable = (off == NULL || off[0] == '\0' || strcmp(off, "0") == 0) && __builtin_cpu_supports("avx512f") &&
                     __builtin_cpu_supports("avx512ifma") && __builtin_cpu_supports("avx512vl");
}

int cr_ifma_supported(void) {
    pthread_once(&cr_ifma_once, cr_ifma_detect);
    return cr_ifma_usable;
}

int cr_fixed_base2_supported(void) { return cr_ifma_supported(); }
#else
static cr_amm_fn cr_amm_for(int nv) { (void)nv; return NULL; }
int cr_ifma_supported(void) { return 0; }
int cr_fixed_base2_supported(void) { return 0; }
#endif

/* x (0 ≤ x < 2^(52·L)) as L limbs of 52 bits. */
static void cr_to52(uint64_t *out, int limbs, mpz_srcptr x) {
    memset(out, 0, (size_t)limbs * sizeof(uint64_t));
    size_t count = 0;
    mpz_export(out, &count, -1, sizeof(uint64_t), 0, 12, x);
}

static void cr_from52(mpz_ptr out, int limbs, const uint64_t *in) {
    mpz_import(out, (size_t)limbs, -1, sizeof(uint64_t), 0, 12, in);
}

static void cr_fixed_base2_release(cr_fixed_base2 *t) {
    if (t == NULL) return;
    if (t->t1 != NULL) { OPENSSL_cleanse(t->t1, t->table_bytes); free(t->t1); }
    if (t->t2 != NULL) { OPENSSL_cleanse(t->t2, t->table_bytes); free(t->t2); }
    /* p² and q² reveal the primes */
    const size_t modulus_bytes = (size_t)t->nv * 8 * sizeof(uint64_t);
    if (t->m1 != NULL) { OPENSSL_cleanse(t->m1, modulus_bytes); free(t->m1); }
    if (t->m2 != NULL) { OPENSSL_cleanse(t->m2, modulus_bytes); free(t->m2); }
    if (t->limbs > 0) {
        mpz_clear(t->mz1);
        mpz_clear(t->mz2);
    }
    OPENSSL_cleanse(t, sizeof *t);
    free(t);
}

void cr_fixed_base2_free(cr_fixed_base2 *t) { cr_fixed_base2_release(t); }

static uint64_t *cr_aligned_limbs(size_t bytes) {
    size_t rounded = (bytes + 63) & ~(size_t)63;
    return aligned_alloc(64, rounded == 0 ? 64 : rounded);
}

cr_fixed_base2 *cr_fixed_base2_new(mpz_srcptr g1, mpz_srcptr m1, mpz_srcptr g2, mpz_srcptr m2, int exponent_bits,
                                   int window) {
    if (!cr_fixed_base2_supported() || window < 1 || window > 12 || exponent_bits < 1) return NULL;
    if (exponent_bits > CR_MAX_EXPONENT_BITS) return NULL;
    if (mpz_sgn(m1) <= 0 || mpz_sgn(m2) <= 0 || mpz_even_p(m1) || mpz_even_p(m2)) return NULL;
    size_t bits = mpz_sizeinbase(m1, 2);
    size_t bits2 = mpz_sizeinbase(m2, 2);
    if (bits2 > bits) bits = bits2;
    int nv = (int)((bits + 2 + 415) / 416); /* 2^(52·8·nv) ≥ 4m */
    if (nv < 5) nv = 5;
    cr_amm_fn amm = cr_amm_for(nv);
    if (amm == NULL) return NULL;
    cr_fixed_base2 *t = calloc(1, sizeof *t);
    if (t == NULL) return NULL;
    const int L = nv * 8;
    t->nv = nv;
    t->window = window;
    t->exponent_bits = exponent_bits;
    t->windows = (exponent_bits + window - 1) / window;
    const size_t per_window = ((size_t)1 << window) - 1;
    const size_t entry_bytes = (size_t)L * sizeof(uint64_t);
    t->table_bytes = (size_t)t->windows * per_window * entry_bytes;
    t->m1 = cr_aligned_limbs(entry_bytes);
    t->m2 = cr_aligned_limbs(entry_bytes);
    t->t1 = cr_aligned_limbs(t->table_bytes);
    t->t2 = cr_aligned_limbs(t->table_bytes);
    if (t->m1 == NULL || t->m2 == NULL || t->t1 == NULL || t->t2 == NULL) {
        cr_fixed_base2_release(t);
        return NULL;
    }
    t->limbs = L; /* from here on the mpz fields are initialised */
    mpz_init_set(t->mz1, m1);
    mpz_init_set(t->mz2, m2);
    cr_to52(t->m1, L, m1);
    cr_to52(t->m2, L, m2);
    /* k = −m⁻¹ mod 2^52 by Newton iteration (m odd). */
    uint64_t i1 = 1, i2 = 1;
    for (int k = 0; k < 6; k++) {
        i1 *= 2 - t->m1[0] * i1;
        i2 *= 2 - t->m2[0] * i2;
    }
    t->k1 = (0 - i1) & CR_MASK52;
    t->k2 = (0 - i2) & CR_MASK52;
    /* Montgomery forms g·R mod m. */
    mpz_t x;
    mpz_init(x);
    uint64_t base1[8 * CR_MAX_NV], base2[8 * CR_MAX_NV];
    mpz_mod(x, g1, m1);
    mpz_mul_2exp(x, x, (mp_bitcnt_t)(52 * L));
    mpz_mod(x, x, m1);
    cr_to52(base1, L, x);
    mpz_mod(x, g2, m2);
    mpz_mul_2exp(x, x, (mp_bitcnt_t)(52 * L));
    mpz_mod(x, x, m2);
    cr_to52(base2, L, x);
    mpz_set_ui(x, 0);
    mpz_clear(x); /* the wiping allocator clears the limbs */
    for (int i = 0; i < t->windows; i++) {
        uint64_t *row1 = t->t1 + (size_t)i * per_window * L;
        uint64_t *row2 = t->t2 + (size_t)i * per_window * L;
        memcpy(row1, base1, entry_bytes);
        memcpy(row2, base2, entry_bytes);
        for (size_t d = 2; d <= per_window; d++) {
            amm(row1 + (d - 1) * L, row1 + (d - 2) * L, base1, t->m1, t->k1, row2 + (d - 1) * L, row2 + (d - 2) * L,
                base2, t->m2, t->k2);
        }
        /* next row's base: g^(2^w) relative to this row = T[i][2^w − 1]·T[i][1] */
        amm(base1, row1 + (per_window - 1) * L, base1, t->m1, t->k1, base2, row2 + (per_window - 1) * L, base2, t->m2,
            t->k2);
    }
    OPENSSL_cleanse(base1, sizeof base1);
    OPENSSL_cleanse(base2, sizeof base2);
    return t;
}

void cr_fixed_base2_power(const cr_fixed_base2 *t, const mp_limb_t *e, size_t e_limbs, mpz_srcptr f1, mpz_srcptr f2,
                          mpz_ptr out1, mpz_ptr out2) {
    const int L = t->limbs;
    const int w = t->window;
    const size_t per_window = ((size_t)1 << w) - 1;
    cr_amm_fn amm = cr_amm_for(t->nv);
    uint64_t acc1[8 * CR_MAX_NV], acc2[8 * CR_MAX_NV];
    /* Entry offsets first, so that the next entries can be prefetched while one product runs
       (the tables are larger than the L2 cache). */
    size_t offsets[CR_MAX_EXPONENT_BITS];
    int count = 0;
    for (int i = 0; i < t->windows; i++) {
        const size_t bit = (size_t)i * (size_t)w;
        const size_t li = bit >> 6, shift = bit & 63;
        uint64_t word = li < e_limbs ? (uint64_t)e[li] >> shift : 0;
        if (shift + (size_t)w > 64 && li + 1 < e_limbs) word |= (uint64_t)e[li + 1] << (64 - shift);
        const size_t d = (size_t)(word & per_window);
        if (d != 0) offsets[count++] = ((size_t)i * per_window + d - 1) * (size_t)L;
    }
    int started = 0;
    for (int k = 0; k < count; k++) {
        if (k + 1 < count) {
            const char *n1 = (const char *)(t->t1 + offsets[k + 1]);
            const char *n2 = (const char *)(t->t2 + offsets[k + 1]);
            for (int line = 0; line < L * 8; line += 64) {
                __builtin_prefetch(n1 + line);
                __builtin_prefetch(n2 + line);
            }
        }
        const uint64_t *x1 = t->t1 + offsets[k];
        const uint64_t *x2 = t->t2 + offsets[k];
        if (started) {
            amm(acc1, acc1, x1, t->m1, t->k1, acc2, acc2, x2, t->m2, t->k2);
        } else {
            memcpy(acc1, x1, (size_t)L * sizeof(uint64_t));
            memcpy(acc2, x2, (size_t)L * sizeof(uint64_t));
            started = 1;
        }
    }
    if (!started) {
        mpz_mod(out1, f1, t->mz1);
        mpz_mod(out2, f2, t->mz2);
        return;
    }
    /* Leave Montgomery form while multiplying by f: AMM(g^e·R, f) = g^e·f mod m, below
       m + 2m²/R ≤ 1.5m, so one subtraction at most. */
    uint64_t factor1[8 * CR_MAX_NV], factor2[8 * CR_MAX_NV];
    if (mpz_sgn(f1) < 0 || mpz_cmp(f1, t->mz1) >= 0 || mpz_sgn(f2) < 0 || mpz_cmp(f2, t->mz2) >= 0) {
        /* outside the contract (0 ≤ f < m): reduce rather than overflow the buffers */
        mpz_t r1, r2;
        mpz_init(r1);
        mpz_init(r2);
        mpz_mod(r1, f1, t->mz1);
        mpz_mod(r2, f2, t->mz2);
        cr_to52(factor1, L, r1);
        cr_to52(factor2, L, r2);
        mpz_clear(r1);
        mpz_clear(r2);
    } else {
        cr_to52(factor1, L, f1);
        cr_to52(factor2, L, f2);
    }
    amm(acc1, acc1, factor1, t->m1, t->k1, acc2, acc2, factor2, t->m2, t->k2);
    OPENSSL_cleanse(factor1, sizeof factor1);
    OPENSSL_cleanse(factor2, sizeof factor2);
    cr_from52(out1, L, acc1);
    cr_from52(out2, L, acc2);
    OPENSSL_cleanse(acc1, sizeof acc1);
    OPENSSL_cleanse(acc2, sizeof acc2);
    OPENSSL_cleanse(offsets, (size_t)count * sizeof offsets[0]);
    if (mpz_cmp(out1, t->mz1) >= 0) mpz_sub(out1, out1, t->mz1);
    if (mpz_cmp(out2, t->mz2) >= 0) mpz_sub(out2, out2, t->mz2);
}
