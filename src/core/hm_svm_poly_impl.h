/* Internals shared by hm_svm_polyhedral.c (l_inf / l_1 LPs) and hm_svm_spectral.c (the
 * spectral-norm SDP): the norm-generic certificate and result plumbing (not a public
 * interface). */
#ifndef HM_SVM_POLY_IMPL_H
#define HM_SVM_POLY_IMPL_H

#include <stddef.h>
#include "hm_svm_conic_impl.h"

typedef enum hm_poly_norm_kind {
  HM_POLY_LINF = 0,
  HM_POLY_L1,
  HM_POLY_SPECTRAL, /* W problems only */
  HM_POLY_NUCLEAR   /* the spectral norm's dual (certificates only) */
} hm_poly_norm_kind;

/* ||x|| in the given norm; matrix norms of the d x d x (N = d^2); work: d doubles. */
double hm_poly_norm(hm_poly_norm_kind k, const double *x, size_t N, size_t d, double *work);

/* Certified bracket on the kept rows (F: m x N, unit rows): x is rescaled in place to
 * x/gamma, gamma = min over rows with b_k > 0 (or eq with b_k != 0) of f_k.x / b_k; UB =
 * ||x||/gamma, LB = b^T lam+ / ||F^T lam+||_* (lam+ = lam_raw clipped at 0 off equality
 * rows); lam (m, may be NULL) receives lam+ / ||F^T lam+||_*. Fills objective,
 * dual_objective, rel_gap, primal_infeas, stationarity, complementarity. */
hm_status hm_poly_certify(const hm_crows *R, const double *F, size_t N, hm_poly_norm_kind k,
                          double *x, const double *lam_raw, double *lam, hm_svm_result *r);
/* Back to the caller's scaling: r->x = bscale x, objective and bound times bscale,
 * r->lambda (original rows) = lam_k / rho_k. */
void hm_poly_unscale(const hm_crows *R, size_t N, const double *x, const double *lam,
                     hm_svm_result *r);
/* Not certified optimal, and lam_raw (kept rows) is a Farkas vector of the kept rows
 * (hm_crows_try_farkas: the nearest-point QP of the preparation called a nearly infeasible
 * instance feasible and the solver's multipliers diverged along the ray)? Then r becomes
 * the infeasible result with that certificate. */
void hm_poly_try_farkas(const hm_crows *R, size_t N, const double *lam_raw, hm_svm_result *r);
/* A result that is neither optimal nor infeasible: look for a Farkas certificate of the same
 * rows with the l_inf LP (infeasibility does not depend on the norm); marks r infeasible when
 * one verifies. Used by the spectral IPM, whose iterates diverge less cleanly. */
hm_status hm_poly_farkas_by_lp(const hm_crows *R, const double *F, size_t N, hm_svm_result *r);
/* W-problem driver: prep (feasibility / Farkas), trivial cases, solve(kept rows), rank info,
 * common result fields. */
hm_status hm_poly_w(const hm_wcons *c, const hm_svm_opts *o, hm_svm_result *r,
                    hm_svm_wextra *ex, hm_poly_norm_kind k,
                    hm_status (*solve)(const hm_crows *, const double *, size_t,
                                       hm_poly_norm_kind, const hm_svm_opts *,
                                       hm_svm_result *));

#endif
