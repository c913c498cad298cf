/* Shared pieces of the conic solvers: row preprocessing, Farkas decision by the
 * nearest-point QP (solvers.md §1, §2.7), a small dense QP IPM, singular values, ranks. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>
#include <lapacke.h>

#include "hm_interrupt.h"
#include "hm_mat.h"
#include "hm_svm_conic_impl.h"
#include "hm_svm_small.h"

double hm_conic_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void *xcalloc(size_t n, size_t sz) {
  if (n == 0) n = 1;
  if (sz != 0 && n > (size_t)-1 / sz) return NULL;
  return calloc(n, sz);
}

void hm_crows_free(hm_crows *R) {
  free(R->A);
  free(R->Z);
  free(R->F);
  free(R->b);
  free(R->eq);
  free(R->idx);
  free(R->rho);
  memset(R, 0, sizeof *R);
}

void hm_conic_set_infeasible(hm_svm_result *r, size_t nx, size_t m0) {
  r->status = HM_SVM_INFEASIBLE;
  if (r->x) memset(r->x, 0, nx * sizeof(double));
  if (r->lambda) memset(r->lambda, 0, m0 * sizeof(double));
  r->objective = HUGE_VAL;
  r->dual_objective = HUGE_VAL;
  r->rel_gap = 0;
  r->primal_infeas = HUGE_VAL;
  r->stationarity = 0;
  r->complementarity = 0;
}

/* Common result fields (shared with the QP family's hm_svm_result extensions). */
static void finish_common(hm_svm_result *r, double t0, int has_eq_neg, double res_svm,
                          double res_own) {
  r->seconds = hm_conic_now() - t0;
  if (r->status == HM_SVM_INFEASIBLE) {
    r->margin = 0;
    r->lower_bound = HUGE_VAL;
    r->farkas_residual = has_eq_neg ? res_own : res_svm;
  } else {
    r->margin = r->objective > 0 ? 1.0 / r->objective : HUGE_VAL;
    r->lower_bound = r->dual_objective;
    r->farkas_residual = NAN;
  }
}

static int eq_negative(size_t m, const unsigned char *eq, const double *lam) {
  if (!eq || !lam) return 0;
  for (size_t k = 0; k < m; k++)
    if (eq[k] && lam[k] < 0) return 1;
  return 0;
}

void hm_conic_finish_w(const hm_wcons *c, hm_svm_result *r, double t0, double res_own) {
  int neg = eq_negative(c->m, c->eq, r->farkas);
  double rs = (r->status == HM_SVM_INFEASIBLE && r->farkas && !neg)
                  ? hm_svm_farkas_residual_w(c, r->farkas)
                  : res_own;
  finish_common(r, t0, neg, rs, res_own);
}

void hm_conic_finish_vec(const hm_vcons *c, hm_svm_result *r, double t0, double res_own) {
  int neg = eq_negative(c->m, c->eq, r->farkas);
  double rs = (r->status == HM_SVM_INFEASIBLE && r->farkas && !neg)
                  ? hm_svm_farkas_residual_vec(c, r->farkas)
                  : res_own;
  finish_common(r, t0, neg, rs, res_own);
}

/* ---------------------------------------------------------------- singular values */

hm_status hm_conic_singular_values(size_t rows, size_t cols, const double *X, double *s) {
  size_t k = rows < cols ? rows : cols;
  if (k == 0) return HM_OK;
  double *a = malloc(rows * cols * sizeof(double));
  double *u = malloc((k > 1 ? k : 2) * sizeof(double));
  if (!a || !u) {
    free(a);
    free(u);
    return HM_ENOMEM;
  }
  memcpy(a, X, rows * cols * sizeof(double));
  lapack_int info = LAPACKE_dgesdd(LAPACK_ROW_MAJOR, 'N', (lapack_int)rows, (lapack_int)cols,
                                   a, (lapack_int)cols, s, NULL, (lapack_int)rows, NULL,
                                   (lapack_int)cols);
  if (info > 0) { /* dgesdd occasionally fails to converge: retry with dgesvd */
    memcpy(a, X, rows * cols * sizeof(double));
    info = LAPACKE_dgesvd(LAPACK_ROW_MAJOR, 'N', 'N', (lapack_int)rows, (lapack_int)cols, a,
                          (lapack_int)cols, s, NULL, (lapack_int)rows, NULL, (lapack_int)cols, u);
  }
  free(a);
  free(u);
  if (info < 0) return HM_ELAPACK;
  if (info > 0) return HM_ENOCONV;
  return HM_OK;
}

hm_status hm_svm_rank_info(size_t d, const double *W, const double *M, double rank_tol,
                           hm_svm_wextra *ex) {
  if (!ex) return HM_OK;
  if (rank_tol <= 0) rank_tol = 1e-6;
  ex->rank_tol = rank_tol;
  double *s = malloc((d ? d : 1) * sizeof(double));
  if (!s) return HM_ENOMEM;
  hm_status st = hm_conic_singular_values(d, d, W, s);
  if (st == HM_OK) {
    int r = 0;
    if (d > 0 && s[0] > 0)
      for (size_t j = 0; j < d; j++)
        if (s[j] > rank_tol * s[0]) r++;
    ex->rank = r;
    ex->rank_gap = (r > 0 && (size_t)r < d) ? s[r] / s[r - 1] : 0.0;
    if (ex->sv) memcpy(ex->sv, s, d * sizeof(double));
    ex->dual_rank = 0;
    if (M) {
      st = hm_conic_singular_values(d, d, M, s);
      if (st == HM_OK && d > 0 && s[0] > 0) {
        ex->dual_spectral = s[0];
        int dr = 0;
        for (size_t j = 0; j < d; j++)
          if (s[j] / s[0] >= 1.0 - rank_tol) dr++;
        ex->dual_rank = dr;
      }
    }
  }
  free(s);
  return st;
}

/* ---------------------------------------------------------------- small QP IPM */

/* Solve H x = rhs with the Cholesky factor in L (row-major lower, from dpotrf) and one
 * step of iterative refinement against Hfull. */
static void chol_solve(size_t m, const double *L, double *x) {
  hm_conic_potrs(m, L, x);
}

/* Row-major lower Cholesky == column-major upper on the same buffer; the _work entry
 * points skip LAPACKE's transposition and NaN scans (matrices here are small). */
int hm_conic_potrf(size_t n, double *A) {
  return (int)LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, 'U', (lapack_int)n, A, (lapack_int)n);
}
void hm_conic_potrs(size_t n, const double *L, double *x) {
  LAPACKE_dpotrs_work(LAPACK_COL_MAJOR, 'U', (lapack_int)n, 1, L, (lapack_int)n, x,
                      (lapack_int)(n ? n : 1));
}
/* The same with the plain loops of hm_svm_small.c up to HM_CONIC_SMALL, where they beat
 * OpenBLAS's dpotrf (0.93 vs 1.22 us at n = 20, 4.6 vs 5.0 us at n = 40, 12.8 vs 11.3 us at
 * n = 60) and the solve's two dtrsv calls. */
#define HM_CONIC_SMALL 48
int hm_conic_potrf_small(size_t n, double *A) {
  if (n <= HM_CONIC_SMALL) {
    double c[HM_CONIC_SMALL];
    return hm_sm_chol(n, A, c);
  }
  return hm_conic_potrf(n, A);
}
void hm_conic_potrs_small(size_t n, const double *L, double *x) {
  if (n <= HM_CONIC_SMALL) hm_sm_chol_solve(n, L, x);
  else hm_conic_potrs(n, L, x);
}
/* Is some eigenvalue of the symmetric tridiagonal (d, e) below x? (Sturm sequence: the
 * number of negative pivots of T - x I is the number of eigenvalues below x; the first
 * negative pivot decides; e2 holds the squared off-diagonal.) */
static int sturm_any_below(size_t n, const double *d, const double *e2, double x) {
  double q = 1;
  for (size_t i = 0; i < n; i++) {
    q = d[i] - x - (i ? e2[i - 1] / q : 0.0);
    if (q == 0) q = -1e-300;
    if (q < 0) return 1;
  }
  return 0;
}

/* A lower bound on the smallest eigenvalue of a symmetric n x n matrix (destroyed), within
 * 1e-7 (relative to the spectral range) of it: Householder tridiagonalization
 * (hm_sm_tridiag, plain loops: LAPACK's dsytrd costs more in call overhead than in
 * arithmetic at these sizes) and bisection with Sturm counts. Returning a value
 * <= lambda_min keeps step lengths computed from it conservative. work: 4n + 64n doubles. */
int hm_conic_eigmin(size_t n, double *B, double *w, double *work, double *lmin) {
  if (n == 0) {
    *lmin = 0;
    return 0;
  }
  double *dd = w, *e = work, *e2 = work + n, *wk = work + 2 * n;
  hm_sm_tridiag(n, B, dd, e, wk);
  double lo = HUGE_VAL, hi = -HUGE_VAL, tot = 0;
  for (size_t i = 0; i < n; i++) {
    double r = (i ? fabs(e[i - 1]) : 0.0) + (i + 1 < n ? fabs(e[i]) : 0.0);
    lo = fmin(lo, dd[i] - r);
    hi = fmax(hi, dd[i] + r);
    tot += fabs(dd[i]) + r; /* fmin / fmax drop NaNs; the sum keeps them */
  }
  if (!isfinite(lo) || !isfinite(hi) || !isfinite(tot)) return -1;
  for (size_t i = 0; i + 1 < n; i++) e2[i] = e[i] * e[i];
  double range = fmax(hi - lo, 1e-300);
  lo -= 1e-12 * range; /* no eigenvalue below lo */
  hi += 1e-12 * range; /* every eigenvalue below hi */
  for (int it = 0; it < 200 && hi - lo > 1e-7 * range; it++) {
    double mid = 0.5 * (lo + hi);
    if (sturm_any_below(n, dd, e2, mid)) hi = mid;
    else lo = mid;
  }
  *lmin = lo;
  return 0;
}

static hm_status chol_reg(size_t m, double *H, double *work, int (*potrf)(size_t, double *)) {
  double tr = 0;
  for (size_t i = 0; i < m; i++) tr += fabs(H[i * m + i]);
  double delta = 1e-15 * (tr / (double)(m ? m : 1) + 1e-300);
  memcpy(work, H, m * m * sizeof(double));
  for (int attempt = 0; attempt < 8; attempt++) {
    int info = potrf(m, H);
    if (info == 0) return HM_OK;
    if (info < 0) return HM_ELAPACK;
    memcpy(H, work, m * m * sizeof(double));
    for (size_t i = 0; i < m; i++) H[i * m + i] += delta;
    delta *= 100;
  }
  return HM_ESINGULAR;
}

hm_status hm_conic_chol_reg(size_t m, double *H, double *work) {
  return chol_reg(m, H, work, hm_conic_potrf);
}

hm_status hm_conic_chol_reg_small(size_t m, double *H, double *work) {
  return chol_reg(m, H, work, hm_conic_potrf_small);
}

hm_status hm_conic_qp(size_t m, const double *K, const double *c, const unsigned char *freev,
                      const double *beq, double *z, int warm, double tol, double atol,
                      int max_iter, int *iters) {
  if (iters) *iters = 0;
  if (m == 0) return HM_OK;
  hm_status st = HM_OK;
  size_t nb = 0;
  for (size_t k = 0; k < m; k++)
    if (!(freev && freev[k])) nb++;
  double *buf = xcalloc(2 * m * m + 12 * m, sizeof(double));
  if (!buf) return HM_ENOMEM;
  double *H = buf, *Hw = H + m * m;
  double *s = Hw + m * m, *rd = s + m, *g = rd + m, *h2 = g + m, *dz = h2 + m, *ds = dz + m;
  double *dza = ds + m, *dsa = dza + m, *Kz = dsa + m, *rc = Kz + m, *h1 = rc + m,
         *tmp = h1 + m;
  double y = 0;
  double scale = 1;
  for (size_t k = 0; k < m; k++) {
    scale = fmax(scale, fabs(K[k * m + k]));
    scale = fmax(scale, fabs(c[k]));
  }
  if (!warm) {
    for (size_t k = 0; k < m; k++) z[k] = (freev && freev[k]) ? 0.0 : 1.0;
  }
  for (size_t k = 0; k < m; k++) s[k] = (freev && freev[k]) ? 0.0 : 1.0;
  if (warm) {
    /* dual slack from the current gradient, kept away from zero */
    cblas_dsymv(CblasRowMajor, CblasLower, (int)m, 1.0, K, (int)m, z, 1, 0.0, Kz, 1);
    for (size_t k = 0; k < m; k++)
      if (!(freev && freev[k])) {
        if (z[k] < 1e-8) z[k] = 1e-8;
        s[k] = fmax(Kz[k] - c[k], 1e-3 * scale);
      }
  }
  int it = 0;
  double best_res = HUGE_VAL;
  int stall = 0;
  for (;; it++) {
    if (hm_interrupted()) {
      st = HM_EINTR;
      break;
    }
    cblas_dsymv(CblasRowMajor, CblasLower, (int)m, 1.0, K, (int)m, z, 1, 0.0, Kz, 1);
    double rdn = 0, gap = 0, obj = 0, re = 0;
    for (size_t k = 0; k < m; k++) {
      rd[k] = Kz[k] - c[k] - s[k] - (beq ? y * beq[k] : 0.0);
      rdn = fmax(rdn, fabs(rd[k]));
      gap += z[k] * s[k];
      obj += 0.5 * z[k] * Kz[k] - c[k] * z[k];
    }
    if (beq) {
      re = 1.0 - cblas_ddot((int)m, beq, 1, z, 1);
    }
    double res = rdn / scale + fabs(re);
    if (res <= 1e-12 && (gap <= atol || gap <= tol * fabs(obj))) break;
    if (nb == 0 && res <= 1e-12) break;
    if (it >= max_iter) {
      st = HM_ENOCONV;
      break;
    }
    if (res + gap < best_res * 0.999) {
      best_res = res + gap;
      stall = 0;
    } else if (++stall > 8) {
      st = HM_ENOCONV;
      break;
    }
    double mu = nb ? gap / (double)nb : 0;
    memcpy(H, K, m * m * sizeof(double));
    for (size_t k = 0; k < m; k++)
      if (!(freev && freev[k])) H[k * m + k] += s[k] / z[k];
    st = hm_conic_chol_reg(m, H, Hw);
    if (st != HM_OK) break;
    double bHb = 0;
    if (beq) {
      memcpy(h2, beq, m * sizeof(double));
      chol_solve(m, H, h2);
      bHb = cblas_ddot((int)m, beq, 1, h2, 1);
      if (!(bHb > 0)) bHb = 1e-300;
    }
    double sigma = 0, alpha = 1;
    for (int pass = 0; pass < 2; pass++) {
      for (size_t k = 0; k < m; k++) {
        if (freev && freev[k]) {
          rc[k] = 0;
          g[k] = -rd[k];
        } else {
          rc[k] = (pass == 0) ? -z[k] * s[k] : sigma * mu - z[k] * s[k] - dza[k] * dsa[k];
          g[k] = -rd[k] + rc[k] / z[k];
        }
      }
      memcpy(h1, g, m * sizeof(double));
      chol_solve(m, H, h1);
      double dy = 0;
      if (beq) dy = (re - cblas_ddot((int)m, beq, 1, h1, 1)) / bHb;
      for (size_t k = 0; k < m; k++) {
        dz[k] = h1[k] + (beq ? dy * h2[k] : 0.0);
        ds[k] = (freev && freev[k]) ? 0.0 : (rc[k] - s[k] * dz[k]) / z[k];
      }
      double amax = 1.0;
      for (size_t k = 0; k < m; k++) {
        if (freev && freev[k]) continue;
        if (dz[k] < 0) amax = fmin(amax, -z[k] / dz[k]);
        if (ds[k] < 0) amax = fmin(amax, -s[k] / ds[k]);
      }
      if (pass == 0) {
        double ga = 0;
        for (size_t k = 0; k < m; k++)
          if (!(freev && freev[k])) ga += (z[k] + amax * dz[k]) * (s[k] + amax * ds[k]);
        double mua = nb ? ga / (double)nb : 0;
        sigma = mu > 0 ? pow(mua / mu, 3) : 0;
        if (sigma > 1) sigma = 1;
        memcpy(dza, dz, m * sizeof(double));
        memcpy(dsa, ds, m * sizeof(double));
      } else {
        alpha = fmin(1.0, 0.99 * amax);
        for (size_t k = 0; k < m; k++) {
          z[k] += alpha * dz[k];
          s[k] += alpha * ds[k];
        }
        if (beq) y += alpha * dy;
      }
    }
    (void)tmp;
  }
  if (iters) *iters = it;
  free(buf);
  return st;
}

/* ---------------------------------------------------------------- row preparation */

hm_status hm_crows_gram(const hm_crows *R, double **Kout) {
  size_t m = R->m, d = R->d;
  double *K = xcalloc(m * m, sizeof(double));
  if (!K) return HM_ENOMEM;
  if (m == 0) {
    *Kout = K;
    return HM_OK;
  }
  if (R->is_w) {
    double *Gz = xcalloc(m * m, sizeof(double));
    if (!Gz) {
      free(K);
      return HM_ENOMEM;
    }
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)m, (int)d, 1.0, R->A,
                (int)d, R->A, (int)d, 0.0, K, (int)m);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)m, (int)d, 1.0, R->Z,
                (int)d, R->Z, (int)d, 0.0, Gz, (int)m);
    for (size_t i = 0; i < m * m; i++) K[i] *= Gz[i];
    free(Gz);
  } else {
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)m, (int)d, 1.0, R->F,
                (int)d, R->F, (int)d, 0.0, K, (int)m);
  }
  *Kout = K;
  return HM_OK;
}

void hm_crows_wadjoint(const hm_crows *R, const double *lam, double *M) {
  size_t m = R->m, d = R->d;
  memset(M, 0, d * d * sizeof(double));
  for (size_t k = 0; k < m; k++) {
    if (lam[k] == 0) continue;
    cblas_dger(CblasRowMajor, (int)d, (int)d, lam[k], R->A + k * d, 1, R->Z + k * d, 1, M,
               (int)d);
  }
}

void hm_crows_wapply(const hm_crows *R, const double *W, double *out, double *work) {
  size_t m = R->m, d = R->d;
  if (m == 0) return;
  /* work = A W (m x d), out_k = work_k . z_k */
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)d, (int)d, 1.0, R->A,
              (int)d, W, (int)d, 0.0, work, (int)d);
  for (size_t k = 0; k < m; k++) out[k] = cblas_ddot((int)d, work + k * d, 1, R->Z + k * d, 1);
}

/* Normalize the right-hand sides to max |b_k| = 1 (solutions scale linearly with b). */
static void crows_bscale(hm_crows *R) {
  double bm = 0;
  for (size_t k = 0; k < R->m; k++) bm = fmax(bm, fabs(R->b[k]));
  R->bscale = bm > 0 ? bm : 1.0;
  for (size_t k = 0; k < R->m; k++) R->b[k] /= R->bscale;
}

double *hm_crows_wrows(const hm_crows *R) {
  size_t m = R->m, d = R->d, dd = d * d;
  double *F = (m && dd > (size_t)-1 / m) ? NULL : xcalloc(m * dd, sizeof(double));
  if (!F) return NULL;
  for (size_t k = 0; k < m; k++)
    for (size_t i = 0; i < d; i++)
      for (size_t j = 0; j < d; j++) F[k * dd + i * d + j] = R->A[k * d + i] * R->Z[k * d + j];
  return F;
}

void hm_crows_trivial_result(const hm_crows *R, size_t nx, hm_svm_result *r) {
  r->status = HM_SVM_OPTIMAL;
  if (r->x) memset(r->x, 0, nx * sizeof(double));
  if (r->lambda) memset(r->lambda, 0, R->m0 * sizeof(double));
  r->objective = r->dual_objective = r->rel_gap = 0;
  r->primal_infeas = r->stationarity = r->complementarity = 0;
}

int hm_crows_try_farkas(const hm_crows *R, const double *y, double *farkas, double *res) {
  size_t m = R->m, d = R->d;
  size_t nx = R->is_w ? d * d : d;
  double *lam = xcalloc(m + nx, sizeof(double));
  if (!lam) return 0;
  double *G = lam + m;
  double bl = 0, l1 = 0;
  for (size_t k = 0; k < m; k++) {
    lam[k] = R->eq[k] ? y[k] : fmax(y[k], 0.0);
    bl += R->b[k] * lam[k];
    l1 += fabs(lam[k]);
  }
  int ok = 0;
  if (bl > 0 && l1 > 0 && isfinite(bl) && isfinite(l1)) {
    if (R->is_w) hm_crows_wadjoint(R, lam, G);
    else
      cblas_dgemv(CblasRowMajor, CblasTrans, (int)m, (int)d, 1.0, R->F, (int)d, lam, 1, 0.0, G,
                  1);
    double nrm = cblas_dnrm2((int)nx, G, 1);
    if (nrm <= 1e-9 * l1) {
      ok = 1;
      if (res) *res = nrm / l1;
      if (farkas) {
        memset(farkas, 0, R->m0 * sizeof(double));
        for (size_t k = 0; k < m; k++) farkas[R->idx[k]] = lam[k] / R->rho[k] / (bl * R->bscale);
      }
    }
  }
  free(lam);
  return ok;
}

/* Decide feasibility of the kept rows; fill farkas (original indexing) if infeasible. */
static hm_status crows_feasibility(hm_crows *R, double *farkas, int defer) {
  size_t m = R->m;
  int need = 0;
  for (size_t k = 0; k < m; k++)
    if ((R->eq[k] && R->b[k] != 0) || (!R->eq[k] && R->b[k] > 0)) need = 1;
  if (!need) {
    R->trivial = 1; /* x = 0 satisfies every row with the smallest possible norm */
    return HM_OK;
  }
  if (defer) return HM_OK;
  return hm_crows_feasibility(R, farkas);
}

hm_status hm_crows_feasibility(hm_crows *R, double *farkas) {
  size_t m = R->m;
  double *K = NULL;
  hm_status st = hm_crows_gram(R, &K);
  if (st != HM_OK) return st;
  double *z = xcalloc(2 * m, sizeof(double));
  double *c = z + m;
  if (!z) {
    free(K);
    return HM_ENOMEM;
  }
  int its = 0;
  st = hm_conic_qp(m, K, c, R->eq, R->b, z, 0, 1e-10, 1e-24, 200, &its);
  if (st == HM_ENOCONV) st = HM_OK; /* decide from whatever was reached */
  if (st == HM_OK) {
    double zKz = 0, z1 = 0;
    double *Kz = c; /* reuse */
    cblas_dsymv(CblasRowMajor, CblasLower, (int)m, 1.0, K, (int)m, z, 1, 0.0, Kz, 1);
    zKz = cblas_ddot((int)m, z, 1, Kz, 1);
    for (size_t k = 0; k < m; k++) {
      if (!R->eq[k] && z[k] < 0) z[k] = 0;
      z1 += fabs(z[k]);
    }
    double nrm = sqrt(fmax(zKz, 0));
    double bz = cblas_ddot((int)m, R->b, 1, z, 1);
    if (bz > 0 && nrm <= 1e-9 * z1) {
      R->infeasible = 1;
      R->farkas_residual = nrm / z1;
      if (farkas) {
        memset(farkas, 0, R->m0 * sizeof(double));
        for (size_t k = 0; k < m; k++) farkas[R->idx[k]] = z[k] / R->rho[k] / (bz * R->bscale);
      }
    }
  }
  free(z);
  free(K);
  return st;
}

static hm_status crows_alloc(hm_crows *R, size_t m0, size_t d, int is_w) {
  memset(R, 0, sizeof *R);
  R->m0 = m0;
  R->d = d;
  R->is_w = is_w;
  if (is_w) {
    R->A = xcalloc(m0 * d, sizeof(double));
    R->Z = xcalloc(m0 * d, sizeof(double));
    if (!R->A || !R->Z) return HM_ENOMEM;
  } else {
    R->F = xcalloc(m0 * d, sizeof(double));
    if (!R->F) return HM_ENOMEM;
  }
  R->b = xcalloc(m0, sizeof(double));
  R->eq = xcalloc(m0, 1);
  R->idx = xcalloc(m0, sizeof(size_t));
  R->rho = xcalloc(m0, sizeof(double));
  if (!R->b || !R->eq || !R->idx || !R->rho) return HM_ENOMEM;
  if (m0 != 0 && d > (size_t)-1 / m0) return HM_ENOMEM;
  return HM_OK;
}

/* A zero row that asks for b_k > 0 (or == b_k != 0): certificate e_k / b_k. */
static void zero_row_certificate(hm_crows *R, size_t k, double bk, double *farkas) {
  R->infeasible = 1;
  R->farkas_residual = 0;
  if (farkas) {
    memset(farkas, 0, R->m0 * sizeof(double));
    farkas[k] = 1.0 / bk;
  }
}

hm_status hm_crows_prep_w(const hm_wcons *c, hm_crows *R, double *farkas) {
  return hm_crows_prep_w2(c, R, farkas, 0);
}

hm_status hm_crows_prep_w2(const hm_wcons *c, hm_crows *R, double *farkas, int defer) {
  size_t m0 = c->m, d = c->d;
  if (m0 > 0 && (!c->A || !c->Zr || !c->b)) return HM_EARG;
  if (m0 != 0 && d != 0 && m0 > (size_t)-1 / d) return HM_ENOMEM;
  if (!hm_all_finite(c->A, m0 * d) || !hm_all_finite(c->Zr, m0 * d) ||
      !hm_all_finite(c->b, m0))
    return HM_ENONFINITE;
  hm_status st = crows_alloc(R, m0, d, 1);
  if (st != HM_OK) {
    hm_crows_free(R);
    return st;
  }
  size_t j = 0;
  for (size_t k = 0; k < m0; k++) {
    const double *a = c->A + k * d, *z = c->Zr + k * d;
    double na = cblas_dnrm2((int)d, a, 1), nz = cblas_dnrm2((int)d, z, 1);
    double rho = na * nz;
    int eq = c->eq ? c->eq[k] != 0 : 0;
    if (!(rho > 0) || !isfinite(rho)) {
      if (!(rho > 0)) {
        if ((eq && c->b[k] != 0) || (!eq && c->b[k] > 0)) {
          zero_row_certificate(R, k, c->b[k], farkas);
          return HM_OK;
        }
        continue; /* 0 >= b_k with b_k <= 0: always satisfied */
      }
      hm_crows_free(R);
      return HM_ENONFINITE;
    }
    for (size_t i = 0; i < d; i++) {
      R->A[j * d + i] = a[i] / na;
      R->Z[j * d + i] = z[i] / nz;
    }
    R->b[j] = c->b[k] / rho;
    R->eq[j] = (unsigned char)eq;
    R->neq += eq;
    R->idx[j] = k;
    R->rho[j] = rho;
    j++;
  }
  R->m = j;
  crows_bscale(R);
  st = crows_feasibility(R, farkas, defer);
  if (st != HM_OK) hm_crows_free(R);
  return st;
}

hm_status hm_crows_prep_vec(const hm_vcons *c, hm_crows *R, double *farkas) {
  size_t m0 = c->m, N = c->N;
  if (m0 > 0 && (!c->F || !c->b)) return HM_EARG;
  if (m0 != 0 && N != 0 && m0 > (size_t)-1 / N) return HM_ENOMEM;
  if (!hm_all_finite(c->F, m0 * N) || !hm_all_finite(c->b, m0)) return HM_ENONFINITE;
  hm_status st = crows_alloc(R, m0, N, 0);
  if (st != HM_OK) {
    hm_crows_free(R);
    return st;
  }
  size_t j = 0;
  for (size_t k = 0; k < m0; k++) {
    const double *f = c->F + k * N;
    double rho = cblas_dnrm2((int)N, f, 1);
    int eq = c->eq ? c->eq[k] != 0 : 0;
    if (!(rho > 0)) {
      if ((eq && c->b[k] != 0) || (!eq && c->b[k] > 0)) {
        zero_row_certificate(R, k, c->b[k], farkas);
        return HM_OK;
      }
      continue;
    }
    if (!isfinite(rho)) {
      hm_crows_free(R);
      return HM_ENONFINITE;
    }
    for (size_t i = 0; i < N; i++) R->F[j * N + i] = f[i] / rho;
    R->b[j] = c->b[k] / rho;
    R->eq[j] = (unsigned char)eq;
    R->neq += eq;
    R->idx[j] = k;
    R->rho[j] = rho;
    j++;
  }
  R->m = j;
  crows_bscale(R);
  st = crows_feasibility(R, farkas, 0);
  if (st != HM_OK) hm_crows_free(R);
  return st;
}
