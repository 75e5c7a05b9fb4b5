// The field and curve part of hash_to_curve for curve25519_XMD:SHA-512_ELL2_RO_ (RFC 9380), eight
// messages at once on AVX-512 IFMA (x86-64 only; elsewhere cr_h2c_u_ifma8 returns −1 and callers
// use the GMP path in HashToCurve25519.swift, which this file follows step by step).
//
// Input per lane: the 96 bytes of expand_message_xmd (computed by the caller). Output per lane: the
// Montgomery u-coordinate of hash_to_curve(msg), canonical, 32 bytes little-endian; 0 for the
// identity. Steps, each on all eight lanes at once:
//   1. hash_to_field (RFC 9380 §5.2): each 48-byte big-endian half reduced mod p (scalar C, below).
//   2. map_to_curve_elligator2_curve25519 (RFC 9380 Appendix G.2.1), straight-line: one
//      exponentiation to (p − 5)/8, the square-root choices and sgn0 by per-lane masks.
//   3. (xn : xd, y) to extended edwards25519 coordinates with the RFC 7748 §4.1 map:
//      x = c·xn/(xd·y), y = (xn − xd)/(xn + xd), c = sqrt(−486664) with sgn0 = 0; the one
//      exceptional input, the order-2 point (0, 0), goes to (0, −1), selected by mask.
//   4. Q0 + Q1 with the complete formula add-2008-hwcd-3, then three doublings dbl-2008-hwcd
//      (cofactor 8), a = −1.
//   5. u = (Z + Y)/(Z − Y) with Z − Y inverted per lane as (Z − Y)^(p − 2); the identity has
//      Z = Y, so the inverse and u are 0.
//
// Field arithmetic: fe25519_ifma.h (radix 2^52, carried form, see x25519_ifma.c). Every input of a
// multiplication is the output of a field operation or a canonical constant, so it is carried.
//
// Constant time: the same instructions run for every input; comparisons give all-ones or all-zero
// lane masks and the choices are VPTERNLOGQ selects; no branch or memory address depends on the
// input. Secret stack arrays are cleansed, the stack below the kernel is overwritten after it
// returns, and zmm0–zmm31 are zeroed, as in x25519_ifma.c.
#include "CCleanRoomShim.h"

#include <stdint.h>
#include <string.h>
#include <openssl/crypto.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include "fe25519_ifma.h"
#include "ge25519_ifma.h"

/* Canonical constants as five 52-bit limbs (computed from their definitions in RFC 9380 G.2.1 and
   RFC 7748 §4.1; HashToCurve25519.swift derives the same values at run time). */
static const uint64_t H2C_J[5] = {486662, 0, 0, 0, 0};
/* −J = p − 486662 */
static const uint64_t H2C_MINUS_J[5] = {0xffffffff892e7ull, 0xfffffffffffffull, 0xfffffffffffffull, 0xfffffffffffffull,
                                        0x07fffffffffffull};
/* c3 = sqrt(−1) = 2^((p − 1)/4) */
static const uint64_t H2C_SQRT_M1[5] = {0xe1b274a0ea0b0ull, 0x06ad2fe478c4eull, 0xdfbd7a72f4318ull, 0xdf0b2b4d00993ull,
                                        0x02b8324804fc1ull};
/* c2 = 2^((p + 3)/8) */
static const uint64_t H2C_C2[5] = {0xe1b274a0ea0b1ull, 0x06ad2fe478c4eull, 0xdfbd7a72f4318ull, 0xdf0b2b4d00993ull,
                                   0x02b8324804fc1ull};
/* sqrt(−486664) with sgn0 = 0 (RFC 9380 G.2.2's c1) */
static const uint64_t H2C_ED[5] = {0xe04aaff457e06ull, 0xd14b7d1a82cc6ull, 0x3fc4f7ec5a1d3ull, 0x06bbd27b08dc0ull,
                                   0x00f26edf460a0ull};

/* Elligator 2 of u (RFC 9380 G.2.1, steps numbered as there), then the map to edwards25519. */
X_TARGET __attribute__((noinline)) static void h2c_map_to_edwards(ge8 *out, const fe8 *u) {
    fe8 J, minusJ, c2, c3, ced, one, zero;
    fe_broadcast(&J, H2C_J);
    fe_broadcast(&minusJ, H2C_MINUS_J);
    fe_broadcast(&c2, H2C_C2);
    fe_broadcast(&c3, H2C_SQRT_M1);
    fe_broadcast(&ced, H2C_ED);
    for (int j = 0; j < 5; j++) {
        one.l[j] = _mm512_setzero_si512();
        zero.l[j] = _mm512_setzero_si512();
    }
    one.l[0] = bc(1);

    fe8 tv1, tv2, tv3, xd, x1n, gxd, gx1, y11, y12, y1, x2n, y21, y22, gx2, y2, xn, y, ny;
    fe_sq(&tv1, u);                 /* 1. tv1 = u^2 */
    fe_add(&tv1, &tv1, &tv1);       /* 2. tv1 = 2 u^2 */
    fe_add(&xd, &tv1, &one);        /* 3. xd = tv1 + 1 */
    x1n = minusJ;                   /* 4. x1n = −J */
    fe_sq(&tv2, &xd);               /* 5. tv2 = xd^2 */
    fe_mul(&gxd, &tv2, &xd);        /* 6. gxd = xd^3 */
    fe_mul(&gx1, &J, &tv1);         /* 7. gx1 = J·tv1 */
    fe_mul(&gx1, &gx1, &x1n);       /* 8. */
    fe_add(&gx1, &gx1, &tv2);       /* 9. */
    fe_mul(&gx1, &gx1, &x1n);       /* 10. gx1 = x1n^3 + J·x1n^2·xd + x1n·xd^2 */
    fe_sq(&tv3, &gxd);              /* 11. tv3 = gxd^2 */
    fe_sq(&tv2, &tv3);              /* 12. tv2 = gxd^4 */
    fe_mul(&tv3, &tv3, &gxd);       /* 13. tv3 = gxd^3 */
    fe_mul(&tv3, &tv3, &gx1);       /* 14. tv3 = gx1·gxd^3 */
    fe_mul(&tv2, &tv2, &tv3);       /* 15. tv2 = gx1·gxd^7 */
    fe_pow22523(&y11, &tv2);        /* 16. y11 = tv2^((p − 5)/8) */
    fe_mul(&y11, &y11, &tv3);       /* 17. */
    fe_mul(&y12, &y11, &c3);        /* 18. */
    fe_sq(&tv2, &y11);              /* 19. */
    fe_mul(&tv2, &tv2, &gxd);       /* 20. */
    const __m512i e1 = fe_equal_mask(&tv2, &gx1);  /* 21. */
    fe_select(&y1, &y12, &y11, e1);                /* 22. y1 = e1 ? y11 : y12 */
    fe_mul(&x2n, &x1n, &tv1);       /* 23. */
    fe_mul(&y21, &y11, u);          /* 24. */
    fe_mul(&y21, &y21, &c2);        /* 25. */
    fe_mul(&y22, &y21, &c3);        /* 26. */
    fe_mul(&gx2, &gx1, &tv1);       /* 27. */
    fe_sq(&tv2, &y21);              /* 28. */
    fe_mul(&tv2, &tv2, &gxd);       /* 29. */
    const __m512i e2 = fe_equal_mask(&tv2, &gx2);  /* 30. */
    fe_select(&y2, &y22, &y21, e2);                /* 31. y2 = e2 ? y21 : y22 */
    fe_sq(&tv2, &y1);               /* 32. */
    fe_mul(&tv2, &tv2, &gxd);       /* 33. */
    const __m512i e3 = fe_equal_mask(&tv2, &gx1);  /* 34. */
    fe_select(&xn, &x2n, &x1n, e3);                /* 35. xn = e3 ? x1n : x2n */
    fe_select(&y, &y2, &y1, e3);                   /* 36. y = e3 ? y1 : y2 */
    fe8 yc = y;
    fe_canonical(&yc);
    const __m512i e4 = fe_mask_of_bit(_mm512_and_si512(yc.l[0], bc(1)));  /* 37. e4 = sgn0(y) == 1 */
    fe_sub(&ny, &zero, &y);
    fe_select(&y, &y, &ny, _mm512_xor_si512(e3, e4));  /* 38. y = (e3 xor e4) ? −y : y */

    /* (xn/xd, y) → edwards25519: x = (c·xn)/(xd·y), y = (xn − xd)/(xn + xd). */
    fe8 xen, xed, yen, yed, tmp, minus_one;
    fe_mul(&xen, &xn, &ced);
    fe_mul(&xed, &xd, &y);
    fe_sub(&yen, &xn, &xd);
    fe_add(&yed, &xn, &xd);
    /* The only exceptional input is (0, 0), of order 2; its Edwards image is (0, −1). */
    fe_mul(&tmp, &xed, &yed);
    const __m512i exceptional = fe_is_zero_mask(&tmp);
    fe_sub(&minus_one, &zero, &one);
    fe_select(&xen, &xen, &zero, exceptional);
    fe_select(&xed, &xed, &one, exceptional);
    fe_select(&yen, &yen, &minus_one, exceptional);
    fe_select(&yed, &yed, &one, exceptional);
    fe_mul(&out->x, &xen, &yed);
    fe_mul(&out->y, &yen, &xed);
    fe_mul(&out->z, &xed, &yed);
    fe_mul(&out->t, &xen, &yen);
}

/* Steps 2–5 above on field elements already decoded to limbs; the canonical u stored as limbs. */
X_TARGET __attribute__((noinline)) static void cr_h2c_ifma8_core(uint64_t out[5][8], const uint64_t u0[5][8],
                                                                const uint64_t u1[5][8]) {
    fe8 a, b;
    for (int j = 0; j < 5; j++) {
        a.l[j] = _mm512_loadu_si512(u0[j]);
        b.l[j] = _mm512_loadu_si512(u1[j]);
    }
    /* the decoded values are below 2^256 with l_4 < 2^48: one carry pass makes them carried */
    fe_carry(&a);
    fe_carry(&b);
    ge8 q0, q1;
    h2c_map_to_edwards(&q0, &a);
    h2c_map_to_edwards(&q1, &b);
    ge_add(&q0, &q0, &q1);
    for (int i = 0; i < 3; i++) ge_double(&q0);
    fe8 num, den, inv;
    fe_add(&num, &q0.z, &q0.y);
    fe_sub(&den, &q0.z, &q0.y);
    fe_invert(&inv, &den);          /* 0 for the identity (Z = Y), so u = 0 */
    fe_mul(&num, &num, &inv);
    fe_canonical(&num);
    for (int j = 0; j < 5; j++) _mm512_storeu_si512(out[j], num.l[j]);
}

static uint64_t cr_load64_be(const uint8_t *p) {
    uint64_t w = 0;
    for (int i = 0; i < 8; i++) w = (w << 8) | p[i];
    return w;
}

/* A 48-byte big-endian value v = L + H·2^256 reduced to below 2^256 as L + 38·H (2^256 ≡ 38 mod p),
   folding the carry once more; written as five 52-bit limbs (l_4 < 2^48) of lane `lane`.
   Straight-line: no branch depends on the bytes. */
static void cr_h2c_decode(uint64_t limbs[5][8], int lane, const uint8_t be[48]) {
    uint64_t w[6];
    for (int i = 0; i < 6; i++) w[i] = cr_load64_be(be + 40 - 8 * i); /* w[0] least significant */
    unsigned __int128 t = (unsigned __int128)w[0] + (unsigned __int128)w[4] * 38;
    w[0] = (uint64_t)t;
    t = (t >> 64) + w[1] + (unsigned __int128)w[5] * 38;
    w[1] = (uint64_t)t;
    t = (t >> 64) + w[2];
    w[2] = (uint64_t)t;
    t = (t >> 64) + w[3];
    w[3] = (uint64_t)t;
    /* the carry out is 0 or 1; when it is 1 the value left is below 2^135, so this cannot carry out */
    t = (unsigned __int128)w[0] + (uint64_t)(t >> 64) * 38;
    w[0] = (uint64_t)t;
    t = (t >> 64) + w[1];
    w[1] = (uint64_t)t;
    t = (t >> 64) + w[2];
    w[2] = (uint64_t)t;
    w[3] += (uint64_t)(t >> 64);
    limbs[0][lane] = w[0] & M52;
    limbs[1][lane] = ((w[0] >> 52) | (w[1] << 12)) & M52;
    limbs[2][lane] = ((w[1] >> 40) | (w[2] << 24)) & M52;
    limbs[3][lane] = ((w[2] >> 28) | (w[3] << 36)) & M52;
    limbs[4][lane] = w[3] >> 16;
    OPENSSL_cleanse(w, sizeof w);
    OPENSSL_cleanse(&t, sizeof t);
}

int cr_h2c_u_ifma8(uint8_t out[8 * 32], const uint8_t uniform[8 * 96]) {
    if (!cr_ifma_supported()) return -1;
    uint64_t u0[5][8], u1[5][8], r[5][8];
    for (int lane = 0; lane < 8; lane++) {
        cr_h2c_decode(u0, lane, uniform + 96 * lane);
        cr_h2c_decode(u1, lane, uniform + 96 * lane + 48);
    }
    cr_h2c_ifma8_core(r, (const uint64_t(*)[8])u0, (const uint64_t(*)[8])u1);
    cr_zero_vector_registers();
    cr_burn_stack();
    cr_store_lanes(out, r);
    OPENSSL_cleanse(u0, sizeof u0);
    OPENSSL_cleanse(u1, sizeof u1);
    OPENSSL_cleanse(r, sizeof r);
    return 0;
}

#else
int cr_h2c_u_ifma8(uint8_t out[8 * 32], const uint8_t uniform[8 * 96]) {
    (void)out; (void)uniform;
    return -1;
}
#endif
