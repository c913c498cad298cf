/* Next-token prediction with one self-attention layer (hm_ntp.h, docs/ntp.md): data checks,
 * the loss and its exact gradient (log-loss and lsq2, W and (K, Q)), the generator. The
 * token-priority graphs, the graph-SVM rows, S_fin and W_fin are in hm_ntp_graph.c. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include <lapacke.h>

#include "hm_mat.h"
#include "hm_ntp_internal.h"

hm_status hm_ntp_check(const hm_ntp_data *D, char *msg) {
  if (D->n == 0 || D->T == 0 || D->K == 0 || D->d == 0) {
    snprintf(msg, 160, "n, T, K and d must be >= 1");
    return HM_EARG;
  }
  if (D->loss != HM_NTP_NLL && D->loss != HM_NTP_LSQ2) {
    snprintf(msg, 160, "unknown loss kind %d", D->loss);
    return HM_EARG;
  }
  if (!hm_all_finite(D->E, D->K * D->d)) {
    snprintf(msg, 160, "embedding E contains NaN or Inf");
    return HM_ENONFINITE;
  }
  for (size_t i = 0; i < D->n; i++) {
    int found = 0;
    if (D->lab[i] >= D->K) {
      snprintf(msg, 160, "label of sample %zu is out of range 1..%zu", i + 1, D->K);
      return HM_EARG;
    }
    for (size_t t = 0; t < D->T; t++) {
      if (D->tok[i * D->T + t] >= D->K) {
        snprintf(msg, 160, "token %zu of sample %zu is out of range 1..%zu", t + 1, i + 1, D->K);
        return HM_EARG;
      }
      if (D->tok[i * D->T + t] == D->lab[i]) found = 1;
    }
    if (!found) {
      snprintf(msg, 160, "the label of sample %zu does not occur in its sequence", i + 1);
      return HM_EARG;
    }
    if (D->sel) {
      int any = 0;
      for (size_t t = 0; t < D->T; t++) any |= D->sel[i * D->T + t] != 0;
      if (!any) {
        snprintf(msg, 160, "sample %zu has no selected position", i + 1);
        return HM_EARG;
      }
    }
  }
  return HM_OK;
}

/* ---- loss ------------------------------------------------------------------------------ */

static double softplus(double x) { return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)); }

/* One sample's loss LSE_all - LSE_label over nt logits a (islab flags), and dL/da into g
 * (may be NULL), in the log domain. Returns the loss; *gap = max label - max other logit. */
double hm_ntp_sample_terms(const double *a, const unsigned char *islab, size_t nt, double *g,
                           double *gap) {
  double ml = -INFINITY, mo = -INFINITY;
  for (size_t t = 0; t < nt; t++) {
    if (islab[t]) ml = fmax(ml, a[t]);
    else mo = fmax(mo, a[t]);
  }
  double sl = 0, so = 0;
  for (size_t t = 0; t < nt; t++) {
    if (islab[t]) sl += exp(a[t] - ml);
    else if (mo > -INFINITY) so += exp(a[t] - mo);
  }
  double lse_l = ml + log(sl), lse_o = mo > -INFINITY ? mo + log(so) : -INFINITY;
  double delta = lse_o - lse_l;
  if (gap) *gap = ml - mo;
  if (g) {
    /* mass off the label sigma(delta) = S_other, never formed as 1 - S_label; then
     * dL/da_t = sigma(delta) q_t off the label and -sigma(delta) p_t on it, with q and p the
     * softmaxes within the two groups (errors scale with the within-group gaps only) */
    double e = exp(-fabs(delta));
    double sig = lse_o == -INFINITY ? 0.0 : delta < 0 ? e / (1 + e) : 1 / (1 + e);
    for (size_t t = 0; t < nt; t++)
      g[t] = islab[t] ? -sig * exp(a[t] - lse_l) : sig * exp(a[t] - lse_o);
  }
  return lse_o > -INFINITY ? softplus(delta) : 0.0;
}

/* LSQ2 term of one sample: out = sum_t s_t x_t, c_v = E_v . out, p = softmax(c),
 * loss q^2 with q = 1 - p_y = sum_{v != y} p_v (formed as that sum); dL/da_t into g. */
static double lsq2_terms(const hm_ntp_data *D, const size_t *x, size_t y, const double *a,
                         double *s, double *g, double *out, double *c, double *u, double *bt) {
  size_t T = D->T, K = D->K, d = D->d;
  double mx = -INFINITY, z = 0;
  for (size_t t = 0; t < T; t++) mx = fmax(mx, a[t]);
  for (size_t t = 0; t < T; t++) z += exp(a[t] - mx);
  for (size_t t = 0; t < T; t++) s[t] = exp(a[t] - mx) / z;
  memset(out, 0, d * sizeof *out);
  for (size_t t = 0; t < T; t++) cblas_daxpy((int)d, s[t], D->E + x[t] * d, 1, out, 1);
  cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)K, (int)d, 1.0, D->E, (int)d, out, 1, 0.0, c, 1);
  double cm = -INFINITY, co = -INFINITY;
  for (size_t v = 0; v < K; v++) {
    cm = fmax(cm, c[v]);
    if (v != y) co = fmax(co, c[v]);
  }
  double za = 0, zo = 0;
  for (size_t v = 0; v < K; v++) {
    za += exp(c[v] - cm);
    if (v != y) zo += exp(c[v] - co);
  }
  double lse = cm + log(za);
  double q = K > 1 ? exp(co + log(zo) - lse) : 0.0, py = exp(c[y] - lse);
  if (g) {
    memset(u, 0, d * sizeof *u);
    for (size_t v = 0; v < K; v++) {
      double dc = v == y ? -2 * q * q * py : 2 * q * py * exp(c[v] - lse);
      cblas_daxpy((int)d, dc, D->E + v * d, 1, u, 1);
    }
    for (size_t t = 0; t < T; t++) bt[t] = cblas_ddot((int)d, D->E + x[t] * d, 1, u, 1);
    for (size_t t = 0; t < T; t++) {
      double acc = 0;
      for (size_t r = 0; r < T; r++) acc += s[r] * (bt[t] - bt[r]);
      g[t] = s[t] * acc;
    }
  }
  return q * q;
}

hm_status hm_ntp_loss(const hm_ntp_data *D, const double *W, double *loss, double *G, double *S,
                      double *gapo) {
  size_t n = D->n, T = D->T, d = D->d, K = D->K;
  if (!hm_all_finite(W, d * d)) return HM_ENONFINITE;
  int lsq = D->loss == HM_NTP_LSQ2;
  double *u = malloc(d * sizeof *u), *v = malloc(d * sizeof *v), *a = malloc(T * sizeof *a);
  double *g = malloc(T * sizeof *g), *sm = malloc(T * sizeof *sm), *bt = malloc(T * sizeof *bt);
  double *out = malloc(d * sizeof *out), *c = malloc(K * sizeof *c);
  unsigned char *isl = malloc(T);
  hm_status st = HM_ENOMEM;
  if (!u || !v || !a || !g || !sm || !bt || !out || !c || !isl) goto done;
  if (G) memset(G, 0, d * d * sizeof *G);
  double L = 0, mingap = INFINITY;
  int anygap = 0;
  for (size_t i = 0; i < n; i++) {
    const size_t *x = D->tok + i * T;
    const double *z = D->E + x[T - 1] * d;
    cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)d, (int)d, 1.0, W, (int)d, z, 1, 0.0, u, 1);
    for (size_t t = 0; t < T; t++) {
      a[t] = cblas_ddot((int)d, D->E + x[t] * d, 1, u, 1);
      isl[t] = x[t] == D->lab[i];
    }
    double gap;
    double li = hm_ntp_sample_terms(a, isl, T, lsq ? NULL : g, &gap);
    if (lsq) li = lsq2_terms(D, x, D->lab[i], a, sm, G ? g : NULL, out, c, v, bt);
    L += li;
    if (gap > -INFINITY && gap < INFINITY) {
      anygap = 1;
      mingap = fmin(mingap, gap);
    }
    if (S) {
      double mx = -INFINITY, s = 0;
      for (size_t t = 0; t < T; t++) mx = fmax(mx, a[t]);
      for (size_t t = 0; t < T; t++) s += exp(a[t] - mx);
      for (size_t t = 0; t < T; t++) S[i * T + t] = exp(a[t] - mx - log(s));
    }
    if (G) {
      memset(v, 0, d * sizeof *v);
      for (size_t t = 0; t < T; t++) cblas_daxpy((int)d, g[t], D->E + x[t] * d, 1, v, 1);
      cblas_dger(CblasRowMajor, (int)d, (int)d, 1.0 / (double)n, v, 1, z, 1, G, (int)d);
    }
  }
  *loss = L / (double)n;
  if (gapo) *gapo = anygap ? mingap : NAN;
  st = !isfinite(*loss) || (G && !hm_all_finite(G, d * d)) ? HM_ENONFINITE : HM_OK;
done:
  free(u), free(v), free(a), free(g), free(sm), free(bt), free(out), free(c), free(isl);
  return st;
}

hm_status hm_ntp_loss_kq(const hm_ntp_data *D, const double *K, const double *Q, size_t m,
                         double *loss, double *GK, double *GQ, double *S, double *gap, double *W,
                         double *GW) {
  size_t d = D->d;
  if (!hm_all_finite(K, d * m) || !hm_all_finite(Q, d * m)) return HM_ENONFINITE;
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)d, (int)d, (int)m, 1.0, K, (int)m, Q,
              (int)m, 0.0, W, (int)d);
  hm_status st = hm_ntp_loss(D, W, loss, GK ? GW : NULL, S, gap);
  if (st != HM_OK || !GK) return st;
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)d, (int)m, (int)d, 1.0, GW, (int)d,
              Q, (int)m, 0.0, GK, (int)m);
  cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)d, (int)m, (int)d, 1.0, GW, (int)d, K,
              (int)m, 0.0, GQ, (int)m);
  return hm_all_finite(GK, d * m) && hm_all_finite(GQ, d * m) ? HM_OK : HM_ENONFINITE;
}

/* ---- generator ------------------------------------------------------------------------- */

static hm_status orthonormal_rows(hm_rng *g, size_t d, double *Q) {
  double *tau = malloc(d * sizeof *tau);
  if (!tau) return HM_ENOMEM;
  hm_rng_fill_normal(g, Q, d * d);
  hm_status st = HM_OK;
  if (LAPACKE_dgeqrf(LAPACK_ROW_MAJOR, (lapack_int)d, (lapack_int)d, Q, (lapack_int)d, tau) != 0 ||
      LAPACKE_dorgqr(LAPACK_ROW_MAJOR, (lapack_int)d, (lapack_int)d, (lapack_int)d, Q,
                     (lapack_int)d, tau) != 0)
    st = HM_ELAPACK;
  free(tau);
  return st;
}

static int has_cycle(const size_t *comp, const size_t *present, size_t K) {
  for (size_t k = 0; k < K; k++) {
    if (!present[k]) continue;
    for (size_t v = 0; v < K; v++)
      for (size_t u = 0; u < v; u++)
        if (comp[k * K + u] == comp[k * K + v]) return 1;
  }
  return 0;
}

hm_status hm_ntp_generate(hm_rng *g, size_t n, size_t T, size_t K, size_t d, int kind,
                          double rho, int cyclic, double *E, size_t *tok, size_t *lab,
                          int *draws) {
  if (n == 0 || T == 0 || K == 0 || d == 0 || T > K) return HM_EARG;
  if ((kind == 1 && K > d) || (kind == 2 && (K + 1 > d || !(rho >= 0 && rho < 1))) || kind < 0 ||
      kind > 2)
    return HM_EARG;
  hm_status st = HM_OK;
  if (kind == 0) {
    hm_rng_fill_normal(g, E, K * d);
    for (size_t v = 0; v < K; v++) {
      double nr = cblas_dnrm2((int)d, E + v * d, 1);
      if (nr > 0) cblas_dscal((int)d, 1.0 / nr, E + v * d, 1);
    }
  } else {
    double *Q = malloc(d * d * sizeof *Q);
    if (!Q) return HM_ENOMEM;
    st = orthonormal_rows(g, d, Q);
    if (st == HM_OK) {
      if (kind == 1) {
        memcpy(E, Q, K * d * sizeof *E);
      } else {
        for (size_t v = 0; v < K; v++)
          for (size_t p = 0; p < d; p++)
            E[v * d + p] = sqrt(rho) * Q[p] + sqrt(1 - rho) * Q[(v + 1) * d + p];
      }
    }
    free(Q);
    if (st != HM_OK) return st;
  }
  size_t *perm = malloc(K * sizeof *perm), *comp = malloc(K * K * sizeof *comp);
  size_t *nc = malloc(K * sizeof *nc), *pres = malloc(K * sizeof *pres);
  if (!perm || !comp || !nc || !pres) {
    st = HM_ENOMEM;
    goto done;
  }
  hm_ntp_data D = {n, T, K, d, E, tok, lab, NULL, NULL, HM_NTP_NLL};
  st = HM_ENOCONV;
  for (*draws = 1; *draws <= 10000; (*draws)++) {
    for (size_t i = 0; i < n; i++) {
      for (size_t v = 0; v < K; v++) perm[v] = v;
      for (size_t t = 0; t < T; t++) { /* partial Fisher-Yates */
        size_t j = t + (size_t)hm_rng_below(g, K - t);
        size_t tmp = perm[t];
        perm[t] = perm[j];
        perm[j] = tmp;
        tok[i * T + t] = perm[t];
      }
      size_t y = (size_t)hm_rng_below(g, K);
      int in = 0;
      for (size_t t = 0; t < T; t++) in |= tok[i * T + t] == y;
      lab[i] = in ? y : tok[i * T + hm_rng_below(g, T)];
    }
    if (cyclic == 0) {
      st = HM_OK;
      break;
    }
    if ((st = hm_ntp_graph(&D, comp, nc, pres)) != HM_OK) break;
    st = HM_ENOCONV;
    if (has_cycle(comp, pres, K) == (cyclic > 0)) {
      st = HM_OK;
      break;
    }
  }
  if (*draws > 10000) *draws = 10000;
done:
  free(perm), free(comp), free(nc), free(pres);
  return st;
}
