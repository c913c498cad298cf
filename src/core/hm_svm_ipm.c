/* Interior-point solvers of the hard-margin QP (solvers.md 2.1.1): Mehrotra
 * predictor-corrector, on the m-variable dual with the Gram matrix (the free column as one
 * bordered equality c^T lambda = 0) when m is moderate, or on the N-variable primal
 * (H = P + F^T D F by dsyrk) for tall vector problems. The primal IPM can drop rows whose
 * Newton weight has become negligible (shrinking), form H in single precision while far from
 * the optimum, and warm start (the working set, hm_svm_wset.c). Both return their best-merit
 * iterate: the polish (hm_svm_polish.c) finishes the job and the bracket decides. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include <lapacke.h>

#include "hm_interrupt.h"
#include "hm_svm_qp_internal.h"
static double max_step(const double *v, const double *dv, size_t n) {
  double a = 1e300;
  for (size_t i = 0; i < n; i++)
    if (dv[i] < 0) {
      double t = -v[i] / dv[i];
      if (t < a) a = t;
    }
  return a;
}

/* One pass of the Mehrotra step on the complementary pairs (u_k, v_k) with directions
 * (du, dv); rows with skip[k] set (skip may be NULL) stay out of the gap. Predictor (pass 0):
 * *sigma_mu = (gap after the affine step / gap)^3 mu, the directions are kept in dua, dva;
 * returns 0. Corrector (pass 1): u and v move by a = min(1, 0.99 * the step to the boundary),
 * returned for the caller's other variables. */
static double mehrotra_step(int pass, size_t m, double *u, double *v, const double *du,
                            const double *dv, const unsigned char *skip, double gap, double mu,
                            double *dua, double *dva, double *sigma_mu) {
  double a = fmin(max_step(u, du, m), max_step(v, dv, m));
  if (pass == 0) {
    a = fmin(1.0, a);
    double ga = 0;
    for (size_t k = 0; k < m; k++)
      if (!skip || !skip[k]) ga += (u[k] + a * du[k]) * (v[k] + a * dv[k]);
    *sigma_mu = pow(ga / gap, 3) * mu;
    memcpy(dua, du, m * sizeof *du);
    memcpy(dva, dv, m * sizeof *dv);
    return 0;
  }
  a = fmin(1.0, 0.99 * a);
  for (size_t k = 0; k < m; k++) {
    u[k] += a * du[k];
    v[k] += a * dv[k];
  }
  return a;
}

/* Cholesky of H (n x n, lower) with growing diagonal regularization on failure. */
static int chol_reg(double *H, const double *H0, size_t n) {
  double tr = 0;
  for (size_t i = 0; i < n; i++) tr += H0[i * n + i];
  double delta = 0;
  for (int attempt = 0; attempt < 6; attempt++) {
    memcpy(H, H0, n * n * sizeof *H);
    for (size_t i = 0; i < n; i++) H[i * n + i] += delta;
    if (LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, 'U', (lapack_int)n, H, (lapack_int)n) == 0) return 0;
    delta = delta == 0 ? 1e-14 * fmax(tr / (double)n, 1e-300) : delta * 100;
  }
  return 1;
}

static void chol_solve(const double *L, size_t n, double *x) {
  LAPACKE_dpotrs_work(LAPACK_COL_MAJOR, 'U', (lapack_int)n, 1, L, (lapack_int)n, x, (lapack_int)n);
}

hm_status hm_qp_ipm_error(int ipm_status) {
  if (ipm_status == HM_QP_IPM_NOMEM) return HM_ENOMEM;
  if (ipm_status == HM_QP_IPM_INTR) return HM_EINTR;
  return HM_OK;
}

/* s = K l - b - c nu are the primal slacks; the free variable is beta = -nu. */
int hm_qp_ipm_dual(size_t m, const double *K, const double *c, const double *b, int maxit,
                   double *lam, double *beta, int *iters) {
  int ret = HM_QP_IPM_FAILED;
  double *s = malloc(m * sizeof *s), *Kl = malloc(m * sizeof *Kl), *rd = malloc(m * sizeof *rd);
  double *H0 = malloc(m * m * sizeof *H0), *L = malloc(m * m * sizeof *L);
  double *dl = malloc(m * sizeof *dl), *ds = malloc(m * sizeof *ds), *h = malloc(m * sizeof *h);
  double *dla = malloc(m * sizeof *dla), *dsa = malloc(m * sizeof *dsa),
         *rhs = malloc(m * sizeof *rhs), *lb = malloc(m * sizeof *lb);
  double best_merit = INFINITY, best_nu = 0;
  if (!s || !Kl || !rd || !H0 || !L || !dl || !ds || !h || !dla || !dsa || !rhs || !lb) {
    ret = HM_QP_IPM_NOMEM;
    goto done;
  }
  double nu = 0, bmax = 0;
  for (size_t k = 0; k < m; k++) {
    lam[k] = 1;
    s[k] = 1;
    if (fabs(b[k]) > bmax) bmax = fabs(b[k]);
  }
  int it;
  for (it = 0; it < maxit; it++) {
    if (hm_interrupted()) {
      ret = HM_QP_IPM_INTR;
      goto done;
    }
    cblas_dsymv(CblasRowMajor, CblasLower, (int)m, 1.0, K, (int)m, lam, 1, 0.0, Kl, 1);
    double re = 0, rdn = 0, gap = 0, quad = 0, bl = 0;
    for (size_t k = 0; k < m; k++) {
      rd[k] = Kl[k] - b[k] - (c ? c[k] * nu : 0) - s[k];
      if (fabs(rd[k]) > rdn) rdn = fabs(rd[k]);
      if (c) re += c[k] * lam[k];
      gap += lam[k] * s[k];
      quad += lam[k] * Kl[k];
      bl += b[k] * lam[k];
    }
    double mu = gap / (double)m;
    double merit = fmax(fmax(rdn, fabs(re)) / (1 + bmax), gap / fmax(1.0, quad));
    if (merit < best_merit) {
      best_merit = merit;
      best_nu = nu;
      memcpy(lb, lam, m * sizeof *lam);
    }
    if (merit <= 1e-13) break;
    if (best_merit <= 1e-8 && merit > 100 * best_merit) break;
    if (bl > 1e16 || quad > 1e16) {
      ret = HM_QP_IPM_DIVERGED;
      break;
    }
    memcpy(H0, K, m * m * sizeof *H0);
    for (size_t k = 0; k < m; k++) H0[k * m + k] += s[k] / lam[k];
    if (chol_reg(L, H0, m)) break;
    double ch = 0;
    if (c) {
      memcpy(h, c, m * sizeof *h);
      chol_solve(L, m, h);
      for (size_t k = 0; k < m; k++) ch += c[k] * h[k];
    }
    double sigma_mu = 0;
    for (int pass = 0; pass < 2; pass++) {
      /* r_c = -l s (+ corrector) ; rhs = -rd + r_c / l */
      for (size_t k = 0; k < m; k++) {
        double rc = -lam[k] * s[k];
        if (pass == 1) rc += -dla[k] * dsa[k] + sigma_mu;
        rhs[k] = -rd[k] + rc / lam[k];
        ds[k] = rc; /* keep r_c */
      }
      memcpy(dl, rhs, m * sizeof *dl);
      chol_solve(L, m, dl);
      double dnu = 0;
      if (c && ch > 0) {
        double cg = 0;
        for (size_t k = 0; k < m; k++) cg += c[k] * dl[k];
        dnu = (-re - cg) / ch;
        for (size_t k = 0; k < m; k++) dl[k] += h[k] * dnu;
      }
      for (size_t k = 0; k < m; k++) ds[k] = (ds[k] - s[k] * dl[k]) / lam[k];
      double a = mehrotra_step(pass, m, lam, s, dl, ds, NULL, gap, mu, dla, dsa, &sigma_mu);
      if (pass == 1) nu += a * dnu;
    }
  }
  if (ret != HM_QP_IPM_DIVERGED) {
    if (isfinite(best_merit)) {
      memcpy(lam, lb, m * sizeof *lam);
      nu = best_nu;
    }
    ret = best_merit <= 1e-8 ? HM_QP_IPM_OK : HM_QP_IPM_FAILED;
  }
  *beta = -nu;
  *iters = it;
done:
  free(lb);
  free(s);
  free(Kl);
  free(rd);
  free(H0);
  free(L);
  free(dl);
  free(ds);
  free(h);
  free(dla);
  free(dsa);
  free(rhs);
  return ret;
}

int hm_qp_ipm_primal(size_t m, size_t N, size_t nfree, const double *F, const double *b,
                     int maxit, const hm_qp_shrink *sr, double stop_merit, double *sw,
                     double *x, double *z, int *iters) {
  /* sw NULL: cold start (x = 0, s = z = 1). Otherwise a warm start from x, z and the slacks
   * sw (all > 0), and sw receives the slacks of the returned iterate. */
  int ret = HM_QP_IPM_FAILED;
  size_t np = N - nfree;
  double *s = malloc(m * sizeof *s), *Fx = malloc(m * sizeof *Fx), *rs = malloc(m * sizeof *rs);
  double *D = malloc(m * sizeof *D), *ds = malloc(m * sizeof *ds), *dz = malloc(m * sizeof *dz);
  double *dsa = malloc(m * sizeof *dsa), *dza = malloc(m * sizeof *dza),
         *tmp = malloc(m * sizeof *tmp);
  double *rx = malloc(N * sizeof *rx), *dx = malloc(N * sizeof *dx), *H = malloc(N * N * sizeof *H);
  double *Fs = malloc(m * N * sizeof *Fs);
  size_t *rows = malloc(m * sizeof *rows);
  unsigned char *gone = calloc(m, 1); /* shrinking: rows judged inactive leave the problem */
  size_t mact = m;
  int since_best = 0;
  double *xb = malloc(N * sizeof *xb), *zb = malloc(m * sizeof *zb), *sb = malloc(m * sizeof *sb);
  float *Ff = NULL, *Hf = NULL;
  int was_double = 0;
  double best_merit = INFINITY;
  if (!s || !Fx || !rs || !D || !ds || !dz || !dsa || !dza || !tmp || !rx || !dx || !H || !Fs ||
      !rows || !xb || !zb || !sb || !gone) {
    ret = HM_QP_IPM_NOMEM;
    goto done;
  }
  double bmax = 0;
  for (size_t k = 0; k < m; k++) {
    if (!sw) {
      z[k] = 1;
      s[k] = 1;
    } else {
      s[k] = sw[k];
    }
    if (fabs(b[k]) > bmax) bmax = fabs(b[k]);
  }
  if (!sw) memset(x, 0, N * sizeof *x);
  int it;
  for (it = 0; it < maxit; it++) {
    if (hm_interrupted()) {
      ret = HM_QP_IPM_INTR;
      goto done;
    }
    cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)m, (int)N, 1.0, F, (int)N, x, 1, 0.0, Fx, 1);
    cblas_dgemv(CblasRowMajor, CblasTrans, (int)m, (int)N, -1.0, F, (int)N, z, 1, 0.0, rx, 1);
    double xPx = 0;
    for (size_t j = 0; j < np; j++) {
      rx[j] += x[j];
      xPx += x[j] * x[j];
    }
    double rxn = 0, rsn = 0, gap = 0, bz = 0, Dmax = 0;
    for (size_t j = 0; j < N; j++)
      if (fabs(rx[j]) > rxn) rxn = fabs(rx[j]);
    for (size_t k = 0; k < m; k++) {
      if (gone[k]) {
        rs[k] = 0;
        D[k] = 0;
        continue;
      }
      rs[k] = Fx[k] - s[k] - b[k];
      if (fabs(rs[k]) > rsn) rsn = fabs(rs[k]);
      gap += s[k] * z[k];
      bz += b[k] * z[k];
      D[k] = z[k] / s[k];
      if (D[k] > Dmax) Dmax = D[k];
    }
    double mu = gap / (double)mact;
    double xn = sqrt(xPx);
    double merit = fmax(fmax(rxn / fmax(1.0, xn), rsn / (1 + bmax)), gap / fmax(1.0, xPx));
    if (merit < best_merit) {
      best_merit = merit;
      since_best = 0;
      memcpy(xb, x, N * sizeof *x);
      memcpy(zb, z, m * sizeof *z);
      memcpy(sb, s, m * sizeof *s);
    } else if (++since_best >= 3 && best_merit <= 1e-8) {
      break; /* no progress for three iterations: hand over to the polish */
    } else if (since_best >= 6 && best_merit <= 1e-6) {
      break; /* stalled with an identified support (the dual residual cannot be reduced by
                the short steps left): the polish takes over */
    }
    if (merit <= stop_merit) break; /* the polish finishes the job */
    /* stalled: the Newton systems have become too ill-conditioned to make progress */
    if (best_merit <= 1e-8 && merit > 100 * best_merit) break;
    if (xPx > 1e16 || bz > 1e16) {
      ret = HM_QP_IPM_DIVERGED;
      break;
    }
    /* shrink: rows whose Newton weight is negligible for good (the polish re-checks every
     * row and adds back any violated one) */
    if (sr->enabled && it >= sr->from_it)
      for (size_t k = 0; k < m; k++)
        if (!gone[k] && D[k] < sr->tau * Dmax && s[k] > 10 * sqrt(mu)) {
          gone[k] = 1;
          z[k] = 0;
          D[k] = 0;
          mact--;
        }
    /* H = P + sum_k D_k f_k f_k^T over rows whose weight matters */
    size_t nr = 0;
    int single = sr->single && !was_double && merit > 1e-2;
    if (!single) was_double = 1; /* never back: later H are ill-conditioned */
    if (single && !Ff) {
      Ff = malloc(m * N * sizeof *Ff);
      Hf = malloc(N * N * sizeof *Hf);
      if (!Ff || !Hf) {
        ret = HM_QP_IPM_NOMEM;
        goto done;
      }
    }
    for (size_t k = 0; k < m; k++)
      if (D[k] > 1e-12 * Dmax) {
        double sq = sqrt(D[k]);
        if (single)
          for (size_t j = 0; j < N; j++) Ff[nr * N + j] = (float)(sq * F[k * N + j]);
        else
          for (size_t j = 0; j < N; j++) Fs[nr * N + j] = sq * F[k * N + j];
        rows[nr++] = k;
      }
    if (single) {
      cblas_ssyrk(CblasRowMajor, CblasLower, CblasTrans, (int)N, (int)nr, 1.0f, Ff, (int)N, 0.0f,
                  Hf, (int)N);
      for (size_t j = 0; j < N * N; j++) H[j] = (double)Hf[j];
    } else {
      cblas_dsyrk(CblasRowMajor, CblasLower, CblasTrans, (int)N, (int)nr, 1.0, Fs, (int)N, 0.0, H,
                  (int)N);
    }
    for (size_t j = 0; j < np; j++) H[j * N + j] += 1.0;
    double tr = 0;
    for (size_t j = 0; j < N; j++) tr += H[j * N + j];
    int fail = 1;
    double delta = 0;
    for (int attempt = 0; attempt < 6 && fail; attempt++) {
      if (attempt > 0) {
        double add = delta == 0 ? 1e-14 * tr / (double)N : delta * 99;
        for (size_t j = 0; j < N; j++) H[j * N + j] += add;
        delta += add;
        /* dpotrf destroyed H: rebuild */
        if (single)
          for (size_t j = 0; j < N * N; j++) H[j] = (double)Hf[j];
        else
          cblas_dsyrk(CblasRowMajor, CblasLower, CblasTrans, (int)N, (int)nr, 1.0, Fs, (int)N,
                      0.0, H, (int)N);
        for (size_t j = 0; j < N; j++) H[j * N + j] += (j < np ? 1.0 : 0.0) + delta;
      }
      fail = LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, 'U', (lapack_int)N, H, (lapack_int)N) != 0;
    }
    if (fail) break;
    double sigma_mu = 0;
    for (int pass = 0; pass < 2; pass++) {
      for (size_t k = 0; k < m; k++) {
        if (gone[k]) {
          dz[k] = 0;
          tmp[k] = 0;
          continue;
        }
        double rc = -s[k] * z[k];
        if (pass == 1) rc += -dsa[k] * dza[k] + sigma_mu;
        dz[k] = rc; /* keep r_c */
        tmp[k] = rc / s[k] - D[k] * rs[k];
      }
      cblas_dgemv(CblasRowMajor, CblasTrans, (int)m, (int)N, 1.0, F, (int)N, tmp, 1, 0.0, dx, 1);
      for (size_t j = 0; j < N; j++) dx[j] -= rx[j];
      chol_solve(H, N, dx);
      cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)m, (int)N, 1.0, F, (int)N, dx, 1, 0.0, ds, 1);
      for (size_t k = 0; k < m; k++) {
        if (gone[k]) {
          ds[k] = 0;
          continue;
        }
        ds[k] += rs[k];
        dz[k] = dz[k] / s[k] - D[k] * ds[k];
      }
      double a = mehrotra_step(pass, m, s, z, ds, dz, gone, gap, mu, dsa, dza, &sigma_mu);
      if (pass == 1)
        for (size_t j = 0; j < N; j++) x[j] += a * dx[j];
    }
  }
  if (ret != HM_QP_IPM_DIVERGED) {
    if (isfinite(best_merit)) {
      memcpy(x, xb, N * sizeof *x);
      memcpy(z, zb, m * sizeof *z);
      memcpy(s, sb, m * sizeof *s);
    }
    if (sw) memcpy(sw, s, m * sizeof *s);
    ret = best_merit <= 1e-8 ? HM_QP_IPM_OK : HM_QP_IPM_FAILED;
  }
  *iters = it;
done:
  free(Ff);
  free(Hf);
  free(gone);
  free(sb);
  free(xb);
  free(zb);
  free(s);
  free(Fx);
  free(rs);
  free(D);
  free(ds);
  free(dz);
  free(dsa);
  free(dza);
  free(tmp);
  free(rx);
  free(dx);
  free(H);
  free(Fs);
  free(rows);
  return ret;
}
