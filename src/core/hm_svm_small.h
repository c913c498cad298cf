/* Dense kernels for the small matrices of the conic SVM solvers (internal, not a public
 * interface). At the sizes of the paper experiments (2d = 20, m = 42) LAPACK's call overhead
 * (argument checks, unblocked code calling level-1/2 BLAS per column, workspace queries) costs
 * more than the arithmetic of a Cholesky factorization, an inverse or a tridiagonalization,
 * so these run as plain loops. Matrix products and triangular solves with many right-hand
 * sides stay with OpenBLAS (measured faster). All matrices are row-major; L is a lower Cholesky factor (only entries
 * j <= i are read). */
#ifndef HM_SVM_SMALL_H
#define HM_SVM_SMALL_H

#include <stddef.h>

/* C (M x N, ldc) = alpha A B with A M x K (lda) and B K x N (ldb); C must not alias A, B.
 * (cblas_dgemm with size_t arguments; K = 0 gives C = 0.) */
void hm_sm_mm(size_t M, size_t N, size_t K, double alpha, const double *A, size_t lda,
              const double *B, size_t ldb, double *C, size_t ldc);
/* Transpose: At (cols x rows) = A^T for A rows x cols. */
void hm_sm_transpose(size_t rows, size_t cols, const double *A, double *At);
/* Lower Cholesky factor of the symmetric n x n A in place (entries j <= i; the strict upper
 * triangle is left as it was). Returns 0, or k+1 if the leading minor of order k+1 is not
 * positive definite (LAPACK's dpotrf convention). work: n doubles. */
int hm_sm_chol(size_t n, double *A, double *work);
/* x <- (L L^T)^{-1} x. */
void hm_sm_chol_solve(size_t n, const double *L, double *x);
/* G = (L L^T)^{-1}, full symmetric n x n; work: n*n doubles. */
void hm_sm_chol_inv(size_t n, const double *L, double *G, double *work);
/* B = L^{-1} X L^{-T} for symmetric X, symmetrized ((B + B^T)/2; two cblas_dtrsm). */
void hm_sm_congruence(size_t n, const double *L, const double *X, double *B);
/* Householder tridiagonalization of the symmetric n x n B (lower triangle read, destroyed):
 * diagonal d (n),
 * off-diagonal e (n - 1). Same spectrum as B up to rounding (backward stable). work: 2n
 * doubles. */
void hm_sm_tridiag(size_t n, double *B, double *d, double *e, double *work);

#endif
