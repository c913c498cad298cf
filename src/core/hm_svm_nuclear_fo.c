/* Nuclear-norm W-SVM by ADMM with singular value thresholding (solvers.md §2.4.4 item 3):
 *   X <- SVT_{1/rho}(W - U);  W <- Proj_C(X + U);  U <- U + X - W,
 * C = {W : a_k^T W z_k >= b_k}. The projection is the Frobenius-type QP
 * W = V + A*(mu), mu = argmin_{mu >= 0} 1/2 mu^T K mu - (b - A(V))^T mu with the rank-one
 * Gram K, solved by hm_conic_qp warm-started from the previous mu. Multipliers for the
 * certificate: lambda = rho mu. Independent of the SDP machinery of hm_svm_nuclear.c; used
 * as its cross-check on small sizes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include <lapacke.h>

#include "hm_interrupt.h"
#include "hm_svm_conic_impl.h"

static void *xcalloc(size_t n, size_t sz) {
  if (n == 0) n = 1;
  if (sz != 0 && n > (size_t)-1 / sz) return NULL;
  return calloc(n, sz);
}

/* Y <- U diag(max(s - tau, 0)) V^T in place; u, vt, s, a: work. */
static hm_status svt(size_t d, double *Y, double tau, double *a, double *u, double *vt,
                     double *s) {
  memcpy(a, Y, d * d * sizeof(double));
  lapack_int info = LAPACKE_dgesdd(LAPACK_ROW_MAJOR, 'S', (lapack_int)d, (lapack_int)d, a,
                                   (lapack_int)d, s, u, (lapack_int)d, vt, (lapack_int)d);
  if (info > 0) {
    double *sup = malloc(d * sizeof(double) + 8);
    if (!sup) return HM_ENOMEM;
    memcpy(a, Y, d * d * sizeof(double));
    info = LAPACKE_dgesvd(LAPACK_ROW_MAJOR, 'S', 'S', (lapack_int)d, (lapack_int)d, a,
                          (lapack_int)d, s, u, (lapack_int)d, vt, (lapack_int)d, sup);
    free(sup);
  }
  if (info != 0) return info < 0 ? HM_ELAPACK : HM_ENOCONV;
  memset(Y, 0, d * d * sizeof(double));
  for (size_t j = 0; j < d; j++) {
    double sj = s[j] - tau;
    if (sj <= 0) break;
    /* Y += sj * u[:, j] vt[j, :] */
    cblas_dger(CblasRowMajor, (int)d, (int)d, sj, u + j, (int)d, vt + j * d, 1, Y, (int)d);
  }
  return HM_OK;
}

hm_status hm_svm_nuclear_admm(const hm_wcons *cons, const hm_svm_opts *o, hm_svm_result *r,
                              hm_svm_wextra *ex) {
  double t0 = hm_conic_now();
  if (!cons || !r) return HM_EARG;
  if (cons->eq)
    for (size_t k = 0; k < cons->m; k++)
      if (cons->eq[k]) return HM_EARG;
  double tol = (o && o->tol > 0) ? o->tol : 1e-7;
  int max_iter = (o && o->max_iter > 0) ? o->max_iter : 20000;
  r->iterations = 0;
  hm_crows R;
  double far_res = 0;
  hm_status st = hm_crows_prep_w(cons, &R, r->farkas);
  if (st != HM_OK) return st;
  far_res = R.farkas_residual;
  size_t d = cons->d, m = R.m, dd = d * d;
  if (R.infeasible || R.trivial || m == 0) {
    if (R.infeasible) {
      hm_conic_set_infeasible(r, dd, cons->m);
    } else {
      r->status = HM_SVM_OPTIMAL;
      if (r->x) memset(r->x, 0, dd * sizeof(double));
      if (r->lambda) memset(r->lambda, 0, cons->m * sizeof(double));
      if (r->farkas) memset(r->farkas, 0, cons->m * sizeof(double));
      r->objective = r->dual_objective = r->rel_gap = 0;
      r->primal_infeas = r->stationarity = r->complementarity = 0;
    }
    if (ex) {
      ex->farkas_residual = R.farkas_residual;
      ex->rank = ex->dual_rank = 0;
      ex->rank_gap = 0;
      if (ex->sv) memset(ex->sv, 0, d * sizeof(double));
    }
    hm_crows_free(&R);
    hm_conic_finish_w(cons, r, t0, far_res);
    return HM_OK;
  }
  if (r->farkas) memset(r->farkas, 0, cons->m * sizeof(double));
  double *K = NULL;
  st = hm_crows_gram(&R, &K);
  if (st != HM_OK) {
    hm_crows_free(&R);
    return st;
  }
  double *mem = xcalloc(10 * dd + 8 * m + d, sizeof(double));
  if (!mem) {
    free(K);
    hm_crows_free(&R);
    return HM_ENOMEM;
  }
  double *X = mem, *W = X + dd, *U = W + dd, *V = U + dd, *Wp = V + dd, *a = Wp + dd,
         *u = a + dd, *vt = u + dd, *Mt = vt + dd, *bestW = Mt + dd;
  double *mu = bestW + dd, *cq = mu + m, *marg = cq + m, *lam = marg + m, *bestlam = lam + m,
         *work = bestlam + m, *s = work + 2 * m;
  double *Pw = malloc((m * d + 1) * sizeof(double));
  if (!Pw) {
    st = HM_ENOMEM;
    goto out;
  }
  double rho = 1.0, best_gap = HUGE_VAL;
  int it, warm = 0, qpit = 0;
  hm_svm_status status = HM_SVM_INACCURATE;
  for (it = 0; it < max_iter; it++) {
    if (hm_interrupted()) {
      st = HM_EINTR;
      goto out;
    }
    for (size_t i = 0; i < dd; i++) X[i] = W[i] - U[i];
    st = svt(d, X, 1.0 / rho, a, u, vt, s);
    if (st != HM_OK) goto out;
    memcpy(Wp, W, dd * sizeof(double));
    for (size_t i = 0; i < dd; i++) V[i] = X[i] + U[i];
    hm_crows_wapply(&R, V, marg, Pw);
    for (size_t k = 0; k < m; k++) cq[k] = R.b[k] - marg[k];
    st = hm_conic_qp(m, K, cq, NULL, NULL, mu, warm, 1e-13, 1e-30, 100, &qpit);
    if (st == HM_ENOCONV) st = HM_OK;
    if (st != HM_OK) goto out;
    warm = 1;
    for (size_t k = 0; k < m; k++)
      if (mu[k] < 0) mu[k] = 0;
    hm_crows_wadjoint(&R, mu, W);
    for (size_t i = 0; i < dd; i++) W[i] += V[i];
    double rp = 0, rd = 0, nx = 0;
    for (size_t i = 0; i < dd; i++) {
      U[i] += X[i] - W[i];
      rp += (X[i] - W[i]) * (X[i] - W[i]);
      rd += (W[i] - Wp[i]) * (W[i] - Wp[i]);
      nx += W[i] * W[i];
    }
    rp = sqrt(rp);
    rd = rho * sqrt(rd);
    /* certificate every 10 iterations */
    if (it % 10 == 9 || it == max_iter - 1) {
      hm_crows_wapply(&R, W, marg, Pw);
      double gamma = HUGE_VAL;
      for (size_t k = 0; k < m; k++)
        if (R.b[k] > 0) gamma = fmin(gamma, marg[k] / R.b[k]);
      st = hm_conic_singular_values(d, d, W, s);
      if (st != HM_OK) goto out;
      double nuc = 0;
      for (size_t j = 0; j < d; j++) nuc += s[j];
      double ub = gamma > 0 ? nuc / gamma : HUGE_VAL;
      for (size_t k = 0; k < m; k++) lam[k] = rho * mu[k];
      hm_crows_wadjoint(&R, lam, Mt);
      st = hm_conic_singular_values(d, d, Mt, s);
      if (st != HM_OK) goto out;
      double lb = s[0] > 0 ? cblas_ddot((int)m, R.b, 1, lam, 1) / s[0] : 0;
      double gap = (ub - lb) / ub;
      if (gap < best_gap) {
        best_gap = gap;
        for (size_t i = 0; i < dd; i++) bestW[i] = W[i] / gamma;
        for (size_t k = 0; k < m; k++) bestlam[k] = lam[k] / s[0];
        r->objective = ub;
        r->dual_objective = lb;
        r->rel_gap = gap;
      }
      if (best_gap <= tol) {
        status = HM_SVM_OPTIMAL;
        it++;
        break;
      }
    }
    /* residual balancing */
    if (rp > 10 * rd) {
      rho *= 2;
      for (size_t i = 0; i < dd; i++) U[i] *= 0.5;
    } else if (rd > 10 * rp) {
      rho *= 0.5;
      for (size_t i = 0; i < dd; i++) U[i] *= 2;
    }
    (void)nx;
  }
  r->iterations = it;
  r->status = status;
  if (!(best_gap < HUGE_VAL)) {
    r->status = HM_SVM_INACCURATE;
    r->objective = HUGE_VAL;
    r->dual_objective = 0;
    r->rel_gap = HUGE_VAL;
    memset(bestW, 0, dd * sizeof(double));
    memset(bestlam, 0, m * sizeof(double));
  }
  if (r->lambda) {
    memset(r->lambda, 0, cons->m * sizeof(double));
    for (size_t k = 0; k < m; k++) r->lambda[R.idx[k]] = bestlam[k] / R.rho[k];
  }
  {
    hm_crows_wapply(&R, bestW, marg, Pw);
    double viol = 0;
    for (size_t k = 0; k < m; k++) viol = fmax(viol, R.b[k] - marg[k]);
    r->primal_infeas = viol / fmax(1.0, cblas_dnrm2((int)dd, bestW, 1));
    r->stationarity = 0;
    r->complementarity = 0;
  }
  /* undo the right-hand-side normalization */
  for (size_t i = 0; i < dd; i++) bestW[i] *= R.bscale;
  if (isfinite(r->objective)) r->objective *= R.bscale;
  r->dual_objective *= R.bscale;
  if (r->x) memcpy(r->x, bestW, dd * sizeof(double));
  if (ex) {
    hm_crows_wadjoint(&R, bestlam, Mt);
    st = hm_svm_rank_info(d, bestW, Mt, ex->rank_tol > 0 ? ex->rank_tol : 1e-6, ex);
    ex->farkas_residual = 0;
  }
out:
  free(Pw);
  free(mem);
  free(K);
  hm_crows_free(&R);
  hm_conic_finish_w(cons, r, t0, far_res);
  return st;
}
