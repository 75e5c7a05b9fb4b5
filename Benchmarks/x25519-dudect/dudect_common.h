// The statistics shared by the dudect-style harnesses (dudect_x25519.c, dudect_r255.c): cycle
// counts with rdtscp between lfences, Welch's t-test on all samples and on samples cropped at 12
// upper percentiles (as dudect crops), and the report. Private to this directory.
#ifndef CR_DUDECT_COMMON_H
#define CR_DUDECT_COMMON_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <x86intrin.h>

#define BATCH 4096
#define CROPS 12

typedef struct {
    double n[2], mean[2], m2[2];
} welch;

static void welch_add(welch *w, int cls, double x) {
    w->n[cls] += 1;
    double d = x - w->mean[cls];
    w->mean[cls] += d / w->n[cls];
    w->m2[cls] += d * (x - w->mean[cls]);
}

static double welch_t(const welch *w) {
    if (w->n[0] < 2 || w->n[1] < 2) return 0;
    double v0 = w->m2[0] / (w->n[0] - 1), v1 = w->m2[1] / (w->n[1] - 1);
    return (w->mean[0] - w->mean[1]) / sqrt(v0 / w->n[0] + v1 / w->n[1]);
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static inline uint64_t cycles(void) {
    unsigned aux;
    _mm_lfence();
    uint64_t t = __rdtscp(&aux);
    _mm_lfence();
    return t;
}

static int parse_hex(uint8_t *out, const char *s) {
    if (strlen(s) != 64) return 0;
    for (int i = 0; i < 32; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1) return 0;
        out[i] = (uint8_t)v;
    }
    return 1;
}

/* Welch's t on all `runs` samples and on the 12 cropped sets; prints the report and returns 0 when
   max |t| < 4.5, else 1. */
static int dudect_report(const char *name, const uint64_t *all, const uint8_t *all_cls, long runs) {
    /* thresholds: the 100·(1 − 0.5^(10·(c+1)/CROPS)) percentiles, as dudect crops */
    uint64_t *sorted = malloc(sizeof(uint64_t) * (size_t)runs);
    memcpy(sorted, all, sizeof(uint64_t) * (size_t)runs);
    qsort(sorted, (size_t)runs, sizeof(uint64_t), cmp_u64);
    welch w[CROPS + 1];
    memset(w, 0, sizeof w);
    uint64_t limit[CROPS];
    for (int c = 0; c < CROPS; c++) {
        double q = 1 - pow(0.5, 10.0 * (c + 1) / CROPS);
        limit[c] = sorted[(size_t)(q * (double)(runs - 1))];
    }
    for (long i = 0; i < runs; i++) {
        welch_add(&w[0], all_cls[i], (double)all[i]);
        for (int c = 0; c < CROPS; c++)
            if (all[i] <= limit[c]) welch_add(&w[c + 1], all_cls[i], (double)all[i]);
    }
    double max_t = 0;
    int max_at = 0;
    for (int c = 0; c <= CROPS; c++) {
        double a = fabs(welch_t(&w[c]));
        if (a > max_t) { max_t = a; max_at = c; }
    }
    printf("test %-6s runs %ld (class 0: %.0f, class 1: %.0f)  median %llu cycles per call of 8 lanes\n", name, runs,
           w[0].n[0], w[0].n[1], (unsigned long long)sorted[runs / 2]);
    printf("  means: fixed %.1f, random %.1f cycles; t (all samples) = %.2f\n", w[0].mean[0], w[0].mean[1], welch_t(&w[0]));
    printf("  max |t| = %.2f (%s)  -> %s\n", max_t, max_at == 0 ? "all samples" : "a cropped set",
           max_t < 4.5 ? "no evidence of a timing difference" : "TIMING DIFFERENCE");
    fflush(stdout);
    free(sorted);
    return max_t < 4.5 ? 0 : 1;
}

#endif
