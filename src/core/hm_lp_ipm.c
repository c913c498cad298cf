/* Dense Mehrotra predictor-corrector LP interior point (see hm_lp_ipm.h).
 *
 * Newton system at (x, s = u - x, y, z, w) with complementarity right sides rxz, rsw:
 *   A dx = rb,  A^T dy + dz - dw = rc,  ds = -dx,  Z dx + X dz = rxz,  W ds + S dw = rsw.
 * Eliminating dz, dw:  dx = D (A^T dy - rhat),  D^-1 = Z/X + W/S,
 *   rhat = rc - rxz/X + rsw/S,   (A D A^T) dy = rb + A D rhat. */
#include "hm_lp_ipm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "hm_svm_conic_impl.h"

typedef struct lp_it {
  double *x, *s, *y, *z, *w;
} lp_it;

typedef struct lp_ws {
  double *M, *Mw, *B, *d, *rhat, *rb, *rc, *rxz, *rsw, *tmp;
  double *dx, *dy, *dz, *dw, *dxa, *dya, *dza, *dwa;
  unsigned char *bnd;
} lp_ws;

static void newton(const hm_lp *P, const lp_ws *W, const lp_it *v, double *dx, double *dy,
                   double *dz, double *dw) {
  size_t m = P->m, n = P->n;
  for (size_t j = 0; j < n; j++) {
    double r = W->rc[j] - W->rxz[j] / v->x[j];
    if (W->bnd[j]) r += W->rsw[j] / v->s[j];
    W->rhat[j] = r;
    W->tmp[j] = W->d[j] * r;
  }
  memcpy(dy, W->rb, m * sizeof(double));
  cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)m, (int)n, 1.0, P->A, (int)n, W->tmp, 1, 1.0, dy,
              1);
  hm_conic_potrs_small(m, W->M, dy);
  cblas_dgemv(CblasRowMajor, CblasTrans, (int)m, (int)n, 1.0, P->A, (int)n, dy, 1, 0.0, dx, 1);
  for (size_t j = 0; j < n; j++) {
    dx[j] = W->d[j] * (dx[j] - W->rhat[j]);
    dz[j] = (W->rxz[j] - v->z[j] * dx[j]) / v->x[j];
    dw[j] = W->bnd[j] ? (W->rsw[j] + v->w[j] * dx[j]) / v->s[j] : 0.0; /* ds = -dx */
  }
}

/* largest a in (0, 1] with v + a dv >= 0 (entries where on[j], or all when on is NULL) */
static double max_step(size_t n, const double *v, const double *dv, const unsigned char *on) {
  double a = 1.0;
  for (size_t j = 0; j < n; j++)
    if ((!on || on[j]) && dv[j] < 0) a = fmin(a, -v[j] / dv[j]);
  return a;
}

static double nrm2(size_t n, const double *v) { return n ? cblas_dnrm2((int)n, v, 1) : 0.0; }

hm_status hm_lp_solve(const hm_lp *P, double tol, int max_iter, double *x, double *y,
                      double *z, double *wout, hm_lp_info *info) {
  size_t m = P->m, n = P->n;
  if (info) memset(info, 0, sizeof *info);
  if (tol <= 0) tol = 1e-10;
  if (max_iter <= 0) max_iter = 100;
  size_t nd = 2 * m * m + m * n + 18 * n + 4 * m;
  double *buf = (double *)calloc(nd ? nd : 1, sizeof(double));
  unsigned char *bnd = (unsigned char *)calloc(n ? n : 1, 1);
  if (!buf || !bnd) {
    free(buf);
    free(bnd);
    return HM_ENOMEM;
  }
  lp_ws W;
  double *q = buf;
  W.M = q, q += m * m;
  W.Mw = q, q += m * m;
  W.B = q, q += m * n;
  W.d = q, q += n;
  W.rhat = q, q += n;
  W.rc = q, q += n;
  W.rxz = q, q += n;
  W.rsw = q, q += n;
  W.tmp = q, q += n;
  W.dx = q, q += n;
  W.dz = q, q += n;
  W.dw = q, q += n;
  W.dxa = q, q += n;
  W.dza = q, q += n;
  W.dwa = q, q += n;
  W.rb = q, q += m;
  W.dy = q, q += m;
  W.dya = q, q += m;
  W.bnd = bnd;
  double *s = q, *w = q + n; /* upper-bound slacks and their multipliers */
  q += 2 * n;
  /* the best iterate by max(pres, dres, gap): near mu = 0 rounding can make later
   * iterates worse (and the iteration can blow up); the best one is returned */
  double *bx = q, *bz = q + n, *bw = q + 2 * n, *by = q + 3 * n;
  double best = INFINITY;
  size_t nb = 0;
  for (size_t j = 0; j < n; j++) {
    bnd[j] = P->u && isfinite(P->u[j]);
    nb += bnd[j];
  }
  /* start: x = min(1, u/2), s = u - x, z = w = 1, y = 0 */
  for (size_t j = 0; j < n; j++) {
    x[j] = bnd[j] ? fmin(1.0, 0.5 * P->u[j]) : 1.0;
    s[j] = bnd[j] ? P->u[j] - x[j] : 0.0;
    z[j] = 1.0;
    w[j] = bnd[j] ? 1.0 : 0.0;
  }
  memset(y, 0, m * sizeof(double));
  lp_it v = {x, s, y, z, w};
  double bn = 1 + nrm2(m, P->b), cn = 1 + nrm2(n, P->c);
  hm_status st = HM_ENOCONV;
  int it;
  double pres, dres, gap;
  if (info) info->pres = info->dres = info->gap = INFINITY;
  for (it = 0; it < max_iter; it++) {
    /* residuals */
    memcpy(W.rb, P->b, m * sizeof(double));
    cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)m, (int)n, -1.0, P->A, (int)n, x, 1, 1.0, W.rb,
                1);
    memcpy(W.rc, P->c, n * sizeof(double));
    cblas_dgemv(CblasRowMajor, CblasTrans, (int)m, (int)n, -1.0, P->A, (int)n, y, 1, 1.0, W.rc, 1);
    double comp = 0, pobj = 0, dobj = 0;
    for (size_t j = 0; j < n; j++) {
      W.rc[j] += -z[j] + w[j];
      comp += x[j] * z[j] + s[j] * w[j];
      pobj += P->c[j] * x[j];
      if (bnd[j]) dobj -= P->u[j] * w[j];
    }
    for (size_t k = 0; k < m; k++) dobj += P->b[k] * y[k];
    pres = nrm2(m, W.rb) / bn;
    dres = nrm2(n, W.rc) / cn;
    gap = fabs(pobj - dobj) / (1 + fabs(pobj));
    double merit = fmax(pres, fmax(dres, gap));
    if (merit < best) {
      best = merit;
      memcpy(bx, x, n * sizeof(double));
      memcpy(bz, z, n * sizeof(double));
      memcpy(bw, w, n * sizeof(double));
      memcpy(by, y, m * sizeof(double));
      if (info) {
        info->pres = pres;
        info->dres = dres;
        info->gap = gap;
      }
    }
    if (merit <= tol) {
      st = HM_OK;
      break;
    }
    if (!isfinite(comp) || !isfinite(pres) || !isfinite(dres)) break;
    double mu = comp / (double)(n + nb);
    /* normal matrix A D A^T through B = A D^(1/2) */
    for (size_t j = 0; j < n; j++) {
      double dinv = z[j] / x[j] + (bnd[j] ? w[j] / s[j] : 0.0);
      W.d[j] = 1.0 / dinv;
      W.tmp[j] = sqrt(W.d[j]);
    }
    for (size_t k = 0; k < m; k++)
      for (size_t j = 0; j < n; j++) W.B[k * n + j] = P->A[k * n + j] * W.tmp[j];
    cblas_dsyrk(CblasRowMajor, CblasLower, CblasNoTrans, (int)m, (int)n, 1.0, W.B, (int)n, 0.0,
                W.M, (int)m);
    for (size_t i = 0; i < m; i++)
      for (size_t j = i + 1; j < m; j++) W.M[i * m + j] = W.M[j * m + i];
    if (hm_conic_chol_reg_small(m, W.M, W.Mw) != HM_OK) {
      st = HM_ESINGULAR;
      break;
    }
    /* predictor */
    for (size_t j = 0; j < n; j++) {
      W.rxz[j] = -x[j] * z[j];
      W.rsw[j] = bnd[j] ? -s[j] * w[j] : 0.0;
    }
    newton(P, &W, &v, W.dxa, W.dya, W.dza, W.dwa);
    double ap = max_step(n, x, W.dxa, NULL), ad = max_step(n, z, W.dza, NULL);
    for (size_t j = 0; j < n; j++) {
      if (!bnd[j]) continue;
      if (W.dxa[j] > 0) ap = fmin(ap, s[j] / W.dxa[j]); /* ds = -dx */
      if (W.dwa[j] < 0) ad = fmin(ad, -w[j] / W.dwa[j]);
    }
    double ca = 0;
    for (size_t j = 0; j < n; j++) {
      ca += (x[j] + ap * W.dxa[j]) * (z[j] + ad * W.dza[j]);
      if (bnd[j]) ca += (s[j] - ap * W.dxa[j]) * (w[j] + ad * W.dwa[j]);
    }
    double mua = ca / (double)(n + nb), sig = mua / mu;
    sig = sig * sig * sig;
    /* corrector */
    for (size_t j = 0; j < n; j++) {
      W.rxz[j] = sig * mu - x[j] * z[j] - W.dxa[j] * W.dza[j];
      W.rsw[j] = bnd[j] ? sig * mu - s[j] * w[j] + W.dxa[j] * W.dwa[j] : 0.0;
    }
    newton(P, &W, &v, W.dx, W.dy, W.dz, W.dw);
    ap = max_step(n, x, W.dx, NULL);
    ad = max_step(n, z, W.dz, NULL);
    for (size_t j = 0; j < n; j++) {
      if (!bnd[j]) continue;
      if (W.dx[j] > 0) ap = fmin(ap, s[j] / W.dx[j]);
      if (W.dw[j] < 0) ad = fmin(ad, -w[j] / W.dw[j]);
    }
    double eta = fmax(0.9, 1.0 - 10 * mu);
    eta = fmin(eta, 0.9999);
    ap = fmin(1.0, eta * ap);
    ad = fmin(1.0, eta * ad);
    for (size_t j = 0; j < n; j++) {
      x[j] += ap * W.dx[j];
      if (bnd[j]) {
        s[j] = P->u[j] - x[j];
        if (!(s[j] > 0)) s[j] = fmax(-ap * W.dx[j] * 1e-3, 1e-300); /* keep strictly inside */
        w[j] += ad * W.dw[j];
      }
      z[j] += ad * W.dz[j];
    }
    for (size_t k = 0; k < m; k++) y[k] += ad * W.dy[k];
    if (ap < 1e-12 && ad < 1e-12) break; /* stalled */
  }
  if (info) info->iterations = it;
  if (isfinite(best)) {
    memcpy(x, bx, n * sizeof(double));
    memcpy(z, bz, n * sizeof(double));
    memcpy(y, by, m * sizeof(double));
    if (wout) memcpy(wout, bw, n * sizeof(double));
  } else if (wout) {
    memcpy(wout, w, n * sizeof(double));
  }
  free(buf);
  free(bnd);
  return st;
}
