#include "hm_rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void hm_rng_seed(hm_rng *g, uint64_t seed) {
  uint64_t x = seed;
  for (int i = 0; i < 4; i++) g->s[i] = splitmix64(&x);
  g->id = seed;
  g->has_cached = 0;
  g->cached = 0.0;
}

uint64_t hm_rng_next(hm_rng *g) {
  uint64_t *s = g->s;
  const uint64_t result = rotl(s[1] * 5, 7) * 9;
  const uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

double hm_rng_uniform(hm_rng *g) { return (double)(hm_rng_next(g) >> 11) * 0x1.0p-53; }

double hm_rng_normal(hm_rng *g) {
  if (g->has_cached) {
    g->has_cached = 0;
    return g->cached;
  }
  double u1 = 1.0 - hm_rng_uniform(g); /* (0, 1] so log is finite */
  double u2 = hm_rng_uniform(g);
  double r = sqrt(-2.0 * log(u1));
  double a = 6.283185307179586476925286766559 * u2;
  g->cached = r * sin(a);
  g->has_cached = 1;
  return r * cos(a);
}

uint64_t hm_rng_below(hm_rng *g, uint64_t n) {
  /* Lemire's nearly-divisionless method would be faster; rejection keeps it obviously
   * unbiased: reject the top partial block. */
  uint64_t limit = UINT64_MAX - (UINT64_MAX % n);
  uint64_t x;
  do x = hm_rng_next(g);
  while (x >= limit);
  return x % n;
}

uint64_t hm_rng_hash(uint64_t id, const void *key, size_t len) {
  const unsigned char *p = (const unsigned char *)key;
  uint64_t h = id ^ 0x6a09e667f3bcc909ULL;
  uint64_t x = h;
  h = splitmix64(&x);
  for (size_t i = 0; i < len; i += 8) {
    uint64_t w = 0;
    for (size_t j = 0; j < 8 && i + j < len; j++) w |= (uint64_t)p[i + j] << (8 * j);
    x = h ^ w;
    h = splitmix64(&x);
  }
  x = h ^ (uint64_t)len;
  return splitmix64(&x);
}

void hm_rng_split(const hm_rng *parent, const void *key, size_t len, hm_rng *child) {
  uint64_t id = hm_rng_hash(parent->id, key, len);
  hm_rng_seed(child, id);
}

void hm_rng_fill_normal(hm_rng *g, double *x, size_t n) {
  for (size_t i = 0; i < n; i++) x[i] = hm_rng_normal(g);
}

void hm_rng_fill_uniform(hm_rng *g, double *x, size_t n) {
  for (size_t i = 0; i < n; i++) x[i] = hm_rng_uniform(g);
}
