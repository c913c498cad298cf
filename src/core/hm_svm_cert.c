/* Constraint-set kernels (margins, adjoint, Gram) and the certificates of solvers.md §3:
 * the certified bracket (primal rescaled to exact feasibility, dual rescaled optimally),
 * KKT residuals and the Farkas verifier. Everything is computed from the data. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>

#include "hm_svm_internal.h"

double hm_svm_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void hm_svm_prob_vec(hm_svm_prob *p, const hm_vcons *c) {
  memset(p, 0, sizeof *p);
  p->kind = 0;
  p->m = c->m;
  p->N = c->N;
  p->nfree = c->nfree;
  p->F = c->F;
  p->b = c->b;
}

void hm_svm_prob_w(hm_svm_prob *p, const hm_wcons *c) {
  memset(p, 0, sizeof *p);
  p->kind = 1;
  p->m = c->m;
  p->d = c->d;
  p->N = c->d * c->d;
  p->A = c->A;
  p->Zr = c->Zr;
  p->b = c->b;
}

hm_status hm_svm_prob_margins(const hm_svm_prob *p, const double *x, double *out) {
  if (p->m == 0) return HM_OK;
  if (p->kind == 0) {
    cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)p->m, (int)p->N, 1.0, p->F, (int)p->N, x, 1,
                0.0, out, 1);
    return HM_OK;
  }
  size_t m = p->m, d = p->d;
  double *T = malloc(m * d * sizeof *T);
  if (!T) return HM_ENOMEM;
  /* T = A W (m x d); margin_k = T_k . z_k */
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)d, (int)d, 1.0, p->A,
              (int)d, x, (int)d, 0.0, T, (int)d);
  for (size_t k = 0; k < m; k++) {
    double s = 0;
    for (size_t j = 0; j < d; j++) s += T[k * d + j] * p->Zr[k * d + j];
    out[k] = s;
  }
  free(T);
  return HM_OK;
}

hm_status hm_svm_prob_adjoint(const hm_svm_prob *p, const double *lambda, double *x) {
  if (p->m == 0) {
    memset(x, 0, p->N * sizeof *x);
    return HM_OK;
  }
  if (p->kind == 0) {
    cblas_dgemv(CblasRowMajor, CblasTrans, (int)p->m, (int)p->N, 1.0, p->F, (int)p->N, lambda,
                1, 0.0, x, 1);
    return HM_OK;
  }
  size_t m = p->m, d = p->d;
  double *B = malloc(m * d * sizeof *B);
  if (!B) return HM_ENOMEM;
  for (size_t k = 0; k < m; k++)
    for (size_t j = 0; j < d; j++) B[k * d + j] = lambda[k] * p->A[k * d + j];
  /* W = B^T Zr */
  cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)d, (int)d, (int)m, 1.0, B, (int)d,
              p->Zr, (int)d, 0.0, x, (int)d);
  free(B);
  return HM_OK;
}

static void symmetrize_lower(double *K, size_t n) {
  for (size_t i = 0; i < n; i++)
    for (size_t j = i + 1; j < n; j++) K[i * n + j] = K[j * n + i];
}

hm_status hm_svm_prob_gram(const hm_svm_prob *p, const size_t *idx, size_t n, double *K) {
  if (n == 0) return HM_OK;
  if (p->kind == 0) {
    size_t np = p->N - p->nfree;
    const double *src = p->F;
    double *tmp = NULL;
    if (idx || p->nfree) {
      tmp = malloc(n * (np ? np : 1) * sizeof *tmp);
      if (!tmp) return HM_ENOMEM;
      for (size_t i = 0; i < n; i++) {
        size_t k = idx ? idx[i] : i;
        memcpy(tmp + i * np, p->F + k * p->N, np * sizeof *tmp);
      }
      src = tmp;
    }
    if (np == 0) {
      memset(K, 0, n * n * sizeof *K);
    } else {
      cblas_dsyrk(CblasRowMajor, CblasLower, CblasNoTrans, (int)n, (int)np, 1.0, src, (int)np,
                  0.0, K, (int)n);
      symmetrize_lower(K, n);
    }
    free(tmp);
    return HM_OK;
  }
  size_t d = p->d;
  double *Ax = malloc(n * d * sizeof *Ax), *Zx = malloc(n * d * sizeof *Zx);
  double *Gz = malloc(n * n * sizeof *Gz);
  if (!Ax || !Zx || !Gz) {
    free(Ax);
    free(Zx);
    free(Gz);
    return HM_ENOMEM;
  }
  for (size_t i = 0; i < n; i++) {
    size_t k = idx ? idx[i] : i;
    memcpy(Ax + i * d, p->A + k * d, d * sizeof *Ax);
    memcpy(Zx + i * d, p->Zr + k * d, d * sizeof *Zx);
  }
  cblas_dsyrk(CblasRowMajor, CblasLower, CblasNoTrans, (int)n, (int)d, 1.0, Ax, (int)d, 0.0, K,
              (int)n);
  cblas_dsyrk(CblasRowMajor, CblasLower, CblasNoTrans, (int)n, (int)d, 1.0, Zx, (int)d, 0.0, Gz,
              (int)n);
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j <= i; j++) K[i * n + j] *= Gz[i * n + j];
  symmetrize_lower(K, n);
  free(Ax);
  free(Zx);
  free(Gz);
  return HM_OK;
}

double hm_svm_prob_rownorm2(const hm_svm_prob *p, size_t k) {
  double s = 0;
  if (p->kind == 0) {
    size_t np = p->N - p->nfree;
    for (size_t j = 0; j < np; j++) s += p->F[k * p->N + j] * p->F[k * p->N + j];
    return s;
  }
  double sa = 0, sz = 0;
  for (size_t j = 0; j < p->d; j++) {
    sa += p->A[k * p->d + j] * p->A[k * p->d + j];
    sz += p->Zr[k * p->d + j] * p->Zr[k * p->d + j];
  }
  return sa * sz;
}

double hm_svm_prob_free(const hm_svm_prob *p, size_t k) {
  if (p->kind == 0 && p->nfree) return p->F[k * p->N + p->N - 1];
  return 0.0;
}

double hm_svm_farkas_residual(const hm_svm_prob *p, const double *lambda) {
  return hm_svm_farkas_residual_eq(p, NULL, lambda);
}

double hm_svm_farkas_residual_eq(const hm_svm_prob *p, const unsigned char *eq,
                                 const double *lambda) {
  size_t m = p->m;
  double bl = 0, l1 = 0, maxf = 0;
  for (size_t k = 0; k < m; k++) {
    int free_k = eq && eq[k];
    if (!(free_k ? isfinite(lambda[k]) : lambda[k] >= 0)) return INFINITY;
    bl += p->b[k] * lambda[k];
    l1 += fabs(lambda[k]);
    double f2 = hm_svm_prob_rownorm2(p, k), c = hm_svm_prob_free(p, k);
    double f = sqrt(f2 + c * c);
    if (f > maxf) maxf = f;
  }
  if (!(bl > 0)) return INFINITY;
  double *u = malloc((p->N ? p->N : 1) * sizeof *u);
  if (!u) return INFINITY;
  if (hm_svm_prob_adjoint(p, lambda, u) != HM_OK) {
    free(u);
    return INFINITY;
  }
  double ui = 0;
  for (size_t j = 0; j < p->N; j++)
    if (fabs(u[j]) > ui) ui = fabs(u[j]);
  free(u);
  if (maxf == 0) return 0; /* all rows zero: any lambda with b^T lambda > 0 certifies */
  return ui / (maxf * l1);
}

double hm_svm_farkas_residual_vec(const hm_vcons *c, const double *lambda) {
  hm_svm_prob p;
  hm_svm_prob_vec(&p, c);
  return hm_svm_farkas_residual(&p, lambda);
}

double hm_svm_farkas_residual_w(const hm_wcons *c, const double *lambda) {
  hm_svm_prob p;
  hm_svm_prob_w(&p, c);
  return hm_svm_farkas_residual(&p, lambda);
}

double hm_svm_farkas_residual_eq_w(const hm_wcons *c, const double *lambda) {
  hm_svm_prob p;
  hm_svm_prob_w(&p, c);
  return hm_svm_farkas_residual_eq(&p, c->eq, lambda);
}

/* Bracket: gamma = min_{b_k > 0} margin_k / b_k; UB = 1/2 |x_pen|^2 / gamma^2;
 * LB = (b^T l+)^2 / (2 |F_pen^T l+|^2) with l+ = max(l, 0) repaired to c^T l+ = 0. */
hm_status hm_svm_certify(const hm_svm_prob *p, double *x, const double *lambda,
                         hm_svm_result *res) {
  size_t m = p->m, N = p->N, np = N - p->nfree;
  double *mg = malloc((m ? m : 1) * sizeof *mg), *lp = malloc((m ? m : 1) * sizeof *lp);
  double *u = malloc((N ? N : 1) * sizeof *u);
  if (!mg || !lp || !u) {
    free(mg);
    free(lp);
    free(u);
    return HM_ENOMEM;
  }
  hm_status st = hm_svm_prob_margins(p, x, mg);
  if (st != HM_OK) goto done;
  double gamma = INFINITY, maxf = 0;
  int anypos = 0;
  for (size_t k = 0; k < m; k++) {
    double f = sqrt(hm_svm_prob_rownorm2(p, k) + pow(hm_svm_prob_free(p, k), 2));
    if (f > maxf) maxf = f;
    if (p->b[k] > 0) {
      anypos = 1;
      double g = mg[k] / p->b[k];
      if (g < gamma) gamma = g;
    }
  }
  double xn2 = 0;
  for (size_t j = 0; j < np; j++) xn2 += x[j] * x[j];
  double scale = 1.0;
  if (anypos && gamma > 0 && isfinite(gamma)) scale = 1.0 / gamma;
  for (size_t j = 0; j < N; j++) x[j] *= scale;
  for (size_t k = 0; k < m; k++) mg[k] *= scale;
  xn2 *= scale * scale;
  double UB = anypos ? (gamma > 0 ? 0.5 * xn2 : INFINITY) : 0.0;

  /* multipliers: clip, repair the free-column balance */
  double cpos = 0, cneg = 0;
  for (size_t k = 0; k < m; k++) {
    lp[k] = lambda[k] > 0 ? lambda[k] : 0;
    double c = hm_svm_prob_free(p, k);
    if (c > 0) cpos += lp[k] * c;
    if (c < 0) cneg -= lp[k] * c;
  }
  if (p->nfree) {
    if (cpos > cneg && cpos > 0) {
      double f = cneg / cpos;
      for (size_t k = 0; k < m; k++)
        if (hm_svm_prob_free(p, k) > 0) lp[k] *= f;
    } else if (cneg > cpos && cneg > 0) {
      double f = cpos / cneg;
      for (size_t k = 0; k < m; k++)
        if (hm_svm_prob_free(p, k) < 0) lp[k] *= f;
    }
  }
  double bl = 0;
  for (size_t k = 0; k < m; k++) bl += p->b[k] * lp[k];
  st = hm_svm_prob_adjoint(p, lp, u);
  if (st != HM_OK) goto done;
  double un2 = 0;
  for (size_t j = 0; j < np; j++) un2 += u[j] * u[j];
  double LB = 0;
  if (bl > 0 && un2 > 0) LB = 0.5 * bl * bl / un2;
  if (LB > UB) LB = UB; /* rounding */

  res->objective = sqrt(2 * UB);
  res->lower_bound = sqrt(2 * LB);
  res->dual_objective = LB;
  res->rel_gap = UB > 0 ? (UB - LB) / UB : (UB == 0 ? 0 : INFINITY);
  res->margin = res->objective > 0 ? 1.0 / res->objective : INFINITY;

  /* KKT residuals of the returned pair (x, lambda) */
  double viol = 0, comp = 0, lmax = 0;
  for (size_t k = 0; k < m; k++) {
    double v = p->b[k] - mg[k];
    if (v > viol) viol = v;
    double cs = fabs(lambda[k] * (mg[k] - p->b[k]));
    if (cs > comp) comp = cs;
    if (fabs(lambda[k]) > lmax) lmax = fabs(lambda[k]);
  }
  double xn = sqrt(xn2);
  res->primal_infeas = viol / fmax(1.0, xn * maxf);
  /* stationarity: x_pen - F_pen^T lambda, and the free balance c^T lambda */
  st = hm_svm_prob_adjoint(p, lambda, u);
  if (st != HM_OK) goto done;
  double sres = 0;
  for (size_t j = 0; j < np; j++) sres += (x[j] - u[j]) * (x[j] - u[j]);
  double stat = sqrt(sres) / fmax(1.0, xn);
  if (p->nfree) {
    double l1 = 0;
    for (size_t k = 0; k < m; k++) l1 += fabs(lambda[k]) * fabs(hm_svm_prob_free(p, k));
    double bal = fabs(u[N - 1]) / fmax(1e-300, l1);
    if (l1 > 0 && bal > stat) stat = bal;
  }
  res->stationarity = stat;
  res->complementarity = comp / fmax(1.0, fmax(bl, lmax));
  if (res->margins) memcpy(res->margins, mg, m * sizeof *mg);
done:
  free(mg);
  free(lp);
  free(u);
  return st;
}

hm_status hm_svm_certify_vec(const hm_vcons *c, double *x, const double *lambda,
                             hm_svm_result *res) {
  hm_svm_prob p;
  hm_svm_prob_vec(&p, c);
  return hm_svm_certify(&p, x, lambda, res);
}

hm_status hm_svm_certify_w(const hm_wcons *c, double *W, const double *lambda,
                           hm_svm_result *res) {
  hm_svm_prob p;
  hm_svm_prob_w(&p, c);
  return hm_svm_certify(&p, W, lambda, res);
}
