/* Internal helpers shared by hm_svm_nuclear.c, hm_svm_nuclear_fo.c and hm_svm_lp.c
 * (not a public interface). */
#ifndef HM_SVM_CONIC_IMPL_H
#define HM_SVM_CONIC_IMPL_H

#include <stddef.h>
#include "hm_svm_conic.h"

/* Rows after preprocessing: zero rows removed (or reported infeasible), every kept row
 * scaled to unit Frobenius / Euclidean norm (row k of the original problem is kept row j
 * with idx[j] = k, original = rho[j] * scaled). */
typedef struct hm_crows {
  size_t m0;            /* original number of rows */
  size_t m;             /* kept rows */
  size_t d;             /* W problems: W is d x d; vector problems: N */
  int is_w;
  double *A, *Z;        /* W: m x d each, unit rows (A_k = a_k z_k^T has norm 1) */
  double *F;            /* vector: m x N unit rows */
  double *b;            /* m, scaled right-hand sides */
  unsigned char *eq;    /* m */
  size_t *idx;          /* m */
  double *rho;          /* m */
  int neq;              /* number of equality rows kept */
  double bscale;        /* kept b = original scaled b / bscale (max |b_k| = 1) */
  int trivial;          /* x = 0 is optimal (no row asks for a positive margin) */
  int infeasible;       /* farkas (original indexing) has been filled */
  double farkas_residual;
} hm_crows;

void hm_crows_free(hm_crows *R);

/* Validate (finite data), drop zero rows, scale, and decide feasibility with the
 * nearest-point QP min norm(sum z_k A_k) s.t. z >= 0 (free on equality rows), b^T z = 1.
 * On infeasibility fills farkas (m0 entries, b^T farkas = 1) and sets R->infeasible. */
hm_status hm_crows_prep_w(const hm_wcons *c, hm_crows *R, double *farkas);
hm_status hm_crows_prep_vec(const hm_vcons *c, hm_crows *R, double *farkas);
/* As hm_crows_prep_w; with defer != 0 the nearest-point QP is skipped (zero rows and the
 * trivial case are still handled): call hm_crows_feasibility later if the solver fails. */
hm_status hm_crows_prep_w2(const hm_wcons *c, hm_crows *R, double *farkas, int defer);
hm_status hm_crows_feasibility(hm_crows *R, double *farkas);

/* Is y (kept rows; clipped at 0 on inequality rows) a Farkas certificate, i.e.
 * b^T y > 0 and norm(sum y_k A_k) <= 1e-9 norm_1(y) (unit rows)? Then fill farkas
 * (original indexing, b^T farkas = 1), *res and return 1. Used when an iterative solver
 * diverges along a dual ray of an infeasible problem. */
int hm_crows_try_farkas(const hm_crows *R, const double *y, double *farkas, double *res);

/* The result of a problem whose kept rows are all trivial (b = 0) or absent: W = 0 is
 * optimal with value 0 (nx primal entries). */
void hm_crows_trivial_result(const hm_crows *R, size_t nx, hm_svm_result *r);

/* F (m x d^2) with rows vec(a_k z_k^T) of the kept W rows (calloc; NULL when out of memory):
 * the explicit form of the rows for the solvers that work on vec(W). */
double *hm_crows_wrows(const hm_crows *R);

/* Gram matrix of the kept rows (m x m): W rows (a.a')(z.z'), vector rows f.f'. */
hm_status hm_crows_gram(const hm_crows *R, double **K);

/* M = A^T diag(lam) Z (d x d) for kept W rows. */
void hm_crows_wadjoint(const hm_crows *R, const double *lam, double *M);
/* out_k = a_k^T W z_k for kept W rows (work: m x d). */
void hm_crows_wapply(const hm_crows *R, const double *W, double *out, double *work);

/* Fill the infeasible result (zero x, lambda; objective +inf). */
void hm_conic_set_infeasible(hm_svm_result *r, size_t nx, size_t m0);

double hm_conic_now(void);

/* Set seconds (since t0), margin, lower_bound and farkas_residual (infeasible: the QP
 * family's definition hm_svm_farkas_residual_*, or res_own when equality rows carry
 * negative multipliers). */
void hm_conic_finish_w(const hm_wcons *c, hm_svm_result *r, double t0, double res_own);
void hm_conic_finish_vec(const hm_vcons *c, hm_svm_result *r, double t0, double res_own);

/* Cholesky (lower, row-major) with escalating diagonal regularization if H is not
 * numerically positive definite; H is overwritten with the factor; work: m*m doubles. */
hm_status hm_conic_chol_reg(size_t m, double *H, double *work);
/* The same with plain-loop kernels for n <= 48 (hm_svm_small.c; used by the nuclear IPM):
 * same factorization, other rounding; LAPACK above. */
int hm_conic_potrf_small(size_t n, double *A);
hm_status hm_conic_chol_reg_small(size_t m, double *H, double *work);
void hm_conic_potrs_small(size_t n, const double *L, double *x);
/* Thin LAPACK wrappers on row-major symmetric matrices (lower factor L, H = L L^T). */
int hm_conic_potrf(size_t n, double *A);
void hm_conic_potrs(size_t n, const double *L, double *x);
/* lower bound (within 1e-7 of the spectral range) on lambda_min of a symmetric matrix (B is
 * destroyed); w: n doubles, work: 66 n doubles */
int hm_conic_eigmin(size_t n, double *B, double *w, double *work, double *lmin);

#endif
