// edwards25519 group arithmetic on eight AVX-512 IFMA lanes (a = −1, d = −121665/121666), shared by
// hash_to_curve_ifma.c and ristretto255_ifma.c. Private to CCleanRoomShim; include it after
// fe25519_ifma.h, inside the same x86-64 guard.
//
// Points are in extended coordinates (X : Y : Z : T), x = X/Z, y = Y/Z, T = XY/Z (Hisil, Wong,
// Carter and Dawson, "Twisted Edwards Curves Revisited", ASIACRYPT 2008). The addition formulas
// below are the complete ones for a = −1 (d is not a square mod p), so they hold for every pair
// of points, the identity and equal points included: no lane ever needs a branch.
#ifndef CR_GE25519_IFMA_H
#define CR_GE25519_IFMA_H

/* 2d (edwards25519) */
static const uint64_t GE_D2[5] = {0x69b9426b2f159ull, 0x9a8283b156ebdull, 0xef3d13000e014ull, 0xfce7198e80f2eull,
                                  0x02406d9dc56dfull};

/* Extended coordinates (X : Y : Z : T), T = XY/Z. */
typedef struct {
    fe8 x, y, z, t;
} ge8;

/* r = z^((p − 5)/8) = z^(2^252 − 3): the inversion's chain up to 2^250 − 1, two squarings, times z. */
X_TARGET X_INLINE void fe_pow22523(fe8 *r, const fe8 *z) {
    fe8 t, z11;
    fe_pow2_250_1(&t, &z11, z);
    fe_sqn(&t, &t, 2);          /* 2^252 − 4 */
    fe_mul(r, &t, z);           /* 2^252 − 3 */
}

X_TARGET X_INLINE void fe_zero(fe8 *r) {
    for (int j = 0; j < 5; j++) r->l[j] = _mm512_setzero_si512();
}

X_TARGET X_INLINE void fe_one(fe8 *r) {
    fe_zero(r);
    r->l[0] = bc(1);
}

/* The identity (0 : 1 : 1 : 0) in every lane. */
X_TARGET X_INLINE void ge_identity(ge8 *r) {
    fe_zero(&r->x);
    fe_one(&r->y);
    fe_one(&r->z);
    fe_zero(&r->t);
}

/* (X : Y : Z : T) = (E·F : G·H : F·G : E·H), the last step of every formula below. */
X_TARGET X_INLINE void ge_from_efgh(ge8 *r, const fe8 *e, const fe8 *f, const fe8 *g, const fe8 *h) {
    fe_mul(&r->x, e, f);
    fe_mul(&r->y, g, h);
    fe_mul(&r->t, e, h);
    fe_mul(&r->z, f, g);
}

/* The common end of the additions: E = B − A, F = D − C, G = D + C, H = B + A, then the products. */
X_TARGET X_INLINE void ge_add_finish(ge8 *r, const fe8 *a, const fe8 *b, const fe8 *c, const fe8 *d) {
    fe8 e, f, g, h;
    fe_sub(&e, b, a);
    fe_sub(&f, d, c);
    fe_add(&g, d, c);
    fe_add(&h, b, a);
    ge_from_efgh(r, &e, &f, &g, &h);
}

/* r = p + q, complete (add-2008-hwcd-3, a = −1). r may alias p or q. */
X_TARGET X_INLINE void ge_add(ge8 *r, const ge8 *p, const ge8 *q) {
    fe8 a, b, c, d, e, d2;
    fe_broadcast(&d2, GE_D2);
    fe_sub(&a, &p->y, &p->x);
    fe_sub(&e, &q->y, &q->x);
    fe_mul(&a, &a, &e);             /* A = (Y1 − X1)(Y2 − X2) */
    fe_add(&b, &p->y, &p->x);
    fe_add(&e, &q->y, &q->x);
    fe_mul(&b, &b, &e);             /* B = (Y1 + X1)(Y2 + X2) */
    fe_mul(&c, &p->t, &q->t);
    fe_mul(&c, &c, &d2);            /* C = 2d·T1·T2 */
    fe_mul(&d, &p->z, &q->z);
    fe_add(&d, &d, &d);             /* D = 2·Z1·Z2 */
    ge_add_finish(r, &a, &b, &c, &d);
}

/* p = 2p (dbl-2008-hwcd, a = −1). */
X_TARGET X_INLINE void ge_double(ge8 *p) {
    fe8 a, b, c, d, e, f, g, h, zero;
    fe_zero(&zero);
    fe_sq(&a, &p->x);               /* A = X1^2 */
    fe_sq(&b, &p->y);               /* B = Y1^2 */
    fe_sq(&c, &p->z);
    fe_add(&c, &c, &c);             /* C = 2·Z1^2 */
    fe_sub(&d, &zero, &a);          /* D = a·A = −A */
    fe_add(&e, &p->x, &p->y);
    fe_sq(&e, &e);
    fe_sub(&e, &e, &a);
    fe_sub(&e, &e, &b);             /* E = (X1 + Y1)^2 − A − B */
    fe_add(&g, &d, &b);             /* G = D + B */
    fe_sub(&f, &g, &c);             /* F = G − C */
    fe_sub(&h, &d, &b);             /* H = D − B */
    ge_from_efgh(p, &e, &f, &g, &h);
}

#endif
