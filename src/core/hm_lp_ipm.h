/* A small dense linear-programming interior-point method (docs/svm_conic.md, "l_inf, l_1
 * and spectral norms"):
 *   minimize c^T x  subject to  A x = b,  0 <= x <= u   (u_j = +inf: no upper bound),
 * Mehrotra's predictor-corrector on the normal equations A D A^T dy = r (m x m, Cholesky),
 * separate primal and dual step lengths, upper bounds handled implicitly (slack s = u - x
 * kept exact). The dual is  maximize b^T y - u^T w  s.t.  A^T y + z - w = c,  z, w >= 0.
 * The callers certify the answer from the data themselves (the Att-SVM brackets of
 * hm_svm_polyhedral.c), so the stopping rule here only decides when to stop iterating. */
#ifndef HM_LP_IPM_H
#define HM_LP_IPM_H

#include <stddef.h>
#include "hm_status.h"

typedef struct hm_lp {
  size_t m, n;
  const double *A; /* m x n row-major */
  const double *b; /* m */
  const double *c; /* n */
  const double *u; /* n upper bounds (INFINITY allowed) or NULL = none */
} hm_lp;

typedef struct hm_lp_info {
  int iterations;
  double pres, dres; /* relative primal / dual residuals at exit */
  double gap;        /* relative duality gap |c^T x - (b^T y - u^T w)| / (1 + |c^T x|) */
} hm_lp_info;

/* x (n), y (m), z (n) out; w (n) out may be NULL. HM_OK when residuals <= tol and gap <=
 * tol; HM_ENOCONV on the iteration limit or a stall (x, y, z: the last iterate);
 * HM_ENOMEM; HM_ESINGULAR if the normal matrix cannot be factored even regularized. */
hm_status hm_lp_solve(const hm_lp *P, double tol, int max_iter, double *x, double *y,
                      double *z, double *w, hm_lp_info *info);

#endif
