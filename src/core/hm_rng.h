/* Random numbers with a fixed, documented algorithm so that streams never change between
 * releases:
 *   - generator: xoshiro256** 1.0 (Blackman & Vigna), state seeded by SplitMix64 from a
 *     64-bit seed;
 *   - uniform doubles in [0,1): (next >> 11) * 2^-53;
 *   - standard normals: Box-Muller on two uniforms (u1 in (0,1], u2 in [0,1)),
 *     z0 = sqrt(-2 ln u1) cos(2 pi u2), z1 = sqrt(-2 ln u1) sin(2 pi u2); z0 is returned
 *     first and z1 is cached for the next call (the cache is part of the state);
 *   - streams derived by hashing: split(key) seeds a child from hm_rng_hash(id, key), where
 *     id is the parent's derivation id (its seed, or its own hash), independent of how many
 *     numbers the parent has drawn. */
#ifndef HM_RNG_H
#define HM_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct hm_rng {
  uint64_t s[4];      /* xoshiro256** state */
  uint64_t id;        /* derivation id used by split() */
  int has_cached;     /* Box-Muller spare available */
  double cached;
} hm_rng;

void hm_rng_seed(hm_rng *g, uint64_t seed);
uint64_t hm_rng_next(hm_rng *g);
double hm_rng_uniform(hm_rng *g);           /* [0, 1) */
double hm_rng_normal(hm_rng *g);            /* N(0, 1) */
uint64_t hm_rng_below(hm_rng *g, uint64_t n); /* uniform in [0, n), n > 0, unbiased */
/* 64-bit hash of (id, key bytes); used to derive child streams. */
uint64_t hm_rng_hash(uint64_t id, const void *key, size_t len);
/* Child generator for key (bytes), deterministic in (parent id, key). */
void hm_rng_split(const hm_rng *parent, const void *key, size_t len, hm_rng *child);

void hm_rng_fill_normal(hm_rng *g, double *x, size_t n);
void hm_rng_fill_uniform(hm_rng *g, double *x, size_t n);

#endif
