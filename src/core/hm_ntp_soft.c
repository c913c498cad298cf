/* Linear next-token prediction with soft labels (hm_ntp_soft.h, docs/ntp.md §9). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include <lapacke.h>

#include "hm_mat.h"
#include "hm_ntp_soft.h"
#include "hm_svm_internal.h"

hm_status hm_ntps_check(const hm_ntps_data *D, char *msg) {
  size_t m = D->m, V = D->V;
  if (m == 0 || D->d == 0 || V == 0) {
    snprintf(msg, 160, "m, d and V must be >= 1");
    return HM_EARG;
  }
  if (!hm_all_finite(D->H, m * D->d) || !hm_all_finite(D->P, m * V) || !hm_all_finite(D->pi, m)) {
    snprintf(msg, 160, "H, P or pi contains NaN or Inf");
    return HM_ENONFINITE;
  }
  double sp = 0;
  for (size_t j = 0; j < m; j++) {
    double s = 0;
    if (D->pi[j] < 0) {
      snprintf(msg, 160, "pi[%zu] is negative", j + 1);
      return HM_EARG;
    }
    sp += D->pi[j];
    for (size_t z = 0; z < V; z++) {
      if (D->P[j * V + z] < 0) {
        snprintf(msg, 160, "P[%zu][%zu] is negative", j + 1, z + 1);
        return HM_EARG;
      }
      s += D->P[j * V + z];
    }
    if (fabs(s - 1) > 1e-12) {
      snprintf(msg, 160, "row %zu of P sums to %.17g, not 1", j + 1, s);
      return HM_EARG;
    }
  }
  if (fabs(sp - 1) > 1e-12) {
    snprintf(msg, 160, "pi sums to %.17g, not 1", sp);
    return HM_EARG;
  }
  return HM_OK;
}

double hm_ntps_entropy(const hm_ntps_data *D) {
  double h = 0;
  for (size_t j = 0; j < D->m; j++)
    for (size_t z = 0; z < D->V; z++) {
      double p = D->P[j * D->V + z];
      if (p > 0) h -= D->pi[j] * p * log(p);
    }
  return h;
}

hm_status hm_ntps_loss(const hm_ntps_data *D, const double *W, double *loss, double *G) {
  size_t m = D->m, d = D->d, V = D->V;
  if (!hm_all_finite(W, V * d)) return HM_ENONFINITE;
  double *a = malloc(V * sizeof *a);
  if (!a) return HM_ENOMEM;
  if (G) memset(G, 0, V * d * sizeof *G);
  double L = 0;
  for (size_t j = 0; j < m; j++) {
    if (D->pi[j] == 0) continue;
    const double *h = D->H + j * d, *p = D->P + j * V;
    cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)V, (int)d, 1.0, W, (int)d, h, 1, 0.0, a, 1);
    double mx = -INFINITY, z = 0;
    for (size_t v = 0; v < V; v++) mx = fmax(mx, a[v]);
    for (size_t v = 0; v < V; v++) z += exp(a[v] - mx);
    double lse = mx + log(z), lj = 0;
    /* sum_z p_z (LSE - a_z): every term >= 0, no cancellation between them */
    for (size_t v = 0; v < V; v++)
      if (p[v] > 0) lj += p[v] * (lse - a[v]);
    L += D->pi[j] * lj;
    if (G)
      for (size_t v = 0; v < V; v++) {
        /* softmax - p: off the support the (possibly tiny) probability itself, exactly */
        double gv = D->pi[j] * (exp(a[v] - lse) - p[v]);
        if (gv != 0) cblas_daxpy((int)d, gv, h, 1, G + v * d, 1);
      }
  }
  free(a);
  *loss = L;
  if (!isfinite(L) || (G && !hm_all_finite(G, V * d))) return HM_ENONFINITE;
  return HM_OK;
}

/* first token of context j's support, V if empty */
static size_t ref_token(const hm_ntps_data *D, size_t j) {
  for (size_t z = 0; z < D->V; z++)
    if (D->P[j * D->V + z] > 0) return z;
  return D->V;
}

size_t hm_ntps_nrows(const hm_ntps_data *D) {
  size_t rows = 0;
  for (size_t j = 0; j < D->m; j++) {
    size_t k = 0;
    for (size_t z = 0; z < D->V; z++) k += D->P[j * D->V + z] > 0;
    if (k) rows += (k - 1) + k * (D->V - k);
  }
  return rows;
}

hm_status hm_ntps_rows(const hm_ntps_data *D, double *F, double *b, unsigned char *eq, double *c,
                       size_t *ctx, size_t *tok, size_t *other, size_t *m_out) {
  size_t m = D->m, d = D->d, V = D->V, N = V * d, k = 0;
  for (size_t j = 0; j < m; j++) {
    const double *h = D->H + j * d, *p = D->P + j * V;
    size_t r = ref_token(D, j);
    if (r == V) return HM_EARG;
    for (int pass = 0; pass < 2; pass++)
      for (size_t z = 0; z < V; z++) {
        if (!(p[z] > 0)) continue;
        for (size_t v = 0; v < V; v++) {
          int is_eq = pass == 0;
          if (is_eq ? !(v == r && z != r) : p[v] > 0) continue;
          double *f = F + k * N;
          memset(f, 0, N * sizeof *f);
          /* (e_z - e_v) h^T, with v = r for the equalities */
          for (size_t q = 0; q < d; q++) {
            f[z * d + q] = h[q];
            f[v * d + q] = -h[q];
          }
          b[k] = is_eq ? 0 : 1;
          eq[k] = (unsigned char)is_eq;
          c[k] = is_eq ? log(p[z] / p[r]) : 0;
          if (ctx) ctx[k] = j;
          if (tok) tok[k] = z;
          if (other) other[k] = v;
          k++;
        }
      }
  }
  *m_out = k;
  return HM_OK;
}

hm_status hm_ntps_wstar(const hm_ntps_data *D, double *Wstar, double *residual, double *B,
                        size_t *r) {
  size_t V = D->V, d = D->d, N = V * d, cap = hm_ntps_nrows(D) + 1, mr = 0;
  double *F = malloc(cap * N * sizeof *F), *b = malloc(cap * sizeof *b), *c = malloc(cap * sizeof *c);
  unsigned char *eq = malloc(cap);
  double *Fe = NULL, *K = NULL, *mu = NULL, *s = NULL, *Vt = NULL, *sup = NULL;
  hm_status st = HM_ENOMEM;
  if (!F || !b || !c || !eq) goto done;
  if ((st = hm_ntps_rows(D, F, b, eq, c, NULL, NULL, NULL, &mr)) != HM_OK) goto done;
  /* keep the equality rows, packed */
  size_t ne = 0;
  for (size_t k = 0; k < mr; k++)
    if (eq[k]) {
      memmove(F + ne * N, F + k * N, N * sizeof *F);
      c[ne++] = c[k];
    }
  memset(Wstar, 0, N * sizeof *Wstar);
  *residual = 0;
  if (r) *r = 0;
  st = HM_OK;
  if (ne == 0) goto done;
  st = HM_ENOMEM;
  K = malloc(ne * ne * sizeof *K);
  mu = malloc(ne * sizeof *mu);
  if (!K || !mu) goto done;
  cblas_dsyrk(CblasRowMajor, CblasLower, CblasNoTrans, (int)ne, (int)N, 1.0, F, (int)N, 0.0, K,
              (int)ne);
  for (size_t i = 0; i < ne; i++)
    for (size_t j = i + 1; j < ne; j++) K[i * ne + j] = K[j * ne + i];
  memcpy(mu, c, ne * sizeof *mu);
  if (hm_svm_pinv_apply(K, ne, mu, 1) < 0) {
    st = HM_ELAPACK;
    goto done;
  }
  cblas_dgemv(CblasRowMajor, CblasTrans, (int)ne, (int)N, 1.0, F, (int)N, mu, 1, 0.0, Wstar, 1);
  double cmax = 0, rmax = 0;
  for (size_t k = 0; k < ne; k++) {
    double e = cblas_ddot((int)N, F + k * N, 1, Wstar, 1) - c[k];
    rmax = fmax(rmax, fabs(e));
    cmax = fmax(cmax, fabs(c[k]));
  }
  *residual = rmax / fmax(1.0, cmax);
  st = HM_OK;
  if (B && r) {
    size_t mn = ne < N ? ne : N;
    s = malloc(mn * sizeof *s);
    Vt = malloc(mn * N * sizeof *Vt);
    sup = malloc(mn * sizeof *sup);
    if (!s || !Vt || !sup) {
      st = HM_ENOMEM;
      goto done;
    }
    if (LAPACKE_dgesvd(LAPACK_ROW_MAJOR, 'N', 'S', (lapack_int)ne, (lapack_int)N, F, (lapack_int)N,
                       s, NULL, 1, Vt, (lapack_int)N, sup) != 0) {
      st = HM_ELAPACK;
      goto done;
    }
    for (size_t i = 0; i < mn; i++)
      if (s[i] > 1e-10 * s[0]) memcpy(B + (*r)++ * N, Vt + i * N, N * sizeof *B);
  }
done:
  free(F), free(b), free(c), free(eq), free(Fe), free(K), free(mu), free(s), free(Vt), free(sup);
  return st;
}

hm_status hm_ntps_generate(hm_rng *g, size_t n, size_t m, size_t d, size_t V, size_t support,
                           double *H, double *P, double *pi) {
  if (m == 0 || d == 0 || V == 0 || support == 0 || support > V) return HM_EARG;
  double *p = malloc(m * V * sizeof *p), *cnt = calloc(m * V, sizeof *cnt);
  size_t *perm = malloc(V * sizeof *perm), *nj = calloc(m, sizeof *nj);
  if (!p || !cnt || !perm || !nj) {
    free(p), free(cnt), free(perm), free(nj);
    return HM_ENOMEM;
  }
  hm_rng_fill_normal(g, H, m * d);
  memset(p, 0, m * V * sizeof *p);
  for (size_t j = 0; j < m; j++) {
    for (size_t v = 0; v < V; v++) perm[v] = v;
    double tot = 0;
    for (size_t t = 0; t < support; t++) { /* partial Fisher-Yates, then Dirichlet(1) weights */
      size_t q = t + (size_t)hm_rng_below(g, V - t), tmp = perm[t];
      perm[t] = perm[q];
      perm[q] = tmp;
      double e = -log(1 - hm_rng_uniform(g)); /* Exp(1), finite: 1 - U in (0, 1] */
      p[j * V + perm[t]] = e;
      tot += e;
    }
    for (size_t t = 0; t < support; t++) p[j * V + perm[t]] /= tot;
  }
  for (size_t s = 0; s < n; s++) {
    size_t j = (size_t)hm_rng_below(g, m);
    double u = hm_rng_uniform(g), acc = 0;
    size_t z = V;
    for (size_t v = 0; v < V && z == V; v++) {
      acc += p[j * V + v];
      if (u < acc && p[j * V + v] > 0) z = v;
    }
    if (z == V) /* u beyond the rounded cumulative sum: the last support token */
      for (size_t v = 0; v < V; v++)
        if (p[j * V + v] > 0) z = v;
    cnt[j * V + z] += 1;
    nj[j]++;
  }
  for (size_t j = 0; j < m; j++) {
    pi[j] = n ? (double)nj[j] / (double)n : 1.0 / (double)m;
    for (size_t v = 0; v < V; v++)
      P[j * V + v] = nj[j] ? cnt[j * V + v] / (double)nj[j] : p[j * V + v];
  }
  free(p), free(cnt), free(perm), free(nj);
  return HM_OK;
}
