/* Spectral-norm W-Att-SVM (docs/svm_conic.md):  min ||W||_2  s.t.  <A_k, W> >= b_k, as the SDP
 *   min t  s.t.  S(y) = [[t I, W], [W^T, t I]] >= 0,  F w - b >= 0      (y = (t, vec W))
 * with dual  max b^T lambda  s.t.  Z >= 0, tr Z = 1, 2 Z_12 = -M(lambda), lambda >= 0,
 * i.e.  max b^T lambda  s.t.  ||M(lambda)||_* <= 1  (M = sum lambda_k A_k): the nuclear norm
 * is the spectral norm's dual. Infeasible-start primal-dual path following with the HKM
 * direction and Mehrotra's predictor-corrector on the (1 + d^2) Schur complement
 *   H_ij = tr(G_i Z G_j S^-1) + [F~^T diag(lambda/s) F~]_ij,
 * G_t = I, G_ab = E_{a,d+b} + E_{d+b,a}. The answer is certified from the data (hm_poly_
 * certify): UB = ||W||_2 / gamma(W), LB = b^T lambda / ||M(lambda)||_* for lambda >= 0 — so
 * any lambda >= 0 gives a valid lower bound after scaling. Inequality rows only. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include <lapacke.h>

#include "hm_interrupt.h"
#include "hm_svm_poly_impl.h"

static void *xcalloc(size_t n, size_t sz) {
  if (n == 0) n = 1;
  if (sz != 0 && n > (size_t)-1 / sz) return NULL;
  return calloc(n, sz);
}

/* S = [[t I, W], [W^T, t I]] (n = 2d, row-major) */
static void lmi(size_t d, double t, const double *w, double *S) {
  size_t n = 2 * d;
  memset(S, 0, n * n * sizeof(double));
  for (size_t i = 0; i < n; i++) S[i * n + i] = t;
  for (size_t a = 0; a < d; a++)
    for (size_t b = 0; b < d; b++) {
      S[a * n + d + b] = w[a * d + b];
      S[(d + b) * n + a] = w[a * d + b];
    }
}

/* G*(X)_t = tr X, G*(X)_ab = X_{d+b,a} + X_{a,d+b} (any square X; = <G_i, sym X>) */
static void gadj(size_t d, const double *X, double *g) {
  size_t n = 2 * d;
  double tr = 0;
  for (size_t i = 0; i < n; i++) tr += X[i * n + i];
  g[0] = tr;
  for (size_t a = 0; a < d; a++)
    for (size_t b = 0; b < d; b++) g[1 + a * d + b] = X[(d + b) * n + a] + X[a * n + d + b];
}

/* lower Cholesky factor (row-major lower = column-major upper of the symmetric matrix) */
static int chol(size_t n, const double *S, double *L) {
  memcpy(L, S, n * n * sizeof(double));
  lapack_int info = LAPACKE_dpotrf_work(LAPACK_ROW_MAJOR, 'L', (lapack_int)n, L, (lapack_int)n);
  if (info != 0) return -1;
  for (size_t i = 0; i < n; i++)
    for (size_t j = i + 1; j < n; j++) L[i * n + j] = 0;
  return 0;
}

/* largest alpha <= 1 with X + alpha dX >= 0 given X = L L^T (a lower bound on the step) */
static double psd_step(size_t n, const double *L, const double *dX, double *T, double *w,
                       double *work) {
  memcpy(T, dX, n * n * sizeof(double));
  cblas_dtrsm(CblasRowMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, (int)n, (int)n,
              1.0, L, (int)n, T, (int)n);
  cblas_dtrsm(CblasRowMajor, CblasRight, CblasLower, CblasTrans, CblasNonUnit, (int)n, (int)n,
              1.0, L, (int)n, T, (int)n);
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < i; j++) {
      double v = 0.5 * (T[i * n + j] + T[j * n + i]);
      T[i * n + j] = T[j * n + i] = v;
    }
  double lmin;
  if (hm_conic_eigmin(n, T, w, work, &lmin) != 0) return 0;
  return lmin >= 0 ? 1.0 : fmin(1.0, -1.0 / lmin);
}

typedef struct spec_ws {
  size_t d, n, m, N, ny;
  double *S, *Z, *R, *Ls, *Lz, *dS, *dZ, *dSa, *dZa, *T1, *T2, *ew, *ewk;
  double *H, *Hw, *rhs, *dy, *dya, *FD, *gv;
  double *s, *lam, *ds, *dl, *dsa, *dla, *rp, *Fw;
} spec_ws;

/* dZ = sig mu R - Z - sym(Z dS R) - sym(corr);  corr = dZa dSa R or NULL */
static void dz_of(spec_ws *W, double sigmu, const double *dS, const double *dZa,
                  const double *dSa, double *dZ) {
  size_t n = W->n;
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)n, (int)n, 1.0, W->Z,
              (int)n, dS, (int)n, 0.0, W->T1, (int)n);
  if (dZa)
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)n, (int)n, 1.0, dZa,
                (int)n, dSa, (int)n, 1.0, W->T1, (int)n);
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)n, (int)n, 1.0, W->T1,
              (int)n, W->R, (int)n, 0.0, W->T2, (int)n);
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < n; j++)
      dZ[i * n + j] = sigmu * W->R[i * n + j] - W->Z[i * n + j] -
                      0.5 * (W->T2[i * n + j] + W->T2[j * n + i]);
}

/* right side of the Schur system and the solve: dy, then dS, ds, dZ, dl */
static void direction(spec_ws *W, const double *F, double sigmu, int corr, double *dy,
                      double *dS, double *ds, double *dZ, double *dl) {
  size_t d = W->d, m = W->m, N = W->N, ny = W->ny, n = W->n;
  /* G*(sig mu R) - c */
  for (size_t i = 0; i < n * n; i++) W->T1[i] = sigmu * W->R[i];
  gadj(d, W->T1, W->rhs);
  W->rhs[0] -= 1.0;
  if (corr) { /* - G*(dZa dSa R) */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)n, (int)n, 1.0, W->dZa,
                (int)n, W->dSa, (int)n, 0.0, W->T1, (int)n);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)n, (int)n, 1.0, W->T1,
                (int)n, W->R, (int)n, 0.0, W->T2, (int)n);
    gadj(d, W->T2, W->gv);
    for (size_t i = 0; i < ny; i++) W->rhs[i] -= W->gv[i];
  }
  /* + F~^T (sig mu / s + D r_p - corr ds_a dl_a / s) */
  for (size_t k = 0; k < m; k++) {
    double v = sigmu / W->s[k] + W->lam[k] / W->s[k] * W->rp[k];
    if (corr) v -= W->dsa[k] * W->dla[k] / W->s[k];
    W->gv[k] = v;
  }
  cblas_dgemv(CblasRowMajor, CblasTrans, (int)m, (int)N, 1.0, F, (int)N, W->gv, 1, 1.0,
              W->rhs + 1, 1);
  memcpy(dy, W->rhs, ny * sizeof(double));
  hm_conic_potrs(ny, W->H, dy);
  lmi(d, dy[0], dy + 1, dS);
  cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)m, (int)N, 1.0, F, (int)N, dy + 1, 1, 0.0, ds,
              1);
  for (size_t k = 0; k < m; k++) {
    ds[k] -= W->rp[k];
    double v = sigmu - W->s[k] * W->lam[k] - W->lam[k] * ds[k];
    if (corr) v -= W->dsa[k] * W->dla[k];
    dl[k] = v / W->s[k];
  }
  dz_of(W, sigmu, dS, corr ? W->dZa : NULL, corr ? W->dSa : NULL, dZ);
}

/* Schur complement H = [tr(G_i Z G_j R)] + F~^T D F~, factored in place */
static hm_status schur(spec_ws *W, const double *F) {
  size_t d = W->d, n = W->n, m = W->m, N = W->N, ny = W->ny;
  const double *Z = W->Z, *R = W->R;
  double *H = W->H;
  /* linear part on the W block */
  for (size_t k = 0; k < m; k++) {
    double sq = sqrt(W->lam[k] / W->s[k]);
    for (size_t j = 0; j < N; j++) W->FD[k * N + j] = F[k * N + j] * sq;
  }
  memset(H, 0, ny * ny * sizeof(double));
  cblas_dsyrk(CblasRowMajor, CblasLower, CblasTrans, (int)N, (int)m, 1.0, W->FD, (int)N, 0.0,
              H + ny + 1, (int)ny);
  /* RZ for the t row */
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)n, (int)n, 1.0, R, (int)n,
              Z, (int)n, 0.0, W->T1, (int)n);
  const double *RZ = W->T1;
  double tr = 0;
  for (size_t i = 0; i < n; i++) tr += RZ[i * n + i];
  H[0] = tr;
  for (size_t c = 0; c < d; c++)
    for (size_t e = 0; e < d; e++) {
      size_t j = 1 + c * d + e, u = d + e;
      H[j * ny] = RZ[u * n + c] + RZ[c * n + u];
    }
  for (size_t a = 0; a < d; a++)
    for (size_t b = 0; b < d; b++) {
      size_t i = 1 + a * d + b, p = a, q = d + b;
      for (size_t c = 0; c < d; c++)
        for (size_t e = 0; e < d; e++) {
          size_t j = 1 + c * d + e;
          if (j > i) break;
          size_t r = c, u = d + e;
          H[i * ny + j] += Z[q * n + r] * R[u * n + p] + Z[q * n + u] * R[r * n + p] +
                           Z[p * n + r] * R[u * n + q] + Z[p * n + u] * R[r * n + q];
        }
    }
  for (size_t i = 0; i < ny; i++)
    for (size_t j = i + 1; j < ny; j++) H[i * ny + j] = H[j * ny + i];
  return hm_conic_chol_reg(ny, H, W->Hw);
}

static hm_status spectral_solve(const hm_crows *Rw, const double *F, size_t N,
                                hm_poly_norm_kind kind, const hm_svm_opts *o,
                                hm_svm_result *r) {
  (void)kind;
  if (Rw->neq > 0) return HM_EARG;
  double tol = (o && o->tol > 0) ? o->tol : 1e-8;
  int max_iter = (o && o->max_iter > 0) ? o->max_iter : 100;
  size_t d = Rw->d, n = 2 * d, m = Rw->m, ny = 1 + N;
  spec_ws W;
  W.d = d, W.n = n, W.m = m, W.N = N, W.ny = ny;
  size_t nn = n * n;
  size_t tot = 13 * nn + 70 * n + 2 * ny * ny + 5 * ny + m * N + 11 * m + 3 * N;
  double *mem = xcalloc(tot, sizeof(double));
  if (!mem) return HM_ENOMEM;
  double *q = mem;
  W.S = q, q += nn;
  W.Z = q, q += nn;
  W.R = q, q += nn;
  W.Ls = q, q += nn;
  W.Lz = q, q += nn;
  W.dS = q, q += nn;
  W.dZ = q, q += nn;
  W.dSa = q, q += nn;
  W.dZa = q, q += nn;
  W.T1 = q, q += nn;
  W.T2 = q, q += nn;
  W.ew = q, q += 2 * nn;
  W.ewk = q, q += 70 * n; /* hm_conic_eigmin: 68 n */
  W.H = q, q += ny * ny;
  W.Hw = q, q += ny * ny;
  W.rhs = q, q += ny;
  W.dy = q, q += ny;
  W.dya = q, q += ny;
  W.gv = q, q += ny + m;
  W.FD = q, q += m * N;
  W.s = q, q += m;
  W.lam = q, q += m;
  W.ds = q, q += m;
  W.dl = q, q += m;
  W.dsa = q, q += m;
  W.dla = q, q += m;
  W.rp = q, q += m;
  W.Fw = q, q += m;
  double *y = q, *best_x = q + ny, *best_l = best_x + N, *xc = best_l + m;
  /* start: t = 1, W = 0, Z = I / n, s = lambda = 1 */
  y[0] = 1.0;
  for (size_t i = 0; i < n; i++) W.Z[i * n + i] = 1.0 / (double)n;
  for (size_t k = 0; k < m; k++) W.s[k] = W.lam[k] = 1.0;
  hm_status st = HM_OK;
  double best_gap = HUGE_VAL;
  hm_svm_result rc = *r;
  int it;
  for (it = 0; it < max_iter; it++) {
    if (hm_interrupted()) {
      st = HM_EINTR;
      break;
    }
    lmi(d, y[0], y + 1, W.S);
    if (chol(n, W.S, W.Ls) != 0 || chol(n, W.Z, W.Lz) != 0) break;
    /* R = S^-1 from the factor */
    memcpy(W.R, W.Ls, nn * sizeof(double));
    if (LAPACKE_dpotri_work(LAPACK_ROW_MAJOR, 'L', (lapack_int)n, W.R, (lapack_int)n) != 0) break;
    for (size_t i = 0; i < n; i++)
      for (size_t j = i + 1; j < n; j++) W.R[i * n + j] = W.R[j * n + i];
    /* residuals: r_p = s - (F w - b); certificate of the current point */
    cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)m, (int)N, 1.0, F, (int)N, y + 1, 1, 0.0, W.Fw,
                1);
    double comp = 0;
    for (size_t i = 0; i < nn; i++) comp += W.S[i] * W.Z[i];
    for (size_t k = 0; k < m; k++) {
      W.rp[k] = W.s[k] - (W.Fw[k] - Rw->b[k]);
      comp += W.s[k] * W.lam[k];
    }
    double mu = comp / (double)(n + m);
    memcpy(xc, y + 1, N * sizeof(double));
    rc = *r;
    if (hm_poly_certify(Rw, F, N, HM_POLY_SPECTRAL, xc, W.lam, NULL, &rc) != HM_OK) {
      st = HM_ENOMEM;
      break;
    }
    if (rc.rel_gap < best_gap) {
      best_gap = rc.rel_gap;
      memcpy(best_x, y + 1, N * sizeof(double));
      memcpy(best_l, W.lam, m * sizeof(double));
    }
    if (best_gap <= tol) break;
    if (!isfinite(mu) || mu < 1e-300) break;
    if (schur(&W, F) != HM_OK) break;
    /* predictor */
    direction(&W, F, 0.0, 0, W.dya, W.dSa, W.dsa, W.dZa, W.dla);
    double ap = psd_step(n, W.Ls, W.dSa, W.T1, W.ew, W.ewk);
    double ad = psd_step(n, W.Lz, W.dZa, W.T1, W.ew, W.ewk);
    for (size_t k = 0; k < m; k++) {
      if (W.dsa[k] < 0) ap = fmin(ap, -W.s[k] / W.dsa[k]);
      if (W.dla[k] < 0) ad = fmin(ad, -W.lam[k] / W.dla[k]);
    }
    double ca = 0;
    for (size_t i = 0; i < nn; i++) ca += (W.S[i] + ap * W.dSa[i]) * (W.Z[i] + ad * W.dZa[i]);
    for (size_t k = 0; k < m; k++) ca += (W.s[k] + ap * W.dsa[k]) * (W.lam[k] + ad * W.dla[k]);
    double sig = fmax(0.0, ca / (double)(n + m) / mu);
    sig = fmin(1.0, sig * sig * sig);
    /* corrector */
    direction(&W, F, sig * mu, 1, W.dy, W.dS, W.ds, W.dZ, W.dl);
    ap = psd_step(n, W.Ls, W.dS, W.T1, W.ew, W.ewk);
    ad = psd_step(n, W.Lz, W.dZ, W.T1, W.ew, W.ewk);
    for (size_t k = 0; k < m; k++) {
      if (W.ds[k] < 0) ap = fmin(ap, -W.s[k] / W.ds[k]);
      if (W.dl[k] < 0) ad = fmin(ad, -W.lam[k] / W.dl[k]);
    }
    ap = fmin(1.0, 0.98 * ap);
    ad = fmin(1.0, 0.98 * ad);
    for (size_t i = 0; i < ny; i++) y[i] += ap * W.dy[i];
    for (size_t k = 0; k < m; k++) {
      W.s[k] += ap * W.ds[k];
      W.lam[k] += ad * W.dl[k];
    }
    for (size_t i = 0; i < nn; i++) W.Z[i] += ad * W.dZ[i];
    for (size_t i = 0; i < n; i++)
      for (size_t j = 0; j < i; j++) {
        double v = 0.5 * (W.Z[i * n + j] + W.Z[j * n + i]);
        W.Z[i * n + j] = W.Z[j * n + i] = v;
      }
    if (ap < 1e-10 && ad < 1e-10) break;
  }
  r->iterations = it;
  if (st == HM_OK) {
    double *lam = W.dl; /* scratch m */
    if (!isfinite(best_gap)) {
      memset(best_x, 0, N * sizeof(double)); /* no certified point: report the bracket as is */
      memcpy(best_l, W.lam, m * sizeof(double));
    }
    st = hm_poly_certify(Rw, F, N, HM_POLY_SPECTRAL, best_x, best_l, lam, r);
    if (st == HM_OK) {
      r->status = r->rel_gap <= tol ? HM_SVM_OPTIMAL : HM_SVM_INACCURATE;
      hm_poly_unscale(Rw, N, best_x, lam, r);
      hm_poly_try_farkas(Rw, N, W.lam, r); /* the last multipliers: a diverging dual ray */
      if (r->status == HM_SVM_INACCURATE) st = hm_poly_farkas_by_lp(Rw, F, N, r);
    }
  }
  free(mem);
  return st;
}

hm_status hm_svm_spectral_w(const hm_wcons *c, const hm_svm_opts *o, hm_svm_result *r,
                            hm_svm_wextra *ex) {
  if (c && c->eq)
    for (size_t k = 0; k < c->m; k++)
      if (c->eq[k]) return HM_EARG;
  return hm_poly_w(c, o, r, ex, HM_POLY_SPECTRAL, spectral_solve);
}
