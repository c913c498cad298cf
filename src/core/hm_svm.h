/* Shared types of the max-margin solvers (hm_svm_*.c). Every problem is a minimum-norm
 * point of a polyhedron (solvers.md §1): minimize norm(x) subject to linear rows >= b
 * (or == b). Results carry a certificate (solvers.md §3). */
#ifndef HM_SVM_H
#define HM_SVM_H

#include <stddef.h>
#include "hm_status.h"

/* Matrix constraints: row k is  a_k^T W z_k >= b_k  (== b_k if eq && eq[k]),
 * i.e. <A_k, W> with A_k = a_k z_k^T (rank one). W is d x d row-major. */
typedef struct hm_wcons {
  size_t m, d;
  const double *A;          /* m x d, rows a_k (token differences) */
  const double *Zr;         /* m x d, rows z_k (queries) */
  const double *b;          /* m */
  const unsigned char *eq;  /* m flags or NULL (all inequalities) */
} hm_wcons;

/* Vector constraints: row k is f_k^T x >= b_k (== if eq[k]); x has N entries of which the
 * last `nfree` are unpenalized (1 for an SVM bias). */
typedef struct hm_vcons {
  size_t m, N, nfree;
  const double *F;          /* m x N */
  const double *b;          /* m */
  const unsigned char *eq;  /* m flags or NULL */
} hm_vcons;

typedef enum hm_svm_status {
  HM_SVM_OPTIMAL = 0,
  HM_SVM_INFEASIBLE = 1,  /* farkas holds a certificate */
  HM_SVM_INACCURATE = 2   /* stopped before reaching the requested certified gap */
} hm_svm_status;

typedef struct hm_svm_opts {
  double tol;      /* requested certified relative gap (1e-9 QPs, 1e-6 nuclear) */
  int max_iter;
} hm_svm_opts;

/* Caller allocates x (N or d*d), lambda (m) and farkas (m); the solver fills them. */
typedef struct hm_svm_result {
  hm_svm_status status;
  double *x;
  double *lambda;
  double *farkas;
  double objective;       /* norm of the solution (the problem's own norm) */
  double dual_objective;  /* certified lower bound */
  double rel_gap;         /* certified relative duality gap */
  double primal_infeas;   /* max constraint violation of the returned x (relative) */
  double stationarity;    /* KKT stationarity residual (relative) */
  double complementarity; /* max |lambda_k * slack_k| (relative) */
  int iterations;
  double seconds;
} hm_svm_result;

#endif
