/* Internal helpers shared by the QP-family sources (not part of the public core API). */
#ifndef HM_SVM_INTERNAL_H
#define HM_SVM_INTERNAL_H

#include <stddef.h>
#include "hm_mat.h"
#include "hm_svm.h"

/* A constraint set in one of the two data layouts. */
typedef struct hm_svm_prob {
  int kind;             /* 0: vector rows F (m x N), 1: rank-one matrix rows a_k z_k^T */
  size_t m;             /* rows */
  size_t N;             /* variables: N (vec) or d*d (W) */
  size_t nfree;         /* unpenalized trailing variables (vec only, <= 1) */
  size_t d;             /* W only */
  const double *F, *A, *Zr, *b;
} hm_svm_prob;

void hm_svm_prob_vec(hm_svm_prob *p, const hm_vcons *c);
void hm_svm_prob_w(hm_svm_prob *p, const hm_wcons *c);

/* out_k = f_k . x (x has N entries, free ones included) */
hm_status hm_svm_prob_margins(const hm_svm_prob *p, const double *x, double *out);
/* x = F^T lambda over all N columns (for the free column this is c^T lambda). */
hm_status hm_svm_prob_adjoint(const hm_svm_prob *p, const double *lambda, double *x);
/* Gram of the penalized parts of the rows listed in idx (n of them; idx NULL = all m):
 * K is n x n. */
hm_status hm_svm_prob_gram(const hm_svm_prob *p, const size_t *idx, size_t n, double *K);
/* Squared norm of the penalized part and the free entry of row k. */
double hm_svm_prob_rownorm2(const hm_svm_prob *p, size_t k);
double hm_svm_prob_free(const hm_svm_prob *p, size_t k);

/* Bracket and KKT residuals for (x, lambda); x is rescaled in place. */
hm_status hm_svm_certify(const hm_svm_prob *p, double *x, const double *lambda,
                         hm_svm_result *res);
/* Farkas residual from the data. */
double hm_svm_farkas_residual(const hm_svm_prob *p, const double *lambda);

/* Generic solve used by hm_svm_qp_vec / _w. */
hm_status hm_svm_solve_prob(const hm_svm_prob *p, const hm_svm_opts *o, hm_svm_result *res);

double hm_svm_now(void);

/* X = K^+ Y for symmetric PSD K (n x n), Y n x cols overwritten (eigendecomposition,
 * relative cut 1e-12). Returns the numerical rank, or -1 (no memory / LAPACK failure). */
int hm_svm_pinv_apply(const double *K, size_t n, double *Y, size_t cols);

/* Equality-constrained solve (hm_svm_eq.c): rows flagged in eq are f_k . x = 0. */
hm_status hm_svm_solve_eq(const hm_svm_prob *p, const unsigned char *eq, const hm_svm_opts *o,
                          hm_svm_result *res);
/* Farkas residual with sign-free entries on the eq rows (eq may be NULL). */
double hm_svm_farkas_residual_eq(const hm_svm_prob *p, const unsigned char *eq,
                                 const double *lambda);

#endif
