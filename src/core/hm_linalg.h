/* Matrix products (CBLAS) and dense linear algebra (row-major LAPACKE).
 *
 * Every routine takes its inputs read-only (it copies them into workspace where LAPACK
 * overwrites), writes into caller-allocated outputs, and returns a status:
 *   HM_ENONFINITE  an input holds NaN or Inf (checked before LAPACK sees it);
 *   HM_ESINGULAR   singular / not positive definite (see each routine);
 *   HM_ENOCONV     the SVD / eigen iteration did not converge;
 *   HM_ENOMEM      workspace allocation failed or a dimension exceeds LAPACK's int;
 *   HM_ESHAPE      operand shapes do not conform. */
#ifndef HM_LINALG_H
#define HM_LINALG_H

#include <stddef.h>
#include "hm_mat.h"

/* Shape of A * B (see docs/mat.md): rank2*rank2 (gemm), rank2*rank1 (gemv),
 * rank1*rank2 (x^T B), rank3*rank2 and rank3*rank1 (applied to every sample),
 * rank3*rank3 (batched over the first axis). HM_ESHAPE otherwise. */
hm_status hm_matmul_shape(const hm_mat *A, const hm_mat *B, int *rank, size_t *dim);
/* C = A * B; C must have the shape from hm_matmul_shape and must not alias A or B. */
hm_status hm_matmul(const hm_mat *A, const hm_mat *B, hm_mat *C);
/* C (m x n) = alpha op(A) op(B) + beta C with row-major A, B (ta/tb transpose). */
hm_status hm_gemm(int ta, int tb, size_t m, size_t n, size_t k, double alpha, const double *A,
                  const double *B, double beta, double *C);

/* Thin SVD of the m x n matrix A, k = min(m, n): U m x k, S k, Vt k x n (full: U m x m,
 * Vt n x n). U and Vt may be NULL for singular values only. dgesdd first; if it does not
 * converge, dgesvd. Singular values descending. */
hm_status hm_svd(size_t m, size_t n, const double *A, int full, double *U, double *S,
                 double *Vt);
/* Test hook: when on, hm_svd skips dgesdd and takes its dgesvd fallback path. */
void hm_svd_force_fallback(int on);
/* Symmetric eigendecomposition of the n x n matrix (A + A^T)/2: w ascending, V (may be
 * NULL) with eigenvectors as columns. */
hm_status hm_eigh(size_t n, const double *A, double *w, double *V);
/* Solve A X = B for square A (n x n), B n x nrhs. HM_ESINGULAR if A is singular to working
 * precision (reciprocal condition number below n * eps); *rcond receives it (may be NULL). */
hm_status hm_solve(size_t n, size_t nrhs, const double *A, const double *B, double *X,
                   double *rcond);
/* Inverse of the square matrix A with the same singularity rule as hm_solve. */
hm_status hm_inv(size_t n, const double *A, double *Ainv, double *rcond);
/* Minimum-norm least squares (dgelsd): X (n x nrhs) minimizes |A X - B|_F, A m x n, B m x
 * nrhs; singular values s_i <= rcond * s_max are treated as zero (rcond < 0: machine eps).
 * S (min(m,n)) may be NULL; *rank receives the effective rank. */
hm_status hm_lstsq(size_t m, size_t n, size_t nrhs, const double *A, const double *B,
                   double rcond, double *X, double *S, size_t *rank);
/* Moore-Penrose pseudo-inverse (n x m) through the SVD, cutting s_i <= rtol * s_max. */
hm_status hm_pinv(size_t m, size_t n, const double *A, double rtol, double *P);
/* Thin QR, k = min(m, n): Q m x k with orthonormal columns, R k x n upper triangular. */
hm_status hm_qr(size_t m, size_t n, const double *A, double *Q, double *R);
/* Cholesky A = L L^T (lower L, upper part zeroed) of the symmetric positive definite A
 * (its lower triangle is used). HM_ESINGULAR if A is not positive definite. */
hm_status hm_chol(size_t n, const double *A, double *L);
/* Determinant through LU (0 for exactly singular matrices). */
hm_status hm_det(size_t n, const double *A, double *det);
/* Largest |A_ij - A_ji| of a square matrix. */
double hm_asymmetry(size_t n, const double *A);

#endif
