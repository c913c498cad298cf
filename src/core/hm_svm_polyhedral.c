/* W-Att-SVMs (and vector SVMs) in the entrywise l_inf and l_1 norms (docs/svm_conic.md):
 *   min ||x||_inf  or  ||x||_1   s.t.  f_k^T x >= b_k  (== if eq[k]).
 * Both are solved as the homogeneous LPs (rows unit-scaled by hm_crows_prep_*):
 *   l_inf:  max g  s.t.  F x - g b >= 0,  -1 <= x <= 1          (x = y - 1, y in [0, 2])
 *   l_1:    max g  s.t.  F (p - q) - g b >= 0,  sum p + sum q <= 1,  p, q >= 0
 * whose optimum g* = 1 / (min norm) (x* / g* solves the SVM), by the dense Mehrotra IPM of
 * hm_lp_ipm.c with m (l_inf) or m + 1 (l_1) normal equations. Feasibility and the Farkas
 * certificate come first from the shared nearest-point QP (hm_crows_prep_*). The answer is
 * certified from the data, independently of the LP's own residuals (solvers.md §3): any x
 * with F x >= gamma b, gamma > 0 gives UB = ||x|| / gamma, any lambda >= 0 (free on
 * equality rows) gives LB = b^T lambda / ||F^T lambda||_* (dual norms: l_1 for l_inf and
 * l_inf for l_1). The spectral norm (hm_svm_spectral.c) shares the certificate code. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "hm_lp_ipm.h"
#include "hm_optim.h"
#include "hm_svm_conic_impl.h"
#include "hm_svm_poly_impl.h"

static void *xcalloc(size_t n, size_t sz) {
  if (n == 0) n = 1;
  if (sz != 0 && n > (size_t)-1 / sz) return NULL;
  return calloc(n, sz);
}

/* entrywise norms and, for W problems, the matrix norms (spectral / nuclear via SVD) */
double hm_poly_norm(hm_poly_norm_kind k, const double *x, size_t N, size_t d, double *work) {
  switch (k) {
    case HM_POLY_LINF: return hm_normp(x, N, INFINITY);
    case HM_POLY_L1: return hm_normp(x, N, 1.0);
    case HM_POLY_SPECTRAL:
    case HM_POLY_NUCLEAR: {
      if (hm_conic_singular_values(d, d, x, work) != HM_OK) return NAN;
      if (k == HM_POLY_SPECTRAL) return d ? work[0] : 0.0;
      double s = 0;
      for (size_t i = 0; i < d; i++) s += work[i];
      return s;
    }
  }
  return NAN;
}

static hm_poly_norm_kind dual_of(hm_poly_norm_kind k) {
  switch (k) {
    case HM_POLY_LINF: return HM_POLY_L1;
    case HM_POLY_L1: return HM_POLY_LINF;
    case HM_POLY_SPECTRAL: return HM_POLY_NUCLEAR;
    case HM_POLY_NUCLEAR: return HM_POLY_SPECTRAL;
  }
  return k;
}

hm_status hm_poly_certify(const hm_crows *R, const double *F, size_t N, hm_poly_norm_kind k,
                          double *x, const double *lam_raw, double *lam, hm_svm_result *r) {
  size_t m = R->m, d = R->is_w ? R->d : 0;
  double *mem = xcalloc(2 * m + N + (d ? d : 1), sizeof(double));
  if (!mem) return HM_ENOMEM;
  double *marg = mem, *lp = marg + m, *u = lp + m, *sv = u + N;
  cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)m, (int)N, 1.0, F, (int)N, x, 1, 0.0, marg, 1);
  double gamma = HUGE_VAL;
  for (size_t k2 = 0; k2 < m; k2++)
    if ((!R->eq[k2] && R->b[k2] > 0) || (R->eq[k2] && R->b[k2] != 0))
      gamma = fmin(gamma, marg[k2] / R->b[k2]);
  double nx = hm_poly_norm(k, x, N, d, sv);
  double ub = HUGE_VAL;
  if (gamma > 0 && isfinite(gamma) && isfinite(nx)) {
    for (size_t j = 0; j < N; j++) x[j] /= gamma;
    for (size_t k2 = 0; k2 < m; k2++) marg[k2] /= gamma;
    ub = nx / gamma;
  }
  for (size_t k2 = 0; k2 < m; k2++) lp[k2] = R->eq[k2] ? lam_raw[k2] : fmax(lam_raw[k2], 0.0);
  cblas_dgemv(CblasRowMajor, CblasTrans, (int)m, (int)N, 1.0, F, (int)N, lp, 1, 0.0, u, 1);
  double B = cblas_ddot((int)m, R->b, 1, lp, 1);
  double du = hm_poly_norm(dual_of(k), u, N, d, sv);
  double lb = 0;
  if (B > 0 && du > 0 && isfinite(du)) {
    lb = B / du;
    for (size_t k2 = 0; k2 < m; k2++) lp[k2] /= du; /* dual feasible: ||F^T lambda||_* = 1 */
    for (size_t j = 0; j < N; j++) u[j] /= du;
  } else {
    memset(lp, 0, m * sizeof(double));
    memset(u, 0, N * sizeof(double));
  }
  if (lb > ub) lb = ub; /* rounding at a certified optimum */
  r->objective = ub;
  r->dual_objective = lb;
  r->rel_gap = isfinite(ub) && ub > 0 ? (ub - lb) / ub : HUGE_VAL;
  double viol = 0, comp = 0, bl = 0;
  for (size_t k2 = 0; k2 < m; k2++) {
    double s1 = marg[k2] - R->b[k2];
    viol = fmax(viol, R->eq[k2] ? fabs(s1) : -s1);
    comp = fmax(comp, fabs(lp[k2] * s1));
    bl += R->b[k2] * lp[k2];
  }
  r->primal_infeas = isfinite(ub) ? viol / fmax(1.0, hm_vnorm2(x, N)) : HUGE_VAL;
  r->complementarity = bl > 0 ? comp / bl : comp;
  /* stationarity: <F^T lambda, x> = ||x|| when ||F^T lambda||_* = 1 */
  double ip = cblas_ddot((int)N, u, 1, x, 1);
  r->stationarity = isfinite(ub) && ub > 0 ? fabs(ip - ub) / ub : HUGE_VAL;
  if (lam) memcpy(lam, lp, m * sizeof(double));
  free(mem);
  return HM_OK;
}

void hm_poly_try_farkas(const hm_crows *R, size_t N, const double *lam_raw, hm_svm_result *r) {
  if (r->status == HM_SVM_OPTIMAL) return;
  double res;
  if (!hm_crows_try_farkas(R, lam_raw, r->farkas, &res)) return;
  int its = r->iterations;
  hm_conic_set_infeasible(r, N, R->m0);
  r->iterations = its;
}

void hm_poly_unscale(const hm_crows *R, size_t N, const double *x, const double *lam,
                     hm_svm_result *r) {
  double bs = R->bscale;
  if (r->x)
    for (size_t j = 0; j < N; j++) r->x[j] = x[j] * bs;
  if (isfinite(r->objective)) r->objective *= bs;
  r->dual_objective *= bs;
  if (r->lambda) {
    memset(r->lambda, 0, R->m0 * sizeof(double));
    for (size_t k = 0; k < R->m; k++) r->lambda[R->idx[k]] = lam[k] / R->rho[k];
  }
}

/* Build and solve the LP; x (N) and lam_raw (m) receive the solution. */
static hm_status poly_lp(const hm_crows *R, const double *F, size_t N, hm_poly_norm_kind k,
                         double tol, int max_iter, double *x, double *lam_raw, int *iters) {
  size_t m = R->m, mi = 0;
  for (size_t r2 = 0; r2 < m; r2++) mi += !R->eq[r2];
  int l1 = k == HM_POLY_L1;
  size_t rows = m + (size_t)l1;
  size_t nv = (l1 ? 2 * N : N) + 1 + mi + (size_t)l1; /* [x part] gamma slacks [sigma] */
  if (rows && nv > ((size_t)-1 / sizeof(double)) / rows) return HM_ENOMEM;
  double *mem = xcalloc(rows * nv + rows + 4 * nv + rows, sizeof(double));
  if (!mem) return HM_ENOMEM;
  double *A = mem, *b = A + rows * nv, *c = b + rows, *u = c + nv, *xv = u + nv, *z = xv + nv,
         *y = z + nv;
  size_t gcol = l1 ? 2 * N : N, scol = gcol + 1;
  for (size_t r2 = 0, si = 0; r2 < m; r2++) {
    double *row = A + r2 * nv;
    const double *f = F + r2 * N;
    double h = 0;
    for (size_t j = 0; j < N; j++) {
      row[j] = f[j];
      if (l1) row[N + j] = -f[j];
      else h += f[j];
    }
    row[gcol] = -R->b[r2];
    if (!R->eq[r2]) row[scol + si++] = -1.0;
    b[r2] = l1 ? 0.0 : h; /* l_inf: F (y - 1) = ... moves F 1 to the right side */
  }
  if (l1) {
    double *row = A + m * nv;
    for (size_t j = 0; j < 2 * N; j++) row[j] = 1.0;
    row[nv - 1] = 1.0;
    b[m] = 1.0;
  }
  for (size_t j = 0; j < nv; j++) u[j] = (!l1 && j < N) ? 2.0 : INFINITY;
  c[gcol] = -1.0;
  hm_lp P = {rows, nv, A, b, c, u};
  hm_lp_info info;
  hm_status st = hm_lp_solve(&P, tol, max_iter, xv, y, z, NULL, &info);
  if (iters) *iters = info.iterations;
  if (st == HM_ENOCONV) st = HM_OK; /* the certificate decides */
  if (st == HM_OK) {
    for (size_t j = 0; j < N; j++) x[j] = l1 ? xv[j] - xv[N + j] : xv[j] - 1.0;
    memcpy(lam_raw, y, m * sizeof(double));
  }
  free(mem);
  return st;
}

hm_status hm_poly_farkas_by_lp(const hm_crows *R, const double *F, size_t N, hm_svm_result *r) {
  if (r->status == HM_SVM_OPTIMAL || r->status == HM_SVM_INFEASIBLE) return HM_OK;
  size_t m = R->m, nx = N;
  double *mem = xcalloc(N + m, sizeof(double));
  if (!mem) return HM_ENOMEM;
  int its = 0;
  /* the l_inf LP of the same rows: whether the rows are feasible does not depend on the norm,
   * and a Farkas ray (lambda >= 0, sum lambda_k F_k = 0, b^T lambda > 0) is verified from the
   * data by hm_poly_try_farkas whatever solve produced it */
  hm_status st = poly_lp(R, F, N, HM_POLY_LINF, 1e-11, 100, mem, mem + nx, &its);
  if (st == HM_OK) hm_poly_try_farkas(R, N, mem + nx, r);
  else if (st != HM_ENOMEM) st = HM_OK; /* no certificate from it: keep the result as is */
  free(mem);
  return st;
}

static hm_status poly_run(const hm_crows *R, const double *F, size_t N, hm_poly_norm_kind k,
                          const hm_svm_opts *o, hm_svm_result *r) {
  double tol = (o && o->tol > 0) ? o->tol : 1e-9;
  int max_iter = (o && o->max_iter > 0) ? o->max_iter : 100;
  size_t m = R->m;
  double *mem = xcalloc(N + 2 * m, sizeof(double));
  if (!mem) return HM_ENOMEM;
  double *x = mem, *lr = x + N, *lam = lr + m;
  /* the LP to well below the requested certified gap: its own residuals are relative to
   * the homogeneous scaling, the bracket to the SVM's value */
  hm_status st = poly_lp(R, F, N, k, fmin(1e-11, tol * 1e-2), max_iter, x, lr, &r->iterations);
  if (st == HM_OK) st = hm_poly_certify(R, F, N, k, x, lr, lam, r);
  if (st == HM_OK) {
    r->status = r->rel_gap <= tol ? HM_SVM_OPTIMAL : HM_SVM_INACCURATE;
    hm_poly_unscale(R, N, x, lam, r);
    hm_poly_try_farkas(R, N, lr, r);
  }
  free(mem);
  return st;
}

hm_status hm_poly_w(const hm_wcons *c, const hm_svm_opts *o, hm_svm_result *r,
                    hm_svm_wextra *ex, hm_poly_norm_kind k,
                    hm_status (*solve)(const hm_crows *, const double *, size_t,
                                       hm_poly_norm_kind, const hm_svm_opts *,
                                       hm_svm_result *)) {
  double t0 = hm_conic_now();
  if (!c || !r) return HM_EARG;
  r->iterations = 0;
  if (ex) {
    ex->rank = ex->dual_rank = 0;
    ex->rank_gap = 0;
    ex->dual_spectral = 0;
    ex->farkas_residual = 0;
  }
  hm_crows R;
  hm_status st = hm_crows_prep_w(c, &R, r->farkas);
  if (st != HM_OK) return st;
  double far_res = R.farkas_residual;
  size_t d = c->d, dd = d * d;
  if (R.infeasible) {
    hm_conic_set_infeasible(r, dd, c->m);
    if (ex) ex->farkas_residual = R.farkas_residual;
  } else {
    if (r->farkas) memset(r->farkas, 0, c->m * sizeof(double));
    if (R.trivial || R.m == 0) {
      hm_crows_trivial_result(&R, dd, r);
    } else {
      double *F = hm_crows_wrows(&R);
      if (!F) st = HM_ENOMEM;
      else st = solve(&R, F, dd, k, o, r);
      free(F);
    }
  }
  if (st == HM_OK && ex && !R.infeasible && r->x)
    st = hm_svm_rank_info(d, r->x, NULL, ex->rank_tol > 0 ? ex->rank_tol : 1e-6, ex);
  hm_crows_free(&R);
  hm_conic_finish_w(c, r, t0, far_res);
  return st;
}

hm_status hm_svm_linf_w(const hm_wcons *c, const hm_svm_opts *o, hm_svm_result *r,
                        hm_svm_wextra *ex) {
  return hm_poly_w(c, o, r, ex, HM_POLY_LINF, poly_run);
}

hm_status hm_svm_l1_w(const hm_wcons *c, const hm_svm_opts *o, hm_svm_result *r,
                      hm_svm_wextra *ex) {
  return hm_poly_w(c, o, r, ex, HM_POLY_L1, poly_run);
}

static hm_status poly_vec(const hm_vcons *c, hm_poly_norm_kind k, const hm_svm_opts *o,
                          hm_svm_result *r) {
  double t0 = hm_conic_now();
  if (!c || !r) return HM_EARG;
  if (c->nfree != 0) return HM_EARG;
  r->iterations = 0;
  hm_crows R;
  hm_status st = hm_crows_prep_vec(c, &R, r->farkas);
  if (st != HM_OK) return st;
  double far_res = R.farkas_residual;
  if (R.infeasible) {
    hm_conic_set_infeasible(r, c->N, c->m);
  } else {
    if (r->farkas) memset(r->farkas, 0, c->m * sizeof(double));
    if (R.trivial || R.m == 0) hm_crows_trivial_result(&R, c->N, r);
    else st = poly_run(&R, R.F, c->N, k, o, r);
  }
  hm_crows_free(&R);
  hm_conic_finish_vec(c, r, t0, far_res);
  return st;
}

hm_status hm_svm_linf_vec(const hm_vcons *c, const hm_svm_opts *o, hm_svm_result *r) {
  return poly_vec(c, HM_POLY_LINF, o, r);
}

hm_status hm_svm_l1_vec(const hm_vcons *c, const hm_svm_opts *o, hm_svm_result *r) {
  return poly_vec(c, HM_POLY_L1, o, r);
}
