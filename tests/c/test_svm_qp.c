/* QP family: closed forms of solvers.md §4, infeasible certificates, IPM vs active set. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hm_rng.h"
#include "hm_svm.h"
#include "hm_test.h"
#include "hm_test_cert.h"

static hm_svm_result mkres(size_t N, size_t m, double *x, double *l, double *f) {
  hm_svm_result r;
  memset(&r, 0, sizeof r);
  r.x = x;
  r.lambda = l;
  r.farkas = f;
  return r;
}

static void vec_case(const double *F, const double *b, size_t m, size_t N, size_t nfree,
                     const double *xe, const double *le, int expect_status, int method) {
  double x[16], l[16], f[16];
  hm_vcons c = {m, N, nfree, F, b, NULL};
  hm_svm_opts o;
  hm_svm_opts_default(&o);
  o.method = method;
  hm_svm_result r = mkres(N, m, x, l, f);
  CHECK(hm_svm_qp_vec(&c, &o, &r) == HM_OK);
  CHECK(r.status == (hm_svm_status)expect_status);
  if (expect_status == HM_SVM_OPTIMAL) {
    for (size_t j = 0; j < N; j++) CHECK_CLOSE(x[j], xe[j], 1e-10);
    if (le)
      for (size_t k = 0; k < m; k++) CHECK_CLOSE(l[k], le[k], 1e-9);
    CHECK(r.rel_gap <= 1e-9);
  } else if (expect_status == HM_SVM_INFEASIBLE) {
    CHECK(r.farkas_residual <= 1e-9);
    if (le)
      for (size_t k = 0; k < m; k++) CHECK_CLOSE(f[k], le[k], 1e-9);
  }
}

int main(void) {
  for (int method = 0; method <= 2; method++) {
    /* A1 */
    double F1[] = {1, 0, 0, -1}, b1[] = {1, 1}, x1[] = {1, -1}, l1[] = {1, 1};
    vec_case(F1, b1, 2, 2, 0, x1, l1, 0, method);
    /* B5 */
    double F5[] = {1, 1, 1, -1, 0.5, 1}, b5[] = {1, 1, 1}, x5[] = {4.0 / 3, 1.0 / 3},
           l5[] = {0, 7.0 / 9, 10.0 / 9};
    vec_case(F5, b5, 3, 2, 0, x5, l5, 0, method);
    double b6[] = {1, 1, 0}, x6[] = {1, 0}, l6[] = {0.5, 0.5, 0};
    vec_case(F5, b6, 3, 2, 0, x6, l6, 0, method);
    /* B4 relaxed */
    double F4[] = {1, -1, 0, 1}, b4[] = {1, 0}, x4[] = {1, 0}, l4[] = {1, 1};
    vec_case(F4, b4, 2, 2, 0, x4, l4, 0, method);
    /* F2: 0 in the hull */
    double s3 = sqrt(3.0) / 2;
    double Ff[] = {1, 0, -0.5, s3, -0.5, -s3}, bf[] = {1, 1, 1}, lf[] = {1.0 / 3, 1.0 / 3, 1.0 / 3};
    vec_case(Ff, bf, 3, 2, 0, NULL, lf, 1, method);
    /* F5 */
    double F55[] = {1, -1, -1, 1}, b55[] = {1, 0}, l55[] = {1, 1};
    vec_case(F55, b55, 2, 2, 0, NULL, l55, 1, method);
  }
  for (int method = 0; method <= 1; method++) {
    /* A3 with bias: rows y_i [x_i; 1] */
    double F3[] = {2, 2, 1, 0, 0, -1}, b3[] = {1, 1}, x3[] = {0.5, 0.5, -1}, l3[] = {0.25, 0.25};
    vec_case(F3, b3, 2, 3, 1, x3, l3, 0, method);
    double F3b[] = {1, 0, 1, 1, 0, -1}, x3b[] = {1, 0, 0}, l3b[] = {0.5, 0.5};
    vec_case(F3b, b3, 2, 3, 1, x3b, l3b, 0, method);
    /* F1 with bias: x1 = x2 = (1,0), y = +1,-1 */
    double Fi[] = {1, 0, 1, -1, 0, -1}, li[] = {0.5, 0.5};
    vec_case(Fi, b3, 2, 3, 1, NULL, li, 1, method);
  }
  /* random W problems: IPM vs active set */
  hm_rng g;
  hm_rng_seed(&g, 7);
  for (int trial = 0; trial < 5; trial++) {
    size_t n = 6, T = 8, d = 10, m = n * (T - 1);
    double *A = malloc(m * d * sizeof *A), *Z = malloc(m * d * sizeof *Z), *b = malloc(m * sizeof *b);
    double z[10];
    for (size_t i = 0; i < n; i++) {
      for (size_t j = 0; j < d; j++) z[j] = hm_rng_normal(&g);
      for (size_t t = 0; t < T - 1; t++) {
        size_t k = i * (T - 1) + t;
        for (size_t j = 0; j < d; j++) {
          A[k * d + j] = hm_rng_normal(&g);
          Z[k * d + j] = z[j];
        }
        b[k] = 1;
      }
    }
    hm_wcons c = {m, d, A, Z, b, NULL};
    double W1[100], W2[100], l1[42], l2[42], f[42];
    hm_svm_opts o;
    hm_svm_opts_default(&o);
    o.method = HM_SVM_IPM;
    hm_svm_result r1 = mkres(100, m, W1, l1, f);
    CHECK(hm_svm_qp_w(&c, &o, &r1) == HM_OK);
    o.method = HM_SVM_ACTIVESET;
    hm_svm_result r2 = mkres(100, m, W2, l2, f);
    CHECK(hm_svm_qp_w(&c, &o, &r2) == HM_OK);
    CHECK(r1.status == HM_SVM_OPTIMAL && r2.status == HM_SVM_OPTIMAL);
    CHECK(r1.rel_gap <= 1e-9 && r2.rel_gap <= 1e-9);
    /* rows vec(a_k z_k^T): |f_k| = |a_k| |z_k| */
    double fw = 0;
    for (size_t k = 0; k < m; k++)
      fw = fmax(fw, hm_cert_fmax(A + k * d, 1, d) * hm_cert_fmax(Z + k * d, 1, d));
    double e = fmax(hm_cert_rounding(&r1, m, 100, fw, 0), hm_cert_rounding(&r2, m, 100, fw, 0));
    CHECK(fabs(r1.objective - r2.objective) <= hm_cert_agree_tol(&r1, &r2, e));
    CHECK(hm_cert_dist2(W1, W2, 100) <= hm_cert_distance(&r1, e) + hm_cert_distance(&r2, e));
    if (trial == 0)
      printf("W-SVM: obj %.15g gap %.2e / %.2e iters %d/%d kkt %.1e %.1e\n", r1.objective,
             r1.rel_gap, r2.rel_gap, r1.iterations, r2.iterations, r1.stationarity,
             r1.complementarity);
    free(A);
    free(Z);
    free(b);
  }
  /* builders: Appendix item 3 (alpha = (3, 1) 1-based) */
  {
    double X[] = {1, 0, 0, 1, 1, 1, 0.5, -1, 1, 0.5, -1, 0}, Z[] = {1, 0, 0, 1};
    size_t al[] = {2, 0}, smp[4], tok[4], m;
    double A[8], Zr[8], b[4], W[4], l[4], f[4];
    CHECK(hm_svm_build_w(X, 2, 3, 2, Z, 0, al, NULL, A, Zr, b, smp, tok, &m) == HM_OK);
    CHECK(m == 4 && smp[2] == 1 && tok[2] == 1 && tok[3] == 2);
    CHECK_CLOSE(A[0], 0, 0);
    CHECK_CLOSE(A[1], 1, 0);
    hm_wcons c = {m, 2, A, Zr, b, NULL};
    hm_svm_result r = mkres(4, 4, W, l, f);
    CHECK(hm_svm_qp_w(&c, NULL, &r) == HM_OK);
    CHECK_CLOSE(W[0], 1, 1e-12);
    CHECK_CLOSE(W[1], 2.0 / 11, 1e-12);
    CHECK_CLOSE(W[2], 1, 1e-12);
    CHECK_CLOSE(W[3], -8.0 / 11, 1e-12);
    size_t bad[] = {3, 0};
    CHECK(hm_svm_build_w(X, 2, 3, 2, Z, 0, bad, NULL, A, Zr, b, smp, tok, &m) == HM_EARG);
    CHECK(hm_svm_build_w(X, 2, 3, 2, NULL, 3, al, NULL, A, Zr, b, smp, tok, &m) == HM_EARG);
  }
  /* Gen-SVM E2: tokens e1, e2, 0; O = {1, 2}; z = e1 -> W_dir = [[1,0],[1,0]], W_fin = 0 */
  {
    double X[] = {1, 0, 0, 1, 0, 0}, Z[] = {1, 0}, lg[] = {0, 0, -30};
    unsigned char sel[] = {1, 1, 0};
    double Wf[4], Wd[4], We[4], l[9], f[9];
    hm_svm_gen_result g2;
    memset(&g2, 0, sizeof g2);
    g2.Wfin = Wf;
    g2.Wdir = Wd;
    g2.Weq = We;
    g2.dir.lambda = l;
    g2.dir.farkas = f;
    CHECK(hm_svm_gen(X, 1, 3, 2, Z, 0, sel, NULL, lg, NULL, &g2) == HM_OK);
    CHECK(g2.n_eq == 1 && g2.n_ineq == 2 && g2.eq_rank == 1);
    CHECK(g2.dir.status == HM_SVM_OPTIMAL);
    double e2[] = {1, 0, 1, 0};
    for (int j = 0; j < 4; j++) {
      CHECK_CLOSE(Wd[j], e2[j], 1e-10);
      CHECK_CLOSE(Wf[j], 0, 1e-14);
    }
    CHECK(isnan(g2.R));
  }
  /* working-set IPM (tall vector problems): agreement with the plain primal IPM and the
   * active set, with and without bias; the certificate covers every row; infeasible data */
  {
    hm_rng g2;
    hm_rng_seed(&g2, 2024);
    for (int trial = 0; trial < 4; trial++) {
      size_t N0 = 12 + 4 * (size_t)trial, m = 700;
      for (int bias = 0; bias <= 1; bias++) {
        size_t N = N0 + (size_t)bias;
        double *F = malloc(m * N * sizeof *F), *b = malloc(m * sizeof *b), *v = malloc(N0 * sizeof *v);
        double *x1 = malloc(N * sizeof *x1), *x2 = malloc(N * sizeof *x2), *x3 = malloc(N * sizeof *x3);
        double *l1 = malloc(m * sizeof *l1), *l2 = malloc(m * sizeof *l2), *l3 = malloc(m * sizeof *l3);
        double *fk = malloc(m * sizeof *fk), *mg = malloc(m * sizeof *mg);
        for (size_t j = 0; j < N0; j++) v[j] = hm_rng_normal(&g2);
        for (size_t k = 0; k < m; k++) {
          double sdot = 0;
          for (size_t j = 0; j < N0; j++) {
            F[k * N + j] = hm_rng_normal(&g2);
            sdot += F[k * N + j] * v[j];
          }
          double y = sdot + (bias ? 0.7 : 0) > 0 ? 1 : -1;
          for (size_t j = 0; j < N0; j++) F[k * N + j] *= y;
          if (bias) F[k * N + N0] = y;
          b[k] = 1;
        }
        hm_vcons c = {m, N, (size_t)bias, F, b, NULL};
        hm_svm_opts o;
        hm_svm_opts_default(&o);
        o.form = 2;
        o.wset = 2;
        hm_svm_result r1 = mkres(N, m, x1, l1, fk);
        r1.margins = mg;
        CHECK(hm_svm_qp_vec(&c, &o, &r1) == HM_OK);
        o.wset = 1;
        hm_svm_result r2 = mkres(N, m, x2, l2, fk);
        CHECK(hm_svm_qp_vec(&c, &o, &r2) == HM_OK);
        CHECK(r1.status == HM_SVM_OPTIMAL && r2.status == HM_SVM_OPTIMAL);
        CHECK(r1.rel_gap <= 1e-9 && r2.rel_gap <= 1e-9);
        double fv = hm_cert_fmax(F, m, N);
        double beta = bias ? fmax(fabs(x1[N0]), fabs(x2[N0])) : 0;
        double e = fmax(hm_cert_rounding(&r1, m, N, fv, beta), hm_cert_rounding(&r2, m, N, fv, beta));
        CHECK(fabs(r1.objective - r2.objective) <= hm_cert_agree_tol(&r1, &r2, e));
        CHECK(hm_cert_agree_tol(&r1, &r2, e) <= 1e-9 * r2.objective); /* still sharp */
        /* the distance bound holds for the penalized part only (the bias is free) */
        CHECK(hm_cert_dist2(x1, x2, N0) <= hm_cert_distance(&r1, e) + hm_cert_distance(&r2, e));
        /* every row, not only a working set: margins >= 1 (exactly feasible after the
         * rescaling), multipliers >= 0, and an independent re-certification on all rows
         * reproduces the bracket */
        double minm = INFINITY, minl = INFINITY;
        for (size_t k = 0; k < m; k++) {
          minm = fmin(minm, mg[k]);
          minl = fmin(minl, l1[k]);
        }
        CHECK(minm >= 1 - 1e-12);
        CHECK(minl >= 0);
        hm_svm_result rc;
        memset(&rc, 0, sizeof rc);
        CHECK(hm_svm_certify_vec(&c, x1, l1, &rc) == HM_OK);
        CHECK(rc.rel_gap <= 1e-9);
        /* the same x and lambda re-certified: the endpoints move by rounding only (x was
         * rescaled to margin 1 after r1's certificate) */
        CHECK(fabs(rc.objective - r1.objective) <= 3 * e * r1.objective);
        CHECK(fabs(rc.lower_bound - r1.lower_bound) <= 3 * e * r1.objective);
        if (!bias) {
          o.method = HM_SVM_ACTIVESET;
          o.wset = 0;
          hm_svm_result r3 = mkres(N, m, x3, l3, fk);
          CHECK(hm_svm_qp_vec(&c, &o, &r3) == HM_OK);
          CHECK(r3.status == HM_SVM_OPTIMAL);
          CHECK(fabs(r1.objective - r3.objective) <=
                hm_cert_agree_tol(&r1, &r3, fmax(e, hm_cert_rounding(&r3, m, N, fv, 0))));
        }
        if (trial == 0 && !bias)
          printf("working set m=%zu N=%zu: obj %.15g gap %.2e iters %d (plain IPM %d)\n", m, N,
                 r1.objective, r1.rel_gap, r1.iterations, r2.iterations);
        /* infeasible: flip some labels (rows -f) so that no separator exists */
        for (size_t k = 0; k < m; k += 7)
          for (size_t j = 0; j < N; j++) F[k * N + j] = -F[(k + 1) * N + j];
        o.method = HM_SVM_AUTO;
        o.wset = 2;
        hm_svm_result r4 = mkres(N, m, x3, l3, fk);
        CHECK(hm_svm_qp_vec(&c, &o, &r4) == HM_OK);
        CHECK(r4.status == HM_SVM_INFEASIBLE);
        CHECK(r4.farkas_residual <= 1e-9);
        CHECK(hm_svm_farkas_residual_vec(&c, fk) <= 1e-9);
        double bl = 0, fmin_ = INFINITY;
        for (size_t k = 0; k < m; k++) {
          bl += b[k] * fk[k];
          fmin_ = fmin(fmin_, fk[k]);
        }
        CHECK(fmin_ >= 0);
        CHECK_CLOSE(bl, 1, 1e-12);
        free(F);
        free(b);
        free(v);
        free(x1);
        free(x2);
        free(x3);
        free(l1);
        free(l2);
        free(l3);
        free(fk);
        free(mg);
      }
    }
  }
  /* rank with relative tolerance */
  {
    double M[] = {1, 0, 0, 0, 1e-8, 0, 0, 0, 0}, sv[3], gap;
    int rk;
    CHECK(hm_svm_rank(M, 3, 3, 1e-6, &rk, &gap, sv) == HM_OK);
    CHECK(rk == 1);
    CHECK_CLOSE(gap, 1e-8, 1e-6);
    CHECK(hm_svm_rank(M, 3, 3, 1e-10, &rk, &gap, sv) == HM_OK);
    CHECK(rk == 2);
  }
  return hm_test_report("test_svm_qp");
}
