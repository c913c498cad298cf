/* Goldfarb-Idnani dual active set for min 1/2 |x|^2 s.t. f_k . x >= b_k, run entirely on
 * the Gram matrix K = F F^T (solvers.md 2.1.3, "Gram-only variant"): x = F^T u with u the
 * multipliers, slacks s = K u - b, and the primal direction z = f_p - F_S^T r has
 * |z|^2 = K_pp - K_pS K_SS^{-1} K_Sp, which is exactly the new diagonal entry of the
 * Cholesky factor of K_SS when p is appended. The infeasible branch (z = 0 and no
 * blocking multiplier) yields the Farkas certificate lambda = e_p - r (r <= 0 on S). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <lapacke.h>

#include "hm_interrupt.h"
#include "hm_svm.h"

typedef struct gi {
  size_t m, cap, ns;
  const double *K;
  size_t *S;   /* active rows */
  double *L;   /* ns x ns lower Cholesky factor of K_SS, leading dimension cap */
} gi;

/* y = L^{-1} v (forward) */
static void fwd(const gi *g, const double *v, double *y) {
  for (size_t i = 0; i < g->ns; i++) {
    double s = v[i];
    for (size_t j = 0; j < i; j++) s -= g->L[i * g->cap + j] * y[j];
    y[i] = s / g->L[i * g->cap + i];
  }
}

/* y = L^{-T} v (backward) */
static void bwd(const gi *g, const double *v, double *y) {
  for (size_t ii = g->ns; ii-- > 0;) {
    double s = v[ii];
    for (size_t j = ii + 1; j < g->ns; j++) s -= g->L[j * g->cap + ii] * y[j];
    y[ii] = s / g->L[ii * g->cap + ii];
  }
}

/* Recompute the factor of K_SS from scratch; returns 0 on success. */
static int refactor(gi *g) {
  size_t n = g->ns;
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j <= i; j++) g->L[i * g->cap + j] = g->K[g->S[i] * g->m + g->S[j]];
  if (n == 0) return 0;
  lapack_int info = LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, 'U', (lapack_int)n, g->L, (lapack_int)g->cap);
  return info != 0;
}

int hm_svm_activeset_gram(size_t m, const double *K, const double *b, int max_steps,
                          double *lambda, int *steps_out) {
  int ret = 2, steps = 0;
  gi g = {m, m, 0, K, NULL, NULL};
  double *s = malloc(m * sizeof *s), *u = malloc(m * sizeof *u);
  double *kp = malloc(m * sizeof *kp), *l = malloc(m * sizeof *l), *r = malloc(m * sizeof *r);
  unsigned char *inS = calloc(m, 1);
  g.S = malloc(m * sizeof *g.S);
  g.L = malloc(m * m * sizeof *g.L);
  if (!s || !u || !kp || !l || !r || !inS || !g.S || !g.L) {
    ret = -1;
    goto done;
  }
  for (size_t k = 0; k < m; k++) {
    s[k] = -b[k];
    u[k] = 0;
  }
  for (;;) {
    /* most violated row, violation normalized by the row norm */
    size_t p = m;
    double best = 0;
    for (size_t k = 0; k < m; k++) {
      if (inS[k] || K[k * m + k] <= 0) continue;
      double v = s[k] / sqrt(K[k * m + k]);
      double tol = 1e-12 * fmax(1.0, fabs(b[k]) / sqrt(K[k * m + k]));
      if (v < -tol && v < best) {
        best = v;
        p = k;
      }
    }
    if (p == m) {
      /* zero rows with b > 0 are infeasible on their own */
      for (size_t k = 0; k < m; k++)
        if (K[k * m + k] <= 0 && b[k] > 0) {
          memset(lambda, 0, m * sizeof *lambda);
          lambda[k] = 1;
          ret = 1;
          goto done;
        }
      ret = 0;
      break;
    }
    double up = 0;
    int added = 0;
    while (!added) {
      if (++steps > max_steps || hm_interrupted()) goto done;
      size_t ns = g.ns;
      for (size_t i = 0; i < ns; i++) kp[i] = K[g.S[i] * m + p];
      fwd(&g, kp, l);
      bwd(&g, l, r);
      double zz = K[p * m + p];
      for (size_t i = 0; i < ns; i++) zz -= l[i] * l[i];
      double t1 = INFINITY;
      size_t drop = ns;
      for (size_t i = 0; i < ns; i++)
        if (r[i] > 1e-14 * fmax(1.0, fabs(u[g.S[i]]))) {
          double t = u[g.S[i]] / r[i];
          if (t < t1) {
            t1 = t;
            drop = i;
          }
        }
      double t2 = INFINITY;
      if (zz > 1e-11 * K[p * m + p]) {
        t2 = -s[p] / zz;
        if (t2 < 0) t2 = INFINITY;
      }
      if (!isfinite(t1) && !isfinite(t2)) {
        memset(lambda, 0, m * sizeof *lambda);
        lambda[p] = 1;
        for (size_t i = 0; i < ns; i++) lambda[g.S[i]] = r[i] < 0 ? -r[i] : 0;
        ret = 1;
        goto done;
      }
      double t = t2 <= t1 ? t2 : t1;
      /* slack update: s += t K (e_p - r_S) */
      for (size_t k = 0; k < m; k++) {
        double v = K[k * m + p];
        for (size_t i = 0; i < ns; i++) v -= K[k * m + g.S[i]] * r[i];
        s[k] += t * v;
      }
      for (size_t i = 0; i < ns; i++) u[g.S[i]] -= t * r[i];
      up += t;
      if (t2 <= t1) {
        /* append p: new factor row (l, sqrt(zz)) */
        for (size_t i = 0; i < ns; i++) g.L[ns * g.cap + i] = l[i];
        g.L[ns * g.cap + ns] = sqrt(zz);
        g.S[ns] = p;
        g.ns++;
        inS[p] = 1;
        u[p] = up;
        s[p] = 0; /* exactly active */
        added = 1;
      } else {
        size_t k = g.S[drop];
        u[k] = 0;
        inS[k] = 0;
        memmove(g.S + drop, g.S + drop + 1, (ns - drop - 1) * sizeof *g.S);
        g.ns--;
        if (refactor(&g)) goto done;
      }
    }
  }
  for (size_t k = 0; k < m; k++) lambda[k] = inS[k] ? (u[k] > 0 ? u[k] : 0) : 0;
done:
  if (steps_out) *steps_out = steps;
  free(s);
  free(u);
  free(kp);
  free(l);
  free(r);
  free(inS);
  free(g.S);
  free(g.L);
  return ret;
}
