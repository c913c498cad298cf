/* Minimal C unit-test helpers: CHECK counts failures, CHECK_CLOSE compares doubles. */
#ifndef HM_TEST_H
#define HM_TEST_H
#include <math.h>
#include <stdio.h>

static int hm_test_failures = 0;
static int hm_test_checks = 0;

#define CHECK(cond)                                                        \
  do {                                                                     \
    hm_test_checks++;                                                      \
    if (!(cond)) {                                                         \
      hm_test_failures++;                                                  \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                      \
  } while (0)

#define CHECK_CLOSE(a, b, tol)                                             \
  do {                                                                     \
    double hm_a_ = (a), hm_b_ = (b);                                       \
    hm_test_checks++;                                                      \
    if (!(fabs(hm_a_ - hm_b_) <= (tol) * (1.0 + fabs(hm_b_)))) {           \
      hm_test_failures++;                                                  \
      fprintf(stderr, "%s:%d: %s = %.17g, expected %.17g (tol %g)\n",      \
              __FILE__, __LINE__, #a, hm_a_, hm_b_, (double)(tol));        \
    }                                                                      \
  } while (0)

static inline int hm_test_report(const char *name) {
  printf("%s: %d checks, %d failures\n", name, hm_test_checks, hm_test_failures);
  return hm_test_failures ? 1 : 0;
}
#endif
