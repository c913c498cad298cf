/* Equality rows in the QP family (hm_svm_eq.c): closed forms, the Farkas certificate with a
 * free entry, and random problems against the same problem written as two b = 0 rows. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hm_rng.h"
#include "hm_svm.h"
#include "hm_svm_conic.h"
#include "hm_test.h"

static hm_svm_result mkres(double *x, double *l, double *f) {
  hm_svm_result r;
  memset(&r, 0, sizeof r);
  r.x = x;
  r.lambda = l;
  r.farkas = f;
  return r;
}

int main(void) {
  for (int method = 0; method <= 2; method++) {
    hm_svm_opts o;
    hm_svm_opts_default(&o);
    o.method = method;
    /* x1 >= 1, x1 - x2 = 0: x = (1, 1) = 2 (1, 0) - 1 (1, -1), so lambda = 2, mu = -1 */
    double F[] = {1, 0, 1, -1}, b[] = {1, 0}, x[2], l[2], f[2];
    unsigned char eq[] = {0, 1};
    hm_vcons c = {2, 2, 0, F, b, eq};
    hm_svm_result r = mkres(x, l, f);
    CHECK(hm_svm_qp_vec(&c, &o, &r) == HM_OK);
    CHECK(r.status == HM_SVM_OPTIMAL);
    CHECK_CLOSE(x[0], 1, 1e-12);
    CHECK_CLOSE(x[1], 1, 1e-12);
    CHECK_CLOSE(l[0], 2, 1e-9);
    CHECK_CLOSE(l[1], -1, 1e-9);
    CHECK_CLOSE(r.objective, sqrt(2.0), 1e-12);
    CHECK(r.rel_gap <= 1e-9 && r.eq_residual <= 1e-15 && r.stationarity <= 1e-9);

    /* the same as a W problem, d = 2: W11 >= 1 (a = z = e1), W11 - W21 = 0 (a = e1 - e2,
     * z = e1): W = [[1, 0], [1, 0]] */
    double A[] = {1, 0, 1, -1}, Z[] = {1, 0, 1, 0}, W[4], lw[2], fw[2];
    hm_wcons wc = {2, 2, A, Z, b, eq};
    r = mkres(W, lw, fw);
    CHECK(hm_svm_qp_w(&wc, &o, &r) == HM_OK);
    CHECK(r.status == HM_SVM_OPTIMAL);
    double We[] = {1, 0, 1, 0};
    for (int j = 0; j < 4; j++) CHECK_CLOSE(W[j], We[j], 1e-12);
    CHECK_CLOSE(lw[0], 2, 1e-9);
    CHECK_CLOSE(lw[1], -1, 1e-9);
    CHECK(hm_svm_eq_residual_w(&wc, W) <= 1e-15);

    /* infeasible: x1 >= 1 with x1 = 0; certificate (1, -1): 1 e1 - 1 e1 = 0, b^T = 1 */
    double Fi[] = {1, 0, 1, 0};
    hm_vcons ci = {2, 2, 0, Fi, b, eq};
    r = mkres(x, l, f);
    CHECK(hm_svm_qp_vec(&ci, &o, &r) == HM_OK);
    CHECK(r.status == HM_SVM_INFEASIBLE);
    CHECK_CLOSE(f[0], 1, 1e-12);
    CHECK_CLOSE(f[1], -1, 1e-12);
    CHECK(r.farkas_residual <= 1e-12);
    /* a negative entry on an inequality row is not a certificate; on an equality it is */
    double bad[] = {-1, 1};
    CHECK(isinf(hm_svm_farkas_residual_eq_w(&wc, bad)));
  }

  /* equality rhs must be 0; a bias with equalities is not supported */
  {
    double F[] = {1, 0, 1, -1}, b[] = {1, 0.5}, x[2], l[2], f[2];
    unsigned char eq[] = {0, 1};
    hm_vcons c = {2, 2, 0, F, b, eq};
    hm_svm_result r = mkres(x, l, f);
    CHECK(hm_svm_qp_vec(&c, NULL, &r) == HM_EARG);
    double b0[] = {1, 0};
    hm_vcons cb = {2, 2, 1, F, b0, eq};
    CHECK(hm_svm_qp_vec(&cb, NULL, &r) == HM_EARG);
  }

  /* random W problems: m1 inequality rows, m2 equalities, against the two-sided b = 0 form
   * (an independent formulation through the inequality-only driver) and the nuclear IPM's
   * equality rows against the same two-sided form */
  hm_rng g;
  int n_opt = 0, n_inf = 0;
  hm_rng_seed(&g, 13);
  for (int trial = 0; trial < 20; trial++) {
    size_t d = 3 + (size_t)(trial % 4), m1 = 4 + (size_t)(trial % 5), m2 = 1 + (size_t)(trial % 3);
    size_t m = m1 + m2, mt = m1 + 2 * m2;
    double *A = malloc(mt * d * sizeof *A), *Z = malloc(mt * d * sizeof *Z);
    double *b = malloc(mt * sizeof *b), *W1 = malloc(d * d * sizeof *W1),
           *W2 = malloc(d * d * sizeof *W2);
    double *l1 = malloc(mt * sizeof *l1), *f1 = malloc(mt * sizeof *f1);
    double *l2 = malloc(mt * sizeof *l2), *f2 = malloc(mt * sizeof *f2);
    unsigned char *eq = calloc(mt, 1);
    for (size_t k = 0; k < m; k++) {
      for (size_t j = 0; j < d; j++) {
        A[k * d + j] = hm_rng_normal(&g);
        Z[k * d + j] = hm_rng_normal(&g);
      }
      b[k] = k < m1 ? 1 : 0;
      eq[k] = k >= m1;
    }
    hm_wcons c = {m, d, A, Z, b, eq};
    hm_svm_result r1 = mkres(W1, l1, f1);
    CHECK(hm_svm_qp_w(&c, NULL, &r1) == HM_OK);
    /* two-sided form: rows m1..m-1 become >= 0, then their negatives >= 0 */
    for (size_t k = 0; k < m2; k++) {
      for (size_t j = 0; j < d; j++) {
        A[(m + k) * d + j] = -A[(m1 + k) * d + j];
        Z[(m + k) * d + j] = Z[(m1 + k) * d + j];
      }
      b[m + k] = 0;
    }
    hm_wcons c2 = {mt, d, A, Z, b, NULL};
    hm_svm_result r2 = mkres(W2, l2, f2);
    CHECK(hm_svm_qp_w(&c2, NULL, &r2) == HM_OK);
    CHECK(r1.status == r2.status);
    if (r1.status == HM_SVM_OPTIMAL && r2.status == HM_SVM_OPTIMAL) {
      /* both certified within 1e-9 in the 1/2 norm^2 scale */
      CHECK_CLOSE(r1.objective, r2.objective, 2e-9);
      CHECK(r1.eq_residual <= 1e-12);
      CHECK(r1.stationarity <= 1e-8);
      double dw = 0, wn = 0;
      for (size_t j = 0; j < d * d; j++) {
        dw += (W1[j] - W2[j]) * (W1[j] - W2[j]);
        wn += W2[j] * W2[j];
      }
      /* strong convexity: |W1 - W2|^2 <= (UB1 - LB) + (UB2 - LB) in the norm^2 scale */
      CHECK(sqrt(dw) <= 1e-4 * sqrt(wn));
      double *Wn = malloc(d * d * sizeof *Wn), *ln = malloc(m * sizeof *ln), *fn = malloc(m * sizeof *fn);
      hm_svm_result rn = mkres(Wn, ln, fn);
      CHECK(hm_svm_nuclear(&c, NULL, &rn) == HM_OK);
      CHECK(rn.status == HM_SVM_OPTIMAL || rn.status == HM_SVM_INACCURATE);
      CHECK(hm_svm_eq_residual_w(&c, Wn) <= 1e-6);
      free(Wn);
      free(ln);
      free(fn);
      n_opt++;
    } else if (r1.status == HM_SVM_INFEASIBLE) {
      n_inf++;
      CHECK(r1.farkas_residual <= 1e-9);
      CHECK(hm_svm_farkas_residual_eq_w(&c, f1) <= 1e-9);
    }
    free(A);
    free(Z);
    free(b);
    free(W1);
    free(W2);
    free(l1);
    free(f1);
    free(l2);
    free(f2);
    free(eq);
  }
  CHECK(n_opt >= 10); /* the random family is mostly feasible: the comparison ran */
  printf("random: %d optimal, %d infeasible\n", n_opt, n_inf);
  return hm_test_report("test_svm_eq");
}
