// Eight X25519 functions at once on AVX-512 IFMA (x86-64 only; elsewhere cr_x25519_ifma8 returns
// −1 and callers use OpenSSL). RFC 7748 §5: lane i computes X25519(k_i, u_i) with the Montgomery
// ladder, 255 fixed steps, a conditional swap by masks, then x2·z2^(p−2).
//
// Layout: a field element of eight lanes is five zmm registers; register j holds limb j of every
// lane, so the eight ladders run in lock step with no shuffles. Limbs are radix 2^52:
// v = Σ l_j·2^(52j), j = 0..4 (260 bits of room for values mod p = 2^255 − 19).
//
// The field operations described here live in fe25519_ifma.h, shared with hash_to_curve_ifma.c.
//
// Invariant of a "carried" element (what every field operation returns): l_0..l_3 < 2^52 and
// l_4 < 2^47 + 2^6 (bit 47 of l_4 has weight 2^255), so v < 2^256. VPMADD52LUQ/VPMADD52HUQ read
// only bits 51..0 of their inputs, so every multiplication input must be carried; sums and
// differences are carried before use.
//
// Multiplication (fe_mul, fe_sq): column k collects lo(a_i·b_j) for i+j = k and hi(a_i·b_j) for
// i+j = k−1, at most 10 terms below 2^52, so c_k < 10·2^52 < 2^56 (c_9 is one term). Columns 5..9
// carry weight 2^260·2^(52(k−5)) and 2^260 ≡ 32·19 = 608 (mod p): each c_k, k ≥ 5, is folded as
// lo(c_k[51:0]·608) into column k−5, hi(c_k[51:0]·608) < 2^10 into column k−4 and 608·(c_k >> 52)
// < 2^14 into column k−4 (for k = 9 those two go around once more, ·608 < 2^25, into column 0).
// Each folded column is below 2^56 + 2^52 + 2^10 + 2^14 + 2^25 < 2^57: no 64-bit lane overflows.
//
// Carry schedule (fe_carry), for lanes below 2^63: first the bits of l_4 from bit 47 up (weight
// 2^255 ≡ 19) go to l_0 (19·(l_4 >> 47) < 19·2^16), then l_0 → l_1 → l_2 → l_3 → l_4 in order,
// each keeping its low 52 bits. Every carry out of a limb below 2^63 + 2^21 is below 2^12, so l_4
// ends below 2^47 + 2^12; from the products' bound (< 2^57) it ends below 2^47 + 2^6. Ending on
// l_4, which has 5 bits of headroom below 2^52, is what makes one pass enough for the next
// multiplication.
//
// Addition: limbs below 2^53, then one carry pass. Subtraction: a + 16p − b, with 16p written as
// (2^53 − 304, 2^53 − 2, 2^53 − 2, 2^53 − 2, 2^51 − 2), each limb at least the bound of b's limb,
// so no limb goes negative; limbs stay below 2^54, then one carry pass.
//
// Constant time: the ladder runs 255 steps for every scalar; the swap bit of each lane becomes an
// all-ones or all-zero mask by subtraction and the swap is XOR/AND; the inversion is a fixed
// addition chain; the final reduction computes both candidates and selects by mask. No branch and no
// memory index depends on a scalar or a u-coordinate. Secret stack arrays are wiped with
// OPENSSL_cleanse, the stack below the kernel is overwritten after it returns (spilled registers),
// and zmm0–zmm31 are zeroed before returning.
#include "CCleanRoomShim.h"

#include <stdint.h>
#include <string.h>
#include <openssl/crypto.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include "fe25519_ifma.h"

/* r = a + 121665·b (RFC 7748's a24 = (486662 − 2)/4). Columns: a_j + lo(b_j·a24) + hi(b_{j−1}·a24)
   < 2^53 + 2^14; hi(b_4·a24) < 2^14 has weight 2^260 ≡ 608 and goes to column 0. */
X_TARGET X_INLINE void fe_add_mul_a24(fe8 *r, const fe8 *a, const fe8 *b) {
    const __m512i k = bc(121665), k608 = bc(608);
    __m512i c[5];
    for (int j = 0; j < 5; j++) c[j] = _mm512_madd52lo_epu64(a->l[j], b->l[j], k);
    for (int j = 0; j < 4; j++) c[j + 1] = _mm512_madd52hi_epu64(c[j + 1], b->l[j], k);
    const __m512i h = _mm512_madd52hi_epu64(_mm512_setzero_si512(), b->l[4], k);
    c[0] = _mm512_madd52lo_epu64(c[0], h, k608);
    for (int j = 0; j < 5; j++) r->l[j] = c[j];
    fe_carry(r);
}

/* The ladder and the inversion, on inputs already decoded to limbs; results stored as limbs. */
X_TARGET __attribute__((noinline)) static int cr_x25519_ifma8_core(uint64_t out[5][8], const uint64_t k[4][8],
                                                                   const uint64_t u[5][8]) {
    fe8 x1, x2, z2, x3, z3, a, b, c, d, aa, bb, e, da, cb;
    for (int j = 0; j < 5; j++) {
        x1.l[j] = _mm512_loadu_si512(u[j]);
        x3.l[j] = x1.l[j];
        x2.l[j] = _mm512_setzero_si512();
        z2.l[j] = _mm512_setzero_si512();
        z3.l[j] = _mm512_setzero_si512();
    }
    x2.l[0] = bc(1);
    z3.l[0] = bc(1);
    __m512i swap = _mm512_setzero_si512();
    const __m512i one = bc(1);
    for (int t = 254; t >= 0; t--) {
        /* bit t of every lane's scalar (t is public, the word index too) */
        const __m512i kt =
            _mm512_and_si512(_mm512_srlv_epi64(_mm512_loadu_si512(k[t >> 6]), bc((uint64_t)(t & 63))), one);
        swap = _mm512_xor_si512(swap, kt);
        const __m512i mask = _mm512_sub_epi64(_mm512_setzero_si512(), swap);
        fe_cswap(&x2, &x3, mask);
        fe_cswap(&z2, &z3, mask);
        swap = kt;

        fe_add(&a, &x2, &z2);
        fe_sq(&aa, &a);
        fe_sub(&b, &x2, &z2);
        fe_sq(&bb, &b);
        fe_sub(&e, &aa, &bb);
        fe_add(&c, &x3, &z3);
        fe_sub(&d, &x3, &z3);
        fe_mul(&da, &d, &a);
        fe_mul(&cb, &c, &b);
        fe_add(&x3, &da, &cb);
        fe_sq(&x3, &x3);
        fe_sub(&z3, &da, &cb);
        fe_sq(&z3, &z3);
        fe_mul(&z3, &z3, &x1);
        fe_mul(&x2, &aa, &bb);
        fe_add_mul_a24(&z2, &aa, &e);
        fe_mul(&z2, &z2, &e);
    }
    const __m512i mask = _mm512_sub_epi64(_mm512_setzero_si512(), swap);
    fe_cswap(&x2, &x3, mask);
    fe_cswap(&z2, &z3, mask);

    fe_invert(&z2, &z2);
    fe_mul(&x2, &x2, &z2);
    fe_canonical(&x2);
    __m512i any = x2.l[0];
    for (int j = 0; j < 5; j++) {
        _mm512_storeu_si512(out[j], x2.l[j]);
        any = _mm512_or_si512(any, x2.l[j]);
    }
    return (int)_mm512_cmpeq_epi64_mask(any, _mm512_setzero_si512());
}

int cr_x25519_ifma8(uint8_t *out, const uint8_t *scalars, size_t scalar_stride, const uint8_t *u) {
    if (!cr_ifma_supported()) return -1;
    uint64_t k[4][8], ul[5][8], r[5][8];
    for (int lane = 0; lane < 8; lane++) {
        const uint8_t *s = scalars + (size_t)lane * scalar_stride;
        uint64_t w[4];
        for (int i = 0; i < 4; i++) w[i] = cr_load64(s + 8 * i);
        /* clamping (RFC 7748 §5) */
        w[0] &= ~(uint64_t)7;
        w[3] &= ~((uint64_t)1 << 63);
        w[3] |= (uint64_t)1 << 62;
        for (int i = 0; i < 4; i++) k[i][lane] = w[i];
        for (int i = 0; i < 4; i++) w[i] = cr_load64(u + 32 * lane + 8 * i);
        /* the top bit of u is ignored; values in [p, 2^255) are used as they are (≡ u − p) */
        w[3] &= ~((uint64_t)1 << 63);
        ul[0][lane] = w[0] & M52;
        ul[1][lane] = ((w[0] >> 52) | (w[1] << 12)) & M52;
        ul[2][lane] = ((w[1] >> 40) | (w[2] << 24)) & M52;
        ul[3][lane] = ((w[2] >> 28) | (w[3] << 36)) & M52;
        ul[4][lane] = w[3] >> 16;
        OPENSSL_cleanse(w, sizeof w);
    }
    const int zero_lanes = cr_x25519_ifma8_core(r, (const uint64_t(*)[8])k, (const uint64_t(*)[8])ul);
    cr_zero_vector_registers();
    cr_burn_stack();
    cr_store_lanes(out, r);
    OPENSSL_cleanse(k, sizeof k);
    OPENSSL_cleanse(ul, sizeof ul);
    OPENSSL_cleanse(r, sizeof r);
    return zero_lanes;
}

#else
int cr_x25519_ifma8(uint8_t *out, const uint8_t *scalars, size_t scalar_stride, const uint8_t *u) {
    (void)out; (void)scalars; (void)scalar_stride; (void)u;
    return -1;
}
#endif
