/* Tolerances from certificates for the C SVM tests (docs/testing.md, "Tolerances in tests";
 * the same rules as tests/spec/svm_helpers.lua). A certified solve returns the bracket
 * [lower_bound, objective] around the optimal norm P*; two solves of one problem therefore
 * agree within max_i (o_i - lb_i) plus the rounding of the computed endpoints, and an l2
 * solution is within sqrt(o^2 - lb^2) of x* (solvers.md §3.1). */
#ifndef HM_TEST_CERT_H
#define HM_TEST_CERT_H
#include <float.h>
#include <math.h>
#include <stddef.h>

#include "hm_svm.h"

/* Largest row norm of the m x N row-major F (the data scale of the margins). */
static inline double hm_cert_fmax(const double *F, size_t m, size_t N) {
  double f = 0;
  for (size_t k = 0; k < m; k++) {
    double s = 0;
    for (size_t j = 0; j < N; j++) s += F[k * N + j] * F[k * N + j];
    f = fmax(f, sqrt(s));
  }
  return f;
}

/* Relative rounding error of a computed bracket endpoint, first-order worst case over every
 * summation order (any BLAS kernel, FMA or not): inner products of n = N + nnz(lambda)
 * nonzero terms, each with error <= n eps sum|terms| (Higham §3.1), whose terms exceed the
 * result by at most kappa = fmax * |x| (margins are 1 at the rescaled x; b = 1 rows); |x| is
 * the objective, or with a free bias beta, objective + |beta|. */
static inline double hm_cert_rounding(const hm_svm_result *r, size_t m, size_t N, double fmax,
                                      double beta) {
  size_t nnz = 0;
  for (size_t k = 0; k < m; k++) nnz += r->lambda[k] != 0;
  return (double)(N + nnz) * DBL_EPSILON * (2 + fmax * (r->objective + fabs(beta)));
}

/* The certified lower bound (conic solvers fill dual_objective; the QPs both). */
static inline double hm_cert_lb(const hm_svm_result *r) {
  return r->lower_bound != 0 ? r->lower_bound : r->dual_objective;
}

/* r's bracket scaled by c > 0 (a problem whose optimum is exactly c P*, e.g. scaled data). */
static inline hm_svm_result hm_cert_scaled(const hm_svm_result *r, double c) {
  hm_svm_result s = *r;
  s.objective *= c;
  s.lower_bound = c * hm_cert_lb(r);
  s.dual_objective = s.lower_bound;
  return s;
}

/* A closed-form optimum lies in the computed bracket up to the endpoints' rounding. */
static inline int hm_cert_in_bracket(const hm_svm_result *r, double exact, double e) {
  double o = r->objective;
  return hm_cert_lb(r) - e * o <= exact && exact <= o + e * o;
}

/* |o1 - o2| <= max_i (o_i - lb_i) + 3 e max(o1, o2): P* is in both brackets up to e. */
static inline double hm_cert_agree_tol(const hm_svm_result *r1, const hm_svm_result *r2, double e) {
  double o = fmax(r1->objective, r2->objective);
  return fmax(r1->objective - hm_cert_lb(r1), r2->objective - hm_cert_lb(r2)) + 3 * e * o;
}

/* |x - x*| <= sqrt(o^2 - lb^2 + 6 e o^2) + e o (1-strong convexity; rounded endpoints). */
static inline double hm_cert_distance(const hm_svm_result *r, double e) {
  double o = r->objective, lb = hm_cert_lb(r);
  return sqrt(fmax(0, o * o - lb * lb) + 6 * e * o * o) + e * o;
}

/* CHECK that two certified solves agree (e: relative endpoint rounding). */
#define CHECK_AGREE(r1, r2, e) \
  CHECK(fabs((r1).objective - (r2).objective) <= hm_cert_agree_tol(&(r1), &(r2), (e)))
/* CHECK that a known optimal value lies in r's certified bracket. */
#define CHECK_BRACKET(r, exact, e) CHECK(hm_cert_in_bracket(&(r), (exact), (e)))

static inline double hm_cert_dist2(const double *x1, const double *x2, size_t N) {
  double s = 0;
  for (size_t j = 0; j < N; j++) s += (x1[j] - x2[j]) * (x1[j] - x2[j]);
  return sqrt(s);
}
#endif
