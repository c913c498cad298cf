/* Toy objectives for the optimizer tests (independent of the model module):
 *  - quadratic: L = L0 + 1/2 sum_j a_j (x_j - c_j)^2 over two named tensors "A" (2x2), "b" (3)
 *  - attention: one-layer attention with a fixed linear head v, logistic mean loss, W or
 *    (K,Q) parameterization, logits a_it = x_it^T W z_i, with the cancellation-free gradient
 *    of theory.md §D.5 (naive loops; clarity over speed) and a G-rand(n,T,d) generator;
 *  - a test-side Frobenius Att-SVM solver (dual coordinate descent). */
#ifndef TOY_OBJECTIVES_H
#define TOY_OBJECTIVES_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hm_objective.h"
#include "hm_rng.h"

/* ------------------------------------------------------------------ quadratic */
typedef struct toy_quad {
  double x[7], g[7], a[7], c[7];
  double L0;
  long evals;
  hm_param prm[2];
  hm_objective obj;
} toy_quad;

static inline hm_status toy_quad_eval(void *ctx, int want_grad, double *loss) {
  toy_quad *q = (toy_quad *)ctx;
  q->evals++;
  double L = q->L0;
  for (int j = 0; j < 7; j++) {
    double e = q->x[j] - q->c[j];
    L += 0.5 * q->a[j] * e * e;
    if (want_grad) q->g[j] = q->a[j] * e;
  }
  *loss = L;
  if (!isfinite(L)) return HM_ENONFINITE;
  return HM_OK;
}

/* a_j = a for all j when iso, else a_j = 1 + j; center c_j = 1 - 0.5 j; x = x0 */
static inline void toy_quad_init(toy_quad *q, double a, int iso, double L0) {
  memset(q, 0, sizeof *q);
  for (int j = 0; j < 7; j++) {
    q->a[j] = iso ? a : a * (1.0 + j);
    q->c[j] = 1.0 - 0.5 * j;
    q->x[j] = 0.3 * j - 1.0;
  }
  q->L0 = L0;
  q->prm[0] = (hm_param){"A", q->x, q->g, 4, 2, 2, 1};
  q->prm[1] = (hm_param){"b", q->x + 4, q->g + 4, 3, 3, 1, 1};
  q->obj.ctx = q;
  q->obj.nparam = 2;
  q->obj.param = q->prm;
  q->obj.eval = toy_quad_eval;
  q->obj.loss_inf = L0;
  q->obj.min_logit_gap = NAN;
}

/* ------------------------------------------------------------------ attention */
typedef struct toy_att {
  size_t n, T, d;
  double *X, *Z, *Y, *v; /* n*T*d, n*d, n, d */
  int kq;
  double *W, *K, *Q, *gW, *gK, *gQ, *We, *G, *s, *a;
  hm_param prm[2];
  hm_objective obj;
} toy_att;

static inline double toy_logistic(double x) { return log1p(exp(-fabs(x))) + (x < 0 ? -x : 0.0); }
static inline double toy_dlogistic(double x) { /* -sigma(-x) */
  if (x >= 0) {
    double e = exp(-x);
    return -e / (1.0 + e);
  }
  return -1.0 / (1.0 + exp(x));
}

static inline void toy_att_weff(toy_att *m, double *W) {
  size_t d = m->d;
  if (!m->kq) {
    memcpy(W, m->W, d * d * sizeof(double));
    return;
  }
  for (size_t j = 0; j < d; j++)
    for (size_t k = 0; k < d; k++) {
      double s = 0.0;
      for (size_t l = 0; l < d; l++) s += m->K[j * d + l] * m->Q[k * d + l];
      W[j * d + k] = s;
    }
}

static inline hm_status toy_att_eval(void *ctx, int want_grad, double *loss) {
  toy_att *m = (toy_att *)ctx;
  size_t n = m->n, T = m->T, d = m->d;
  toy_att_weff(m, m->We);
  if (want_grad) memset(m->G, 0, d * d * sizeof(double));
  double L = 0.0, mingap = INFINITY;
  double u[64], b[64], gsc[64];
  for (size_t i = 0; i < n; i++) {
    const double *z = m->Z + i * d;
    for (size_t j = 0; j < d; j++) {
      double s = 0.0;
      for (size_t k = 0; k < d; k++) s += m->We[j * d + k] * z[k];
      u[j] = s;
    }
    double *a = m->a + i * T, *s = m->s + i * T;
    size_t mx = 0;
    for (size_t t = 0; t < T; t++) {
      const double *x = m->X + (i * T + t) * d;
      double acc = 0.0, gg = 0.0;
      for (size_t j = 0; j < d; j++) {
        acc += x[j] * u[j];
        gg += x[j] * m->v[j];
      }
      a[t] = acc;
      gsc[t] = gg;
      if (acc > a[mx]) mx = t;
    }
    double second = -INFINITY, den = 0.0;
    for (size_t t = 0; t < T; t++) {
      if (t != mx && a[t] > second) second = a[t];
      s[t] = exp(a[t] - a[mx]);
      den += s[t];
    }
    if (a[mx] - second < mingap) mingap = a[mx] - second;
    double fm = 0.0; /* f - g_m */
    for (size_t t = 0; t < T; t++) {
      s[t] /= den;
      if (t != mx) fm += s[t] * (gsc[t] - gsc[mx]);
    }
    double f = gsc[mx] + fm, y = m->Y[i];
    L += toy_logistic(y * f);
    if (want_grad) {
      double lp = toy_dlogistic(y * f) * y / (double)n;
      memset(b, 0, d * sizeof(double));
      for (size_t t = 0; t < T; t++) {
        double r = s[t] * ((gsc[t] - gsc[mx]) - fm);
        const double *x = m->X + (i * T + t) * d;
        for (size_t j = 0; j < d; j++) b[j] += lp * r * x[j];
      }
      for (size_t j = 0; j < d; j++)
        for (size_t k = 0; k < d; k++) m->G[j * d + k] += b[j] * z[k];
    }
  }
  *loss = L / (double)n;
  m->obj.min_logit_gap = mingap;
  if (want_grad) {
    if (!m->kq) {
      memcpy(m->gW, m->G, d * d * sizeof(double));
    } else { /* dK = G Q, dQ = G^T K */
      for (size_t j = 0; j < d; j++)
        for (size_t l = 0; l < d; l++) {
          double s1 = 0.0, s2 = 0.0;
          for (size_t k = 0; k < d; k++) {
            s1 += m->G[j * d + k] * m->Q[k * d + l];
            s2 += m->G[k * d + j] * m->K[k * d + l];
          }
          m->gK[j * d + l] = s1;
          m->gQ[j * d + l] = s2;
        }
    }
    double gs = 0.0;
    for (size_t j = 0; j < d * d; j++) gs += fabs(m->G[j]);
    m->obj.grad_underflow = gs == 0.0;
  }
  return isfinite(*loss) ? HM_OK : HM_ENONFINITE;
}

static inline hm_status toy_att_effw(void *ctx, double *W) {
  toy_att_weff((toy_att *)ctx, W);
  return HM_OK;
}
static inline hm_status toy_att_probs(void *ctx, double *S) {
  toy_att *m = (toy_att *)ctx;
  double L;
  hm_status st = toy_att_eval(ctx, 0, &L);
  memcpy(S, m->s, m->n * m->T * sizeof(double));
  return st;
}

static inline void unit_normalize(double *x, size_t d) {
  double s = 0.0;
  for (size_t j = 0; j < d; j++) s += x[j] * x[j];
  s = sqrt(s);
  for (size_t j = 0; j < d; j++) x[j] /= s;
}

/* G-rand(n,T,d) (theory.md §E) from hm_rng seeded with seed; params: W = 0 or (K,Q) small
 * random (init_scale * N(0,1)). d <= 64. */
static inline void toy_att_init(toy_att *m, size_t n, size_t T, size_t d, uint64_t seed, int kq,
                         double init_scale) {
  memset(m, 0, sizeof *m);
  m->n = n;
  m->T = T;
  m->d = d;
  m->kq = kq;
  m->X = (double *)calloc(n * T * d, sizeof(double));
  m->Z = (double *)calloc(n * d, sizeof(double));
  m->Y = (double *)calloc(n, sizeof(double));
  m->v = (double *)calloc(d, sizeof(double));
  m->W = (double *)calloc(d * d, sizeof(double));
  m->K = (double *)calloc(d * d, sizeof(double));
  m->Q = (double *)calloc(d * d, sizeof(double));
  m->gW = (double *)calloc(d * d, sizeof(double));
  m->gK = (double *)calloc(d * d, sizeof(double));
  m->gQ = (double *)calloc(d * d, sizeof(double));
  m->We = (double *)calloc(d * d, sizeof(double));
  m->G = (double *)calloc(d * d, sizeof(double));
  m->s = (double *)calloc(n * T, sizeof(double));
  m->a = (double *)calloc(n * T, sizeof(double));
  hm_rng g;
  hm_rng_seed(&g, seed);
  hm_rng_fill_normal(&g, m->v, d);
  unit_normalize(m->v, d);
  for (size_t i = 0; i < n; i++) m->Y[i] = hm_rng_normal(&g) > 0 ? 1.0 : -1.0;
  hm_rng_fill_normal(&g, m->X, n * T * d);
  for (size_t i = 0; i < n * T; i++) unit_normalize(m->X + i * d, d);
  hm_rng_fill_normal(&g, m->Z, n * d);
  for (size_t i = 0; i < n; i++) unit_normalize(m->Z + i * d, d);
  if (kq) {
    hm_rng_fill_normal(&g, m->K, d * d);
    hm_rng_fill_normal(&g, m->Q, d * d);
    for (size_t j = 0; j < d * d; j++) {
      m->K[j] *= init_scale;
      m->Q[j] *= init_scale;
    }
    m->prm[0] = (hm_param){"K", m->K, m->gK, d * d, d, d, 1};
    m->prm[1] = (hm_param){"Q", m->Q, m->gQ, d * d, d, d, 1};
    m->obj.nparam = 2;
  } else {
    for (size_t j = 0; j < d * d; j++) m->W[j] = init_scale * hm_rng_normal(&g);
    m->prm[0] = (hm_param){"W", m->W, m->gW, d * d, d, d, 1};
    m->obj.nparam = 1;
  }
  m->obj.ctx = m;
  m->obj.param = m->prm;
  m->obj.eval = toy_att_eval;
  m->obj.effective_w = toy_att_effw;
  m->obj.w_size = d * d;
  m->obj.probs = toy_att_probs;
  m->obj.n = n;
  m->obj.T = T;
  m->obj.probs_size = n * T;
  double Li = 0.0;
  for (size_t i = 0; i < n; i++) {
    double best = -INFINITY;
    for (size_t t = 0; t < T; t++) {
      double gg = 0.0;
      for (size_t j = 0; j < d; j++) gg += m->X[(i * T + t) * d + j] * m->v[j];
      if (m->Y[i] * gg > best) best = m->Y[i] * gg;
    }
    Li += toy_logistic(best);
  }
  m->obj.loss_inf = Li / (double)n;
}

static inline void toy_att_free(toy_att *m) {
  double *p[] = {m->X, m->Z, m->Y, m->v, m->W, m->K, m->Q, m->gW, m->gK, m->gQ, m->We, m->G, m->s, m->a};
  for (size_t k = 0; k < sizeof p / sizeof p[0]; k++) free(p[k]);
}

/* Frobenius Att-SVM for selection alpha (n entries) by dual coordinate descent on
 * max 1^T l - 1/2 l^T Kmat l, l >= 0, Kmat = (delta delta^T) .* (z z^T). W out: d x d.
 * Returns the max KKT violation. */
static inline double toy_svm_fro(const toy_att *m, const size_t *alpha, double *W, int sweeps) {
  size_t n = m->n, T = m->T, d = m->d, mc = n * (T - 1);
  double *D = (double *)calloc(mc * d, sizeof(double));
  double *Zr = (double *)calloc(mc * d, sizeof(double));
  double *Km = (double *)calloc(mc * mc, sizeof(double));
  double *lam = (double *)calloc(mc, sizeof(double));
  double *Kl = (double *)calloc(mc, sizeof(double));
  size_t r = 0;
  for (size_t i = 0; i < n; i++)
    for (size_t t = 0; t < T; t++) {
      if (t == alpha[i]) continue;
      for (size_t j = 0; j < d; j++) {
        D[r * d + j] = m->X[(i * T + alpha[i]) * d + j] - m->X[(i * T + t) * d + j];
        Zr[r * d + j] = m->Z[i * d + j];
      }
      r++;
    }
  for (size_t j = 0; j < mc; j++)
    for (size_t k = 0; k < mc; k++) {
      double a = 0.0, b = 0.0;
      for (size_t l = 0; l < d; l++) {
        a += D[j * d + l] * D[k * d + l];
        b += Zr[j * d + l] * Zr[k * d + l];
      }
      Km[j * mc + k] = a * b;
    }
  for (int sw = 0; sw < sweeps; sw++)
    for (size_t j = 0; j < mc; j++) {
      double nl = lam[j] + (1.0 - Kl[j]) / Km[j * mc + j];
      if (nl < 0) nl = 0;
      double dl = nl - lam[j];
      if (dl != 0.0) {
        for (size_t k = 0; k < mc; k++) Kl[k] += dl * Km[k * mc + j];
        lam[j] = nl;
      }
    }
  /* recompute Kl exactly and the KKT violation */
  double viol = 0.0;
  for (size_t j = 0; j < mc; j++) {
    double s = 0.0;
    for (size_t k = 0; k < mc; k++) s += Km[j * mc + k] * lam[k];
    double slack = s - 1.0; /* margin - 1 */
    double v = slack < 0 ? -slack : (lam[j] > 0 ? fabs(slack) * (lam[j] > 1e-12) : 0.0);
    if (v > viol) viol = v;
  }
  memset(W, 0, d * d * sizeof(double));
  for (size_t j = 0; j < mc; j++)
    for (size_t a = 0; a < d; a++)
      for (size_t b = 0; b < d; b++) W[a * d + b] += lam[j] * D[j * d + a] * Zr[j * d + b];
  free(D);
  free(Zr);
  free(Km);
  free(lam);
  free(Kl);
  return viol;
}

#endif
