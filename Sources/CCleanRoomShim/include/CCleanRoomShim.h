// CCleanRoomShim: the few things Swift cannot call directly on OpenSSL 3 and GMP.
// - GMP's allocator hooks take C function pointers with size arguments; we install a
//   wiping allocator so that no limb of a secret survives a realloc or free.
// - gmp.h exposes mpz internals through a struct and macros; wiping needs the allocated
//   limb count, which Swift can read but not cleanse without OpenSSL's barrier.
#ifndef CCLEANROOMSHIM_H
#define CCLEANROOMSHIM_H

#include <stddef.h>
#include <gmp.h>

/// Installs (once, thread-safely) GMP memory functions that overwrite every block with
/// OPENSSL_cleanse before it is freed or moved by realloc. Safe to call many times.
void cr_gmp_install_wiping_allocator(void);

/// Returns 1 when the wiping allocator is the one GMP currently uses.
int cr_gmp_wiping_allocator_installed(void);

/// Overwrites every allocated limb of `z` (not only the used ones) and sets it to zero.
void cr_mpz_wipe(mpz_ptr z);

#endif
