#include "CCleanRoomShim.h"

#include <pthread.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

static void *cr_gmp_alloc(size_t size) {
    void *p = malloc(size);
    if (p == NULL) {
        abort(); /* GMP has no way to report allocation failure. */
    }
    return p;
}

static void *cr_gmp_realloc(void *old, size_t old_size, size_t new_size) {
    void *p = cr_gmp_alloc(new_size);
    if (old != NULL) {
        memcpy(p, old, old_size < new_size ? old_size : new_size);
        OPENSSL_cleanse(old, old_size);
        free(old);
    }
    return p;
}

static void cr_gmp_free(void *p, size_t size) {
    if (p == NULL) {
        return;
    }
    if (size > 0) {
        OPENSSL_cleanse(p, size);
    }
    free(p);
}

static pthread_once_t cr_gmp_once = PTHREAD_ONCE_INIT;

static void cr_gmp_install(void) {
    mp_set_memory_functions(cr_gmp_alloc, cr_gmp_realloc, cr_gmp_free);
}

void cr_gmp_install_wiping_allocator(void) {
    pthread_once(&cr_gmp_once, cr_gmp_install);
}

int cr_gmp_wiping_allocator_installed(void) {
    void *(*a)(size_t);
    void *(*r)(void *, size_t, size_t);
    void (*f)(void *, size_t);
    mp_get_memory_functions(&a, &r, &f);
    return a == cr_gmp_alloc && r == cr_gmp_realloc && f == cr_gmp_free;
}

void cr_mpz_wipe(mpz_ptr z) {
    if (z->_mp_d != NULL && z->_mp_alloc > 0) {
        OPENSSL_cleanse(z->_mp_d, (size_t)z->_mp_alloc * sizeof(mp_limb_t));
    }
    z->_mp_size = 0;
}

int cr_limit_malloc_arenas(int n) {
#if defined(__GLIBC__)
    return mallopt(M_ARENA_MAX, n);
#else
    (void)n;
    return 0;
#endif
}

void cr_release_free_heap(void) {
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
}
