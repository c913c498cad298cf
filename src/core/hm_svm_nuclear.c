/* Nuclear-norm W-SVM: primal-dual HKM path-following IPM with Mehrotra predictor-corrector
 * on the dual form (solvers.md §2.4.2):
 *   (D) max b^T y  s.t.  Sd = I_2d - sum_k y_k S_k  psd,  s = y >= 0 (inequality rows)
 *   (P) min tr(Y)  s.t.  <S_k, Y> - t_k = b_k,  Y psd, t >= 0
 * with S_k = [[0, a_k z_k^T], [z_k a_k^T, 0]], so that W = 2 Y12 and norm_*(W) = tr(Y) at
 * the optimum. The Schur complement tr(S_k Y S_l G) (G = Sd^{-1}) is assembled with the
 * rank-2 trick of §2.4.3 in O(m d^2 + m^2 d). The stop is decided by the certified bracket
 * of §3.4 computed on the rescaled primal and the normalized dual. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "hm_interrupt.h"
#include "hm_svm_conic_impl.h"
#include "hm_svm_small.h"

typedef struct nuc_ws {
  size_t m, d, n2;
  const double *A, *Z, *b;
  double *At;                     /* d x m: A^T */
  /* the rows of Z repeat (one query per sequence): Z row k = Zu row grp[k], Zu ng x d */
  size_t ng;
  size_t *grp;
  double *Zu, *Zut, *Cgt;         /* ng x d, d x ng, d x ng */
  const unsigned char *eq;
  double *Y, *Sd, *G, *Ly, *Ls, *Rd, *T1, *T2, *dY, *dSd, *dYa, *dSa, *tmpn, *tmpn2;
  double *My, *W;                 /* d x d */
  double *t, *s, *y, *rp, *rs, *rhs, *dy, *dt, *ds, *dta, *dsa, *dya, *trG, *trT1;
  double *M, *Mw;                 /* m x m */
  double *P1, *P2;                /* m x d */
  double *Xuu, *Xvv, *Xvu, *Guu, *Gvv, *Guv; /* m x m */
  double *eigw;                   /* n2 */
} nuc_ws;

/* out_k = tr(S_k B) = a_k^T B12 z_k + z_k^T B21 a_k for a 2d x 2d row-major B
 * (z_k^T B21 once per distinct query). */
static void nuc_trS(const nuc_ws *w, const double *B, double *out) {
  size_t m = w->m, d = w->d, n2 = w->n2;
  hm_sm_mm(m, d, d, 1.0, w->A, d, B + d, n2, w->P1, d);
  hm_sm_mm(w->ng, d, d, 1.0, w->Zu, d, B + d * n2, n2, w->P2, d);
  for (size_t k = 0; k < m; k++) {
    const double *p1 = w->P1 + k * d, *p2 = w->P2 + w->grp[k] * d, *a = w->A + k * d,
                 *z = w->Z + k * d;
    double s1 = 0, s2 = 0;
    for (size_t i = 0; i < d; i++) {
      s1 += p1[i] * z[i];
      s2 += p2[i] * a[i];
    }
    out[k] = s1 + s2;
  }
}

/* M = A^T diag(v) Z (d x d) = sum over the distinct queries g of (sum_{k in g} v_k a_k) zu_g^T. */
static void nuc_adj(const nuc_ws *w, const double *v, double *M) {
  size_t m = w->m, d = w->d, ng = w->ng;
  memset(w->Cgt, 0, d * ng * sizeof(double));
  for (size_t k = 0; k < m; k++) {
    const double *a = w->A + k * d;
    double *c = w->Cgt + w->grp[k];
    for (size_t i = 0; i < d; i++) c[i * ng] += v[k] * a[i];
  }
  hm_sm_mm(d, d, ng, 1.0, w->Cgt, ng, w->Zu, d, M, d);
}

/* X (r1 x r2) = L B L'^T where L (r1 x d) in {A, Zu}, L2t = L'^T (d x r2) in {A^T, Zu^T}
 * and B a d x d block of a 2d x 2d matrix (leading dimension n2). */
static void nuc_quad(const nuc_ws *w, const double *L1, size_t r1, const double *B,
                     const double *L2t, size_t r2, double *X) {
  size_t d = w->d, n2 = w->n2;
  hm_sm_mm(r1, d, d, 1.0, L1, d, B, n2, w->P1, d);
  hm_sm_mm(r1, r2, d, 1.0, w->P1, d, L2t, r2, X, r2);
}

/* Largest a with X + a dX psd, given the lower Cholesky factor L of X; +inf if none. */
static double nuc_maxstep(const nuc_ws *w, const double *L, const double *dX) {
  size_t n = w->n2;
  double *B = w->tmpn;
  hm_sm_congruence(n, L, dX, B); /* B = L^{-1} dX L^{-T}, symmetrized */
  double lmin = 0;
  if (hm_conic_eigmin(n, B, w->eigw, w->eigw + n, &lmin) != 0) return 0; /* no step */
  return lmin < 0 ? -1.0 / lmin : HUGE_VAL;
}

static double step_lp(size_t m, const unsigned char *eq, const double *x, const double *dx) {
  double a = HUGE_VAL;
  for (size_t k = 0; k < m; k++)
    if (!eq[k] && dx[k] < 0) a = fmin(a, -x[k] / dx[k]);
  return a;
}

/* Symmetric 2d x 2d [[0, M], [M^T, 0]] */
static void nuc_embed(size_t d, const double *Md, double *out, double scale) {
  size_t n2 = 2 * d;
  memset(out, 0, n2 * n2 * sizeof(double));
  for (size_t i = 0; i < d; i++)
    for (size_t j = 0; j < d; j++) {
      out[i * n2 + d + j] = scale * Md[i * d + j];
      out[(d + j) * n2 + i] = scale * Md[i * d + j];
    }
}

typedef struct nuc_cert {
  double ub, lb, gap, gamma, nuc, sigma1;
} nuc_cert;

/* Certified bracket (solvers.md §3.4) for primal W and dual y (kept, scaled rows). */
static hm_status nuc_certify(const nuc_ws *w, const double *W, const double *y, double *lam,
                             double *Mtmp, double *marg, double *sv, nuc_cert *c) {
  size_t m = w->m, d = w->d;
  hm_status st;
  /* margins */
  hm_sm_mm(m, d, d, 1.0, w->A, d, W, d, w->P1, d);
  double gamma = HUGE_VAL;
  for (size_t k = 0; k < m; k++) {
    marg[k] = cblas_ddot((int)d, w->P1 + k * d, 1, w->Z + k * d, 1);
    if ((!w->eq[k] && w->b[k] > 0) || (w->eq[k] && w->b[k] != 0)) {
      double r = marg[k] / w->b[k];
      if (r < gamma) gamma = r;
    }
  }
  st = hm_conic_singular_values(d, d, W, sv);
  if (st != HM_OK) return st;
  double nuc = 0;
  for (size_t j = 0; j < d; j++) nuc += sv[j];
  c->nuc = nuc;
  c->gamma = gamma;
  c->ub = (gamma > 0 && isfinite(gamma)) ? nuc / gamma : HUGE_VAL;
  for (size_t k = 0; k < m; k++) lam[k] = w->eq[k] ? y[k] : fmax(y[k], 0.0);
  nuc_adj(w, lam, Mtmp);
  st = hm_conic_singular_values(d, d, Mtmp, sv);
  if (st != HM_OK) return st;
  c->sigma1 = sv[0];
  double bl = cblas_ddot((int)m, w->b, 1, lam, 1);
  c->lb = (sv[0] > 0) ? bl / sv[0] : 0.0;
  if (!(c->lb > 0)) c->lb = 0;
  c->gap = (c->ub > 0 && isfinite(c->ub)) ? (c->ub - c->lb) / c->ub : HUGE_VAL;
  return HM_OK;
}

static void *xcalloc(size_t n, size_t sz) {
  if (n == 0) n = 1;
  if (sz != 0 && n > (size_t)-1 / sz) return NULL;
  return calloc(n, sz);
}

/* Fill r (and ex) from a certified (W, y) pair, scaled rows -> original indexing. */
static hm_status nuc_finish(const hm_crows *R, const nuc_ws *w, const double *W,
                            const double *y, hm_svm_result *r, hm_svm_wextra *ex) {
  size_t m = R->m, d = R->d;
  hm_status st = HM_OK;
  double *buf = xcalloc(3 * d * d + 3 * m + d, sizeof(double));
  if (!buf) return HM_ENOMEM;
  double *Wc = buf, *Mt = Wc + d * d, *Mraw = Mt + d * d, *lam = Mraw + d * d, *marg = lam + m,
         *tmp = marg + m, *sv = tmp + m;
  nuc_cert c;
  st = nuc_certify(w, W, y, lam, Mt, marg, sv, &c);
  if (st != HM_OK) goto done;
  double g = (c.gamma > 0 && isfinite(c.gamma)) ? c.gamma : 1.0;
  for (size_t i = 0; i < d * d; i++) Wc[i] = W[i] / g;
  double sc = c.sigma1 > 0 ? 1.0 / c.sigma1 : 0.0;
  for (size_t k = 0; k < m; k++) lam[k] *= sc;
  memcpy(Mraw, Mt, d * d * sizeof(double));
  for (size_t i = 0; i < d * d; i++) Mt[i] *= sc;
  /* residuals on the returned pair */
  double viol = 0, comp = 0, bl = 0, inner = 0;
  for (size_t k = 0; k < m; k++) {
    double mk = marg[k] / g, slack = mk - w->b[k];
    if (w->eq[k]) viol = fmax(viol, fabs(slack));
    else viol = fmax(viol, -slack);
    comp = fmax(comp, fabs(lam[k] * slack));
    bl += w->b[k] * lam[k];
  }
  inner = cblas_ddot((int)(d * d), Mt, 1, Wc, 1);
  double wf = cblas_dnrm2((int)(d * d), Wc, 1);
  double ub = (c.gamma > 0 && isfinite(c.gamma)) ? c.ub : c.nuc;
  double bs = R->bscale;
  if (r->x)
    for (size_t i = 0; i < d * d; i++) r->x[i] = bs * Wc[i];
  if (r->lambda) {
    memset(r->lambda, 0, R->m0 * sizeof(double));
    for (size_t k = 0; k < m; k++) r->lambda[R->idx[k]] = lam[k] / R->rho[k];
  }
  r->objective = bs * ub;
  r->dual_objective = bs * c.lb;
  r->rel_gap = c.gap;
  r->primal_infeas = viol / fmax(1.0, wf);
  r->stationarity = ub > 0 ? fabs(inner - ub) / ub : 0;
  r->complementarity = bl > 0 ? comp / bl : comp;
  if (ex) {
    for (size_t i = 0; i < d * d; i++) Wc[i] *= bs;
    st = hm_svm_rank_info(d, Wc, Mt, ex->rank_tol > 0 ? ex->rank_tol : 1e-6, ex);
    ex->dual_spectral = c.sigma1;
  }
done:
  free(buf);
  return st;
}

static void set_trivial(const hm_crows *R, size_t d, hm_svm_result *r, hm_svm_wextra *ex) {
  r->status = HM_SVM_OPTIMAL;
  if (r->x) memset(r->x, 0, d * d * sizeof(double));
  if (r->lambda) memset(r->lambda, 0, R->m0 * sizeof(double));
  r->objective = r->dual_objective = r->rel_gap = 0;
  r->primal_infeas = r->stationarity = r->complementarity = 0;
  if (ex) {
    if (ex->sv) memset(ex->sv, 0, d * sizeof(double));
    ex->rank = 0;
    ex->rank_gap = 0;
    ex->dual_rank = 0;
    ex->dual_spectral = 0;
    if (!(ex->rank_tol > 0)) ex->rank_tol = 1e-6;
  }
}

hm_status hm_svm_nuclear_ex(const hm_wcons *cons, const hm_svm_opts *o, hm_svm_result *r,
                            hm_svm_wextra *ex) {
  double t0 = hm_conic_now();
  if (!cons || !r) return HM_EARG;
  double tol = (o && o->tol > 0) ? o->tol : 1e-6;
  int max_iter = (o && o->max_iter > 0) ? o->max_iter : 100;
  r->iterations = 0;
  if (ex) {
    ex->farkas_residual = 0;
    ex->dual_spectral = 0;
  }
  hm_crows R;
  double far_res = 0;
  /* feasibility: nearest-point QP first; should the IPM still fail, a diverging dual ray
   * is tried as a certificate and the QP is re-run as the last resort below */
  hm_status st = hm_crows_prep_w2(cons, &R, r->farkas, 0);
  if (st != HM_OK) return st;
  far_res = R.farkas_residual;
  size_t d = cons->d, m = R.m, n2 = 2 * d;
  if (R.infeasible) {
    hm_conic_set_infeasible(r, d * d, cons->m);
    if (ex) {
      ex->farkas_residual = R.farkas_residual;
      ex->rank = 0;
      ex->dual_rank = 0;
      ex->rank_gap = 0;
      if (ex->sv) memset(ex->sv, 0, d * sizeof(double));
    }
    hm_crows_free(&R);
    hm_conic_finish_w(cons, r, t0, far_res);
    return HM_OK;
  }
  if (r->farkas) memset(r->farkas, 0, cons->m * sizeof(double));
  if (R.trivial || m == 0) {
    set_trivial(&R, d, r, ex);
    hm_crows_free(&R);
    hm_conic_finish_w(cons, r, t0, far_res);
    return HM_OK;
  }

  nuc_ws w;
  memset(&w, 0, sizeof w);
  w.m = m;
  w.d = d;
  w.n2 = n2;
  w.A = R.A;
  w.Z = R.Z;
  w.b = R.b;
  w.eq = R.eq;
  size_t nn = n2 * n2, mm = m * m, md = m * d, dd = d * d;
  size_t total = 14 * nn + 2 * dd + 15 * m + 8 * mm + 6 * md + 70 * n2 + 3 * dd + 2 * m;
  double *mem = xcalloc(total, sizeof(double));
  w.grp = xcalloc(m, sizeof(size_t));
  if (!mem || !w.grp) {
    free(mem);
    free(w.grp);
    hm_crows_free(&R);
    return HM_ENOMEM;
  }
  double *p = mem;
#define TAKE(ptr, n) \
  do {               \
    (ptr) = p;       \
    p += (n);        \
  } while (0)
  TAKE(w.Y, nn); TAKE(w.Sd, nn); TAKE(w.G, nn); TAKE(w.Ly, nn); TAKE(w.Ls, nn);
  TAKE(w.Rd, nn); TAKE(w.T1, nn); TAKE(w.T2, nn); TAKE(w.dY, nn); TAKE(w.dSd, nn);
  TAKE(w.dYa, nn); TAKE(w.dSa, nn); TAKE(w.tmpn, nn); TAKE(w.tmpn2, nn);
  TAKE(w.My, dd); TAKE(w.W, dd);
  TAKE(w.t, m); TAKE(w.s, m); TAKE(w.y, m); TAKE(w.rp, m); TAKE(w.rs, m); TAKE(w.rhs, m);
  TAKE(w.dy, m); TAKE(w.dt, m); TAKE(w.ds, m); TAKE(w.dta, m); TAKE(w.dsa, m);
  TAKE(w.dya, m); TAKE(w.trG, m); TAKE(w.trT1, m);
  double *trT2; TAKE(trT2, m);
  TAKE(w.M, mm); TAKE(w.Mw, mm); TAKE(w.Xuu, mm); TAKE(w.Xvv, mm); TAKE(w.Xvu, mm);
  TAKE(w.Guu, mm); TAKE(w.Gvv, mm); TAKE(w.Guv, mm);
  TAKE(w.P1, md); TAKE(w.P2, md); TAKE(w.At, md); TAKE(w.Zu, md); TAKE(w.Zut, md);
  TAKE(w.Cgt, md);
  TAKE(w.eigw, 70 * n2);
  double *bestW, *besty, *dMy;
  TAKE(bestW, dd); TAKE(dMy, dd); double *Wtmp; TAKE(Wtmp, dd);
  TAKE(besty, m);
  double *ytmp; TAKE(ytmp, m);
#undef TAKE
  hm_sm_transpose(m, d, R.A, w.At);
  /* distinct query rows (bitwise equal rows share one) */
  for (size_t k = 0; k < m; k++) {
    size_t g = 0;
    while (g < w.ng && memcmp(w.Zu + g * d, R.Z + k * d, d * sizeof(double)) != 0) g++;
    if (g == w.ng) memcpy(w.Zu + w.ng++ * d, R.Z + k * d, d * sizeof(double));
    w.grp[k] = g;
  }
  hm_sm_transpose(w.ng, d, w.Zu, w.Zut);

  /* initial point (SDPT3-style scaling; rows have unit norm) */
  size_t nineq = m - (size_t)R.neq;
  double bmax = 0;
  for (size_t k = 0; k < m; k++) bmax = fmax(bmax, fabs(R.b[k]));
  double xi = fmax(10.0, fmax(sqrt((double)n2), (double)n2 * (1.0 + bmax) / (1.0 + sqrt(3.0))));
  double eta = fmax(10.0, sqrt((double)n2));
  for (size_t i = 0; i < n2; i++) {
    w.Y[i * n2 + i] = xi;
    w.Sd[i * n2 + i] = eta;
  }
  for (size_t k = 0; k < m; k++) {
    w.t[k] = R.eq[k] ? 0 : xi;
    w.s[k] = R.eq[k] ? 0 : eta;
    w.y[k] = 0;
  }
  double nu = (double)n2 + (double)nineq;
  double bnorm = cblas_dnrm2((int)m, R.b, 1);
  double best_gap = HUGE_VAL;
  int have_best = 0, it = 0, stall = 0;
  hm_svm_status status = HM_SVM_INACCURATE;
  double internal_tol = fmin(1e-9, 0.1 * tol);
  double *lamc = NULL, *sv = NULL, *margc = NULL, *Mc = NULL;
  double *cbuf = xcalloc(2 * m + d + dd, sizeof(double));
  if (!cbuf) {
    st = HM_ENOMEM;
    goto out;
  }
  lamc = cbuf;
  margc = lamc + m;
  sv = margc + m;
  Mc = sv + d;

  for (it = 0;; it++) {
    if (hm_interrupted()) {
      st = HM_EINTR;
      goto out;
    }
    /* residuals */
    nuc_adj(&w, w.y, w.My);
    nuc_embed(d, w.My, w.Rd, -1.0);
    for (size_t i = 0; i < nn; i++) w.Rd[i] -= w.Sd[i];
    for (size_t i = 0; i < n2; i++) w.Rd[i * n2 + i] += 1.0;
    for (size_t k = 0; k < m; k++) w.rs[k] = R.eq[k] ? 0 : w.y[k] - w.s[k];
    nuc_trS(&w, w.Y, w.rp);
    double pobj = 0, dobj = cblas_ddot((int)m, R.b, 1, w.y, 1), gapv = 0;
    for (size_t i = 0; i < n2; i++) pobj += w.Y[i * n2 + i];
    for (size_t k = 0; k < m; k++) w.rp[k] = R.b[k] - w.rp[k] + w.t[k];
    gapv = cblas_ddot((int)nn, w.Y, 1, w.Sd, 1) + cblas_ddot((int)m, w.t, 1, w.s, 1);
    double pinf = cblas_dnrm2((int)m, w.rp, 1) / (1.0 + bnorm);
    double dinf = (cblas_dnrm2((int)nn, w.Rd, 1) + cblas_dnrm2((int)m, w.rs, 1)) /
                  (1.0 + sqrt((double)n2));
    double relgap = fmax(fabs(pobj - dobj), gapv) / (1.0 + fabs(pobj) + fabs(dobj));
    double mu = gapv / nu;

    if (pinf <= 1e-5 && dinf <= 1e-5 && relgap <= 1e-5) {
      for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < d; j++) w.W[i * d + j] = 2.0 * w.Y[i * n2 + d + j];
      nuc_cert c;
      st = nuc_certify(&w, w.W, w.y, lamc, Mc, margc, sv, &c);
      if (st != HM_OK) goto out;
      if (c.gap < best_gap) {
        best_gap = c.gap;
        memcpy(bestW, w.W, dd * sizeof(double));
        memcpy(besty, w.y, m * sizeof(double));
        have_best = 1;
      }
      if (pinf <= internal_tol && dinf <= internal_tol && relgap <= internal_tol &&
          best_gap <= tol) {
        status = HM_SVM_OPTIMAL;
        break;
      }
    }
    /* an infeasible problem shows up as a diverging dual ray (M(y) stays bounded) */
    if (dobj > 1e8 && hm_crows_try_farkas(&R, w.y, NULL, NULL)) break;
    if (it >= max_iter) break;

    /* factorizations */
    memcpy(w.Ls, w.Sd, nn * sizeof(double));
    memcpy(w.Ly, w.Y, nn * sizeof(double));
    if (hm_conic_potrf_small(n2, w.Ls) != 0 || hm_conic_potrf_small(n2, w.Ly) != 0)
      break; /* lost positive definiteness: numerical limit reached */
    hm_sm_chol_inv(n2, w.Ls, w.G, w.tmpn); /* G = Sd^{-1} */

    /* Schur complement, rank-2 trick */
    const double *Y11 = w.Y, *Y22 = w.Y + d * n2 + d, *Y21 = w.Y + d * n2;
    const double *G11 = w.G, *G22 = w.G + d * n2 + d, *G12 = w.G + d;
    /* the Z-sided factors once per distinct query: Xvv, Gvv ng x ng, Xvu ng x m,
     * Guv m x ng */
    size_t ng = w.ng;
    nuc_quad(&w, w.A, m, Y11, w.At, m, w.Xuu);
    nuc_quad(&w, w.Zu, ng, Y22, w.Zut, ng, w.Xvv);
    nuc_quad(&w, w.Zu, ng, Y21, w.At, m, w.Xvu);
    nuc_quad(&w, w.A, m, G11, w.At, m, w.Guu);
    nuc_quad(&w, w.Zu, ng, G22, w.Zut, ng, w.Gvv);
    nuc_quad(&w, w.A, m, G12, w.Zut, ng, w.Guv);
    for (size_t k = 0; k < m; k++) {
      const size_t gk = w.grp[k];
      for (size_t l = 0; l <= k; l++) {
        const size_t gl = w.grp[l], kl = k * m + l, g2 = gk * ng + gl;
        double v = w.Xuu[kl] * w.Gvv[g2] + w.Xvv[g2] * w.Guu[kl] +
                   w.Xvu[gk * m + l] * w.Guv[k * ng + gl] + w.Xvu[gl * m + k] * w.Guv[l * ng + gk];
        w.M[kl] = v;
        w.M[l * m + k] = v;
      }
    }
    for (size_t k = 0; k < m; k++)
      if (!R.eq[k]) w.M[k * m + k] += w.t[k] / w.s[k];
    st = hm_conic_chol_reg_small(m, w.M, w.Mw);
    if (st == HM_ESINGULAR) {
      st = HM_OK;
      break;
    }
    if (st != HM_OK) goto out;

    /* T1 = Y Rd G and the traces that do not depend on sigma */
    hm_sm_mm(n2, n2, n2, 1.0, w.Y, n2, w.Rd, n2, w.tmpn2, n2);
    hm_sm_mm(n2, n2, n2, 1.0, w.tmpn2, n2, w.G, n2, w.T1, n2);
    nuc_trS(&w, w.T1, w.trT1);
    nuc_trS(&w, w.G, w.trG);

    double sigma = 0, aP = 0, aD = 0;
    for (int pass = 0; pass < 2; pass++) {
      if (pass == 1) {
        /* T2 = dYa dSa G */
        hm_sm_mm(n2, n2, n2, 1.0, w.dYa, n2, w.dSa, n2, w.tmpn2, n2);
        hm_sm_mm(n2, n2, n2, 1.0, w.tmpn2, n2, w.G, n2, w.T2, n2);
        nuc_trS(&w, w.T2, trT2);
      }
      double smu = (pass == 1) ? sigma * mu : 0.0;
      for (size_t k = 0; k < m; k++) {
        double v = R.b[k] + w.trT1[k] - smu * w.trG[k];
        if (!R.eq[k]) {
          v += smu / w.s[k] - w.t[k] * w.rs[k] / w.s[k];
          if (pass == 1) v -= w.dta[k] * w.dsa[k] / w.s[k];
        }
        if (pass == 1) v += trT2[k];
        w.rhs[k] = v;
      }
      memcpy(w.dy, w.rhs, m * sizeof(double));
      hm_conic_potrs_small(m, w.M, w.dy);
      /* dSd = Rd - A*(dy), ds = rs + dy */
      nuc_adj(&w, w.dy, dMy);
      nuc_embed(d, dMy, w.dSd, -1.0);
      for (size_t i = 0; i < nn; i++) w.dSd[i] += w.Rd[i];
      for (size_t k = 0; k < m; k++) w.ds[k] = R.eq[k] ? 0 : w.rs[k] + w.dy[k];
      /* dY = smu G - Y - Y dSd G [- T2], symmetrized; dt = smu/s - t - t ds/s [- dta dsa/s] */
      hm_sm_mm(n2, n2, n2, 1.0, w.Y, n2, w.dSd, n2, w.tmpn2, n2);
      hm_sm_mm(n2, n2, n2, -1.0, w.tmpn2, n2, w.G, n2, w.dY, n2);
      for (size_t i = 0; i < nn; i++) {
        w.dY[i] += smu * w.G[i] - w.Y[i];
        if (pass == 1) w.dY[i] -= w.T2[i];
      }
      for (size_t i = 0; i < n2; i++)
        for (size_t j = 0; j < i; j++) {
          double v = 0.5 * (w.dY[i * n2 + j] + w.dY[j * n2 + i]);
          w.dY[i * n2 + j] = w.dY[j * n2 + i] = v;
        }
      for (size_t k = 0; k < m; k++) {
        if (R.eq[k]) {
          w.dt[k] = 0;
          continue;
        }
        w.dt[k] = smu / w.s[k] - w.t[k] - w.t[k] * w.ds[k] / w.s[k];
        if (pass == 1) w.dt[k] -= w.dta[k] * w.dsa[k] / w.s[k];
      }
      double aPm = fmin(nuc_maxstep(&w, w.Ly, w.dY), step_lp(m, R.eq, w.t, w.dt));
      double aDm = fmin(nuc_maxstep(&w, w.Ls, w.dSd), step_lp(m, R.eq, w.s, w.ds));
      if (pass == 0) {
        aP = fmin(1.0, aPm);
        aD = fmin(1.0, aDm);
        double ga = 0;
        for (size_t i = 0; i < nn; i++) ga += (w.Y[i] + aP * w.dY[i]) * (w.Sd[i] + aD * w.dSd[i]);
        for (size_t k = 0; k < m; k++) ga += (w.t[k] + aP * w.dt[k]) * (w.s[k] + aD * w.ds[k]);
        double r3 = gapv > 0 ? ga / gapv : 0;
        if (r3 < 0) r3 = 0;
        sigma = fmin(1.0, r3 * r3 * r3);
        /* SDPT3-like safeguard when steps are short */
        if (fmin(aP, aD) < 0.2) sigma = fmax(sigma, 0.1);
        memcpy(w.dYa, w.dY, nn * sizeof(double));
        memcpy(w.dSa, w.dSd, nn * sizeof(double));
        memcpy(w.dta, w.dt, m * sizeof(double));
        memcpy(w.dsa, w.ds, m * sizeof(double));
        memcpy(w.dya, w.dy, m * sizeof(double));
      } else {
        double gfac = 0.9 + 0.09 * fmin(fmin(1.0, aPm), fmin(1.0, aDm));
        aP = fmin(1.0, gfac * aPm);
        aD = fmin(1.0, gfac * aDm);
      }
    }
    for (size_t i = 0; i < nn; i++) {
      w.Y[i] += aP * w.dY[i];
      w.Sd[i] += aD * w.dSd[i];
    }
    for (size_t k = 0; k < m; k++) {
      w.t[k] += aP * w.dt[k];
      w.y[k] += aD * w.dy[k];
      w.s[k] += aD * w.ds[k];
    }
    if (aP < 1e-10 && aD < 1e-10) {
      if (++stall >= 3) break;
    } else {
      stall = 0;
    }
  }
  r->iterations = it;
  if (status != HM_SVM_OPTIMAL) {
    double fres = 0;
    if (hm_crows_try_farkas(&R, w.y, r->farkas, &fres)) {
      int its = it;
      hm_conic_set_infeasible(r, dd, cons->m);
      r->iterations = its;
      far_res = fres;
      if (ex) {
        ex->farkas_residual = fres;
        ex->rank = ex->dual_rank = 0;
        ex->rank_gap = 0;
        if (ex->sv) memset(ex->sv, 0, d * sizeof(double));
      }
      goto out;
    }
    st = hm_crows_feasibility(&R, r->farkas);
    if (st != HM_OK) goto out;
    if (R.infeasible) {
      int its = it;
      hm_conic_set_infeasible(r, dd, cons->m);
      r->iterations = its;
      far_res = R.farkas_residual;
      if (ex) {
        ex->farkas_residual = far_res;
        ex->rank = ex->dual_rank = 0;
        ex->rank_gap = 0;
        if (ex->sv) memset(ex->sv, 0, d * sizeof(double));
      }
      goto out;
    }
  }
  if (!have_best) {
    /* never got close: certify the last iterate anyway */
    for (size_t i = 0; i < d; i++)
      for (size_t j = 0; j < d; j++) bestW[i * d + j] = 2.0 * w.Y[i * n2 + d + j];
    memcpy(besty, w.y, m * sizeof(double));
  }
  st = nuc_finish(&R, &w, bestW, besty, r, ex);
  if (st != HM_OK) goto out;
  if (status != HM_SVM_OPTIMAL && r->rel_gap <= tol) status = HM_SVM_OPTIMAL;
  r->status = status;
  (void)Wtmp;
  (void)ytmp;
out:
  free(cbuf);
  free(mem);
  free(w.grp);
  hm_crows_free(&R);
  hm_conic_finish_w(cons, r, t0, far_res);
  return st;
}

hm_status hm_svm_nuclear(const hm_wcons *c, const hm_svm_opts *o, hm_svm_result *r) {
  return hm_svm_nuclear_ex(c, o, r, NULL);
}
