/* Core linear algebra: identities and hand-computed values, status codes.
 * Tolerances (docs/testing.md): the matrices are hand-made, 2x2 .. 3x3, entries <= 5 and
 * well conditioned; LAPACK is backward stable, |error| <= p(n) eps |A| with p(n) ~ n, so
 * values and reconstructions agree within ~ n^2 eps |A| <= 1e-14 (45 eps), and the wide and
 * QR reconstructions (one more product) within 1e-13. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "hm_linalg.h"
#include "hm_test.h"

static double maxdiff(const double *a, const double *b, size_t n) {
  double d = 0;
  for (size_t i = 0; i < n; i++)
    if (fabs(a[i] - b[i]) > d) d = fabs(a[i] - b[i]);
  return d;
}

static void test_svd(void) {
  /* 3 x 2 with singular values 4 and 3 */
  double a[6] = {3, 0, 0, -4, 0, 0}, U[6], S[2], Vt[4], R[6];
  CHECK(hm_svd(3, 2, a, 0, U, S, Vt) == HM_OK);
  CHECK_CLOSE(S[0], 4, 1e-14);
  CHECK_CLOSE(S[1], 3, 1e-14);
  /* U diag(S) Vt == a */
  for (size_t i = 0; i < 3; i++)
    for (size_t j = 0; j < 2; j++) {
      double s = 0;
      for (size_t k = 0; k < 2; k++) s += U[i * 2 + k] * S[k] * Vt[k * 2 + j];
      R[i * 2 + j] = s;
    }
  CHECK(maxdiff(R, a, 6) < 1e-14);
  double S2[2];
  CHECK(hm_svd(3, 2, a, 0, NULL, S2, NULL) == HM_OK && maxdiff(S, S2, 2) < 1e-14);
  double Uf[9], Vf[4];
  CHECK(hm_svd(3, 2, a, 1, Uf, S2, Vf) == HM_OK);
  /* the dgesvd fallback (taken when dgesdd does not converge) gives the same answer */
  for (int full = 0; full <= 1; full++) {
    double U1[9], S1[2], V1[4], U2[9], S3[2], V2[4];
    CHECK(hm_svd(3, 2, a, full, U1, S1, V1) == HM_OK);
    hm_svd_force_fallback(1);
    CHECK(hm_svd(3, 2, a, full, U2, S3, V2) == HM_OK);
    double S4[2];
    CHECK(hm_svd(3, 2, a, full, NULL, S4, NULL) == HM_OK);
    hm_svd_force_fallback(0);
    size_t nu = full ? 9 : 6, nv = 4;
    /* singular vectors are unique up to sign here (distinct singular values) */
    double d = 0;
    for (size_t i = 0; i < nu && !full; i++) d = fmax(d, fabs(fabs(U1[i]) - fabs(U2[i])));
    for (size_t i = 0; i < nv; i++) d = fmax(d, fabs(fabs(V1[i]) - fabs(V2[i])));
    CHECK(d < 1e-14);
    CHECK(maxdiff(S1, S3, 2) < 1e-14 && maxdiff(S1, S4, 2) < 1e-14);
  }
  double wide[6] = {1, 2, 3, 4, 5, 6}, Uw[4], Sw[2], Vw[6], Sw2[2], Uw2[4], Vw2[6];
  CHECK(hm_svd(2, 3, wide, 0, Uw, Sw, Vw) == HM_OK);
  hm_svd_force_fallback(1);
  CHECK(hm_svd(2, 3, wide, 0, Uw2, Sw2, Vw2) == HM_OK);
  hm_svd_force_fallback(0);
  CHECK(maxdiff(Sw, Sw2, 2) < 1e-13);
  double Rw[6];
  for (size_t i = 0; i < 2; i++)
    for (size_t j = 0; j < 3; j++)
      Rw[i * 3 + j] = Uw2[i * 2] * Sw2[0] * Vw2[j] + Uw2[i * 2 + 1] * Sw2[1] * Vw2[3 + j];
  CHECK(maxdiff(Rw, wide, 6) < 1e-13);
  double bad[2] = {1, NAN};
  CHECK(hm_svd(1, 2, bad, 0, NULL, S2, NULL) == HM_ENONFINITE);
}

static void test_eigh(void) {
  double a[4] = {2, 1, 1, 2}, w[2], V[4];
  CHECK(hm_eigh(2, a, w, V) == HM_OK);
  CHECK_CLOSE(w[0], 1, 1e-14);
  CHECK_CLOSE(w[1], 3, 1e-14);
  CHECK_CLOSE(fabs(V[0]), sqrt(0.5), 1e-14);
  CHECK(hm_asymmetry(2, a) == 0);
  double b[4] = {1, 2, 3, 1};
  CHECK(hm_asymmetry(2, b) == 1);
}

static void test_solve_inv_det(void) {
  double a[4] = {2, 1, 1, 3}, b[2] = {3, 5}, x[2], rc;
  CHECK(hm_solve(2, 1, a, b, x, &rc) == HM_OK);
  CHECK_CLOSE(x[0], 0.8, 1e-14);
  CHECK_CLOSE(x[1], 1.4, 1e-14);
  CHECK(rc > 0.1);
  double inv[4], want[4] = {0.6, -0.2, -0.2, 0.4};
  CHECK(hm_inv(2, a, inv, NULL) == HM_OK && maxdiff(inv, want, 4) < 1e-14);
  double s[4] = {1, 2, 2, 4};
  CHECK(hm_solve(2, 1, s, b, x, &rc) == HM_ESINGULAR);
  CHECK(hm_inv(2, s, inv, NULL) == HM_ESINGULAR);
  double n3[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, inv3[9];
  CHECK(hm_inv(3, n3, inv3, &rc) == HM_ESINGULAR && rc < 3 * DBL_EPSILON);
  double d;
  CHECK(hm_det(2, a, &d) == HM_OK);
  CHECK_CLOSE(d, 5, 1e-14);
  CHECK(hm_det(2, s, &d) == HM_OK && d == 0);
  double p[4] = {0, 1, 1, 0};
  CHECK(hm_det(2, p, &d) == HM_OK && d == -1);
}

static void test_lstsq_pinv(void) {
  double T[6] = {1, 0, 1, 1, 1, 2}, y[3] = {1, 3, 4}, x[2], S[2];
  size_t r;
  CHECK(hm_lstsq(3, 2, 1, T, y, -1, x, S, &r) == HM_OK && r == 2);
  CHECK_CLOSE(x[0], 7.0 / 6, 1e-13);
  CHECK_CLOSE(x[1], 1.5, 1e-13);
  double s[4] = {1, 2, 2, 4}, P[4], want[4] = {0.04, 0.08, 0.08, 0.16};
  CHECK(hm_pinv(2, 2, s, 1e-12, P) == HM_OK && maxdiff(P, want, 4) < 1e-14);
  double u[2] = {1, 1}, b[1] = {2}, z[2];
  CHECK(hm_lstsq(1, 2, 1, u, b, -1, z, NULL, &r) == HM_OK && r == 1);
  CHECK_CLOSE(z[0], 1, 1e-14);
}

static void test_qr_chol(void) {
  double a[6] = {1, 2, 3, 4, 5, 6}, Q[6], R[4]; /* 3 x 2 */
  CHECK(hm_qr(3, 2, a, Q, R) == HM_OK);
  CHECK(R[2] == 0);
  double QR[6];
  for (size_t i = 0; i < 3; i++)
    for (size_t j = 0; j < 2; j++) QR[i * 2 + j] = Q[i * 2] * R[j] + Q[i * 2 + 1] * R[2 + j];
  CHECK(maxdiff(QR, a, 6) < 1e-13);
  double spd[4] = {4, 2, 2, 5}, L[4], want[4] = {2, 0, 1, 2};
  CHECK(hm_chol(2, spd, L) == HM_OK && maxdiff(L, want, 4) < 1e-14);
  double ind[4] = {1, 2, 2, 1};
  CHECK(hm_chol(2, ind, L) == HM_ESINGULAR);
}

static void test_gemm(void) {
  /* C = A^T B with A 2x2, B 2x2 */
  double A[4] = {1, 2, 3, 4}, B[4] = {1, 0, 0, 1}, C[4];
  CHECK(hm_gemm(1, 0, 2, 2, 2, 1.0, A, B, 0.0, C) == HM_OK);
  CHECK(C[0] == 1 && C[1] == 3 && C[2] == 2 && C[3] == 4);
  double v[2] = {1, 1}, o[2];
  CHECK(hm_gemm(0, 0, 2, 1, 2, 2.0, A, v, 0.0, o) == HM_OK && o[0] == 6 && o[1] == 14);
}

int main(void) {
  test_svd();
  test_eigh();
  test_solve_inv_det();
  test_lstsq_pinv();
  test_qr_chol();
  test_gemm();
  return hm_test_report("linalg");
}
