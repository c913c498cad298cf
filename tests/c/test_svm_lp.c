/* Entrywise l_p SVMs (hm_svm_lp_w, hm_svm_lp_vec): Hoelder closed forms (theory.md §C.8),
 * the Appendix item 3 vertex, p = 2 against the Frobenius dual QP, v-SVM closed forms,
 * optimality inequalities, certified gaps, infeasibility, bad input. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hm_rng.h"
#include "hm_svm_conic.h"
#include "hm_test.h"
#include "hm_test_cert.h"

#define MAXM 128
#define MAXN 144

typedef struct sol {
  hm_status st;
  hm_svm_result r;
  double x[MAXN], lam[MAXM], fk[MAXM];
} sol;

static void lpw(sol *s, size_t m, size_t d, const double *A, const double *Z, const double *b,
                double p) {
  hm_wcons c = {m, d, A, Z, b, NULL};
  memset(s, 0, sizeof *s);
  s->r.x = s->x;
  s->r.lambda = s->lam;
  s->r.farkas = s->fk;
  s->st = hm_svm_lp_w(&c, p, NULL, &s->r, NULL);
}

static void lpv(sol *s, size_t m, size_t N, const double *F, const double *b, double p) {
  hm_vcons c = {m, N, 0, F, b, NULL};
  memset(s, 0, sizeof *s);
  s->r.x = s->x;
  s->r.lambda = s->lam;
  s->r.farkas = s->fk;
  s->st = hm_svm_lp_vec(&c, p, NULL, &s->r);
}

static double pnorm(size_t n, const double *x, double p) {
  double t = 0;
  for (size_t j = 0; j < n; j++) t += pow(fabs(x[j]), p);
  return pow(t, 1.0 / p);
}

/* Endpoint rounding of an l_p solve (hm_cert_rounding with the margins' kappa taken with
 * |x|_2 <= sqrt(N) |x|_p, N = dimension; pow adds a few ulps, inside the constant 2). */
static double elp(const sol *s, size_t m, size_t N, double fmax) {
  hm_svm_result r = s->r;
  r.objective *= sqrt((double)N);
  return hm_cert_rounding(&r, m, N, fmax, 0);
}

static void test_holder(void) {
  double ps[3] = {1.5, 1.75, 3};
  double a[3] = {1, -2, 3}, z[3] = {0.5, 1, -1}, b[1] = {1};
  for (int i = 0; i < 3; i++) {
    double p = ps[i], q = p / (p - 1), Aq = 0, Aent[9];
    for (int r = 0; r < 3; r++)
      for (int c = 0; c < 3; c++) {
        Aent[r * 3 + c] = a[r] * z[c];
        Aq += pow(fabs(Aent[r * 3 + c]), q);
      }
    sol s;
    lpw(&s, 1, 3, a, z, b, p);
    CHECK(s.st == HM_OK && s.r.status == HM_SVM_OPTIMAL);
    double fa = hm_cert_fmax(a, 1, 3) * hm_cert_fmax(z, 1, 3);
    CHECK_BRACKET(s.r, 1.0 / pow(Aq, 1.0 / q), elp(&s, 1, 9, fa));
    CHECK(s.r.rel_gap <= 1e-9);
    for (int j = 0; j < 9; j++) {
      double e = (Aent[j] < 0 ? -1 : 1) * pow(fabs(Aent[j]), q - 1) / Aq;
      CHECK_CLOSE(s.x[j], e, 1e-10);
    }
    /* vector version (L1 of solvers.md §4) */
    double f[4] = {2, -1, 0.5, 0}, fq = 0;
    for (int j = 0; j < 4; j++) fq += pow(fabs(f[j]), q);
    lpv(&s, 1, 4, f, b, p);
    CHECK(s.r.status == HM_SVM_OPTIMAL);
    CHECK_BRACKET(s.r, 1.0 / pow(fq, 1.0 / q), elp(&s, 1, 4, hm_cert_fmax(f, 1, 4)));
    for (int j = 0; j < 4; j++)
      CHECK_CLOSE(s.x[j], (f[j] < 0 ? -1 : 1) * pow(fabs(f[j]), q - 1) / fq, 1e-10);
  }
}

static void test_appendix3(void) {
  double A[] = {0, 1, 1, 0, -0.5, -1.5, 1.5, -1}, Z[] = {1, 0, 1, 0, 0, 1, 0, 1};
  double b[] = {1, 1, 1, 1};
  double Wx[] = {1, 2.0 / 11, 1, -8.0 / 11};
  double ps[4] = {1.5, 2, 3, 6};
  for (int i = 0; i < 4; i++) {
    sol s;
    lpw(&s, 4, 2, A, Z, b, ps[i]);
    CHECK(s.r.status == HM_SVM_OPTIMAL && s.r.rel_gap <= 1e-9);
    for (int j = 0; j < 4; j++) CHECK_CLOSE(s.x[j], Wx[j], 1e-8);
    CHECK_BRACKET(s.r, pnorm(4, Wx, ps[i]), elp(&s, 4, 4, 1.8027756377319946 /* |(1.5,-1)| */));
  }
}

static void test_vec_closed_forms(void) {
  sol s;
  /* C.6 data as rows y_i x_i: (1,1), (-1,1), (0.5,1): v = (0,1) for every p */
  double F[] = {1, 1, -1, 1, 0.5, 1}, b[] = {1, 1, 1};
  double ps[4] = {1.3, 2, 3, 5};
  for (int i = 0; i < 4; i++) {
    lpv(&s, 3, 2, F, b, ps[i]);
    CHECK(s.r.status == HM_SVM_OPTIMAL && s.r.rel_gap <= 1e-9);
    CHECK_CLOSE(s.x[0], 0.0, 1e-8);
    CHECK_CLOSE(s.x[1], 1.0, 1e-8);
    CHECK_BRACKET(s.r, 1.0, elp(&s, 3, 2, sqrt(2.0)));
  }
  /* B5: rows (1,1), (1,-1), (0.5,1) at p = 2: p* = (4/3, 1/3), lambda = (0, 7/9, 10/9) */
  double F5[] = {1, 1, 1, -1, 0.5, 1};
  lpv(&s, 3, 2, F5, b, 2.0);
  CHECK(s.r.status == HM_SVM_OPTIMAL);
  CHECK_CLOSE(s.x[0], 4.0 / 3, 1e-9);
  CHECK_CLOSE(s.x[1], 1.0 / 3, 1e-9);
  CHECK_BRACKET(s.r, sqrt(17.0) / 3, elp(&s, 3, 2, sqrt(2.0)));
  /* the certified multipliers are scaled for the norm (not its square): l2 dual gives
   * lambda* of 1/2 norm^2; l_p dual of norm_p: lambda_p = lambda_2 * ... check ratios */
  CHECK(fabs(s.lam[0]) <= 1e-8 * s.lam[2]);
  CHECK_CLOSE(s.lam[1] / s.lam[2], 0.7, 1e-7);
  /* B6: third row relaxed (b = 0): p = (1, 0) */
  double b6[] = {1, 1, 0};
  lpv(&s, 3, 2, F5, b6, 2.0);
  CHECK(s.r.status == HM_SVM_OPTIMAL);
  CHECK_CLOSE(s.x[0], 1.0, 1e-8);
  CHECK_CLOSE(s.x[1], 0.0, 1e-8);
}

/* Frobenius W-SVM through its dual QP with the rank-one Gram (independent formulation) */
static void fro_dual(size_t m, size_t d, const double *A, const double *Z, const double *b,
                     double *W, double *lam) {
  static double K[MAXM * MAXM], c[MAXM];
  for (size_t k = 0; k < m; k++) {
    c[k] = b[k];
    for (size_t l = 0; l < m; l++) {
      double aa = 0, zz = 0;
      for (size_t i = 0; i < d; i++) {
        aa += A[k * d + i] * A[l * d + i];
        zz += Z[k * d + i] * Z[l * d + i];
      }
      K[k * m + l] = aa * zz;
    }
  }
  int its = 0;
  hm_status st = hm_conic_qp(m, K, c, NULL, NULL, lam, 0, 1e-14, 1e-30, 200, &its);
  CHECK(st == HM_OK || st == HM_ENOCONV);
  memset(W, 0, d * d * sizeof(double));
  for (size_t k = 0; k < m; k++)
    for (size_t i = 0; i < d; i++)
      for (size_t j = 0; j < d; j++) W[i * d + j] += lam[k] * A[k * d + i] * Z[k * d + j];
}

static void test_random(void) {
  static double A[MAXM * 12], Z[MAXM * 12], b[MAXM], Wf[MAXN], lf[MAXM];
  static sol s2, sp;
  hm_rng g;
  hm_rng_seed(&g, 11);
  size_t n = 5, T = 5, d = 10, m = n * (T - 1);
  for (int rep = 0; rep < 2; rep++) {
    for (size_t i = 0; i < n; i++) {
      double z[12];
      for (size_t j = 0; j < d; j++) z[j] = hm_rng_normal(&g);
      for (size_t t = 0; t + 1 < T; t++) {
        size_t k = i * (T - 1) + t;
        for (size_t j = 0; j < d; j++) {
          A[k * d + j] = hm_rng_normal(&g);
          Z[k * d + j] = z[j];
        }
        b[k] = 1;
      }
    }
    /* p = 2 equals the Frobenius QP */
    lpw(&s2, m, d, A, Z, b, 2.0);
    CHECK(s2.r.status == HM_SVM_OPTIMAL && s2.r.rel_gap <= 1e-9);
    fro_dual(m, d, A, Z, b, Wf, lf);
    /* certify the independent dual QP's answer (solvers.md §3.1), then compare the two
     * certified solves: values within the brackets, W within the distance bounds */
    hm_wcons c = {m, d, A, Z, b, NULL};
    hm_svm_result rf;
    memset(&rf, 0, sizeof rf);
    rf.lambda = lf;
    CHECK(hm_svm_certify_w(&c, Wf, lf, &rf) == HM_OK);
    CHECK(rf.rel_gap <= 1e-9);
    double fw = 0;
    for (size_t k = 0; k < m; k++)
      fw = fmax(fw, hm_cert_fmax(A + k * d, 1, d) * hm_cert_fmax(Z + k * d, 1, d));
    double ef = fmax(hm_cert_rounding(&rf, m, d * d, fw, 0), elp(&s2, m, d * d, fw));
    CHECK_AGREE(s2.r, rf, ef);
    CHECK(hm_cert_dist2(s2.x, Wf, d * d) <= hm_cert_distance(&s2.r, ef) + hm_cert_distance(&rf, ef));
    double ps[4] = {1.5, 1.75, 3, 1.2};
    for (int i = 0; i < 4; i++) {
      double p = ps[i];
      lpw(&sp, m, d, A, Z, b, p);
      CHECK(sp.st == HM_OK && sp.r.status == HM_SVM_OPTIMAL);
      CHECK(sp.r.rel_gap <= 1e-9);
      CHECK(sp.r.primal_infeas <= 1e-12);
      CHECK(sp.r.stationarity <= 1e-8);
      CHECK_CLOSE(sp.r.objective, pnorm(d * d, sp.x, p), 1e-12);
      /* each solution is optimal for its own norm */
      /* each solution is feasible for the other norm's problem: certified lower bound <=
       * the other's norm (was objective <= ... (1 + 1e-9): as tight as the requested gap) */
      double e = fmax(elp(&sp, m, d * d, fw), elp(&s2, m, d * d, fw));
      CHECK(hm_cert_lb(&sp.r) <= pnorm(d * d, s2.x, p) * (1 + 3 * e));
      CHECK(hm_cert_lb(&s2.r) <= pnorm(d * d, sp.x, 2) * (1 + 3 * e));
    }
  }
}

static void test_infeasible_and_bad(void) {
  sol s;
  /* F3: p >= 1 and -p >= 1 */
  double F[] = {1, -1}, b[] = {1, 1};
  lpv(&s, 2, 1, F, b, 3.0);
  CHECK(s.st == HM_OK && s.r.status == HM_SVM_INFEASIBLE);
  CHECK_CLOSE(s.fk[0], 0.5, 1e-9);
  CHECK_CLOSE(s.fk[1], 0.5, 1e-9);
  /* F5 relaxed: p1 - p2 >= 1 and p2 - p1 >= 0 */
  double F5[] = {1, -1, -1, 1}, b5[] = {1, 0};
  lpv(&s, 2, 2, F5, b5, 1.5);
  CHECK(s.r.status == HM_SVM_INFEASIBLE);
  CHECK_CLOSE(s.fk[0], 1.0, 1e-9);
  CHECK_CLOSE(s.fk[1], 1.0, 1e-9);
  /* W: duplicate token (zero row) */
  double A[] = {0, 0, 1, 0}, Z[] = {1, 0, 0, 1}, bw[] = {1, 1};
  lpw(&s, 2, 2, A, Z, bw, 1.5);
  CHECK(s.r.status == HM_SVM_INFEASIBLE && s.fk[0] == 1 && s.fk[1] == 0);
  /* bad p, NaN, bias */
  lpv(&s, 2, 1, F, b, 1.0);
  CHECK(s.st == HM_EARG);
  lpv(&s, 2, 1, F, b, INFINITY);
  CHECK(s.st == HM_EARG);
  lpv(&s, 2, 1, F, b, NAN);
  CHECK(s.st == HM_ENONFINITE);
  double Fn[] = {1, NAN};
  lpv(&s, 2, 1, Fn, b, 2.0);
  CHECK(s.st == HM_ENONFINITE);
  hm_vcons c = {2, 1, 1, F, b, NULL};
  CHECK(hm_svm_lp_vec(&c, 2.0, NULL, &s.r) == HM_EARG);
  /* empty */
  lpv(&s, 0, 3, NULL, NULL, 2.0);
  CHECK(s.st == HM_OK && s.r.status == HM_SVM_OPTIMAL && s.r.objective == 0);
}

int main(void) {
  test_holder();
  test_appendix3();
  test_vec_closed_forms();
  test_random();
  test_infeasible_and_bad();
  return hm_test_report("test_svm_lp");
}
