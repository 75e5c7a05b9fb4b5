// CCleanRoomShim: the few things Swift cannot call directly on OpenSSL 3 and GMP.
// - GMP's allocator hooks take C function pointers with size arguments; we install a
//   wiping allocator so that no limb of a secret survives a realloc or free.
// - gmp.h exposes mpz internals through a struct and macros; wiping needs the allocated
//   limb count, which Swift can read but not cleanse without OpenSSL's barrier.
#ifndef CCLEANROOMSHIM_H
#define CCLEANROOMSHIM_H

#include <stddef.h>
#include <stdint.h>
#include <gmp.h>

/// Installs (once, thread-safely) GMP memory functions that overwrite every block with
/// OPENSSL_cleanse before it is freed or moved by realloc. Safe to call many times.
void cr_gmp_install_wiping_allocator(void);

/// Returns 1 when the wiping allocator is the one GMP currently uses.
int cr_gmp_wiping_allocator_installed(void);

/// Overwrites every allocated limb of `z` (not only the used ones) and sets it to zero.
void cr_mpz_wipe(mpz_ptr z);

/// Caps glibc's malloc arenas at `n` (mallopt M_ARENA_MAX); returns 1 on success, 0 where the C
/// library is not glibc.
int cr_limit_malloc_arenas(int n);

/// Returns free heap pages to the system (glibc malloc_trim(0)); a no-op elsewhere.
void cr_release_free_heap(void);

/// GMP's basecase kernels, which `mpn_mul_n` and `mpn_sqr` call after checking their size
/// thresholds. They are GMP internals (gmp-impl.h) that every libgmp build exports; they are
/// declared weak so that a build without them still links and the public entry points are used.
/// At four limbs (GF(2²⁵⁵−19)) skipping the threshold checks saves about a fifth of a product.
extern void __gmpn_mul_basecase(mp_ptr, mp_srcptr, mp_size_t, mp_srcptr, mp_size_t) __attribute__((weak));
extern void __gmpn_sqr_basecase(mp_ptr, mp_srcptr, mp_size_t) __attribute__((weak));

/// r[0..7] = a[0..3]·b[0..3].
static inline void cr_mpn_mul4(mp_ptr r, mp_srcptr a, mp_srcptr b) {
    if (__gmpn_mul_basecase != 0) {
        __gmpn_mul_basecase(r, a, 4, b, 4);
    } else {
        mpn_mul_n(r, a, b, 4);
    }
}

/// r[0..7] = a[0..3]².
static inline void cr_mpn_sqr4(mp_ptr r, mp_srcptr a) {
    if (__gmpn_sqr_basecase != 0) {
        __gmpn_sqr_basecase(r, a, 4);
    } else {
        mpn_sqr(r, a, 4);
    }
}

/// Paired fixed-base exponentiation on AVX-512 IFMA (fixed_base_ifma.c): two tables for bases
/// g1 mod m1 and g2 mod m2 (odd moduli of at most 3,326 bits) sharing one exponent.
typedef struct cr_fixed_base2 cr_fixed_base2;

/// 1 when this CPU has AVX-512 F, VL and IFMA and CLEANROOM_DISABLE_IFMA is unset (or "0"), read
/// once per process. Both IFMA kernels (Paillier fixed base, X25519) use this one test.
int cr_ifma_supported(void);

/// The same as cr_ifma_supported (the Paillier kernel's name for it).
int cr_fixed_base2_supported(void);

/// Builds both tables (window of `window` bits, exponents of at most `exponent_bits` bits).
/// Returns NULL when the CPU lacks IFMA, the sizes are unsupported or memory is exhausted.
cr_fixed_base2 *cr_fixed_base2_new(mpz_srcptr g1, mpz_srcptr m1, mpz_srcptr g2, mpz_srcptr m2,
                                   int exponent_bits, int window);

/// out1 = f1·g1^e mod m1 and out2 = f2·g2^e mod m2, for 0 ≤ e < 2^exponent_bits given as
/// `e_limbs` little-endian limbs and 0 ≤ f < m. Variable-time in e.
void cr_fixed_base2_power(const cr_fixed_base2 *t, const mp_limb_t *e, size_t e_limbs, mpz_srcptr f1,
                          mpz_srcptr f2, mpz_ptr out1, mpz_ptr out2);

/// Wipes and frees both tables.
void cr_fixed_base2_free(cr_fixed_base2 *t);

/// Eight X25519 functions at once on AVX-512 IFMA (x25519_ifma.c, RFC 7748 §5), constant time in
/// the scalars and the u-coordinates: out[32i..32i+31] = X25519(k_i, u[32i..32i+31]) for i = 0..7,
/// where k_i is the 32 bytes at scalars + i·scalar_stride (stride 0: one scalar for all lanes),
/// clamped here. u's top bit is ignored and non-canonical u (≥ p) is accepted, as RFC 7748 says;
/// outputs are canonical. Returns the bitmask of lanes whose output is all zero (low-order or twist
/// input, RFC 7748 §6.1), or −1 (output untouched) when cr_ifma_supported() is 0.
int cr_x25519_ifma8(uint8_t *out, const uint8_t *scalars, size_t scalar_stride, const uint8_t *u);

/// The field and curve part of RFC 9380 hash_to_curve for curve25519_XMD:SHA-512_ELL2_RO_, eight
/// messages at once on AVX-512 IFMA (hash_to_curve_ifma.c), constant time in the input: from lane
/// i's 96 bytes of expand_message_xmd output at uniform[96i..96i+95] (two 48-byte big-endian
/// halves, reduced mod p), Elligator 2 of each, their sum on edwards25519 times the cofactor 8,
/// and out[32i..32i+31] = the Montgomery u-coordinate (Z + Y)/(Z − Y), canonical little-endian
/// (0 for the identity). Returns 0, or −1 (output untouched) when cr_ifma_supported() is 0.
int cr_h2c_u_ifma8(uint8_t out[8 * 32], const uint8_t uniform[8 * 96]);

/// ristretto255 (RFC 9496) on AVX-512 IFMA, eight lanes (ristretto255_ifma.c), for the group tags:
/// a fixed-base table for one point, T[i][j] = (j + 1)·16^i·P.
typedef struct cr_r255_table cr_r255_table;

/// The table of the point encoded at `point`; NULL when cr_ifma_supported() is 0, the encoding is
/// invalid or the identity, or memory is exhausted.
cr_r255_table *cr_r255_table_new(const uint8_t point[32]);

/// Wipes and frees a table (NULL is ignored).
void cr_r255_table_free(cr_r255_table *t);

/// out[32i..] = encoding of k_i·P for the eight 32-byte little-endian scalars k_i (bit 255 ignored),
/// constant time in the scalars. Returns 0, or −1 (output untouched) without IFMA or table.
int cr_r255_fixed_mul8(uint8_t out[8 * 32], const cr_r255_table *t, const uint8_t scalars[8 * 32]);

/// Re-randomises eight ElGamal tags (c1 ‖ c2, 64 bytes each) in place: (c1 + s_i·B, c2 + s_i·Y)
/// with `base` the table of B and `key` the table of Y. Returns the bitmask of lanes whose c1 or c2
/// is not a valid ristretto255 encoding or is the identity (then nothing is written), or −1.
int cr_r255_rerandomize8(uint8_t tags[8 * 64], const cr_r255_table *base, const cr_r255_table *key,
                         const uint8_t scalars[8 * 32]);

/// out[32i..] = encoding of c2 − y·c1 for eight tags, constant time in y. Returns the bitmask of
/// lanes whose c1 or c2 is invalid or the identity (their output is meaningless), or −1.
int cr_r255_open8(uint8_t out[8 * 32], const uint8_t tags[8 * 64], const uint8_t y[32]);

/// out[32i..] = encoding of k_i·(MAP(u_i[0..31]) + MAP(u_i[32..63])) for eight 64-byte uniform
/// strings (RFC 9496 §4.3.4's one-way map, as libsodium's crypto_core_ristretto255_from_hash,
/// then times k_i), k_i the 32 bytes at scalars + i·scalar_stride (stride 0: one scalar for all),
/// constant time in both. Returns the bitmask of lanes whose output is the identity (32 zero
/// bytes; for k_i ≠ 0 mod ℓ exactly when the hash is the identity), or −1 without IFMA.
int cr_r255_hash_mul8(uint8_t out[8 * 32], const uint8_t uniform[8 * 64], const uint8_t *scalars, size_t scalar_stride);

/// out[32i..] = encoding of k_i·P_i for eight encoded points, constant time in the scalars (as
/// above). Returns the bitmask of lanes whose point is not a canonical encoding or is the identity
/// (their output is meaningless), or −1 without IFMA.
int cr_r255_mul8(uint8_t out[8 * 32], const uint8_t points[8 * 32], const uint8_t *scalars, size_t scalar_stride);

#endif
