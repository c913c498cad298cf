#include "hm_linalg.h"

#include <cblas.h>
#include <float.h>
#include <lapacke.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hm_interrupt.h"

#define FITS(x) ((x) <= (size_t)INT_MAX)
#define LD(x) ((lapack_int)((x) > 0 ? (x) : 1))

static hm_status lapack_status(lapack_int info) {
  if (info == LAPACK_WORK_MEMORY_ERROR || info == LAPACK_TRANSPOSE_MEMORY_ERROR)
    return HM_ENOMEM;
  if (info < 0) return HM_ELAPACK;
  return HM_OK;
}

static double *dup(const double *a, size_t n) {
  double *p = (double *)malloc((n ? n : 1) * sizeof(double));
  if (p && n) memcpy(p, a, n * sizeof(double));
  return p;
}

hm_status hm_matmul_shape(const hm_mat *A, const hm_mat *B, int *rank, size_t *dim) {
  int ra = A->rank, rb = B->rank;
  size_t ka = A->dim[ra - 1];
  if (ra == 1 && rb == 2) {
    if (ka != B->dim[0]) return HM_ESHAPE;
    *rank = 1; dim[0] = B->dim[1];
  } else if (ra == 2 && rb == 1) {
    if (ka != B->dim[0]) return HM_ESHAPE;
    *rank = 1; dim[0] = A->dim[0];
  } else if (ra == 2 && rb == 2) {
    if (ka != B->dim[0]) return HM_ESHAPE;
    *rank = 2; dim[0] = A->dim[0]; dim[1] = B->dim[1];
  } else if (ra == 3 && rb == 1) {
    if (ka != B->dim[0]) return HM_ESHAPE;
    *rank = 2; dim[0] = A->dim[0]; dim[1] = A->dim[1];
  } else if (ra == 3 && rb == 2) {
    if (ka != B->dim[0]) return HM_ESHAPE;
    *rank = 3; dim[0] = A->dim[0]; dim[1] = A->dim[1]; dim[2] = B->dim[1];
  } else if (ra == 3 && rb == 3) {
    if (A->dim[0] != B->dim[0] || ka != B->dim[1]) return HM_ESHAPE;
    *rank = 3; dim[0] = A->dim[0]; dim[1] = A->dim[1]; dim[2] = B->dim[2];
  } else {
    return HM_ESHAPE;
  }
  return HM_OK;
}

hm_status hm_gemm(int ta, int tb, size_t m, size_t n, size_t k, double alpha, const double *A,
                  const double *B, double beta, double *C) {
  if (!FITS(m) || !FITS(n) || !FITS(k)) return HM_ENOMEM;
  if (m == 0 || n == 0) return HM_OK;
  if (k == 0) {
    for (size_t i = 0; i < m * n; i++) C[i] = beta == 0.0 ? 0.0 : beta * C[i];
    return HM_OK;
  }
  size_t lda = ta ? m : k, ldb = tb ? k : n;
  if (n == 1 && !tb) {
    /* matrix-vector: faster path */
    if (ta) cblas_dgemv(CblasRowMajor, CblasTrans, (int)k, (int)m, alpha, A, (int)lda, B, 1,
                        beta, C, 1);
    else cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)m, (int)k, alpha, A, (int)lda, B, 1,
                     beta, C, 1);
    return HM_OK;
  }
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
              (int)m, (int)n, (int)k, alpha, A, (int)lda, B, (int)ldb, beta, C, (int)n);
  return HM_OK;
}

hm_status hm_matmul(const hm_mat *A, const hm_mat *B, hm_mat *C) {
  int r;
  size_t d[3];
  hm_status s = hm_matmul_shape(A, B, &r, d);
  if (s != HM_OK) return s;
  int ra = A->rank, rb = B->rank;
  size_t k = A->dim[ra - 1];
  if (ra == 1 && rb == 2) /* x^T B = (B^T x)^T */
    return hm_gemm(1, 0, B->dim[1], 1, k, 1.0, B->data, A->data, 0.0, C->data);
  if (rb == 1) /* (rows of A) x k times k-vector */
    return hm_gemm(0, 0, hm_mat_rows(A), 1, k, 1.0, A->data, B->data, 0.0, C->data);
  if (ra == 2 || (ra == 3 && rb == 2)) /* one gemm on the (a*b) x k view */
    return hm_gemm(0, 0, hm_mat_rows(A), B->dim[1], k, 1.0, A->data, B->data, 0.0, C->data);
  /* rank 3 x rank 3: batched */
  size_t nb = A->dim[0], m = A->dim[1], n = B->dim[2];
  for (size_t b = 0; b < nb; b++) {
    if ((b & 63) == 63 && hm_interrupted()) return HM_EINTR;
    s = hm_gemm(0, 0, m, n, k, 1.0, A->data + b * m * k, B->data + b * k * n, 0.0,
                C->data + b * m * n);
    if (s != HM_OK) return s;
  }
  return HM_OK;
}

static int force_gesvd = 0;
void hm_svd_force_fallback(int on) { force_gesvd = on; }

static void identity(size_t n, double *E) {
  memset(E, 0, n * n * sizeof(double));
  for (size_t i = 0; i < n; i++) E[i * n + i] = 1.0;
}

hm_status hm_svd(size_t m, size_t n, const double *A, int full, double *U, double *S,
                 double *Vt) {
  if (!FITS(m) || !FITS(n)) return HM_ENOMEM;
  size_t k = m < n ? m : n;
  int vec = U != NULL && Vt != NULL;
  if (k == 0) {
    if (vec && full) { identity(m, U); identity(n, Vt); }
    return HM_OK;
  }
  if (!hm_all_finite(A, m * n)) return HM_ENONFINITE;
  double *a = dup(A, m * n);
  if (!a) return HM_ENOMEM;
  size_t ucols = full ? m : k, vrows = full ? n : k;
  char job = vec ? (full ? 'A' : 'S') : 'N';
  double dummy[1] = {0};
  /* The row-major m x n array is the column-major n x m matrix A^T = V S U^T: a
   * column-major SVD of it returns V^T's row-major layout in its "U" and U's in its "VT",
   * with no transposition copies. */
  lapack_int info = force_gesvd ? 1
                    : LAPACKE_dgesdd(LAPACK_COL_MAJOR, job, (lapack_int)n, (lapack_int)m, a,
                                     LD(n), S, vec ? Vt : dummy, vec ? LD(n) : 1,
                                     vec ? U : dummy, vec ? LD(ucols) : 1);
  if (info > 0) { /* dgesdd did not converge: fall back to QR-iteration dgesvd */
    memcpy(a, A, m * n * sizeof(double));
    double *superb = (double *)malloc(k * sizeof(double));
    if (!superb) { free(a); return HM_ENOMEM; }
    info = LAPACKE_dgesvd(LAPACK_COL_MAJOR, job, job, (lapack_int)n, (lapack_int)m, a, LD(n),
                          S, vec ? Vt : dummy, vec ? LD(n) : 1, vec ? U : dummy,
                          vec ? LD(ucols) : 1, superb);
    free(superb);
  }
  free(a);
  (void)vrows;
  if (info > 0) return HM_ENOCONV;
  return lapack_status(info);
}

double hm_asymmetry(size_t n, const double *A) {
  double d = 0.0;
  for (size_t i = 0; i < n; i++)
    for (size_t j = i + 1; j < n; j++) {
      double e = fabs(A[i * n + j] - A[j * n + i]);
      if (e > d || isnan(e)) d = e;
    }
  return d;
}

hm_status hm_eigh(size_t n, const double *A, double *w, double *V) {
  if (!FITS(n)) return HM_ENOMEM;
  if (n == 0) return HM_OK;
  if (!hm_all_finite(A, n * n)) return HM_ENONFINITE;
  double *a = V ? V : (double *)malloc(n * n * sizeof(double));
  if (!a) return HM_ENOMEM;
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < n; j++) a[i * n + j] = 0.5 * (A[i * n + j] + A[j * n + i]);
  lapack_int info = LAPACKE_dsyevd(LAPACK_ROW_MAJOR, V ? 'V' : 'N', 'U', (lapack_int)n, a,
                                   (lapack_int)n, w);
  if (!V) free(a);
  if (info > 0) return HM_ENOCONV;
  return lapack_status(info);
}

/* LU factorization with a reciprocal-condition check. lu (n x n) and ipiv are outputs. */
static hm_status lu_checked(size_t n, const double *A, double *lu, lapack_int *ipiv,
                            double *rcond_out) {
  memcpy(lu, A, n * n * sizeof(double));
  double anorm = LAPACKE_dlange(LAPACK_ROW_MAJOR, '1', (lapack_int)n, (lapack_int)n, lu,
                                (lapack_int)n);
  lapack_int info = LAPACKE_dgetrf(LAPACK_ROW_MAJOR, (lapack_int)n, (lapack_int)n, lu,
                                   (lapack_int)n, ipiv);
  if (info < 0) return lapack_status(info);
  double rcond = 0.0;
  if (info == 0) {
    lapack_int i2 = LAPACKE_dgecon(LAPACK_ROW_MAJOR, '1', (lapack_int)n, lu, (lapack_int)n,
                                   anorm, &rcond);
    if (i2 < 0) return lapack_status(i2);
  }
  if (rcond_out) *rcond_out = rcond;
  if (info > 0 || !(rcond >= (double)n * DBL_EPSILON)) return HM_ESINGULAR;
  return HM_OK;
}

hm_status hm_solve(size_t n, size_t nrhs, const double *A, const double *B, double *X,
                   double *rcond) {
  if (!FITS(n) || !FITS(nrhs)) return HM_ENOMEM;
  if (n == 0) return HM_OK;
  if (!hm_all_finite(A, n * n) || !hm_all_finite(B, n * nrhs)) return HM_ENONFINITE;
  double *lu = (double *)malloc(n * n * sizeof(double));
  lapack_int *ipiv = (lapack_int *)malloc(n * sizeof(lapack_int));
  hm_status s = HM_ENOMEM;
  if (lu && ipiv) {
    s = lu_checked(n, A, lu, ipiv, rcond);
    if (s == HM_OK && nrhs > 0) {
      memcpy(X, B, n * nrhs * sizeof(double));
      s = lapack_status(LAPACKE_dgetrs(LAPACK_ROW_MAJOR, 'N', (lapack_int)n, (lapack_int)nrhs,
                                       lu, (lapack_int)n, ipiv, X, (lapack_int)nrhs));
    }
  }
  free(lu);
  free(ipiv);
  return s;
}

hm_status hm_inv(size_t n, const double *A, double *Ainv, double *rcond) {
  if (!FITS(n)) return HM_ENOMEM;
  if (n == 0) return HM_OK;
  if (!hm_all_finite(A, n * n)) return HM_ENONFINITE;
  lapack_int *ipiv = (lapack_int *)malloc(n * sizeof(lapack_int));
  if (!ipiv) return HM_ENOMEM;
  hm_status s = lu_checked(n, A, Ainv, ipiv, rcond);
  if (s == HM_OK)
    s = lapack_status(LAPACKE_dgetri(LAPACK_ROW_MAJOR, (lapack_int)n, Ainv, (lapack_int)n, ipiv));
  free(ipiv);
  return s;
}

hm_status hm_lstsq(size_t m, size_t n, size_t nrhs, const double *A, const double *B,
                   double rcond, double *X, double *S, size_t *rank) {
  if (!FITS(m) || !FITS(n) || !FITS(nrhs)) return HM_ENOMEM;
  size_t k = m < n ? m : n, mx = m > n ? m : n;
  *rank = 0;
  if (nrhs == 0 && k == 0) return HM_OK;
  if (!hm_all_finite(A, m * n) || !hm_all_finite(B, m * nrhs)) return HM_ENONFINITE;
  if (k == 0 || nrhs == 0) {
    memset(X, 0, n * nrhs * sizeof(double));
    if (k > 0 && S) return hm_svd(m, n, A, 0, NULL, S, NULL);
    return HM_OK;
  }
  double *a = dup(A, m * n);
  double *b = (double *)calloc(mx * nrhs, sizeof(double));
  double *s = (double *)malloc(k * sizeof(double));
  hm_status st = HM_ENOMEM;
  if (a && b && s) {
    memcpy(b, B, m * nrhs * sizeof(double));
    lapack_int r = 0;
    lapack_int info = LAPACKE_dgelsd(LAPACK_ROW_MAJOR, (lapack_int)m, (lapack_int)n,
                                     (lapack_int)nrhs, a, (lapack_int)n, b, (lapack_int)nrhs,
                                     s, rcond, &r);
    if (info > 0) st = HM_ENOCONV;
    else st = lapack_status(info);
    if (st == HM_OK) {
      memcpy(X, b, n * nrhs * sizeof(double));
      if (S) memcpy(S, s, k * sizeof(double));
      *rank = (size_t)r;
    }
  }
  free(a);
  free(b);
  free(s);
  return st;
}

hm_status hm_pinv(size_t m, size_t n, const double *A, double rtol, double *P) {
  if (!FITS(m) || !FITS(n)) return HM_ENOMEM;
  size_t k = m < n ? m : n;
  memset(P, 0, n * m * sizeof(double));
  if (k == 0) return HM_OK;
  double *U = (double *)malloc(m * k * sizeof(double));
  double *S = (double *)malloc(k * sizeof(double));
  double *Vt = (double *)malloc(k * n * sizeof(double));
  hm_status st = HM_ENOMEM;
  if (U && S && Vt) {
    st = hm_svd(m, n, A, 0, U, S, Vt);
    if (st == HM_OK) {
      double cut = rtol * S[0];
      /* P = V diag(1/s) U^T: scale the rows of Vt, then P = Vt^T * U^T */
      size_t r = 0;
      while (r < k && S[r] > cut && S[r] > 0) r++;
      for (size_t i = 0; i < r; i++)
        for (size_t j = 0; j < n; j++) Vt[i * n + j] /= S[i];
      if (r > 0)
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasTrans, (int)n, (int)m, (int)r, 1.0, Vt,
                    (int)n, U, (int)k, 0.0, P, (int)m);
    }
  }
  free(U);
  free(S);
  free(Vt);
  return st;
}

hm_status hm_qr(size_t m, size_t n, const double *A, double *Q, double *R) {
  if (!FITS(m) || !FITS(n)) return HM_ENOMEM;
  size_t k = m < n ? m : n;
  if (k == 0) return HM_OK;
  if (!hm_all_finite(A, m * n)) return HM_ENONFINITE;
  double *a = dup(A, m * n);
  double *tau = (double *)malloc(k * sizeof(double));
  hm_status st = HM_ENOMEM;
  if (a && tau) {
    st = lapack_status(LAPACKE_dgeqrf(LAPACK_ROW_MAJOR, (lapack_int)m, (lapack_int)n, a,
                                      (lapack_int)n, tau));
    if (st == HM_OK) {
      for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < n; j++) R[i * n + j] = j >= i ? a[i * n + j] : 0.0;
      for (size_t i = 0; i < m; i++) memcpy(Q + i * k, a + i * n, k * sizeof(double));
      st = lapack_status(LAPACKE_dorgqr(LAPACK_ROW_MAJOR, (lapack_int)m, (lapack_int)k,
                                        (lapack_int)k, Q, (lapack_int)k, tau));
    }
  }
  free(a);
  free(tau);
  return st;
}

hm_status hm_chol(size_t n, const double *A, double *L) {
  if (!FITS(n)) return HM_ENOMEM;
  if (n == 0) return HM_OK;
  if (!hm_all_finite(A, n * n)) return HM_ENONFINITE;
  memcpy(L, A, n * n * sizeof(double));
  lapack_int info = LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', (lapack_int)n, L, (lapack_int)n);
  if (info > 0) return HM_ESINGULAR;
  if (info < 0) return lapack_status(info);
  for (size_t i = 0; i < n; i++)
    for (size_t j = i + 1; j < n; j++) L[i * n + j] = 0.0;
  return HM_OK;
}

hm_status hm_det(size_t n, const double *A, double *det) {
  if (!FITS(n)) return HM_ENOMEM;
  *det = 1.0;
  if (n == 0) return HM_OK;
  if (!hm_all_finite(A, n * n)) return HM_ENONFINITE;
  double *lu = dup(A, n * n);
  lapack_int *ipiv = (lapack_int *)malloc(n * sizeof(lapack_int));
  hm_status st = HM_ENOMEM;
  if (lu && ipiv) {
    lapack_int info = LAPACKE_dgetrf(LAPACK_ROW_MAJOR, (lapack_int)n, (lapack_int)n, lu,
                                     (lapack_int)n, ipiv);
    st = lapack_status(info);
    if (st == HM_OK) {
      double d = 1.0;
      for (size_t i = 0; i < n; i++) {
        d *= lu[i * n + i];
        if (ipiv[i] != (lapack_int)(i + 1)) d = -d;
      }
      *det = info > 0 ? 0.0 : d;
    }
  }
  free(lu);
  free(ipiv);
  return st;
}
