/* Small dense kernels of the conic solvers (hm_svm_small.h) and hm_conic_eigmin against
 * CBLAS / LAPACK on random matrices of the sizes the nuclear IPM uses (2d up to 60, m up to
 * 256) and on edge cases (n = 0, 1, 2, a diagonal matrix, an indefinite matrix). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include <lapacke.h>

#include "hm_rng.h"
#include "hm_svm_conic_impl.h"
#include "hm_svm_small.h"
#include "hm_test.h"

#define NMAX 64

static hm_rng g;

static void randn(size_t n, double *x) {
  for (size_t i = 0; i < n; i++) x[i] = hm_rng_normal(&g);
}

/* random symmetric positive definite A = R R^T + n I */
/* Tolerances of the kernel-vs-LAPACK comparisons (docs/testing.md): two backward-stable
 * computations in other orders differ by their forward errors. A = R R^T + n I has
 * eigenvalues in ~[n, 5n] (kappa <= 5), so Cholesky factors agree within ~ n kappa eps |L|
 * (n <= 60, |L| <= sqrt(5n): <= 1.2e-12, checked at 1e-12 sqrt(max|A|) ~ 8e-12), solves and
 * G A = I within ~ n kappa^2 eps (<= 1e-12, checked at 1e-11); a product of K terms of
 * N(0,1) entries within 2 K eps sum|a b| ~ 1.3 K^2 eps (<= 1e-13 (K + 1) for K <= 340). */
static void rand_spd(size_t n, double *A) {
  double R[NMAX * NMAX];
  randn(n * n, R);
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)n, (int)n, 1.0, R, (int)n,
              R, (int)n, 0.0, A, (int)n);
  for (size_t i = 0; i < n; i++) A[i * n + i] += (double)n;
}

static void rand_sym(size_t n, double *A) {
  randn(n * n, A);
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < i; j++) A[j * n + i] = A[i * n + j];
}

static double maxabs(size_t n, const double *x) {
  double s = 0;
  for (size_t i = 0; i < n; i++) s = fmax(s, fabs(x[i]));
  return s;
}

static void test_mm(void) {
  /* below and above the BLAS threshold, with leading dimensions larger than the width */
  static const size_t dims[][3] = {{1, 1, 1}, {3, 5, 2}, {42, 10, 10}, {42, 42, 10},
                                   {20, 20, 20}, {7, 9, 13}, {60, 60, 60}, {5, 3, 0}};
  static double A[NMAX * (NMAX + 3)], B[NMAX * (NMAX + 5)], C[NMAX * (NMAX + 2)],
      R[NMAX * (NMAX + 2)];
  for (size_t t = 0; t < sizeof dims / sizeof dims[0]; t++) {
    size_t M = dims[t][0], N = dims[t][1], K = dims[t][2];
    size_t lda = K + 3, ldb = N + 5, ldc = N + 2;
    randn(M * lda, A);
    randn((K ? K : 1) * ldb, B);
    for (size_t i = 0; i < M * ldc; i++) C[i] = R[i] = 7.0; /* padding must survive */
    double alpha = (t % 2) ? -1.0 : 1.0;
    hm_sm_mm(M, N, K, alpha, A, lda, B, ldb, C, ldc);
    for (size_t i = 0; i < M; i++)
      for (size_t j = 0; j < N; j++) {
        double s = 0;
        for (size_t k = 0; k < K; k++) s += A[i * lda + k] * B[k * ldb + j];
        R[i * ldc + j] = alpha * s;
      }
    double err = 0;
    for (size_t i = 0; i < M * ldc; i++) err = fmax(err, fabs(C[i] - R[i]));
    CHECK(err <= 1e-13 * (double)(K + 1));
  }
  double T[6] = {1, 2, 3, 4, 5, 6}, Tt[6];
  hm_sm_transpose(2, 3, T, Tt);
  CHECK(Tt[0] == 1 && Tt[1] == 4 && Tt[2] == 2 && Tt[3] == 5 && Tt[4] == 3 && Tt[5] == 6);
}

static void test_chol(void) {
  static const size_t ns[] = {1, 2, 3, 10, 20, 42, 60};
  static double A[NMAX * NMAX], L[NMAX * NMAX], Lref[NMAX * NMAX], G[NMAX * NMAX],
      W[NMAX * NMAX], P[NMAX * NMAX];
  double c[NMAX], x[NMAX], b[NMAX], xr[NMAX];
  for (size_t t = 0; t < sizeof ns / sizeof ns[0]; t++) {
    size_t n = ns[t];
    rand_spd(n, A);
    memcpy(L, A, n * n * sizeof(double));
    memcpy(Lref, A, n * n * sizeof(double));
    CHECK(hm_sm_chol(n, L, c) == 0);
    CHECK(LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, 'U', (lapack_int)n, Lref, (lapack_int)n) == 0);
    double err = 0;
    for (size_t i = 0; i < n; i++)
      for (size_t j = 0; j <= i; j++) err = fmax(err, fabs(L[i * n + j] - Lref[i * n + j]));
    CHECK(err <= 1e-12 * sqrt(maxabs(n * n, A)));
    /* the strict upper triangle is untouched */
    int same = 1;
    for (size_t i = 0; i < n; i++)
      for (size_t j = i + 1; j < n; j++) same &= L[i * n + j] == A[i * n + j];
    CHECK(same);
    /* solve */
    randn(n, b);
    memcpy(x, b, n * sizeof(double));
    memcpy(xr, b, n * sizeof(double));
    hm_sm_chol_solve(n, L, x);
    LAPACKE_dpotrs_work(LAPACK_COL_MAJOR, 'U', (lapack_int)n, 1, Lref, (lapack_int)n, xr,
                        (lapack_int)n);
    for (size_t i = 0; i < n; i++) CHECK_CLOSE(x[i], xr[i], 1e-11);
    /* inverse: G A = I */
    hm_sm_chol_inv(n, L, G, W);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)n, (int)n, 1.0, G,
                (int)n, A, (int)n, 0.0, P, (int)n);
    double ierr = 0, asym = 0;
    for (size_t i = 0; i < n; i++)
      for (size_t j = 0; j < n; j++) {
        ierr = fmax(ierr, fabs(P[i * n + j] - (i == j ? 1.0 : 0.0)));
        asym = fmax(asym, fabs(G[i * n + j] - G[j * n + i]));
      }
    CHECK(ierr <= 1e-11);
    CHECK(asym == 0);
    /* the same factor through the conic wrappers (regularized Cholesky, solve; below and
     * above their LAPACK threshold) */
    memcpy(P, A, n * n * sizeof(double));
    CHECK(hm_conic_chol_reg_small(n, P, W) == HM_OK);
    memcpy(x, b, n * sizeof(double));
    hm_conic_potrs_small(n, P, x);
    for (size_t i = 0; i < n; i++) CHECK_CLOSE(x[i], xr[i], 1e-11);
  }
  /* not positive definite: LAPACK's info convention (order of the failing minor) */
  double I3[9] = {1, 0, 0, 0, 1, 0, 0, 0, -1};
  CHECK(hm_sm_chol(3, I3, c) == 3);
  double Z2[4] = {0, 0, 0, 1};
  CHECK(hm_sm_chol(2, Z2, c) == 1);
  double N2[4] = {NAN, 0, 0, 1};
  CHECK(hm_sm_chol(2, N2, c) == 1);
  CHECK(hm_sm_chol(0, N2, c) == 0);
}

/* ascending eigenvalues of the symmetric X through LAPACK */
static void eig_ref(size_t n, const double *X, double *w) {
  static double T[NMAX * NMAX];
  memcpy(T, X, n * n * sizeof(double));
  CHECK(LAPACKE_dsyev(LAPACK_ROW_MAJOR, 'N', 'L', (lapack_int)n, T, (lapack_int)n, w) == 0);
}

static void test_congruence_tridiag(void) {
  static const size_t ns[] = {1, 2, 3, 5, 20, 41, 60};
  static double A[NMAX * NMAX], L[NMAX * NMAX], X[NMAX * NMAX], B[NMAX * NMAX],
      T[NMAX * NMAX], P[NMAX * NMAX];
  double c[NMAX], w[NMAX], wt[NMAX], dd[NMAX], e[NMAX], wk[70 * NMAX];
  for (size_t t = 0; t < sizeof ns / sizeof ns[0]; t++) {
    size_t n = ns[t];
    rand_spd(n, A);
    memcpy(L, A, n * n * sizeof(double));
    CHECK(hm_sm_chol(n, L, c) == 0);
    rand_sym(n, X);
    hm_sm_congruence(n, L, X, B);
    /* L B L^T = X (with L's strict upper part zeroed) */
    for (size_t i = 0; i < n; i++)
      for (size_t j = i + 1; j < n; j++) L[i * n + j] = 0;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)n, (int)n, 1.0, L,
                (int)n, B, (int)n, 0.0, T, (int)n);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)n, (int)n, 1.0, T,
                (int)n, L, (int)n, 0.0, P, (int)n);
    double err = 0;
    for (size_t i = 0; i < n * n; i++) err = fmax(err, fabs(P[i] - X[i]));
    CHECK(err <= 1e-11 * (double)n);
    int sym = 1;
    for (size_t i = 0; i < n; i++)
      for (size_t j = 0; j < i; j++) sym &= B[i * n + j] == B[j * n + i];
    CHECK(sym);
    /* tridiagonalization keeps the spectrum (upper triangle garbage must not matter) */
    eig_ref(n, B, w);
    memcpy(T, B, n * n * sizeof(double));
    for (size_t i = 0; i < n; i++)
      for (size_t j = i + 1; j < n; j++) T[i * n + j] = 1e300;
    hm_sm_tridiag(n, T, dd, e, wk);
    memset(P, 0, n * n * sizeof(double));
    for (size_t i = 0; i < n; i++) {
      P[i * n + i] = dd[i];
      if (i + 1 < n) P[(i + 1) * n + i] = P[i * n + i + 1] = e[i];
    }
    eig_ref(n, P, wt);
    double scale = fmax(fabs(w[0]), fabs(w[n - 1]));
    for (size_t i = 0; i < n; i++) CHECK(fabs(w[i] - wt[i]) <= 1e-12 * scale * (double)n);
    /* eigmin: a lower bound within 1e-7 of the spectral range */
    double lmin = 0;
    memcpy(T, B, n * n * sizeof(double));
    CHECK(hm_conic_eigmin(n, T, wk, wk + n, &lmin) == 0);
    double range = w[n - 1] - w[0] + 4 * scale; /* Gershgorin range is at most this wide */
    CHECK(lmin <= w[0] + 1e-13 * scale);
    CHECK(lmin >= w[0] - 1.1e-7 * range);
  }
  /* already tridiagonal / diagonal input: columns with nothing to eliminate */
  double D[16] = {4, 0, 0, 0, 0, -2, 0, 0, 0, 0, 3, 0, 0, 0, 0, 1};
  hm_sm_tridiag(4, D, dd, e, wk);
  CHECK(dd[0] == 4 && dd[1] == -2 && dd[2] == 3 && dd[3] == 1);
  CHECK(e[0] == 0 && e[1] == 0 && e[2] == 0);
  double one = 5, lmin = 0;
  CHECK(hm_conic_eigmin(1, &one, wk, wk + 1, &lmin) == 0);
  CHECK(lmin <= 5 && lmin >= 5 - 1e-6);
  double bad[4] = {NAN, 0, 0, 1};
  CHECK(hm_conic_eigmin(2, bad, wk, wk + 2, &lmin) != 0);
  double bad3[9] = {1, 0, NAN, 0, 1, 0, NAN, 0, 1}; /* the NaN hides behind a zero pivot */
  CHECK(hm_conic_eigmin(3, bad3, wk, wk + 3, &lmin) != 0);
}

int main(void) {
  hm_rng_seed(&g, 20261123);
  test_mm();
  test_chol();
  test_congruence_tridiag();
  return hm_test_report("test_svm_small");
}
