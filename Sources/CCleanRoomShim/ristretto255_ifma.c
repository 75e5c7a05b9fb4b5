// ristretto255 (RFC 9496) on eight AVX-512 IFMA lanes, for the group tags of grouped
// intersection-sum (GroupTagCipher.swift): EC-ElGamal sealing, re-randomising and opening, eight
// tags at a time (x86-64 only; elsewhere every entry point returns −1 or NULL and callers use
// libsodium's ristretto255, which the tests hold these kernels to byte for byte).
//
// Pieces, each on all eight lanes at once:
//   - decoding (RFC 9496 §4.3.1) and encoding (§4.3.2) with SQRT_RATIO_M1 (§4.2) for u = 1,
//     straight-line: every check (canonical, non-negative, square, t non-negative, y ≠ 0) becomes a
//     lane mask, and a lane is reported invalid when any of them fails. CleanRoom tags also refuse
//     the identity (the all-zero encoding), as the P-256 tags refused the point at infinity;
//   - fixed-base multiplication k·P for a point P known in advance (the generator B, or P1's
//     public key Y), from a table T[i][j] = (j + 1)·16^i·P of 64 × 8 affine points stored as
//     (y + x, y − x, 2d·x·y): k in signed radix 16 (64 digits in [−8, 8], as in Bernstein, Duif,
//     Lange, Schwabe and Yang, "High-speed high-security signatures", 2011), then one mixed
//     addition per digit and no doublings;
//   - variable-base multiplication y·P (P1 opening a tag): a per-lane table of 1·P..8·P in cached
//     form (Y + X, Y − X, 2Z, 2d·T), then for each of the 64 digits from the top four doublings
//     and one addition;
//   - additions: the complete extended-coordinate formulas of ge25519_ifma.h (a = −1).
//
// Constant time: scalars (r, k, s, y) are secret. Their digits are recoded in scalar C without
// branches; every table lookup reads all eight entries of the window and keeps the wanted one
// with a mask blend (VPBLENDMQ under a k-mask from VPCMPEQQ), and the sign is applied by mask. No
// branch and no memory address depends on a scalar. Points are public except as noted in
// GroupTagCipher.swift; the validity masks are returned (a property of the peer's bytes). Secret
// stack arrays are cleansed, the stack below the kernel is overwritten after it returns, and
// zmm0–zmm31 are zeroed, as in x25519_ifma.c.
#include "CCleanRoomShim.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include "fe25519_ifma.h"
#include "ge25519_ifma.h"

/* Canonical constants as five 52-bit limbs (RFC 9496 §4.1; the tests check them through the
   RFC 9496 Appendix A vectors and against libsodium). */
/* d = −121665/121666 */
static const uint64_t R_D[5] = {0xb4dca135978a3ull, 0x4d4141d8ab75eull, 0x779e89800700aull, 0xfe738cc740797ull,
                                0x052036cee2b6full};
/* SQRT_M1 = 2^((p − 1)/4) */
static const uint64_t R_SQRT_M1[5] = {0xe1b274a0ea0b0ull, 0x06ad2fe478c4eull, 0xdfbd7a72f4318ull, 0xdf0b2b4d00993ull,
                                      0x02b8324804fc1ull};
/* INVSQRT_A_MINUS_D = 1/sqrt(a − d), a = −1 */
static const uint64_t R_INVSQRT_A_MINUS_D[5] = {0x8fdaa805d40eaull, 0x175a4172be99cull, 0xe01d8409d2f16ull,
                                                0xfca216c27b91full, 0x0786c8905cfafull};

/* 1 − d², (d − 1)² and sqrt(a·d − 1), for the one-way map (RFC 9496 §4.3.4) */
static const uint64_t R_ONE_MINUS_D_SQ[5] = {0xc09c1945fc176ull, 0x38cd5e350fe27ull, 0xe70dfe42c81a1ull, 0xe0d79994abddbull,
                                             0x0029072a8b2b3ull};
static const uint64_t R_D_MINUS_ONE_SQ[5] = {0xd5aaa44ed4d20ull, 0x2cb01e199931aull, 0x29b4eebd29e4aull, 0x22414cdcd32f5ull,
                                             0x05968b37af66cull};
static const uint64_t R_SQRT_AD_MINUS_ONE[5] = {0x7f6a0497b2e1bull, 0x0c1b7854bd7e9ull, 0x1f5d1fdaf9d8eull,
                                                0x48ac0f3cfcc93ull, 0x0376931bf2b83ull};

/* One affine point as (y + x, y − x, 2d·x·y), canonical limbs. */
typedef struct {
    uint64_t ypx[5], ymx[5], xy2d[5];
} r255_precomp;

/* T[i][j] = (j + 1)·16^i·P. */
struct cr_r255_table {
    r255_precomp e[64][8];
};

/* The same forms on eight lanes. */
typedef struct {
    fe8 ypx, ymx, xy2d;
} pre8;
typedef struct {
    fe8 ypx, ymx, z2, t2d;
} cached8;

/* The stack below a kernel is overwritten after it returns: the open kernel's frame holds a
   10 KiB table of points and its spills, more than the field kernels' (about 16 KiB optimised;
   unoptimised, where the field operations are calls, the deepest chain is about 39 KiB). */
#if defined(__OPTIMIZE__)
#define R255_BURN_BYTES 32768
#else
#define R255_BURN_BYTES 65536
#endif
__attribute__((noinline)) static void r255_burn_stack(void) {
    volatile unsigned char pad[R255_BURN_BYTES];
    OPENSSL_cleanse((void *)pad, sizeof pad);
}

X_TARGET X_INLINE void fe_neg(fe8 *r, const fe8 *a) {
    fe8 zero;
    fe_zero(&zero);
    fe_sub(r, &zero, a);
}

/* All-ones in the lanes where a is negative (RFC 9496 IS_NEGATIVE: the canonical value is odd). */
X_TARGET X_INLINE __m512i fe_is_negative_mask(const fe8 *a) {
    fe8 t = *a;
    fe_canonical(&t);
    return fe_mask_of_bit(_mm512_and_si512(t.l[0], bc(1)));
}

/* r = mask ? −a : a. */
X_TARGET X_INLINE void fe_cneg(fe8 *r, const fe8 *a, __m512i mask) {
    fe8 n;
    fe_neg(&n, a);
    fe_select(r, a, &n, mask);
}

/* CT_ABS: the non-negative one of a and −a. */
X_TARGET X_INLINE void fe_abs(fe8 *r, const fe8 *a) { fe_cneg(r, a, fe_is_negative_mask(a)); }

/* SQRT_RATIO_M1(u, v) of RFC 9496 §4.2: r = abs(sqrt(u/v)) or abs(sqrt(i·u/v)); returns was_square. */
X_TARGET X_INLINE __m512i r255_sqrt_ratio(fe8 *r, const fe8 *u, const fe8 *v) {
    fe8 t, v3, v7, uv3, check, minus_u, minus_u_i, sqrt_m1, rp;
    fe_sq(&t, v);
    fe_mul(&v3, &t, v);             /* v^3 */
    fe_sq(&t, &v3);
    fe_mul(&v7, &t, v);             /* v^7 */
    fe_mul(&uv3, u, &v3);
    fe_mul(&t, u, &v7);
    fe_pow22523(&t, &t);
    fe_mul(r, &uv3, &t);            /* r = (u·v^3)·(u·v^7)^((p − 5)/8) */
    fe_sq(&t, r);
    fe_mul(&check, &t, v);
    fe_broadcast(&sqrt_m1, R_SQRT_M1);
    fe_neg(&minus_u, u);
    fe_mul(&minus_u_i, &minus_u, &sqrt_m1);
    const __m512i correct = fe_equal_mask(&check, u);
    const __m512i flipped = fe_equal_mask(&check, &minus_u);
    const __m512i flipped_i = fe_equal_mask(&check, &minus_u_i);
    fe_mul(&rp, &sqrt_m1, r);
    fe_select(r, r, &rp, _mm512_or_si512(flipped, flipped_i));
    fe_abs(r, r);
    return _mm512_or_si512(correct, flipped);
}

/* SQRT_RATIO_M1(1, v). */
X_TARGET X_INLINE __m512i r255_invsqrt(fe8 *r, const fe8 *v) {
    fe8 one;
    fe_one(&one);
    return r255_sqrt_ratio(r, &one, v);
}

/* MAP of RFC 9496 §4.3.4 (one half of the one-way map), for a carried t. */
X_TARGET X_INLINE void r255_map(ge8 *p, const fe8 *t) {
    fe8 one, minus_one, d, k, r, u, v, s, sp, c, n, w0, w1, w2, w3, a, b;
    fe_one(&one);
    fe_neg(&minus_one, &one);
    fe_broadcast(&d, R_D);
    fe_broadcast(&k, R_SQRT_M1);
    fe_sq(&r, t);
    fe_mul(&r, &r, &k);             /* r = SQRT_M1·t² */
    fe_add(&a, &r, &one);
    fe_broadcast(&k, R_ONE_MINUS_D_SQ);
    fe_mul(&u, &a, &k);             /* u = (r + 1)·ONE_MINUS_D_SQ */
    fe_mul(&a, &r, &d);
    fe_sub(&a, &minus_one, &a);
    fe_add(&b, &r, &d);
    fe_mul(&v, &a, &b);             /* v = (−1 − r·D)·(r + D) */
    const __m512i was_square = r255_sqrt_ratio(&s, &u, &v);
    fe_mul(&a, &s, t);
    fe_abs(&a, &a);
    fe_neg(&sp, &a);                /* s′ = −CT_ABS(s·t) */
    fe_select(&s, &sp, &s, was_square);
    fe_select(&c, &r, &minus_one, was_square);
    fe_sub(&a, &r, &one);
    fe_mul(&n, &c, &a);
    fe_broadcast(&k, R_D_MINUS_ONE_SQ);
    fe_mul(&n, &n, &k);
    fe_sub(&n, &n, &v);             /* N = c·(r − 1)·D_MINUS_ONE_SQ − v */
    fe_add(&w0, &s, &s);
    fe_mul(&w0, &w0, &v);           /* w0 = 2·s·v */
    fe_broadcast(&k, R_SQRT_AD_MINUS_ONE);
    fe_mul(&w1, &n, &k);            /* w1 = N·SQRT_AD_MINUS_ONE */
    fe_sq(&a, &s);
    fe_sub(&w2, &one, &a);          /* w2 = 1 − s² */
    fe_add(&w3, &one, &a);          /* w3 = 1 + s² */
    fe_mul(&p->x, &w0, &w3);
    fe_mul(&p->y, &w2, &w1);
    fe_mul(&p->z, &w1, &w3);
    fe_mul(&p->t, &w0, &w2);
}

/* DECODE of RFC 9496 §4.3.1 for s < 2^255 (the loader takes the top bit out and reports it in
   `invalid`). Returns `invalid` with the lanes that fail any check added; the identity (s = 0)
   counts as invalid here. */
X_TARGET X_INLINE __m512i r255_decode(ge8 *p, const fe8 *s, __m512i invalid) {
    fe8 sc = *s, ss, u1, u2, u2sq, v, t, invsqrt, den_x, den_y, one, d;
    fe_canonical(&sc);
    __m512i diff = _mm512_setzero_si512();
    for (int j = 0; j < 5; j++) diff = _mm512_or_si512(diff, _mm512_xor_si512(sc.l[j], s->l[j]));
    const __m512i non_canonical = _mm512_sub_epi64(_mm512_setzero_si512(),
                                                   _mm512_srli_epi64(_mm512_or_si512(diff, _mm512_sub_epi64(_mm512_setzero_si512(), diff)), 63));
    const __m512i negative = fe_mask_of_bit(_mm512_and_si512(sc.l[0], bc(1)));
    const __m512i identity = fe_is_zero_mask(s);
    fe_one(&one);
    fe_broadcast(&d, R_D);
    fe_sq(&ss, s);
    fe_sub(&u1, &one, &ss);         /* u1 = 1 + a·s² */
    fe_add(&u2, &one, &ss);         /* u2 = 1 − a·s² */
    fe_sq(&u2sq, &u2);
    fe_sq(&t, &u1);
    fe_mul(&t, &t, &d);
    fe_neg(&v, &t);
    fe_sub(&v, &v, &u2sq);          /* v = −(D·u1²) − u2² */
    fe_mul(&t, &v, &u2sq);
    const __m512i was_square = r255_invsqrt(&invsqrt, &t);
    fe_mul(&den_x, &invsqrt, &u2);
    fe_mul(&den_y, &invsqrt, &den_x);
    fe_mul(&den_y, &den_y, &v);
    fe_add(&t, s, s);
    fe_mul(&t, &t, &den_x);
    fe_abs(&p->x, &t);              /* x = CT_ABS(2·s·den_x) */
    fe_mul(&p->y, &u1, &den_y);
    fe_one(&p->z);
    fe_mul(&p->t, &p->x, &p->y);
    invalid = _mm512_or_si512(invalid, non_canonical);
    invalid = _mm512_or_si512(invalid, negative);
    invalid = _mm512_or_si512(invalid, identity);
    invalid = _mm512_or_si512(invalid, _mm512_andnot_si512(was_square, bc(~0ull)));
    invalid = _mm512_or_si512(invalid, fe_is_negative_mask(&p->t));
    invalid = _mm512_or_si512(invalid, fe_is_zero_mask(&p->y));
    return invalid;
}

/* ENCODE of RFC 9496 §4.3.2; s canonical. */
X_TARGET X_INLINE void r255_encode(fe8 *s, const ge8 *p) {
    fe8 u1, u2, t, invsqrt, den1, den2, z_inv, ix0, iy0, ench, x, y, den_inv, sqrt_m1, iamd;
    fe_add(&t, &p->z, &p->y);
    fe_sub(&u1, &p->z, &p->y);
    fe_mul(&u1, &t, &u1);           /* u1 = (z0 + y0)·(z0 − y0) */
    fe_mul(&u2, &p->x, &p->y);      /* u2 = x0·y0 */
    fe_sq(&t, &u2);
    fe_mul(&t, &t, &u1);
    (void)r255_invsqrt(&invsqrt, &t);
    fe_mul(&den1, &invsqrt, &u1);
    fe_mul(&den2, &invsqrt, &u2);
    fe_mul(&z_inv, &den1, &den2);
    fe_mul(&z_inv, &z_inv, &p->t);
    fe_broadcast(&sqrt_m1, R_SQRT_M1);
    fe_broadcast(&iamd, R_INVSQRT_A_MINUS_D);
    fe_mul(&ix0, &p->x, &sqrt_m1);
    fe_mul(&iy0, &p->y, &sqrt_m1);
    fe_mul(&ench, &den1, &iamd);    /* enchanted_denominator */
    fe_mul(&t, &p->t, &z_inv);
    const __m512i rotate = fe_is_negative_mask(&t);
    fe_select(&x, &p->x, &iy0, rotate);
    fe_select(&y, &p->y, &ix0, rotate);
    fe_select(&den_inv, &den2, &ench, rotate);
    fe_mul(&t, &x, &z_inv);
    fe_cneg(&y, &y, fe_is_negative_mask(&t));
    fe_sub(&t, &p->z, &y);
    fe_mul(&t, &den_inv, &t);
    fe_abs(s, &t);
    fe_canonical(s);
}

/* r = p + q for q given as (Y + X, Y − X, 2d·T) with D = 2·Z1·Z2 already formed (add-2008-hwcd-3).
   r may alias p. */
X_TARGET X_INLINE void ge_add_prepared(ge8 *r, const ge8 *p, const fe8 *ypx, const fe8 *ymx, const fe8 *t2d, const fe8 *d) {
    fe8 a, b, c;
    fe_sub(&a, &p->y, &p->x);
    fe_mul(&a, &a, ymx);
    fe_add(&b, &p->y, &p->x);
    fe_mul(&b, &b, ypx);
    fe_mul(&c, &p->t, t2d);
    ge_add_finish(r, &a, &b, &c, d);
}

/* r = p + q for q in (y + x, y − x, 2d·x·y) form (madd-2008-hwcd-3 with Z2 = 1). r may alias p. */
X_TARGET X_INLINE void ge_madd(ge8 *r, const ge8 *p, const pre8 *q) {
    fe8 d;
    fe_add(&d, &p->z, &p->z);
    ge_add_prepared(r, p, &q->ypx, &q->ymx, &q->xy2d, &d);
}

/* r = p + q for q in cached form (Y + X, Y − X, 2Z, 2d·T). r may alias p. */
X_TARGET X_INLINE void ge_add_cached(ge8 *r, const ge8 *p, const cached8 *q) {
    fe8 d;
    fe_mul(&d, &p->z, &q->z2);
    ge_add_prepared(r, p, &q->ypx, &q->ymx, &q->t2d, &d);
}

X_TARGET X_INLINE void ge_to_cached(cached8 *c, const ge8 *p) {
    fe8 d2;
    fe_broadcast(&d2, GE_D2);
    fe_add(&c->ypx, &p->y, &p->x);
    fe_sub(&c->ymx, &p->y, &p->x);
    fe_add(&c->z2, &p->z, &p->z);
    fe_mul(&c->t2d, &p->t, &d2);
}

X_TARGET X_INLINE void fe_blend(fe8 *r, __mmask8 m, const fe8 *b) {
    for (int k = 0; k < 5; k++) r->l[k] = _mm512_mask_blend_epi64(m, r->l[k], b->l[k]);
}

/* The digit vector of window i: lane j's digit in [−8, 8]; `neg` the lanes with a negative digit. */
X_TARGET X_INLINE __m512i r255_digits(const int8_t e[64][8], int i, __mmask8 *neg) {
    const __m512i d = _mm512_cvtepi8_epi64(_mm_loadl_epi64((const __m128i *)e[i]));
    *neg = _mm512_cmplt_epi64_mask(d, _mm512_setzero_si512());
    return _mm512_abs_epi64(d);
}

/* r = k·P from P's table, k given as signed radix-16 digits per lane. */
X_TARGET X_INLINE void r255_fixed_mul(ge8 *r, const struct cr_r255_table *T, const int8_t e[64][8]) {
    ge_identity(r);
    for (int i = 0; i < 64; i++) {
        __mmask8 neg;
        const __m512i a = r255_digits(e, i, &neg);
        pre8 q;
        fe_one(&q.ypx);
        fe_one(&q.ymx);
        fe_zero(&q.xy2d);
        for (int j = 0; j < 8; j++) {
            /* every entry is read; the lanes whose digit is j + 1 keep it */
            const __mmask8 m = _mm512_cmpeq_epi64_mask(a, bc((uint64_t)(j + 1)));
            const r255_precomp *c = &T->e[i][j];
            for (int k = 0; k < 5; k++) {
                q.ypx.l[k] = _mm512_mask_blend_epi64(m, q.ypx.l[k], bc(c->ypx[k]));
                q.ymx.l[k] = _mm512_mask_blend_epi64(m, q.ymx.l[k], bc(c->ymx[k]));
                q.xy2d.l[k] = _mm512_mask_blend_epi64(m, q.xy2d.l[k], bc(c->xy2d[k]));
            }
        }
        /* −(x, y) = (−x, y): swap y + x and y − x, negate 2d·x·y */
        fe8 nt;
        fe_neg(&nt, &q.xy2d);
        for (int k = 0; k < 5; k++) {
            const __m512i t = q.ypx.l[k];
            q.ypx.l[k] = _mm512_mask_blend_epi64(neg, q.ypx.l[k], q.ymx.l[k]);
            q.ymx.l[k] = _mm512_mask_blend_epi64(neg, q.ymx.l[k], t);
            q.xy2d.l[k] = _mm512_mask_blend_epi64(neg, q.xy2d.l[k], nt.l[k]);
        }
        ge_madd(r, r, &q);
    }
}

/* r = k·p per lane (p differs per lane), k as signed radix-16 digits; tab is scratch (8 entries). */
X_TARGET X_INLINE void r255_var_mul(ge8 *r, const ge8 *p, const int8_t e[64][8], cached8 tab[8]) {
    ge8 acc = *p;
    ge_to_cached(&tab[0], p);
    for (int j = 1; j < 8; j++) {
        ge_add_cached(&acc, &acc, &tab[0]);
        ge_to_cached(&tab[j], &acc);    /* (j + 1)·p */
    }
    ge_identity(r);
    for (int i = 63; i >= 0; i--) {
        for (int k = 0; k < 4; k++) ge_double(r);
        __mmask8 neg;
        const __m512i a = r255_digits(e, i, &neg);
        cached8 q;
        fe_one(&q.ypx);
        fe_one(&q.ymx);
        fe_one(&q.z2);
        fe_add(&q.z2, &q.z2, &q.z2);
        fe_zero(&q.t2d);
        for (int j = 0; j < 8; j++) {
            const __mmask8 m = _mm512_cmpeq_epi64_mask(a, bc((uint64_t)(j + 1)));
            fe_blend(&q.ypx, m, &tab[j].ypx);
            fe_blend(&q.ymx, m, &tab[j].ymx);
            fe_blend(&q.z2, m, &tab[j].z2);
            fe_blend(&q.t2d, m, &tab[j].t2d);
        }
        fe8 nt, t;
        fe_neg(&nt, &q.t2d);
        t = q.ypx;
        fe_blend(&q.ypx, neg, &q.ymx);
        fe_blend(&q.ymx, neg, &t);
        fe_blend(&q.t2d, neg, &nt);
        ge_add_cached(r, r, &q);
    }
}

/* Five 52-bit limbs of lane `lane` from 32 little-endian bytes, without bit 255 (returned). */
static uint64_t r255_load(uint64_t limbs[5][8], int lane, const uint8_t b[32]) {
    uint64_t w[4];
    for (int i = 0; i < 4; i++) w[i] = cr_load64(b + 8 * i);
    limbs[0][lane] = w[0] & M52;
    limbs[1][lane] = ((w[0] >> 52) | (w[1] << 12)) & M52;
    limbs[2][lane] = ((w[1] >> 40) | (w[2] << 24)) & M52;
    limbs[3][lane] = ((w[2] >> 28) | (w[3] << 36)) & M52;
    limbs[4][lane] = (w[3] >> 16) & M47;
    const uint64_t top = w[3] >> 63;
    OPENSSL_cleanse(w, sizeof w);
    return top;
}

X_TARGET X_INLINE void fe_load(fe8 *r, const uint64_t limbs[5][8]) {
    for (int j = 0; j < 5; j++) r->l[j] = _mm512_loadu_si512(limbs[j]);
}

X_TARGET X_INLINE void fe_store(uint64_t limbs[5][8], const fe8 *a) {
    for (int j = 0; j < 5; j++) _mm512_storeu_si512(limbs[j], a->l[j]);
}

/* Signed radix-16 digits of a 32-byte little-endian scalar (bit 255 ignored) into lane `lane`:
   k = Σ e_i·16^i with e_i in [−8, 8). Branch-free. */
static void r255_recode(int8_t e[64][8], int lane, const uint8_t k[32]) {
    int8_t t[64];
    for (int i = 0; i < 32; i++) {
        const uint8_t b = (uint8_t)(i == 31 ? (k[i] & 0x7f) : k[i]);
        t[2 * i] = (int8_t)(b & 15);
        t[2 * i + 1] = (int8_t)(b >> 4);
    }
    int8_t carry = 0;
    for (int i = 0; i < 63; i++) {
        t[i] = (int8_t)(t[i] + carry);
        carry = (int8_t)((t[i] + 8) >> 4);
        t[i] = (int8_t)(t[i] - carry * 16);
    }
    t[63] = (int8_t)(t[63] + carry);    /* at most 7 + 1 */
    for (int i = 0; i < 64; i++) e[i][lane] = t[i];
    OPENSSL_cleanse(t, sizeof t);
}

/* Builds T from the point encoded at `point`; 0 when the encoding is invalid or the identity. */
X_TARGET __attribute__((noinline)) static int r255_table_build(struct cr_r255_table *T, const uint8_t point[32]) {
    uint64_t limbs[5][8];
    uint64_t top = 0;
    for (int lane = 0; lane < 8; lane++) top |= r255_load(limbs, lane, point);
    fe8 s;
    fe_load(&s, (const uint64_t(*)[8])limbs);
    ge8 q;
    const __m512i invalid = r255_decode(&q, &s, bc(0 - top));
    if (_mm512_cmpneq_epi64_mask(invalid, _mm512_setzero_si512()) != 0) return 0;
    for (int i = 0; i < 64; i++) {
        /* lane j: (j + 1)·16^i·P */
        cached8 qc;
        ge_to_cached(&qc, &q);
        ge8 acc = q, sel = q;
        for (int k = 2; k <= 8; k++) {
            ge_add_cached(&acc, &acc, &qc);
            const __mmask8 m = (__mmask8)(1u << (k - 1));
            fe_blend(&sel.x, m, &acc.x);
            fe_blend(&sel.y, m, &acc.y);
            fe_blend(&sel.z, m, &acc.z);
            fe_blend(&sel.t, m, &acc.t);
        }
        fe8 zi, x, y, ypx, ymx, xy2d, d2;
        fe_invert(&zi, &sel.z);
        fe_mul(&x, &sel.x, &zi);
        fe_mul(&y, &sel.y, &zi);
        fe_add(&ypx, &y, &x);
        fe_sub(&ymx, &y, &x);
        fe_broadcast(&d2, GE_D2);
        fe_mul(&xy2d, &x, &y);
        fe_mul(&xy2d, &xy2d, &d2);
        fe_canonical(&ypx);
        fe_canonical(&ymx);
        fe_canonical(&xy2d);
        uint64_t a[5][8], b[5][8], c[5][8];
        fe_store(a, &ypx);
        fe_store(b, &ymx);
        fe_store(c, &xy2d);
        for (int j = 0; j < 8; j++) {
            for (int k = 0; k < 5; k++) {
                T->e[i][j].ypx[k] = a[k][j];
                T->e[i][j].ymx[k] = b[k][j];
                T->e[i][j].xy2d[k] = c[k][j];
            }
        }
        for (int k = 0; k < 4; k++) ge_double(&q);
    }
    return 1;
}

cr_r255_table *cr_r255_table_new(const uint8_t point[32]) {
    if (!cr_ifma_supported()) return NULL;
    struct cr_r255_table *T = aligned_alloc(64, sizeof(struct cr_r255_table));
    if (T == NULL) return NULL;
    const int ok = r255_table_build(T, point);
    cr_zero_vector_registers();
    if (!ok) {
        free(T);
        return NULL;
    }
    return T;
}

void cr_r255_table_free(cr_r255_table *t) {
    if (t == NULL) return;
    OPENSSL_cleanse(t, sizeof(struct cr_r255_table));
    free(t);
}

X_TARGET __attribute__((noinline)) static void r255_fixed_mul8_core(uint64_t out[5][8], const struct cr_r255_table *T,
                                                                    const int8_t e[64][8]) {
    ge8 p;
    fe8 s;
    r255_fixed_mul(&p, T, e);
    r255_encode(&s, &p);
    fe_store(out, &s);
}

int cr_r255_fixed_mul8(uint8_t out[8 * 32], const cr_r255_table *t, const uint8_t scalars[8 * 32]) {
    if (!cr_ifma_supported() || t == NULL) return -1;
    int8_t e[64][8];
    uint64_t r[5][8];
    for (int lane = 0; lane < 8; lane++) r255_recode(e, lane, scalars + 32 * lane);
    r255_fixed_mul8_core(r, t, (const int8_t(*)[8])e);
    cr_zero_vector_registers();
    r255_burn_stack();
    cr_store_lanes(out, r);
    OPENSSL_cleanse(e, sizeof e);
    OPENSSL_cleanse(r, sizeof r);
    return 0;
}

/* Decodes the tags' two points; c1 + s·B and c2 + s·Y; encodes. Returns the invalid-lane mask. */
X_TARGET __attribute__((noinline)) static int r255_rerandomize8_core(uint64_t o1[5][8], uint64_t o2[5][8],
                                                                    const uint64_t i1[5][8], const uint64_t i2[5][8],
                                                                    const uint64_t top[8], const struct cr_r255_table *B,
                                                                    const struct cr_r255_table *Y, const int8_t e[64][8]) {
    __m512i invalid = _mm512_loadu_si512(top);
    fe8 s1, s2;
    ge8 c1, c2, a;
    fe_load(&s1, i1);
    fe_load(&s2, i2);
    invalid = r255_decode(&c1, &s1, invalid);
    invalid = r255_decode(&c2, &s2, invalid);
    r255_fixed_mul(&a, B, e);
    ge_add(&c1, &c1, &a);
    r255_fixed_mul(&a, Y, e);
    ge_add(&c2, &c2, &a);
    r255_encode(&s1, &c1);
    r255_encode(&s2, &c2);
    fe_store(o1, &s1);
    fe_store(o2, &s2);
    return (int)_mm512_cmpneq_epi64_mask(invalid, _mm512_setzero_si512());
}

int cr_r255_rerandomize8(uint8_t tags[8 * 64], const cr_r255_table *base, const cr_r255_table *key,
                         const uint8_t scalars[8 * 32]) {
    if (!cr_ifma_supported() || base == NULL || key == NULL) return -1;
    int8_t e[64][8];
    uint64_t i1[5][8], i2[5][8], o1[5][8], o2[5][8], top[8];
    for (int lane = 0; lane < 8; lane++) {
        r255_recode(e, lane, scalars + 32 * lane);
        top[lane] = r255_load(i1, lane, tags + 64 * lane) | r255_load(i2, lane, tags + 64 * lane + 32);
        top[lane] = 0 - top[lane];
    }
    const int invalid = r255_rerandomize8_core(o1, o2, (const uint64_t(*)[8])i1, (const uint64_t(*)[8])i2,
                                               top, base, key, (const int8_t(*)[8])e);
    cr_zero_vector_registers();
    r255_burn_stack();
    if (invalid == 0) {
        uint8_t a[8 * 32], b[8 * 32];
        cr_store_lanes(a, o1);
        cr_store_lanes(b, o2);
        for (int lane = 0; lane < 8; lane++) {
            memcpy(tags + 64 * lane, a + 32 * lane, 32);
            memcpy(tags + 64 * lane + 32, b + 32 * lane, 32);
        }
    }
    OPENSSL_cleanse(e, sizeof e);
    OPENSSL_cleanse(o1, sizeof o1);
    OPENSSL_cleanse(o2, sizeof o2);
    return invalid;
}

/* Decodes the tags' two points and computes c2 − y·c1, encoded. Returns the invalid-lane mask. */
X_TARGET __attribute__((noinline)) static int r255_open8_core(uint64_t out[5][8], const uint64_t i1[5][8],
                                                             const uint64_t i2[5][8], const uint64_t top[8],
                                                             const int8_t e[64][8]) {
    __m512i invalid = _mm512_loadu_si512(top);
    fe8 s1, s2;
    ge8 c1, c2, m;
    cached8 tab[8];
    fe_load(&s1, i1);
    fe_load(&s2, i2);
    invalid = r255_decode(&c1, &s1, invalid);
    invalid = r255_decode(&c2, &s2, invalid);
    r255_var_mul(&m, &c1, e, tab);
    fe_neg(&m.x, &m.x);
    fe_neg(&m.t, &m.t);
    ge_add(&m, &c2, &m);
    r255_encode(&s1, &m);
    fe_store(out, &s1);
    OPENSSL_cleanse(tab, sizeof tab);
    return (int)_mm512_cmpneq_epi64_mask(invalid, _mm512_setzero_si512());
}

int cr_r255_open8(uint8_t out[8 * 32], const uint8_t tags[8 * 64], const uint8_t y[32]) {
    if (!cr_ifma_supported()) return -1;
    int8_t e[64][8];
    uint64_t i1[5][8], i2[5][8], r[5][8], top[8];
    for (int lane = 0; lane < 8; lane++) {
        r255_recode(e, lane, y);
        top[lane] = r255_load(i1, lane, tags + 64 * lane) | r255_load(i2, lane, tags + 64 * lane + 32);
        top[lane] = 0 - top[lane];
    }
    const int invalid = r255_open8_core(r, (const uint64_t(*)[8])i1, (const uint64_t(*)[8])i2,
                                        top, (const int8_t(*)[8])e);
    cr_zero_vector_registers();
    r255_burn_stack();
    cr_store_lanes(out, r);
    OPENSSL_cleanse(e, sizeof e);
    OPENSSL_cleanse(r, sizeof r);
    return invalid;
}


/* Lanes whose canonical encoding is zero (the identity). */
X_TARGET X_INLINE int r255_zero_lanes(const fe8 *s) {
    __m512i x = s->l[0];
    for (int j = 1; j < 5; j++) x = _mm512_or_si512(x, s->l[j]);
    return (int)_mm512_cmpeq_epi64_mask(x, _mm512_setzero_si512());
}

X_TARGET __attribute__((noinline)) static int r255_hash_mul8_core(uint64_t out[5][8], const uint64_t u0[5][8],
                                                                 const uint64_t u1[5][8], const int8_t e[64][8]) {
    fe8 t0, t1, s;
    ge8 a, b, m;
    cached8 tab[8];
    fe_load(&t0, u0);
    fe_load(&t1, u1);
    r255_map(&a, &t0);
    r255_map(&b, &t1);
    ge_add(&a, &a, &b);
    r255_var_mul(&m, &a, e, tab);
    r255_encode(&s, &m);
    fe_store(out, &s);
    OPENSSL_cleanse(tab, sizeof tab);
    return r255_zero_lanes(&s);
}

int cr_r255_hash_mul8(uint8_t out[8 * 32], const uint8_t uniform[8 * 64], const uint8_t *scalars, size_t scalar_stride) {
    if (!cr_ifma_supported()) return -1;
    int8_t e[64][8];
    uint64_t u0[5][8], u1[5][8], r[5][8];
    for (int lane = 0; lane < 8; lane++) {
        r255_recode(e, lane, scalars + (size_t)lane * scalar_stride);
        (void)r255_load(u0, lane, uniform + 64 * lane);      /* bit 255 is masked, as the map says */
        (void)r255_load(u1, lane, uniform + 64 * lane + 32);
    }
    const int zero = r255_hash_mul8_core(r, (const uint64_t(*)[8])u0, (const uint64_t(*)[8])u1, (const int8_t(*)[8])e);
    cr_zero_vector_registers();
    r255_burn_stack();
    cr_store_lanes(out, r);
    OPENSSL_cleanse(e, sizeof e);
    OPENSSL_cleanse(u0, sizeof u0);
    OPENSSL_cleanse(u1, sizeof u1);
    OPENSSL_cleanse(r, sizeof r);
    return zero;
}

X_TARGET __attribute__((noinline)) static int r255_mul8_core(uint64_t out[5][8], const uint64_t in[5][8], const uint64_t top[8],
                                                            const int8_t e[64][8]) {
    __m512i invalid = _mm512_loadu_si512(top);
    fe8 s;
    ge8 p, m;
    cached8 tab[8];
    fe_load(&s, in);
    invalid = r255_decode(&p, &s, invalid);
    r255_var_mul(&m, &p, e, tab);
    r255_encode(&s, &m);
    fe_store(out, &s);
    OPENSSL_cleanse(tab, sizeof tab);
    return (int)_mm512_cmpneq_epi64_mask(invalid, _mm512_setzero_si512());
}

int cr_r255_mul8(uint8_t out[8 * 32], const uint8_t points[8 * 32], const uint8_t *scalars, size_t scalar_stride) {
    if (!cr_ifma_supported()) return -1;
    int8_t e[64][8];
    uint64_t in[5][8], r[5][8], top[8];
    for (int lane = 0; lane < 8; lane++) {
        r255_recode(e, lane, scalars + (size_t)lane * scalar_stride);
        top[lane] = 0 - r255_load(in, lane, points + 32 * lane);
    }
    const int invalid = r255_mul8_core(r, (const uint64_t(*)[8])in, top, (const int8_t(*)[8])e);
    cr_zero_vector_registers();
    r255_burn_stack();
    cr_store_lanes(out, r);
    OPENSSL_cleanse(e, sizeof e);
    OPENSSL_cleanse(r, sizeof r);
    return invalid;
}

#else
cr_r255_table *cr_r255_table_new(const uint8_t point[32]) {
    (void)point;
    return NULL;
}
void cr_r255_table_free(cr_r255_table *t) { (void)t; }
int cr_r255_fixed_mul8(uint8_t out[8 * 32], const cr_r255_table *t, const uint8_t scalars[8 * 32]) {
    (void)out; (void)t; (void)scalars;
    return -1;
}
int cr_r255_rerandomize8(uint8_t tags[8 * 64], const cr_r255_table *base, const cr_r255_table *key,
                         const uint8_t scalars[8 * 32]) {
    (void)tags; (void)base; (void)key; (void)scalars;
    return -1;
}
int cr_r255_open8(uint8_t out[8 * 32], const uint8_t tags[8 * 64], const uint8_t y[32]) {
    (void)out; (void)tags; (void)y;
    return -1;
}
int cr_r255_hash_mul8(uint8_t out[8 * 32], const uint8_t uniform[8 * 64], const uint8_t *scalars, size_t scalar_stride) {
    (void)out; (void)uniform; (void)scalars; (void)scalar_stride;
    return -1;
}
int cr_r255_mul8(uint8_t out[8 * 32], const uint8_t points[8 * 32], const uint8_t *scalars, size_t scalar_stride) {
    (void)out; (void)points; (void)scalars; (void)scalar_stride;
    return -1;
}
#endif
