/* Nuclear-norm W-SVM (hm_svm_nuclear*): closed forms (theory.md §C.3, solvers.md §4),
 * certified gaps, IPM vs ADMM/SVT cross-check, dual-certificate rank bound, Frobenius
 * inequalities, metamorphic invariances, infeasibility certificates, bad input. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hm_rng.h"
#include "hm_svm_conic.h"
#include "hm_test.h"
#include "hm_test_cert.h"

#define MAXM 256
#define MAXD 16

typedef struct sol {
  hm_status st;
  hm_svm_result r;
  hm_svm_wextra ex;
  double x[MAXD * MAXD], lam[MAXM], fk[MAXM], sv[MAXD];
} sol;

static void solve_nuc(sol *s, size_t m, size_t d, const double *A, const double *Z,
                      const double *b, const unsigned char *eq) {
  hm_wcons c = {m, d, A, Z, b, eq};
  memset(s, 0, sizeof *s);
  s->r.x = s->x;
  s->r.lambda = s->lam;
  s->r.farkas = s->fk;
  s->ex.sv = s->sv;
  s->st = hm_svm_nuclear_ex(&c, NULL, &s->r, &s->ex);
}

static void solve_admm(sol *s, size_t m, size_t d, const double *A, const double *Z,
                       const double *b) {
  hm_wcons c = {m, d, A, Z, b, NULL};
  memset(s, 0, sizeof *s);
  s->r.x = s->x;
  s->r.lambda = s->lam;
  s->r.farkas = s->fk;
  s->ex.sv = s->sv;
  hm_svm_opts o = {.tol = 1e-8, .max_iter = 50000};
  s->st = hm_svm_nuclear_admm(&c, &o, &s->r, &s->ex);
}

static void solve_fro(sol *s, size_t m, size_t d, const double *A, const double *Z,
                      const double *b) {
  hm_wcons c = {m, d, A, Z, b, NULL};
  memset(s, 0, sizeof *s);
  s->r.x = s->x;
  s->r.lambda = s->lam;
  s->r.farkas = s->fk;
  s->ex.sv = s->sv;
  s->st = hm_svm_lp_w(&c, 2.0, NULL, &s->r, &s->ex);
}

static double nucnorm(size_t d, const double *W) {
  double s[MAXD];
  hm_conic_singular_values(d, d, W, s);
  double t = 0;
  for (size_t j = 0; j < d; j++) t += s[j];
  return t;
}

static double fro(size_t n, const double *x) {
  double t = 0;
  for (size_t j = 0; j < n; j++) t += x[j] * x[j];
  return sqrt(t);
}

/* verify a Farkas certificate: lambda >= 0, b^T lambda = 1, sum lambda_k A_k ~ 0 */
static void check_farkas(size_t m, size_t d, const double *A, const double *Z, const double *b,
                         const double *lam) {
  double G[MAXD * MAXD] = {0}, bl = 0, l1 = 0, amax = 0;
  for (size_t k = 0; k < m; k++) {
    CHECK(lam[k] >= 0);
    bl += b[k] * lam[k];
    l1 += fabs(lam[k]);
    double na = fro(d, A + k * d) * fro(d, Z + k * d);
    if (na > amax) amax = na;
    for (size_t i = 0; i < d; i++)
      for (size_t j = 0; j < d; j++) G[i * d + j] += lam[k] * A[k * d + i] * Z[k * d + j];
  }
  CHECK_CLOSE(bl, 1.0, 1e-12);
  CHECK(fro(d * d, G) <= 1e-9 * amax * l1);
}

/* random cross-attention instance: n sequences, T-1 rows each, b = 1 */
static void rand_inst(hm_rng *g, size_t n, size_t T, size_t d, double *A, double *Z, double *b) {
  for (size_t i = 0; i < n; i++) {
    double z[MAXD];
    for (size_t j = 0; j < d; j++) z[j] = hm_rng_normal(g);
    for (size_t t = 0; t + 1 < T; t++) {
      size_t k = i * (T - 1) + t;
      for (size_t j = 0; j < d; j++) {
        A[k * d + j] = hm_rng_normal(g);
        Z[k * d + j] = z[j];
      }
      b[k] = 1;
    }
  }
}

/* Endpoint rounding of a nuclear (or Frobenius) W solve: H.cert_rounding_nuclear of
 * tests/spec/svm_helpers.lua -- inner products of 2 d^2 + nnz terms (the SVD's singular
 * values are backward stable, d eps |W|_2 each), terms up to fmax |W| larger. */
static double enuc(const sol *s, size_t m, size_t d, const double *A, const double *Z) {
  double fm = 0;
  for (size_t k = 0; k < m; k++) fm = fmax(fm, fro(d, A + k * d) * fro(d, Z + k * d));
  return hm_cert_rounding(&s->r, m, 2 * d * d, fm, 0);
}

static void test_single(void) {
  double a[4] = {1, -2, 0.5, 3}, z[4] = {0.3, 1, -1, 2}, b[1] = {1};
  sol s;
  solve_nuc(&s, 1, 4, a, z, b, NULL);
  CHECK(s.st == HM_OK && s.r.status == HM_SVM_OPTIMAL);
  double na = fro(4, a), nz = fro(4, z);
  CHECK_BRACKET(s.r, 1.0 / (na * nz), enuc(&s, 1, 4, a, z));
  CHECK(s.r.rel_gap <= 1e-6);
  /* the Frobenius optimum is rank one, hence the nuclear optimum: for feasible W,
   * |W - W*|_F^2 <= |W|_F^2 - P*^2 <= |W|_*^2 - lb^2 (hm_cert_distance) */
  double Wx[16];
  for (size_t i = 0; i < 4; i++)
    for (size_t j = 0; j < 4; j++) Wx[i * 4 + j] = a[i] * z[j] / (na * na * nz * nz);
  CHECK(hm_cert_dist2(s.x, Wx, 16) <= hm_cert_distance(&s.r, enuc(&s, 1, 4, a, z)));
  CHECK(s.ex.rank == 1);
  CHECK(s.ex.dual_rank == 1);
  CHECK_CLOSE(s.lam[0], 1.0 / (na * nz), 1e-7);
}

static void test_appendix3(void) {
  /* theory.md Appendix item 3: 4 active constraints in 4 unknowns */
  double A[] = {0, 1, 1, 0, -0.5, -1.5, 1.5, -1}, Z[] = {1, 0, 1, 0, 0, 1, 0, 1};
  double b[] = {1, 1, 1, 1};
  double Wx[] = {1, 2.0 / 11, 1, -8.0 / 11};
  sol s;
  solve_nuc(&s, 4, 2, A, Z, b, NULL);
  CHECK(s.r.status == HM_SVM_OPTIMAL && s.r.rel_gap <= 1e-6);
  CHECK_BRACKET(s.r, nucnorm(2, Wx), enuc(&s, 4, 2, A, Z));
  for (int i = 0; i < 4; i++) CHECK_CLOSE(s.x[i], Wx[i], 1e-6);
  for (int k = 0; k < 4; k++) CHECK(s.lam[k] > 1e-3); /* all active */
}

static void test_faces(void) {
  /* D1: W11 >= 1, W22 >= 1: value 2, non-unique face, analytic centre I */
  double A1[] = {1, 0, 0, 1}, Z1[] = {1, 0, 0, 1}, b1[] = {1, 1};
  sol s;
  solve_nuc(&s, 2, 2, A1, Z1, b1, NULL);
  CHECK(s.r.status == HM_SVM_OPTIMAL);
  CHECK_BRACKET(s.r, 2.0, enuc(&s, 2, 2, A1, Z1));
  CHECK_CLOSE(s.lam[0], 1.0, 1e-6);
  CHECK_CLOSE(s.lam[1], 1.0, 1e-6);
  /* D2: plus W12 >= 1: unique W = [[1,1],[1,1]], value 2, lambda = (1,1,0) (degenerate) */
  double A2[] = {1, 0, 0, 1, 1, 0}, Z2[] = {1, 0, 0, 1, 0, 1}, b2[] = {1, 1, 1};
  solve_nuc(&s, 3, 2, A2, Z2, b2, NULL);
  CHECK(s.r.status == HM_SVM_OPTIMAL);
  CHECK_BRACKET(s.r, 2.0, enuc(&s, 3, 2, A2, Z2));
  for (int i = 0; i < 4; i++) CHECK_CLOSE(s.x[i], 1.0, 1e-3); /* W ~ sqrt(gap) accurate */
  CHECK_CLOSE(s.lam[2], 0.0, 1e-4);
  /* C2 (d = 4, orthogonal constraints): W = 1/2 (e1-e2) e1^T + 1/2 (e3-e4) e3^T */
  double A3[] = {1, -1, 0, 0, 0, 0, 1, -1}, Z3[] = {1, 0, 0, 0, 0, 0, 1, 0}, b3[] = {1, 1};
  solve_nuc(&s, 2, 4, A3, Z3, b3, NULL);
  CHECK_BRACKET(s.r, sqrt(2.0), enuc(&s, 2, 4, A3, Z3));
  CHECK_CLOSE(s.x[0 * 4 + 0], 0.5, 1e-7);
  CHECK_CLOSE(s.x[1 * 4 + 0], -0.5, 1e-7);
  CHECK_CLOSE(s.x[2 * 4 + 2], 0.5, 1e-7);
  CHECK_CLOSE(s.x[3 * 4 + 2], -0.5, 1e-7);
  CHECK(s.ex.rank == 2);
}

static void test_equality(void) {
  /* single equality a^T W z = c: W = c a z^T/(|a|^2 |z|^2), value |c|/(|a||z|) */
  double a[3] = {1, 2, -1}, z[3] = {0, 1, 1}, b[1] = {-2};
  unsigned char eq[1] = {1};
  sol s;
  solve_nuc(&s, 1, 3, a, z, b, eq);
  CHECK(s.st == HM_OK && s.r.status == HM_SVM_OPTIMAL);
  double na = fro(3, a), nz = fro(3, z);
  CHECK_BRACKET(s.r, 2.0 / (na * nz), enuc(&s, 1, 3, a, z));
  double Wx[9]; /* rank one again (see test_single) */
  for (size_t i = 0; i < 3; i++)
    for (size_t j = 0; j < 3; j++) Wx[i * 3 + j] = -2.0 * a[i] * z[j] / (na * na * nz * nz);
  CHECK(hm_cert_dist2(s.x, Wx, 9) <= hm_cert_distance(&s.r, enuc(&s, 1, 3, a, z)));
}

static void test_random(void) {
  static double A[MAXM * MAXD], Z[MAXM * MAXD], b[MAXM], A2[MAXM * MAXD], Z2[MAXM * MAXD];
  static sol s, t, f;
  hm_rng g;
  hm_rng_seed(&g, 20261123);
  size_t n = 5, T = 5, d = 10, m = n * (T - 1);
  for (int rep = 0; rep < 3; rep++) {
    rand_inst(&g, n, T, d, A, Z, b);
    solve_nuc(&s, m, d, A, Z, b, NULL);
    CHECK(s.st == HM_OK && s.r.status == HM_SVM_OPTIMAL);
    CHECK(s.r.rel_gap <= 1e-6 && s.r.rel_gap >= -1e-12);
    CHECK_CLOSE(s.r.margin, 1.0 / s.r.objective, 1e-15);
    CHECK(s.r.lower_bound == s.r.dual_objective);
    CHECK(s.r.primal_infeas <= 1e-12);
    CHECK(s.r.stationarity <= 1e-6);
    CHECK(s.ex.rank >= 1 && s.ex.rank <= s.ex.dual_rank);
    CHECK(s.ex.rank < (int)n); /* nuclear solutions have low rank (theory.md §C.3) */
    CHECK_CLOSE(s.ex.dual_spectral, 1.0, 1e-6);
    /* returned objective is the nuclear norm of the returned, exactly feasible W */
    CHECK_CLOSE(s.r.objective, nucnorm(d, s.x), 1e-12);
    /* cross-check: ADMM with SVT */
    solve_admm(&t, m, d, A, Z, b);
    CHECK(t.st == HM_OK && t.r.status == HM_SVM_OPTIMAL);
    double e = fmax(enuc(&s, m, d, A, Z), enuc(&t, m, d, A, Z));
    CHECK_AGREE(t.r, s.r, e);
    /* Frobenius solution: norm inequalities of solvers.md §3.5 (each solution is feasible for
     * the other problem, so each certified lower bound is below the other's norm) */
    solve_fro(&f, m, d, A, Z, b);
    CHECK(f.r.status == HM_SVM_OPTIMAL);
    e = fmax(e, enuc(&f, m, d, A, Z));
    CHECK(hm_cert_lb(&s.r) <= nucnorm(d, f.x) * (1 + 3 * e));
    CHECK(hm_cert_lb(&f.r) <= fro(d * d, s.x) * (1 + 3 * e));
    /* scaling: x -> c x, z -> c z gives W / c^2 */
    for (size_t i = 0; i < m * d; i++) {
      A2[i] = 3.0 * A[i];
      Z2[i] = 3.0 * Z[i];
    }
    solve_nuc(&t, m, d, A2, Z2, b, NULL);
    hm_svm_result t9 = hm_cert_scaled(&t.r, 9.0);
    CHECK_AGREE(t9, s.r, e);
    /* right-hand sides scaled by 1e-6: W and the value scale, lambda does not */
    {
      static double bs[MAXM];
      for (size_t k = 0; k < m; k++) bs[k] = 1e-6 * b[k];
      solve_nuc(&t, m, d, A, Z, bs, NULL);
      CHECK(t.r.status == HM_SVM_OPTIMAL && t.r.rel_gap <= 1e-6);
      hm_svm_result tm = hm_cert_scaled(&t.r, 1e6);
      CHECK_AGREE(tm, s.r, e);
      for (size_t k = 0; k < m; k++) CHECK(fabs(t.lam[k] - s.lam[k]) <= 1e-4 * (1 + fabs(s.lam[k])));
      solve_fro(&t, m, d, A, Z, bs);
      CHECK(t.r.status == HM_SVM_OPTIMAL);
      tm = hm_cert_scaled(&t.r, 1e6);
      CHECK_AGREE(tm, f.r, e);
    }
    /* permuting the constraints (reverse order) */
    for (size_t k = 0; k < m; k++) {
      memcpy(A2 + k * d, A + (m - 1 - k) * d, d * sizeof(double));
      memcpy(Z2 + k * d, Z + (m - 1 - k) * d, d * sizeof(double));
    }
    solve_nuc(&t, m, d, A2, Z2, b, NULL);
    CHECK_AGREE(t.r, s.r, e);
  }
  /* all z equal (C3): nuclear = Frobenius, rank one */
  rand_inst(&g, n, T, d, A, Z, b);
  for (size_t k = 0; k < m; k++) memcpy(Z + k * d, Z, d * sizeof(double));
  solve_nuc(&s, m, d, A, Z, b, NULL);
  solve_fro(&f, m, d, A, Z, b);
  CHECK(s.r.status == HM_SVM_OPTIMAL && f.r.status == HM_SVM_OPTIMAL);
  CHECK_AGREE(s.r, f.r, fmax(enuc(&s, m, d, A, Z), enuc(&f, m, d, A, Z)));
  CHECK(s.ex.rank == 1);
}

static void test_bench_size(void) {
  /* n = 6, T = 8, d = 10: 42 constraints (the benchmark size) */
  static double A[MAXM * MAXD], Z[MAXM * MAXD], b[MAXM];
  static sol s;
  hm_rng g;
  hm_rng_seed(&g, 7);
  rand_inst(&g, 6, 8, 10, A, Z, b);
  solve_nuc(&s, 42, 10, A, Z, b, NULL);
  CHECK(s.r.status == HM_SVM_OPTIMAL && s.r.rel_gap <= 1e-6);
  CHECK(s.r.iterations <= 40);
}

static void test_infeasible(void) {
  sol s;
  /* duplicate token: zero row */
  double A1[] = {1, 0, 0, 0}, Z1[] = {1, 0, 1, 0}, b1[] = {1, 1};
  solve_nuc(&s, 2, 2, A1, Z1, b1, NULL);
  CHECK(s.st == HM_OK && s.r.status == HM_SVM_INFEASIBLE);
  CHECK(s.fk[0] == 0 && s.fk[1] == 1);
  CHECK(isinf(s.r.objective));
  /* same zero row with b = 0: dropped, feasible */
  double b1z[] = {1, 0};
  solve_nuc(&s, 2, 2, A1, Z1, b1z, NULL);
  CHECK(s.r.status == HM_SVM_OPTIMAL);
  CHECK_CLOSE(s.r.objective, 1.0, 1e-8);
  /* d = 1: w >= 1 and -w >= 1 */
  double A2[] = {1, -1}, Z2[] = {1, 1}, b2[] = {1, 1};
  solve_nuc(&s, 2, 1, A2, Z2, b2, NULL);
  CHECK(s.r.status == HM_SVM_INFEASIBLE);
  check_farkas(2, 1, A2, Z2, b2, s.fk);
  CHECK_CLOSE(s.fk[0], 0.5, 1e-9);
  /* d = 1 feasible: w >= 1, 2 w >= 1 -> w = 1 */
  double A2f[] = {1, 2};
  solve_nuc(&s, 2, 1, A2f, Z2, b2, NULL);
  CHECK(s.r.status == HM_SVM_OPTIMAL);
  CHECK_CLOSE(s.x[0], 1.0, 1e-8);
  /* F2: three directions at 120 degrees */
  double r3 = sqrt(3.0) / 2;
  double A3[] = {1, 0, -0.5, r3, -0.5, -r3}, Z3[] = {1, 0, 1, 0, 1, 0}, b3[] = {1, 1, 1};
  solve_nuc(&s, 3, 2, A3, Z3, b3, NULL);
  CHECK(s.r.status == HM_SVM_INFEASIBLE);
  check_farkas(3, 2, A3, Z3, b3, s.fk);
  CHECK(s.r.farkas_residual <= 1e-9);
  CHECK(s.ex.farkas_residual <= 1e-9);
  for (int k = 0; k < 3; k++) CHECK_CLOSE(s.fk[k], 1.0 / 3, 1e-7);
  /* random infeasible: d = 2, n = 10, T = 6 */
  static double A[MAXM * MAXD], Z[MAXM * MAXD], b[MAXM];
  hm_rng g;
  hm_rng_seed(&g, 3);
  int ninf = 0;
  for (int rep = 0; rep < 4; rep++) {
    rand_inst(&g, 10, 6, 2, A, Z, b);
    solve_nuc(&s, 50, 2, A, Z, b, NULL);
    CHECK(s.st == HM_OK);
    if (s.r.status == HM_SVM_INFEASIBLE) {
      ninf++;
      check_farkas(50, 2, A, Z, b, s.fk);
      CHECK(s.r.farkas_residual <= 1e-9);
      static sol l;
      hm_wcons c = {50, 2, A, Z, b, NULL};
      memset(&l, 0, sizeof l);
      l.r.x = l.x;
      l.r.lambda = l.lam;
      l.r.farkas = l.fk;
      CHECK(hm_svm_lp_w(&c, 1.5, NULL, &l.r, NULL) == HM_OK);
      CHECK(l.r.status == HM_SVM_INFEASIBLE);
      check_farkas(50, 2, A, Z, b, l.fk);
    } else {
      CHECK(s.r.status == HM_SVM_OPTIMAL && s.r.rel_gap <= 1e-6);
    }
  }
  CHECK(ninf >= 2);
  /* ADMM reports the same infeasibility */
  solve_admm(&s, 2, 1, A2, Z2, b2);
  CHECK(s.r.status == HM_SVM_INFEASIBLE);
}

static void test_bad_input(void) {
  sol s;
  double A[] = {1, NAN}, Z[] = {1, 0}, b[] = {1};
  solve_nuc(&s, 1, 2, A, Z, b, NULL);
  CHECK(s.st == HM_ENONFINITE);
  double A2[] = {1, 0}, b2[] = {INFINITY};
  solve_nuc(&s, 1, 2, A2, Z, b2, NULL);
  CHECK(s.st == HM_ENONFINITE);
  /* empty constraint set: W = 0 */
  solve_nuc(&s, 0, 2, NULL, NULL, NULL, NULL);
  CHECK(s.st == HM_OK && s.r.status == HM_SVM_OPTIMAL && s.r.objective == 0);
  /* only b <= 0 rows: W = 0 */
  double bz[] = {0};
  solve_nuc(&s, 1, 2, A2, Z, bz, NULL);
  CHECK(s.st == HM_OK && s.r.status == HM_SVM_OPTIMAL && s.r.objective == 0);
}

int main(void) {
  test_single();
  test_appendix3();
  test_faces();
  test_equality();
  test_random();
  test_bench_size();
  test_infeasible();
  test_bad_input();
  return hm_test_report("test_svm_nuclear");
}
