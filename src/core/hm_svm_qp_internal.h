/* Pieces of the hard-margin QP solver shared by its sources (not part of the core API):
 *   hm_svm_ipm.c     the two Mehrotra IPMs (dual on the Gram, primal on F);
 *   hm_svm_polish.c  active-set polish and candidate evaluation (certify, keep the better);
 *   hm_svm_wset.c    the working-set primal IPM for tall vector problems;
 *   hm_svm_qp.c      the driver hm_svm_solve_prob (method choice, fallbacks, infeasibility).
 * The IPMs work on equilibrated rows (unit norm); the polish and the certificates work on
 * the problem's own rows. */
#ifndef HM_SVM_QP_INTERNAL_H
#define HM_SVM_QP_INTERNAL_H

#include <stddef.h>
#include "hm_svm_internal.h"

/* ---- interior point (hm_svm_ipm.c) --------------------------------------------------- */

/* Outcome of an IPM. OK: the best iterate reached merit 1e-8; FAILED: it did not, the
 * best iterate is returned anyway; DIVERGED: the iterates blew up (the rows look
 * infeasible), nothing useful is returned. */
enum {
  HM_QP_IPM_OK = 0,
  HM_QP_IPM_DIVERGED = 1,
  HM_QP_IPM_FAILED = 2,
  HM_QP_IPM_NOMEM = 3,
  HM_QP_IPM_INTR = 4
};

/* The error that ends the solve for an IPM outcome: HM_ENOMEM, HM_EINTR, else HM_OK. */
hm_status hm_qp_ipm_error(int ipm_status);

/* Dual IPM: min 1/2 l^T K l - b^T l, l >= 0, c^T l = 0 (c may be NULL). K is m x m.
 * On return lam (m) holds the best iterate and *beta the free variable. */
int hm_qp_ipm_dual(size_t m, const double *K, const double *c, const double *b, int maxit,
                   double *lam, double *beta, int *iters);

/* Row shrinking and Newton-matrix precision of the primal IPM. */
typedef struct hm_qp_shrink {
  int enabled;   /* 0: keep every row */
  int from_it;   /* first iteration at which rows may leave */
  double tau;    /* a row leaves when D_k < tau * max D and s_k > 10 sqrt(mu) */
  int single;    /* form H in single precision (ssyrk) while merit > 1e-2: an inexact Newton
                    matrix early on, where H is well conditioned; the residuals stay exact */
} hm_qp_shrink;

/* Primal IPM for tall vector problems: min 1/2 x^T P x s.t. F x >= b, P = diag(1.., 0 free)
 * (the last nfree of N variables). F is m x N. z (m) are the multipliers. Stops at merit
 * stop_merit. sw NULL: cold start; otherwise a warm start from x, z and the slacks sw
 * (all > 0), and sw receives the slacks of the returned iterate. */
int hm_qp_ipm_primal(size_t m, size_t N, size_t nfree, const double *F, const double *b,
                     int maxit, const hm_qp_shrink *sr, double stop_merit, double *sw,
                     double *x, double *z, int *iters);

/* ---- candidates and polish (hm_svm_polish.c) ----------------------------------------- */

/* A certified candidate answer: x (N), lam (m) and its bracket in r. filled: r is set;
 * valid: finite gap and primal_infeas <= 1e-9. */
typedef struct hm_qp_cand {
  double *x, *lam;
  hm_svm_result r;
  int valid, filled;
} hm_qp_cand;

/* Certify the multipliers lam (m, unscaled rows) into c: x from lam (the free entry beta
 * when have_beta, else fitted on the rows with lambda > 0), then the bracket. */
hm_status hm_qp_eval_cand(const hm_svm_prob *p, hm_qp_cand *c, const double *lam, double beta,
                          int have_beta);
/* Whether a is a better answer than b: a valid candidate beats an invalid one, two valid
 * ones compare by gap, two invalid ones by primal infeasibility; unfilled ones lose. */
int hm_qp_better(const hm_qp_cand *a, const hm_qp_cand *b);

/* Polish from the support guess S (ns rows; room for all mr rows of R, the rows the polish
 * may add): on a fixed point the polished candidate is certified over ALL rows of p and
 * kept in best when better (*improved = 1 then; cur is the scratch candidate). Gives up
 * when S grows beyond ns_cap rows or a solve fails. lam is scratch (m). */
hm_status hm_qp_polish_rounds(const hm_svm_prob *p, const size_t *R, size_t mr, size_t *S,
                              size_t ns, size_t ns_cap, double *lam, hm_qp_cand *cur,
                              hm_qp_cand *best, int *improved);

/* ---- working set (hm_svm_wset.c) ----------------------------------------------------- */

/* Outcome of the working-set path: nothing certified (the caller goes on), optimal (best
 * holds a certified answer within tol), infeasible (cert holds a verified Farkas vector). */
enum { HM_QP_WS_NONE = 0, HM_QP_WS_OPTIMAL = 1, HM_QP_WS_INFEASIBLE = 2 };

/* Working-set primal IPM on the vector rows R[0..mr) of p (row norms nrm, m of them).
 * cur/best are the candidates (best is updated when improved), lam (m) and S (mr) scratch,
 * cert (m) receives the Farkas vector; *iters is incremented by IPM iterations and
 * active-set steps. */
hm_status hm_qp_ws_solve(const hm_svm_prob *p, const size_t *R, size_t mr, const double *nrm,
                         int maxit, double tol, hm_qp_cand *cur, hm_qp_cand *best,
                         double *lam, size_t *S, double *cert, int *iters, int *outcome);

#endif
