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

typedef enum hm_svm_method {
  HM_SVM_AUTO = 0,      /* IPM (dual or primal form by size) + polish, active set fallback */
  HM_SVM_IPM = 1,       /* IPM + polish only */
  HM_SVM_ACTIVESET = 2  /* Goldfarb-Idnani dual active set only (no unpenalized vars) */
} hm_svm_method;

typedef struct hm_svm_opts {
  double tol;      /* requested certified relative gap (1e-9 QPs, 1e-6 nuclear) */
  int max_iter;
  int method;      /* hm_svm_method (QP family only; 0 = auto) */
  int form;        /* QP IPM form: 0 auto (primal iff vector rows, m > N and m > 500),
                      1 dual (Gram), 2 primal (vector rows only) */
  int wset;        /* working-set (constraint generation) primal IPM for vector rows:
                      0 auto (when the primal form is used and m >= max(4 N, 2000)),
                      1 off, 2 on (vector rows, form not "dual"); the polish and the
                      certificate always cover every row */
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
  /* Added by the QP family (zeroed/NaN when a solver does not fill them). */
  double margin;          /* 1/objective for b = 1 problems (certified feasible point) */
  double farkas_residual; /* relative residual of the certificate (infeasible status) */
  double lower_bound;     /* LB of the bracket in the problem's own norm */
  int method_used;        /* hm_svm_method that produced the answer */
  double *margins;        /* optional (m, caller-allocated or NULL): f_k . x of the returned x */
  double eq_residual;     /* equality rows: max |f_k . x - b_k| / max(1, |x| max |f_k|) (0 without) */
} hm_svm_result;

/* ---- QP family (hm_svm_qp.c: driver; hm_svm_ipm.c, hm_svm_polish.c, hm_svm_wset.c,
 * hm_svm_activeset.c: solvers; hm_svm_cert.c: certificates) ---------------------------- */

/* Default options: tol 1e-9, max_iter 100, auto method. */
void hm_svm_opts_default(hm_svm_opts *o);

/* min ||x_pen|| s.t. F x >= b (the last nfree entries of x unpenalized, nfree <= 1).
 * Rows flagged in c->eq are equalities f_k . x = 0 (they need b_k = 0 and nfree = 0, else
 * HM_EARG; hm_svm_eq.c): lambda_k is then a free multiplier, farkas_k a free entry of the
 * certificate. res->x has N entries, lambda/farkas m. */
hm_status hm_svm_qp_vec(const hm_vcons *c, const hm_svm_opts *o, hm_svm_result *res);
/* min ||W||_F s.t. a_k^T W z_k >= b_k, through the m x m Gram dual. res->x has d*d.
 * Equality rows (c->eq, b_k = 0) as in hm_svm_qp_vec. */
hm_status hm_svm_qp_w(const hm_wcons *c, const hm_svm_opts *o, hm_svm_result *res);

/* Gram-form core: rows with Gram K (m x m, penalized part), optional free column cfree
 * (m, or NULL), rhs b. On success lambda (m) and *beta (the free variable) are set.
 * Used by the two wrappers above and by the Gen-SVM. */
typedef struct hm_svm_gram {
  size_t m;
  const double *K;      /* m x m symmetric PSD */
  const double *cfree;  /* m or NULL */
  const double *b;      /* m */
} hm_svm_gram;

/* Goldfarb-Idnani dual active set in Gram form (P = I, no free variable). Exact and finite.
 * Returns 0 = optimal (lambda set), 1 = infeasible (lambda holds a Farkas vector:
 * lambda >= 0, K lambda = 0 up to rounding, b^T lambda > 0), 2 = iteration limit. */
int hm_svm_activeset_gram(size_t m, const double *K, const double *b, int max_steps,
                          double *lambda, int *steps);

/* Certificate verification (solvers.md 2.7), computed from the data (not the Gram):
 * the relative residual ||F^T lambda||_inf / (max_k ||f_k|| * ||lambda||_1), or +inf when
 * lambda has a negative entry or b^T lambda <= 0. A valid certificate has residual <= 1e-9. */
double hm_svm_farkas_residual_vec(const hm_vcons *c, const double *lambda);
double hm_svm_farkas_residual_w(const hm_wcons *c, const double *lambda);
/* With equality rows (eq flags, may be NULL): entries on them are free in sign. */
double hm_svm_farkas_residual_eq_w(const hm_wcons *c, const double *lambda);
/* max over equality rows |<A_k, W> - b_k| / max(1, |W|_F max_k |A_k|_F) (0 without any). */
double hm_svm_eq_residual_w(const hm_wcons *c, const double *W);

/* Certified bracket (solvers.md 3.1) for a candidate x and multipliers lambda of a vector
 * problem (ignores c->eq). Writes into res: objective (norm of x/gamma), lower_bound,
 * rel_gap (in the 1/2 norm^2 scale), primal_infeas, stationarity, complementarity, margin.
 * x is rescaled in place to x/gamma (exactly feasible). */
hm_status hm_svm_certify_vec(const hm_vcons *c, double *x, const double *lambda,
                             hm_svm_result *res);
hm_status hm_svm_certify_w(const hm_wcons *c, double *W, const double *lambda,
                           hm_svm_result *res);

/* Dense SVD-based rank with relative tolerance: #{s_i > rtol s_1}; gap = s_{r+1}/s_r
 * (0 when r = min(rows, cols)). s receives min(rows, cols) singular values if non-NULL. */
hm_status hm_svm_rank(const double *W, size_t rows, size_t cols, double rtol, int *rank,
                      double *gap, double *s);

/* ---- constraint builders (hm_svm_build.c); all indices 0-based ---------------------- */

/* Att-SVM rows for W: for each sample i and token t != alpha[i]:
 *   a = x_{i,alpha_i} - x_{it},  z = z_i (Z row i, or token `query` of sample i when Z is
 *   NULL),  b = rhs ? rhs[i] : 1.
 * X is n x T x d. Outputs have room for n*(T-1) rows; sample/token may be NULL.
 * HM_EARG when an alpha is out of range or query is out of range with Z NULL. */
hm_status hm_svm_build_w(const double *X, size_t n, size_t T, size_t d, const double *Z,
                         size_t query, const size_t *alpha, const double *rhs, double *A,
                         double *Zr, double *b, size_t *sample, size_t *token, size_t *m_out);

/* Vector rows from keys (n x T x dk): f = k_{i,alpha_i} - k_{it}, b = rhs ? rhs[i] : 1. */
hm_status hm_svm_build_p(const double *Kx, size_t n, size_t T, size_t dk, const size_t *alpha,
                         const double *rhs, double *F, double *b, size_t *sample, size_t *token,
                         size_t *m_out);

/* Sequence-output rows (SAtt-SVM, theory.md C.5): alpha is n x T (selected key per query
 * position k); for every i, k and t in V(k) \ {alpha_ik} (V(k) = all tokens, or 0..k when
 * causal): a = x_{i,alpha_ik} - x_{it}, z = x_{ik}, b = 1. Positions with |V(k)| = 1 give
 * no rows. Room for n*T*(T-1) rows; sample/pos/token may be NULL. alpha_ik must lie in V(k). */
hm_status hm_svm_build_seq(const double *X, size_t n, size_t T, size_t d, const size_t *alpha,
                           int causal, double *A, double *Zr, double *b, size_t *sample,
                           size_t *pos, size_t *token, size_t *m_out);

/* ---- generalized SVM equivalence (hm_svm_gen.c, theory.md C.4, solvers.md 2.6) -------- */

typedef struct hm_svm_gen_result {
  double *Wfin, *Wdir, *Weq;   /* d x d each (caller-allocated) */
  double R;                    /* NaN when no W_GD was given */
  double fin_residual;         /* max |<B_k, W_fin> - c_k|, relative to max(1, max |c_k|) */
  double dir_eq_residual;      /* max |<B_k, W_dir>| / |W_dir|_F */
  int eq_rank;                 /* rank of the equality rows */
  size_t n_eq, n_ineq;         /* rows of the two systems after reduction */
  hm_svm_result dir;           /* certificate of the W_dir SVM (x = Wdir, lambda n_ineq) */
} hm_svm_gen_result;

/* sel is n x T flags (1 = selected token, in O_i); every sample needs >= 1 selected token.
 * Wgd (d x d) may be NULL, then logits (n x T: log-probabilities or logits) give the
 * equality right-hand sides c = logit_tau - logit_ref. Exactly one of Wgd / logits is used
 * (Wgd wins). Z NULL = self-attention with query token `query`. res->dir.lambda and
 * res->dir.farkas need room for n*T*T entries. */
/* The two systems' rows: equalities <(x_tau - x_ref) z_i^T, W> = c (n_eq rows, reference =
 * first selected token) and inequalities (x_tau - x_t) z_i^T (tau selected, t masked; rhs 1).
 * Room: n*T rows for the equalities, n*T*T for the inequalities. */
hm_status hm_svm_gen_rows(const double *X, size_t n, size_t T, size_t d, const double *Z,
                          size_t query, const unsigned char *sel, const double *Wgd,
                          const double *logits, double *AE, double *ZE, double *c, size_t *ne,
                          double *AI, double *ZI, size_t *ni);

hm_status hm_svm_gen(const double *X, size_t n, size_t T, size_t d, const double *Z,
                     size_t query, const unsigned char *sel, const double *Wgd,
                     const double *logits, const hm_svm_opts *o, hm_svm_gen_result *res);

#endif
