/* Conic max-margin solvers: nuclear-norm W-SVM (SDP interior point on the dual form,
 * solvers.md §2.4) with a first-order ADMM/SVT cross-check, and entrywise l_p W-SVM /
 * vector l_p SVM (1 < p < inf, barrier Newton on the smooth dual, solvers.md §2.5).
 *
 * Conventions (shared with hm_svm.h): the caller allocates r->x (d*d or N), r->lambda (m)
 * and r->farkas (m); the solver fills them. opts may be NULL; tol <= 0 / max_iter <= 0 mean
 * the defaults (nuclear: tol 1e-6, 100 iterations; l_p: tol 1e-9, 300 iterations; ADMM:
 * tol 1e-7, 20000 iterations).
 *
 * On HM_OK the status in r is one of
 *   HM_SVM_OPTIMAL     certified relative gap (r->rel_gap) <= tol;
 *   HM_SVM_INFEASIBLE  r->farkas = lambda >= 0 (free on equality rows) with
 *                      sum lambda_k A_k ~ 0 and b^T lambda = 1; x and lambda are zero,
 *                      objective = dual_objective = +inf;
 *   HM_SVM_INACCURATE  the iteration limit or a numerical stall came first; x, lambda and
 *                      the bracket are the best certified ones found.
 * Errors: HM_ENONFINITE (NaN/Inf in A, Z, b or p), HM_EARG (p out of (1, inf), nfree > 0),
 * HM_ENOMEM, HM_EINTR.
 *
 * The returned x is the solver's point rescaled to exact feasibility of the rows with
 * b_k > 0 (solvers.md §3), so objective = its norm = the certified upper bound and
 * dual_objective = the certified lower bound. */
#ifndef HM_SVM_CONIC_H
#define HM_SVM_CONIC_H

#include "hm_svm.h"

/* Extra information for matrix (W) problems; pass NULL to skip. sv must hold d doubles
 * (or be NULL). */
typedef struct hm_svm_wextra {
  double *sv;            /* singular values of the returned W, descending */
  int rank;              /* #{sv_j > rank_tol * sv_1} */
  double rank_tol;       /* relative rank tolerance used (1e-6) */
  double rank_gap;       /* sv_{rank+1} / sv_rank (0 when rank = d or W = 0) */
  int dual_rank;         /* #{sigma_j(G) >= 1 - rank_tol}, G = M(lambda)/norm_2(M(lambda)) */
  double dual_spectral;  /* norm_2(M(lambda)) of the returned lambda (1 at the optimum) */
  double farkas_residual;/* infeasible: norm_F(sum lambda_k A_k) / (max_k norm_F(A_k) norm_1(lambda)) */
} hm_svm_wextra;

/* min norm_*(W) s.t. a_k^T W z_k >= b_k (== if eq[k]). Primal-dual HKM path-following IPM
 * (Mehrotra predictor-corrector) on the dual form with the rank-2 Schur complement. */
hm_status hm_svm_nuclear(const hm_wcons *c, const hm_svm_opts *o, hm_svm_result *r);
hm_status hm_svm_nuclear_ex(const hm_wcons *c, const hm_svm_opts *o, hm_svm_result *r,
                            hm_svm_wextra *ex);

/* Same problem by ADMM with singular value thresholding (solvers.md §2.4.4 item 3); the
 * W-update is an exact projection onto the constraint set. Slow (first order): a
 * cross-check for small sizes, not a primary solver. Inequality rows only. */
hm_status hm_svm_nuclear_admm(const hm_wcons *c, const hm_svm_opts *o, hm_svm_result *r,
                              hm_svm_wextra *ex);

/* min norm_p(W) (entrywise) s.t. a_k^T W z_k >= b_k (== if eq[k]), 1 < p < inf. */
hm_status hm_svm_lp_w(const hm_wcons *c, double p, const hm_svm_opts *o, hm_svm_result *r,
                      hm_svm_wextra *ex);
/* min norm_p(x) s.t. f_k^T x >= b_k (== if eq[k]), 1 < p < inf; requires nfree == 0. */
hm_status hm_svm_lp_vec(const hm_vcons *c, double p, const hm_svm_opts *o, hm_svm_result *r);

/* Entrywise l_inf (max |W_ij|) and l_1 (sum |W_ij|) W-SVMs and vector SVMs: LPs by a
 * Mehrotra IPM (hm_lp_ipm.h), certified as above (default tol 1e-9, 100 iterations);
 * lambda is dual feasible, ||sum lambda_k A_k||_* = 1 (dual norms l_1 / l_inf). */
hm_status hm_svm_linf_w(const hm_wcons *c, const hm_svm_opts *o, hm_svm_result *r,
                        hm_svm_wextra *ex);
hm_status hm_svm_l1_w(const hm_wcons *c, const hm_svm_opts *o, hm_svm_result *r,
                      hm_svm_wextra *ex);
hm_status hm_svm_linf_vec(const hm_vcons *c, const hm_svm_opts *o, hm_svm_result *r);
hm_status hm_svm_l1_vec(const hm_vcons *c, const hm_svm_opts *o, hm_svm_result *r);
/* Spectral-norm W-SVM min ||W||_2 s.t. rows: the SDP min t s.t. [[t I, W], [W^T, t I]] >= 0
 * by a primal-dual (HKM, Mehrotra) interior point; dual certificate: any lambda >= 0 gives
 * ||W||_2 >= b^T lambda / ||sum lambda_k A_k||_* (nuclear norm). Default tol 1e-8, 100
 * iterations. */
hm_status hm_svm_spectral_w(const hm_wcons *c, const hm_svm_opts *o, hm_svm_result *r,
                            hm_svm_wextra *ex);

/* Rank report of a d x d matrix W (row-major) and optionally of the dual matrix
 * M (may be NULL): fills ex->sv, rank, rank_tol, rank_gap, dual_rank. */
hm_status hm_svm_rank_info(size_t d, const double *W, const double *M, double rank_tol,
                           hm_svm_wextra *ex);

/* Singular values (descending) of a rows x cols row-major matrix; s has min(rows, cols)
 * entries. dgesdd with a dgesvd fallback. */
hm_status hm_conic_singular_values(size_t rows, size_t cols, const double *X, double *s);

/* Small dense convex QP used by the solvers above (and usable elsewhere):
 *   minimize 1/2 z^T K z - c^T z  s.t. z_k >= 0 unless freev[k], and beq^T z = 1 if beq.
 * K is m x m symmetric PSD (row-major). Primal-dual Mehrotra IPM. z is input (warm start
 * when warm != 0, must then be > 0 on bounded entries) and output. Stops when the scaled
 * residuals are <= 1e-12 and the complementarity gap is <= max(atol, tol |objective|).
 * Returns HM_ENOCONV when max_iter is reached or the iteration stalls (z is then the last
 * iterate). */
hm_status hm_conic_qp(size_t m, const double *K, const double *c, const unsigned char *freev,
                      const double *beq, double *z, int warm, double tol, double atol,
                      int max_iter, int *iters);

#endif
