/* Small dense kernels of the conic SVM solvers (see hm_svm_small.h). */
#include "hm_svm_small.h"

#include <math.h>
#include <string.h>

#include <cblas.h>

/* The loops are compiled twice, for AVX2 and for the baseline ISA (SSE2); the loader picks
 * one at start-up (GCC function multiversioning). No FMA contraction (-std=c11 implies
 * -ffp-contract=off) and no reassociation, so both versions round identically. */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define HM_SM_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define HM_SM_CLONES
#endif

/* Products stay with OpenBLAS: measured, its dgemm is as fast as register-blocked C loops
 * already at 20x20x20 (0.59 vs 0.58 us) and faster at 42x42x10 (1.29 vs 1.52 us) and in the
 * whole nuclear solve at d = 20 (4.3 vs 4.7 ms); the LAPACK routines are what costs at these
 * sizes (hence the kernels below). */
void hm_sm_mm(size_t M, size_t N, size_t K, double alpha, const double *A, size_t lda,
              const double *B, size_t ldb, double *C, size_t ldc) {
  if (M == 0 || N == 0) return;
  if (K == 0) {
    for (size_t i = 0; i < M; i++) memset(C + i * ldc, 0, N * sizeof(double));
    return;
  }
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, (int)N, (int)K, alpha, A,
              (int)lda, B, (int)ldb, 0.0, C, (int)ldc);
}

void hm_sm_transpose(size_t rows, size_t cols, const double *A, double *At) {
  for (size_t i = 0; i < rows; i++)
    for (size_t j = 0; j < cols; j++) At[j * rows + i] = A[i * cols + j];
}

HM_SM_CLONES int hm_sm_chol(size_t n, double *A, double *c) {
  /* right-looking: after column j is final, the trailing lower triangle gets the rank-one
   * update A_ik -= L_ij L_kj (k <= i), row by row with the column copied to c */
  for (size_t j = 0; j < n; j++) {
    const double s = A[j * n + j];
    if (!(s > 0)) return (int)j + 1;
    const double ljj = sqrt(s), inv = 1.0 / ljj;
    A[j * n + j] = ljj;
    for (size_t i = j + 1; i < n; i++) c[i] = A[i * n + j] *= inv;
    for (size_t i = j + 1; i < n; i++) {
      double *restrict ai = A + i * n;
      const double a = c[i];
      for (size_t k = j + 1; k <= i; k++) ai[k] -= a * c[k];
    }
  }
  return 0;
}

HM_SM_CLONES void hm_sm_chol_solve(size_t n, const double *L, double *x) {
  for (size_t i = 0; i < n; i++) { /* L y = x */
    const double *li = L + i * n;
    double t = x[i];
    for (size_t k = 0; k < i; k++) t -= li[k] * x[k];
    x[i] = t / li[i];
  }
  for (size_t i = n; i-- > 0;) { /* L^T x = y */
    const double *restrict li = L + i * n;
    const double xi = x[i] / li[i];
    x[i] = xi;
    for (size_t k = 0; k < i; k++) x[k] -= li[k] * xi;
  }
}

void hm_sm_chol_inv(size_t n, const double *L, double *G, double *work) {
  /* work = L^{-1} (lower triangular), row i has entries 0..i */
  memset(work, 0, n * n * sizeof(double));
  for (size_t i = 0; i < n; i++) {
    double *restrict xi = work + i * n;
    const double *li = L + i * n;
    xi[i] = 1.0;
    for (size_t k = 0; k < i; k++) {
      const double a = li[k];
      const double *restrict xk = work + k * n;
      for (size_t j = 0; j <= k; j++) xi[j] -= a * xk[j];
    }
    const double inv = 1.0 / li[i];
    for (size_t j = 0; j <= i; j++) xi[j] *= inv;
  }
  /* G = L^{-T} L^{-1} = sum_k x_k x_k^T over the rows x_k of L^{-1}: lower triangle */
  memset(G, 0, n * n * sizeof(double));
  for (size_t k = 0; k < n; k++) {
    const double *restrict xk = work + k * n;
    for (size_t i = 0; i <= k; i++) {
      const double a = xk[i];
      double *restrict gi = G + i * n;
      for (size_t j = 0; j <= i; j++) gi[j] += a * xk[j];
    }
  }
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < i; j++) G[j * n + i] = G[i * n + j];
}

void hm_sm_congruence(size_t n, const double *L, const double *X, double *B) {
  /* two triangular solves (OpenBLAS's dtrsm beats forward substitution in C here: 2.3 vs
   * 2.8 us at n = 20, 24 vs 53 us at n = 60) */
  memcpy(B, X, n * n * sizeof(double));
  cblas_dtrsm(CblasRowMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, (int)n, (int)n,
              1.0, L, (int)n, B, (int)n);
  cblas_dtrsm(CblasRowMajor, CblasRight, CblasLower, CblasTrans, CblasNonUnit, (int)n, (int)n,
              1.0, L, (int)n, B, (int)n);
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < i; j++) {
      double v = 0.5 * (B[i * n + j] + B[j * n + i]);
      B[i * n + j] = B[j * n + i] = v;
    }
}

HM_SM_CLONES void hm_sm_tridiag(size_t n, double *B, double *d, double *e, double *work) {
  /* only the lower triangle (j <= i) is read and updated */
  if (n == 0) return;
  double *restrict v = work, *restrict p = work + n;
  for (size_t k = 0; k + 2 < n; k++) {
    const size_t r = n - k - 1, o = k + 1;
    d[k] = B[k * n + k];
    double s = 0, tot = 0;
    for (size_t i = 0; i < r; i++) {
      v[i] = B[(o + i) * n + k]; /* column k below the diagonal */
      const double a = fabs(v[i]);
      if (a > s) s = a; /* not fmax: a libm call without -ffinite-math-only */
      tot += a;
    }
    if (!isfinite(tot)) { /* NaN / Inf: pass it on (the maximum above skips a NaN) */
      e[k] = tot;
      continue;
    }
    double sig = 0;
    if (s > 0)
      for (size_t i = 1; i < r; i++) sig += (v[i] / s) * (v[i] / s);
    if (!(s > 0) || sig == 0) {
      e[k] = v[0];
      continue;
    }
    /* Householder vector v (scaled by 1/s): H x = alpha e_1, H = I - beta v v^T */
    const double x0 = v[0] / s, nrm = sqrt(x0 * x0 + sig);
    const double alpha = x0 <= 0 ? nrm : -nrm;
    for (size_t i = 1; i < r; i++) v[i] /= s;
    v[0] = x0 - alpha;
    const double beta = 2.0 / (v[0] * v[0] + sig);
    e[k] = alpha * s;
    /* p = beta S v (S = trailing block, lower triangle), K = beta/2 v.p, w = p - K v,
     * S -= v w^T + w v^T */
    for (size_t i = 0; i < r; i++) p[i] = 0;
    for (size_t i = 0; i < r; i++) {
      const double *restrict si = B + (o + i) * n + o;
      const double vi = v[i];
      double t = 0;
      for (size_t j = 0; j < i; j++) {
        t += si[j] * v[j];
        p[j] += si[j] * vi;
      }
      p[i] += t + si[i] * vi;
    }
    double vp = 0;
    for (size_t i = 0; i < r; i++) {
      p[i] *= beta;
      vp += v[i] * p[i];
    }
    const double K = 0.5 * beta * vp;
    for (size_t i = 0; i < r; i++) p[i] -= K * v[i];
    for (size_t i = 0; i < r; i++) {
      double *restrict si = B + (o + i) * n + o;
      const double vi = v[i], wi = p[i];
      for (size_t j = 0; j <= i; j++) si[j] -= vi * p[j] + wi * v[j];
    }
  }
  if (n >= 2) {
    d[n - 2] = B[(n - 2) * n + n - 2];
    e[n - 2] = B[(n - 1) * n + n - 2];
  }
  d[n - 1] = B[(n - 1) * n + n - 1];
}
