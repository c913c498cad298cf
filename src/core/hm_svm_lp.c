/* Entrywise l_p max-margin problems, 1 < p < inf (solvers.md §1 "l_p duality", §2.5):
 *   min norm_p(x) s.t. f_k^T x >= b_k (== if eq[k])
 * solved through the smooth concave dual (q = p/(p-1))
 *   max_{lambda >= 0} b^T lambda - (1/q) norm_q(F^T lambda)^q,   x = sign(u) abs(u)^(q-1),
 * u = F^T lambda, by a primal-dual barrier method: damped Newton on
 *   psi_mu(lambda) = (1/q) norm_q(u)^q - b^T lambda - mu sum log lambda_k
 * (Hessian F diag((q-1) abs(u)^(q-2)) F^T + mu diag(1/lambda^2), m x m), mu driven to 0.
 * On the central path F x - b = mu/lambda > 0, so every iterate is primal feasible. Stop on
 * the certified bracket of §2.5: UB = norm_p(x)/gamma, LB = (t* B)^(1/p) with
 * B = b^T lambda+, t* = (B / norm_q(F^T lambda+)^q)^(1/(q-1)).
 * W problems are mapped to vector ones with rows vec(a_k z_k^T) (N = d^2). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "hm_interrupt.h"
#include "hm_svm_conic_impl.h"

static void *xcalloc(size_t n, size_t sz) {
  if (n == 0) n = 1;
  if (sz != 0 && n > (size_t)-1 / sz) return NULL;
  return calloc(n, sz);
}

/* norm_p of x (scaled to avoid overflow / underflow) */
static double pnorm(size_t n, const double *x, double p) {
  double mx = 0;
  for (size_t j = 0; j < n; j++) mx = fmax(mx, fabs(x[j]));
  if (mx == 0) return 0;
  double s = 0;
  for (size_t j = 0; j < n; j++) s += pow(fabs(x[j]) / mx, p);
  return mx * pow(s, 1.0 / p);
}

typedef struct lp_prob {
  size_t m, N;
  const double *F, *b;
  const unsigned char *eq;
  double p, q;
} lp_prob;

/* u = F^T lam; x = sign(u) abs(u)^(q-1); returns (1/q) sum abs(u)^q - b^T lam */
static double lp_phi(const lp_prob *P, const double *lam, double *u, double *x) {
  cblas_dgemv(CblasRowMajor, CblasTrans, (int)P->m, (int)P->N, 1.0, P->F, (int)P->N, lam, 1,
              0.0, u, 1);
  double s = 0;
  for (size_t j = 0; j < P->N; j++) {
    double a = fabs(u[j]);
    double aq1 = pow(a, P->q - 1.0);
    if (x) x[j] = u[j] < 0 ? -aq1 : aq1;
    s += aq1 * a;
  }
  return s / P->q - cblas_ddot((int)P->m, P->b, 1, lam, 1);
}

typedef struct lp_cert {
  double ub, lb, gap, gamma, t;
} lp_cert;

/* bracket for the primal x(lam) and the dual ray through lam+ */
static void lp_certify(const lp_prob *P, const double *lam, const double *x, double *lamp,
                       double *u, double *marg, lp_cert *c) {
  size_t m = P->m, N = P->N;
  cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)m, (int)N, 1.0, P->F, (int)N, x, 1, 0.0, marg,
              1);
  double gamma = HUGE_VAL;
  for (size_t k = 0; k < m; k++)
    if ((!P->eq[k] && P->b[k] > 0) || (P->eq[k] && P->b[k] != 0))
      gamma = fmin(gamma, marg[k] / P->b[k]);
  c->gamma = gamma;
  double nx = pnorm(N, x, P->p);
  c->ub = (gamma > 0 && isfinite(gamma)) ? nx / gamma : HUGE_VAL;
  for (size_t k = 0; k < m; k++) lamp[k] = P->eq[k] ? lam[k] : fmax(lam[k], 0.0);
  cblas_dgemv(CblasRowMajor, CblasTrans, (int)m, (int)N, 1.0, P->F, (int)N, lamp, 1, 0.0, u,
              1);
  double B = cblas_ddot((int)m, P->b, 1, lamp, 1);
  double nu = pnorm(N, u, P->q);
  c->t = 0;
  c->lb = 0;
  if (B > 0 && nu > 0) {
    /* U = nu^q; t* = (B/U)^(1/(q-1)); LB = (t* B)^(1/p), computed in logs */
    double lt = (log(B) - P->q * log(nu)) / (P->q - 1.0);
    c->t = exp(lt);
    c->lb = exp((lt + log(B)) / P->p);
  }
  c->gap = (c->ub > 0 && isfinite(c->ub)) ? (c->ub - c->lb) / c->ub : HUGE_VAL;
}

/* Keep the iterate certified by c if its gap beats *best_gap: the primal point scaled onto the
 * feasible set (x / gamma), the dual ray scaled to its optimal length (t lam+), the bracket. */
static void keep_if_better(const lp_prob *P, const lp_cert *c, const double *x, const double *lamp,
                           double *best_gap, double *best_x, double *best_lam, hm_svm_result *r) {
  if (!(c->gap < *best_gap)) return;
  *best_gap = c->gap;
  double gm = (c->gamma > 0 && isfinite(c->gamma)) ? c->gamma : 1.0;
  for (size_t j = 0; j < P->N; j++) best_x[j] = x[j] / gm;
  for (size_t k = 0; k < P->m; k++) best_lam[k] = c->t * lamp[k];
  r->objective = c->ub;
  r->dual_objective = c->lb;
  r->rel_gap = c->gap;
}

/* Dual barrier method. If xint is given, it receives the last centered x(lambda) that is
 * strictly feasible (F x > b on inequality rows), *have_int is set and *mu_int receives
 * the barrier weight of that point divided by the dual value scale. */
static hm_status lp_solve(const hm_crows *R, const lp_prob *P, double tol, int max_iter,
                          hm_svm_result *r, double *xout, double *xint, int *have_int) {
  size_t m = P->m, N = P->N;
  size_t nI = 0;
  for (size_t k = 0; k < m; k++) nI += !P->eq[k];
  hm_status st = HM_OK;
  double *mem = xcalloc(2 * m * m + m * N + 12 * m + 4 * N, sizeof(double));
  if (!mem) return HM_ENOMEM;
  double *H = mem, *Hw = H + m * m, *Fs = Hw + m * m, *lam = Fs + m * N, *g = lam + m,
         *dl = g + m, *lt = dl + m, *lamp = lt + m, *marg = lamp + m, *best_lam = marg + m,
         *bl2 = best_lam + m, *tmpm = bl2 + m;
  double *u = tmpm + 3 * m, *x = u + N, *ut = x + N, *best_x = ut + N;
  double q = P->q;
  /* initial point: best multiple of the all-ones vector on inequality rows */
  for (size_t k = 0; k < m; k++) lam[k] = P->eq[k] ? 0.0 : 1.0;
  double B0 = 0;
  for (size_t k = 0; k < m; k++) B0 += P->eq[k] ? 0 : P->b[k];
  cblas_dgemv(CblasRowMajor, CblasTrans, (int)m, (int)N, 1.0, P->F, (int)N, lam, 1, 0.0, u, 1);
  double nu0 = pnorm(N, u, q);
  double tau = 1.0;
  if (B0 > 0 && nu0 > 0) tau = exp((log(B0) - q * log(nu0)) / (q - 1.0));
  if (!(tau > 1e-150 && tau < 1e150)) tau = 1.0;
  for (size_t k = 0; k < m; k++) lam[k] *= tau;
  double v0 = fabs(lp_phi(P, lam, u, x));
  double mu = fmax(v0, 1e-300) / (double)(nI ? nI : 1);
  if (!(mu > 0) || !isfinite(mu)) mu = 1.0;
  double best_gap = HUGE_VAL, gap_mark = HUGE_VAL;
  int it;
  hm_svm_status status = HM_SVM_INACCURATE;
  int small_steps = 0;
  for (it = 0; it < max_iter; it++) {
    if (hm_interrupted()) {
      st = HM_EINTR;
      goto out;
    }
    double phi = lp_phi(P, lam, u, x);
    /* certificate */
    lp_cert c;
    lp_certify(P, lam, x, lamp, ut, marg, &c);
    keep_if_better(P, &c, x, lamp, &best_gap, best_x, best_lam, r);
    if (best_gap <= tol && (!xint || *have_int)) {
      status = HM_SVM_OPTIMAL;
      break;
    }
    /* stagnation: no halving of the certified gap in 40 iterations */
    if (it % 40 == 0) {
      if (it > 0 && best_gap > 0.5 * gap_mark) break;
      gap_mark = best_gap;
    }
    /* infeasible problems: the dual diverges along a Farkas ray */
    if (!xint && cblas_ddot((int)m, P->b, 1, lam, 1) > 1e8 * fmax(1.0, v0) &&
        hm_crows_try_farkas(R, lam, NULL, NULL))
      break;
    /* gradient and Hessian of psi_mu */
    cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)m, (int)N, 1.0, P->F, (int)N, x, 1, 0.0, g,
                1);
    double umax = 0;
    for (size_t j = 0; j < N; j++) umax = fmax(umax, fabs(u[j]));
    double umin = 1e-12 * umax + 1e-300;
    for (size_t j = 0; j < N; j++) {
      double a = fmax(fabs(u[j]), umin);
      double Dj = (q - 1.0) * pow(a, q - 2.0);
      double sj = sqrt(Dj);
      for (size_t k = 0; k < m; k++) Fs[k * N + j] = P->F[k * N + j] * sj;
    }
    cblas_dsyrk(CblasRowMajor, CblasLower, CblasNoTrans, (int)m, (int)N, 1.0, Fs, (int)N, 0.0,
                H, (int)m);
    for (size_t k = 0; k < m; k++) {
      for (size_t l = 0; l < k; l++) H[l * m + k] = H[k * m + l];
      g[k] -= P->b[k];
      if (!P->eq[k]) {
        g[k] -= mu / lam[k];
        H[k * m + k] += mu / (lam[k] * lam[k]);
      }
    }
    st = hm_conic_chol_reg(m, H, Hw);
    if (st != HM_OK) {
      st = HM_OK;
      break;
    }
    for (size_t k = 0; k < m; k++) dl[k] = -g[k];
    hm_conic_potrs(m, H, dl);
    double dec = -cblas_ddot((int)m, g, 1, dl, 1); /* Newton decrement^2 */
    double amax = 1.0;
    for (size_t k = 0; k < m; k++)
      if (!P->eq[k] && dl[k] < 0) amax = fmin(amax, -0.995 * lam[k] / dl[k]);
    /* backtracking on psi_mu */
    double psi0 = phi, bl0 = cblas_ddot((int)m, P->b, 1, lam, 1);
    double pscale = fabs(bl0) + fabs(phi + bl0);
    for (size_t k = 0; k < m; k++)
      if (!P->eq[k]) {
        psi0 -= mu * log(lam[k]);
        pscale += mu * fabs(log(lam[k]));
      }
    /* psi is only known to ~1e-16 pscale: below that, Armijo compares rounding noise, so
     * accept steps that are not clearly worse (pure Newton near the solution) */
    double ptol = 1e-13 * pscale;
    double alpha = amax;
    int accepted = 0;
    for (int bt = 0; bt < 60; bt++) {
      for (size_t k = 0; k < m; k++) lt[k] = lam[k] + alpha * dl[k];
      double psi = lp_phi(P, lt, ut, NULL);
      for (size_t k = 0; k < m; k++)
        if (!P->eq[k]) psi -= mu * log(lt[k]);
      if (psi <= psi0 - 0.25 * alpha * dec + ptol) {
        accepted = 1;
        break;
      }
      alpha *= 0.5;
    }
    if (accepted) memcpy(lam, lt, m * sizeof(double));
    if (xint && accepted && dec < 0.5 * mu) {
      /* centered: x(lambda) is strictly feasible up to the centering error; keep it if so */
      lp_phi(P, lam, ut, u);
      cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)m, (int)N, 1.0, P->F, (int)N, u, 1, 0.0,
                  marg, 1);
      int ok = 1;
      for (size_t k = 0; k < m; k++)
        if (!P->eq[k] && !(marg[k] > P->b[k])) ok = 0;
      if (ok) {
        memcpy(xint, u, N * sizeof(double));
        *have_int = 1;
      }
      lp_phi(P, lam, u, x);
    }
    /* centered enough: shrink mu */
    /* centered enough (decrement of psi/mu below 1/2): shrink mu */
    if (dec < 0.5 * mu) mu *= 0.1;
    if (!accepted || alpha < 1e-12) {
      if (++small_steps > 20) break;
    } else {
      small_steps = 0;
    }
    if (mu < 1e-300) break;
  }
  r->iterations = it;
  if (status != HM_SVM_OPTIMAL && !xint) {
    double fres = 0;
    if (hm_crows_try_farkas(R, lam, r->farkas, &fres)) {
      r->status = HM_SVM_INFEASIBLE;
      r->farkas_residual = fres;
      goto out;
    }
  }
  r->status = status;
  if (!(best_gap < HUGE_VAL)) {
    r->objective = HUGE_VAL;
    r->dual_objective = 0;
    r->rel_gap = HUGE_VAL;
  }
  memcpy(xout, best_x, N * sizeof(double));
  /* residuals of the returned pair */
  {
    cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)m, (int)N, 1.0, P->F, (int)N, best_x, 1, 0.0,
                marg, 1);
    double viol = 0, comp = 0, bl = 0;
    for (size_t k = 0; k < m; k++) {
      double sl = marg[k] - P->b[k];
      viol = fmax(viol, P->eq[k] ? fabs(sl) : -sl);
      comp = fmax(comp, fabs(best_lam[k] * sl));
      bl += P->b[k] * best_lam[k];
    }
    double nx = pnorm(N, best_x, 2);
    r->primal_infeas = viol / fmax(1.0, nx);
    r->complementarity = bl > 0 ? comp / bl : comp;
    /* stationarity: x vs the primal point of the scaled dual */
    lp_phi(P, best_lam, ut, u);
    double num = 0;
    for (size_t j = 0; j < N; j++) u[j] -= best_x[j];
    num = pnorm(N, u, P->p);
    double den = pnorm(N, best_x, P->p);
    r->stationarity = den > 0 ? num / den : num;
  }
  if (r->lambda) {
    memset(r->lambda, 0, R->m0 * sizeof(double));
    for (size_t k = 0; k < m; k++) r->lambda[R->idx[k]] = best_lam[k] / R->rho[k];
  }
out:
  free(mem);
  return st;
}

/* Primal barrier method for p > 2 (inequality rows only), from a strictly feasible x:
 * damped Newton on (1/p) sum abs(x)^p - mu sum log(F x - b), Hessian
 * diag((p-1) abs(x)^(p-2)) + F^T diag(mu/s^2) F (N x N). Multipliers lambda = mu/s. */
static hm_status lp_primal(const hm_crows *R, const lp_prob *P, const double *x0, double tol,
                           int max_iter, hm_svm_result *r, double *xout) {
  size_t m = P->m, N = P->N;
  double p = P->p;
  hm_status st = HM_OK;
  double *mem = xcalloc(2 * N * N + m * N + 8 * m + 6 * N, sizeof(double));
  if (!mem) return HM_ENOMEM;
  double *H = mem, *Hw = H + N * N, *Fs = Hw + N * N, *sl = Fs + m * N, *lam = sl + m,
         *lamp = lam + m, *marg = lamp + m, *best_lam = marg + m, *st2 = best_lam + m,
         *wk = st2 + m;
  double *x = wk + 2 * m, *g = x + N, *dx = g + N, *xt = dx + N, *best_x = xt + N,
         *ut = best_x + N;
  memcpy(x, x0, N * sizeof(double));
  cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)m, (int)N, 1.0, P->F, (int)N, x, 1, 0.0, sl,
              1);
  double f0 = 0;
  for (size_t j = 0; j < N; j++) f0 += pow(fabs(x[j]), p) / p;
  double mu = 1e-2 * fmax(f0, 1e-300) / (double)m;
  double best_gap = HUGE_VAL;
  int it, small = 0;
  hm_svm_status status = HM_SVM_INACCURATE;
  for (it = 0; it < max_iter; it++) {
    if (hm_interrupted()) {
      st = HM_EINTR;
      goto out;
    }
    cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)m, (int)N, 1.0, P->F, (int)N, x, 1, 0.0, sl,
                1);
    for (size_t k = 0; k < m; k++) {
      sl[k] -= P->b[k];
      lam[k] = mu / sl[k];
    }
    /* gradient, Hessian */
    for (size_t k = 0; k < m; k++) st2[k] = -lam[k]; /* -mu/s */
    cblas_dgemv(CblasRowMajor, CblasTrans, (int)m, (int)N, 1.0, P->F, (int)N, st2, 1, 0.0, g,
                1);
    double hmax = 0;
    for (size_t j = 0; j < N; j++) {
      double a = fabs(x[j]);
      g[j] += (x[j] < 0 ? -1.0 : 1.0) * pow(a, p - 1.0);
    }
    for (size_t k = 0; k < m; k++) {
      double w = sqrt(mu) / sl[k];
      for (size_t j = 0; j < N; j++) Fs[k * N + j] = P->F[k * N + j] * w;
    }
    cblas_dsyrk(CblasRowMajor, CblasLower, CblasTrans, (int)N, (int)m, 1.0, Fs, (int)N, 0.0, H,
                (int)N);
    for (size_t j = 0; j < N; j++) {
      H[j * N + j] += (p - 1.0) * pow(fabs(x[j]), p - 2.0);
      hmax = fmax(hmax, H[j * N + j]);
    }
    for (size_t j = 0; j < N; j++) {
      H[j * N + j] += 1e-14 * hmax + 1e-300;
      for (size_t l = 0; l < j; l++) H[l * N + j] = H[j * N + l];
    }
    st = hm_conic_chol_reg(N, H, Hw);
    if (st != HM_OK) {
      st = HM_OK;
      break;
    }
    for (size_t j = 0; j < N; j++) dx[j] = -g[j];
    hm_conic_potrs(N, H, dx);
    double dec = -cblas_ddot((int)N, g, 1, dx, 1);
    cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)m, (int)N, 1.0, P->F, (int)N, dx, 1, 0.0, wk,
                1);
    /* certificate with the Newton dual estimate lambda = mu/s (1 - F dx / s), far more
     * accurate than mu/s away from exact centering */
    for (size_t k = 0; k < m; k++) st2[k] = fmax(0.0, lam[k] * (1.0 - wk[k] / sl[k]));
    lp_cert c;
    lp_certify(P, st2, x, lamp, ut, marg, &c);
    keep_if_better(P, &c, x, lamp, &best_gap, best_x, best_lam, r);
    if (best_gap <= tol) {
      status = HM_SVM_OPTIMAL;
      break;
    }
    /* step: keep slacks positive, Armijo on psi */
    double amax = 1.0;
    for (size_t k = 0; k < m; k++)
      if (wk[k] < 0) amax = fmin(amax, -0.995 * sl[k] / wk[k]);
    double psi0 = 0, pscale = 0;
    for (size_t j = 0; j < N; j++) psi0 += pow(fabs(x[j]), p) / p;
    pscale = psi0;
    for (size_t k = 0; k < m; k++) {
      psi0 -= mu * log(sl[k]);
      pscale += mu * fabs(log(sl[k]));
    }
    double ptol = 1e-13 * pscale;
    double alpha = amax;
    int accepted = 0;
    for (int bt = 0; bt < 60; bt++) {
      double psi = 0;
      for (size_t j = 0; j < N; j++) {
        xt[j] = x[j] + alpha * dx[j];
        psi += pow(fabs(xt[j]), p) / p;
      }
      int okp = 1;
      for (size_t k = 0; k < m; k++) {
        double sk = sl[k] + alpha * wk[k];
        if (!(sk > 0)) okp = 0;
        else psi -= mu * log(sk);
      }
      if (okp && psi <= psi0 - 0.25 * alpha * dec + ptol) {
        accepted = 1;
        break;
      }
      alpha *= 0.5;
    }
    if (accepted) memcpy(x, xt, N * sizeof(double));
    if (dec < 0.5 * mu) mu *= 0.1;
    if (!accepted || alpha < 1e-12) {
      if (++small > 20) break;
    } else {
      small = 0;
    }
    if (mu < 1e-300) break;
  }
  r->iterations += it;
  r->status = status;
  memcpy(xout, best_x, N * sizeof(double));
  if (r->lambda) {
    memset(r->lambda, 0, R->m0 * sizeof(double));
    for (size_t k = 0; k < m; k++) r->lambda[R->idx[k]] = best_lam[k] / R->rho[k];
  }
  {
    cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)m, (int)N, 1.0, P->F, (int)N, best_x, 1, 0.0,
                marg, 1);
    double viol = 0, comp = 0, bl = 0;
    for (size_t k = 0; k < m; k++) {
      double s1 = marg[k] - P->b[k];
      viol = fmax(viol, -s1);
      comp = fmax(comp, fabs(best_lam[k] * s1));
      bl += P->b[k] * best_lam[k];
    }
    r->primal_infeas = viol / fmax(1.0, pnorm(N, best_x, 2));
    r->complementarity = bl > 0 ? comp / bl : comp;
    lp_phi(P, best_lam, ut, g);
    for (size_t j = 0; j < N; j++) g[j] -= best_x[j];
    double den = pnorm(N, best_x, p);
    r->stationarity = den > 0 ? pnorm(N, g, p) / den : pnorm(N, g, p);
  }
out:
  free(mem);
  return st;
}

static hm_status lp_run(hm_crows *R, const double *F, size_t N, double p,
                        const hm_svm_opts *o, hm_svm_result *r, size_t nx) {
  double tol = (o && o->tol > 0) ? o->tol : 1e-9;
  int max_iter = (o && o->max_iter > 0) ? o->max_iter : 300;
  lp_prob P = {R->m, N, F, R->b, R->eq, p, p / (p - 1.0)};
  double *x = xcalloc(3 * N, sizeof(double));
  if (!x) return HM_ENOMEM;
  double *xint = x + N, *xalt = xint + N;
  hm_status st = lp_solve(R, &P, tol, max_iter, r, x, NULL, NULL);
  if (st == HM_OK && r->status == HM_SVM_INFEASIBLE) {
    int its = r->iterations;
    hm_conic_set_infeasible(r, nx, R->m0);
    r->iterations = its;
    free(x);
    return st;
  }
  if (st == HM_OK && r->status != HM_SVM_OPTIMAL && p > 2 && R->neq == 0) {
    /* q < 2: the dual is not smooth at u_j = 0 (x_j = 0 needs u_j = 0 exactly) and can
     * stall; fall back to the primal barrier from a strictly feasible point of the p = 2
     * central path and keep the better certificate */
    lp_prob P2 = P;
    P2.p = 2;
    P2.q = 2;
    hm_svm_result r2 = *r;
    r2.lambda = NULL;
    int have = 0;
    st = lp_solve(R, &P2, 1e-3, max_iter, &r2, xalt, xint, &have);
    if (st == HM_OK && have) {
      hm_svm_result r3 = *r;
      double *lam3 = NULL;
      if (r->lambda) {
        lam3 = xcalloc(R->m0, sizeof(double));
        if (!lam3) st = HM_ENOMEM;
        r3.lambda = lam3;
      }
      if (st == HM_OK) st = lp_primal(R, &P, xint, tol, max_iter, &r3, xalt);
      if (st == HM_OK && r3.rel_gap < r->rel_gap) {
        int its = r->iterations + r2.iterations;
        double *lam_orig = r->lambda;
        *r = r3;
        r->lambda = lam_orig;
        r->iterations += its;
        if (lam3 && lam_orig) memcpy(lam_orig, lam3, R->m0 * sizeof(double));
        memcpy(x, xalt, N * sizeof(double));
      } else {
        r->iterations += r2.iterations + r3.iterations;
      }
      free(lam3);
    }
  }
  if (st == HM_OK) {
    /* undo the right-hand-side normalization: x scales like b, the multipliers of the
     * (1/p) norm^p problem like b^(p-1) */
    double bs = R->bscale, ls = pow(R->bscale, p - 1.0);
    for (size_t j = 0; j < N; j++) x[j] *= bs;
    if (isfinite(r->objective)) r->objective *= bs;
    r->dual_objective *= bs;
    if (r->lambda)
      for (size_t k = 0; k < R->m0; k++) r->lambda[k] *= ls;
    if (r->x) memcpy(r->x, x, nx * sizeof(double));
  }
  free(x);
  return st;
}

static int bad_p(double p) { return !(p > 1.0) || !isfinite(p); }

hm_status hm_svm_lp_vec(const hm_vcons *c, double p, const hm_svm_opts *o, hm_svm_result *r) {
  double t0 = hm_conic_now();
  if (!c || !r) return HM_EARG;
  if (isnan(p)) return HM_ENONFINITE;
  if (bad_p(p) || c->nfree != 0 || c->nfree > c->N) return HM_EARG;
  r->iterations = 0;
  hm_crows R;
  double far_res = 0;
  hm_status st = hm_crows_prep_vec(c, &R, r->farkas);
  if (st != HM_OK) return st;
  far_res = R.farkas_residual;
  if (R.infeasible) {
    hm_conic_set_infeasible(r, c->N, c->m);
  } else {
    if (r->farkas) memset(r->farkas, 0, c->m * sizeof(double));
    if (R.trivial || R.m == 0) hm_crows_trivial_result(&R, c->N, r);
    else st = lp_run(&R, R.F, c->N, p, o, r, c->N);
  }
  hm_crows_free(&R);
  hm_conic_finish_vec(c, r, t0, far_res);
  return st;
}

hm_status hm_svm_lp_w(const hm_wcons *c, double p, const hm_svm_opts *o, hm_svm_result *r,
                      hm_svm_wextra *ex) {
  double t0 = hm_conic_now();
  if (!c || !r) return HM_EARG;
  if (isnan(p)) return HM_ENONFINITE;
  if (bad_p(p)) return HM_EARG;
  r->iterations = 0;
  if (ex) {
    ex->rank = ex->dual_rank = 0;
    ex->rank_gap = 0;
    ex->dual_spectral = 0;
    ex->farkas_residual = 0;
  }
  hm_crows R;
  double far_res = 0;
  hm_status st = hm_crows_prep_w(c, &R, r->farkas);
  if (st != HM_OK) return st;
  far_res = R.farkas_residual;
  size_t d = c->d, dd = d * d;
  double *W = NULL;
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
      else st = lp_run(&R, F, dd, p, o, r, dd);
      free(F);
    }
  }
  if (st == HM_OK && ex && !R.infeasible) {
    W = r->x;
    if (W) st = hm_svm_rank_info(d, W, NULL, ex->rank_tol > 0 ? ex->rank_tol : 1e-6, ex);
  }
  hm_crows_free(&R);
  hm_conic_finish_w(c, r, t0, far_res);
  return st;
}
