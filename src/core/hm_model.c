#include "hm_model.h"
#include "hm_mat.h"

#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const hm_model_param_names[HM_MP_COUNT] = {"W", "K", "Q", "p", "V", "v"};

static hm_status alloc_slot(hm_model *m, int k, size_t rows, size_t cols) {
  size_t sz = rows * cols;
  if (cols && sz / cols != rows) return HM_ENOMEM;
  m->rows[k] = rows;
  m->cols[k] = cols;
  m->x[k] = (double *)calloc(sz ? sz : 1, sizeof(double));
  m->g[k] = (double *)calloc(sz ? sz : 1, sizeof(double));
  if (!m->x[k] || !m->g[k]) return HM_ENOMEM;
  return HM_OK;
}

void hm_model_free(hm_model *m) {
  for (int k = 0; k < HM_MP_COUNT; k++) {
    free(m->x[k]);
    free(m->g[k]);
    m->x[k] = m->g[k] = NULL;
  }
  free(m->weff);
  free(m->ws);
  free(m->gv);
  free(m->gv_v);
  m->weff = m->ws = m->gv = m->gv_v = NULL;
  m->ws_cap = m->gv_cap = 0;
  m->gv_token = 0;
}

hm_status hm_model_init(hm_model *m, const hm_model_config *c) {
  memset(m, 0, sizeof *m);
  m->c = *c;
  m->loss.kind = HM_LOSS_LOGISTIC;
  m->min_logit_gap = NAN;
  size_t d = c->d;
  if (d == 0) return HM_EARG;
  hm_status s = HM_OK;
  if (c->param == HM_ATT_KQ) {
    if (c->m == 0) return HM_EARG;
    if ((s = alloc_slot(m, HM_MP_K, d, c->m)) || (s = alloc_slot(m, HM_MP_Q, d, c->m))) goto fail;
  } else {
    if ((s = alloc_slot(m, HM_MP_W, d, d))) goto fail;
    if (c->param == HM_ATT_P)
      for (size_t j = 0; j < d; j++) m->x[HM_MP_W][j * d + j] = 1.0;
  }
  if (c->query == HM_QUERY_PROMPT || c->param == HM_ATT_P)
    if ((s = alloc_slot(m, HM_MP_P, d, 1))) goto fail;
  if (c->head == HM_HEAD_RELU) {
    if (c->dv == 0) return HM_EARG;
    if ((s = alloc_slot(m, HM_MP_VM, d, c->dv)) || (s = alloc_slot(m, HM_MP_V, c->dv, 1))) goto fail;
  } else {
    if ((s = alloc_slot(m, HM_MP_V, d, 1))) goto fail;
  }
  m->weff = (double *)calloc(d * d, sizeof(double));
  if (!m->weff) { s = HM_ENOMEM; goto fail; }
  return HM_OK;
fail:
  hm_model_free(m);
  return s ? s : HM_ENOMEM;
}

hm_status hm_model_copy(hm_model *dst, const hm_model *src) {
  hm_status s = hm_model_init(dst, &src->c);
  if (s) return s;
  dst->loss = src->loss;
  for (int k = 0; k < HM_MP_COUNT; k++) {
    if (!src->x[k]) continue;
    memcpy(dst->x[k], src->x[k], src->rows[k] * src->cols[k] * sizeof(double));
    dst->trainable[k] = src->trainable[k];
  }
  return HM_OK;
}

hm_status hm_model_check_data(const hm_model *m, const hm_dataset *ds, char *msg) {
  const hm_model_config *c = &m->c;
  if (ds->d != c->d) {
    snprintf(msg, 160, "dataset has token dimension d=%zu but the model has d=%zu", ds->d, c->d);
    return HM_ESHAPE;
  }
  if (c->sequence && !ds->seq) {
    snprintf(msg, 160, "sequence-output model needs labels Y of shape nxT (got Y of length %zu)",
             ds->n);
    return HM_ESHAPE;
  }
  if (!c->sequence && ds->seq) {
    snprintf(msg, 160, "single-output model needs labels Y of length n (got Y of shape %zux%zu)",
             ds->n, ds->T);
    return HM_ESHAPE;
  }
  if (!c->sequence && c->query == HM_QUERY_CROSS && !ds->Z) {
    snprintf(msg, 160, "cross-attention model needs query tokens Z but the dataset has none");
    return HM_EARG;
  }
  if (!c->sequence && c->query == HM_QUERY_SELF && c->qidx >= ds->T) {
    snprintf(msg, 160, "query token index %zu out of range for T=%zu tokens", c->qidx + 1, ds->T);
    return HM_EARG;
  }
  return HM_OK;
}

/* y = op(A) x and C = op(A) op(B) (row-major, beta = 0). Small problems run as plain loops:
 * at the sizes of the paper experiments (n=6, T=8, d=10) BLAS call overhead dominates.
 * The loops compute blocks of up to 8 outputs with the accumulators in registers,
 * each output summed over the inner index in increasing order from 0.0 exactly as a
 * one-output-at-a-time loop does (bit-identical results): the blocks only remove the serial
 * add chains and the stores/reloads of partial sums. */
#define HM_SMALL_MV 1024
#define HM_SMALL_MM 4096

/* out[b] = sum_k a[k*sa] * p[b*sb + k*sk] for b < w (w <= 8 and the unit strides are
 * compile-time constants after inlining, so the b loop is unrolled into registers) */
static inline void dot_block(size_t w, size_t K, const double *a, size_t sa, const double *p,
                             size_t sb, size_t sk, double *out) {
  double acc[8] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
  for (size_t k = 0; k < K; k++) {
    const double ak = a[k * sa];
    for (size_t b = 0; b < w; b++) acc[b] += ak * p[b * sb + k * sk];
  }
  for (size_t b = 0; b < w; b++) out[b] = acc[b];
}

/* out_b = sum_k a[k*sa] * P[b*ldp + k] for b < N (dot products with the rows of P) */
static void dots_rows(size_t N, size_t K, const double *a, size_t sa, const double *P,
                      size_t ldp, double *out) {
  size_t b = 0;
  for (; b + 4 <= N; b += 4) dot_block(4, K, a, sa, P + b * ldp, ldp, 1, out + b);
  if (b + 2 <= N) {
    dot_block(2, K, a, sa, P + b * ldp, ldp, 1, out + b);
    b += 2;
  }
  if (b < N) dot_block(1, K, a, sa, P + b * ldp, ldp, 1, out + b);
}

/* out_b = sum_k a[k*sa] * P[k*ldp + b] for b < N (combination of the rows of P) */
static void dots_cols(size_t N, size_t K, const double *a, size_t sa, const double *P,
                      size_t ldp, double *out) {
  size_t b = 0;
  for (; b + 8 <= N; b += 8) dot_block(8, K, a, sa, P + b, 1, ldp, out + b);
  if (b + 4 <= N) {
    dot_block(4, K, a, sa, P + b, 1, ldp, out + b);
    b += 4;
  }
  if (b + 2 <= N) {
    dot_block(2, K, a, sa, P + b, 1, ldp, out + b);
    b += 2;
  }
  if (b < N) dot_block(1, K, a, sa, P + b, 1, ldp, out + b);
}

static void mv(int trans, size_t M, size_t N, const double *A, size_t lda, const double *x,
               double *y) {
  if (M * N > HM_SMALL_MV) {
    cblas_dgemv(CblasRowMajor, trans ? CblasTrans : CblasNoTrans, (int)M, (int)N, 1.0, A,
                (int)lda, x, 1, 0.0, y, 1);
    return;
  }
  if (!trans) /* y_i = sum_j x_j A_ij */
    dots_rows(M, N, x, 1, A, lda, y);
  else /* y_j = sum_i x_i A_ij */
    dots_cols(N, M, x, 1, A, lda, y);
}

static void mm(int ta, int tb, size_t M, size_t N, size_t K, const double *A, size_t lda,
               const double *B, size_t ldb, double *C, size_t ldc) {
  if (M * N * K > HM_SMALL_MM) {
    cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                (int)M, (int)N, (int)K, 1.0, A, (int)lda, B, (int)ldb, 0.0, C, (int)ldc);
    return;
  }
  /* row i of C: c_j = sum_k op(A)_ik op(B)_kj */
  const size_t ai = ta ? 1 : lda, ak = ta ? lda : 1;
  for (size_t i = 0; i < M; i++) {
    if (tb)
      dots_rows(N, K, A + i * ai, ak, B, ldb, C + i * ldc);
    else
      dots_cols(N, K, A + i * ai, ak, B, ldb, C + i * ldc);
  }
}

hm_status hm_model_effective_w(hm_model *m, double *out) {
  size_t d = m->c.d;
  if (m->c.param == HM_ATT_KQ)
    mm(0, 1, d, d, m->c.m, m->x[HM_MP_K], m->c.m, m->x[HM_MP_Q], m->c.m, out, d);
  else
    memcpy(out, m->x[HM_MP_W], d * d * sizeof(double));
  return HM_OK;
}

double hm_model_head(const hm_model *m, const double *x) {
  size_t d = m->c.d;
  const double *v = m->x[HM_MP_V];
  if (m->c.head == HM_HEAD_RELU) {
    const double *V = m->x[HM_MP_VM];
    size_t dv = m->c.dv;
    double f = 0;
    for (size_t j = 0; j < dv; j++) {
      double q = 0;
      for (size_t a = 0; a < d; a++) q += V[a * dv + j] * x[a];
      if (q > 0) f += v[j] * q;
    }
    return f;
  }
  double f = 0, hh = 0;
  for (size_t a = 0; a < d; a++) {
    f += v[a] * x[a];
    hh += x[a] * x[a];
  }
  if (m->c.head == HM_HEAD_LAMBDA) f -= m->c.lambda * hh;
  return f;
}


static int any_trainable(const hm_model *m, int k) { return m->x[k] && m->trainable[k]; }

/* g[k] += 2 ridge x[k]; in rescaled mode g[k] holds e^{-katt} (loss part) and the slot gets
 * its own scale kappa_k = max(katt, log(2 ridge max|x|)) so that neither part overflows. */
static void add_ridge(hm_model *m, int k, int mode, double katt) {
  double lam = m->c.ridge;
  size_t sz = m->rows[k] * m->cols[k];
  if (lam == 0.0) return;
  if (mode == 0) {
    cblas_daxpy((int)sz, 2.0 * lam, m->x[k], 1, m->g[k], 1);
    return;
  }
  double mx = 0.0;
  for (size_t j = 0; j < sz; j++) mx = fmax(mx, fabs(m->x[k][j]));
  double kk = katt;
  if (mx > 0 && log(2.0 * lam * mx) > kk) kk = log(2.0 * lam * mx);
  double a = exp(katt - kk), b = exp(log(2.0 * lam) - kk);
  for (size_t j = 0; j < sz; j++) m->g[k][j] = a * m->g[k][j] + b * m->x[k][j];
  m->log_scale[k] = kk;
}

static hm_status model_eval(hm_model *m, const hm_dataset *ds, int want_grad, int mode,
                            double *loss_out);

hm_status hm_model_eval(hm_model *m, const hm_dataset *ds, int want_grad, int mode,
                        double *loss_out) {
  if (m->in_eval) return HM_EARG; /* re-entered from a custom loss: the workspace is in use */
  m->in_eval = 1;
  hm_status s = model_eval(m, ds, want_grad, mode, loss_out);
  m->in_eval = 0;
  return s;
}

static hm_status model_eval(hm_model *m, const hm_dataset *ds, int want_grad, int mode,
                            double *loss_out) {
  const hm_model_config *c = &m->c;
  const unsigned long token = m->data_token; /* applies to this call only */
  m->data_token = 0;
  if (mode != 0 && mode != 1) return HM_EARG;
  if (mode == 1 && m->loss.kind == HM_LOSS_CUSTOM) return HM_EARG;
  for (int k = 0; k < HM_MP_COUNT; k++) m->log_scale[k] = 0.0;
  const size_t n = ds->n, T = ds->T, d = c->d, dv = c->dv;
  const int seq = c->sequence;
  const size_t R = seq ? n * T : n;
  /* BLAS takes int dimensions */
  if (n * T > (size_t)INT_MAX / (d ? d : 1) || R * T > (size_t)INT_MAX || dv > (size_t)INT_MAX)
    return HM_ENOMEM;
  /* parameters must be finite */
  for (int k = 0; k < HM_MP_COUNT; k++)
    if (m->x[k] && !hm_all_finite(m->x[k], m->rows[k] * m->cols[k])) return HM_ENONFINITE;

  /* workspace */
  size_t need = R * (3 * d + 4 * T + 2 + dv) + d * d + 3 * d + 2 * dv + n * T + 5 * R;
  if (need > m->ws_cap) {
    double *w = (double *)realloc(m->ws, need * sizeof(double));
    if (!w) return HM_ENOMEM;
    m->ws = w;
    m->ws_cap = need;
  }
  double *Qv = m->ws, *A = Qv + R * d, *S = A + R * T, *Gt = S + R * T, *RC = Gt + R * T;
  double *f = RC + R * T, *cw = f + R, *H = cw + R, *U = H + R * d, *QH = U + R * d;
  double *G = QH + R * dv, *sumU = G + d * d, *gpsi = sumU + d, *tmp = gpsi + d;
  double *tmpv = tmp + d, *GV = tmpv + 2 * dv; /* GV may be redirected to the cache gv */
  double *RMI = GV + n * T, *RFM = RMI + R, *RLSE = RFM + R, *RNC = RLSE + R, *RLC = RNC + R;
  double katt = -INFINITY, khead = -INFINITY;
  m->R = R;
  m->f = f;
  m->S = S;
  m->A = A;

  /* effective W */
  const double *W;
  if (c->param == HM_ATT_KQ) {
    hm_model_effective_w(m, m->weff);
    W = m->weff;
  } else {
    W = m->x[HM_MP_W];
  }
  /* queries */
  const int prompt = !seq && (c->query == HM_QUERY_PROMPT || c->param == HM_ATT_P);
  const double *Zr = NULL;
  size_t ldz = d;
  if (seq) {
    Zr = ds->X;
  } else if (prompt) {
    Zr = m->x[HM_MP_P];
  } else if (c->query == HM_QUERY_CROSS) {
    Zr = ds->Z;
  } else {
    Zr = ds->X + c->qidx * d;
    ldz = T * d;
  }
  if (prompt) {
    mv(0, d, d, W, d, Zr, Qv);
    mv(0, (n * T), d, ds->X, d, Qv, A);
  } else {
    mm(0, 1, R, d, d, Zr, ldz, W, d, Qv, d);
    if (seq) {
      for (size_t i = 0; i < n; i++)
        mm(0, 1, T, T, d, Qv + i * T * d, d, ds->X + i * T * d, d, A + i * T * T, T);
    } else {
      for (size_t i = 0; i < n; i++)
        mv(0, T, d, ds->X + i * T * d, d, Qv + i * d, A + i * T);
    }
  }

  const int head = c->head;
  const int need_h = head != HM_HEAD_LINEAR || any_trainable(m, HM_MP_V);
  if (head == HM_HEAD_LINEAR) {
    const double *v0 = m->x[HM_MP_V];
    if (token == 0) {
      mv(0, (n * T), d, ds->X, d, v0, GV);
    } else { /* same dataset as the last eval with this token: reuse X v unless v changed */
      if (m->gv_token != token || m->gv_n != n * T ||
          memcmp(m->gv_v, v0, d * sizeof(double)) != 0) {
        m->gv_token = 0;
        if (!m->gv_v && !(m->gv_v = (double *)malloc(d * sizeof(double)))) return HM_ENOMEM;
        if (m->gv_cap < n * T) {
          double *g2 = (double *)realloc(m->gv, n * T * sizeof(double));
          if (!g2) return HM_ENOMEM;
          m->gv = g2;
          m->gv_cap = n * T;
        }
        mv(0, (n * T), d, ds->X, d, v0, m->gv);
        memcpy(m->gv_v, v0, d * sizeof(double));
        m->gv_n = n * T;
        m->gv_token = token;
      }
      GV = m->gv;
    }
  }
  const int att_grad = want_grad && (any_trainable(m, HM_MP_W) || any_trainable(m, HM_MP_K) ||
                                     any_trainable(m, HM_MP_Q) || any_trainable(m, HM_MP_P));
  double w = 1.0 / (double)n;
  if (seq && c->pos_mean) w /= (double)T;
  double loss = 0.0, mingap = INFINITY;
  int underflow = 0;
  const double *v = m->x[HM_MP_V];

  for (size_t r = 0; r < R; r++) {
    const size_t i = seq ? r / T : r;
    const size_t L = (seq && c->causal) ? (r % T) + 1 : T;
    const double *Xi = ds->X + i * T * d;
    double *a = A + r * T, *s = S + r * T, *rc = RC + r * T;
    /* max-shifted softmax over the valid tokens */
    size_t mi = 0;
    for (size_t t = 1; t < L; t++)
      if (a[t] > a[mi]) mi = t;
    double second = -INFINITY, se = 0.0;
    for (size_t t = 0; t < L; t++) {
      if (t != mi && a[t] > second) second = a[t];
      s[t] = t == mi ? 1.0 : exp(a[t] - a[mi]); /* exp(0) = 1 exactly */
      se += s[t];
    }
    for (size_t t = 0; t < L; t++) s[t] /= se;
    for (size_t t = L; t < T; t++) s[t] = 0.0, a[t] = -INFINITY;
    if (L >= 2 && a[mi] - second < mingap) mingap = a[mi] - second;
    /* head: effective value scores gt */
    double *gt;
    double fr = 0.0;
    if (need_h)
      mv(1, L, d, Xi, d, s, H + r * d);
    if (head == HM_HEAD_LINEAR) {
      gt = GV + i * T;
    } else {
      const double *h = H + r * d;
      gt = Gt + r * T;
      if (head == HM_HEAD_RELU) {
        const double *V = m->x[HM_MP_VM];
        double *qh = QH + r * dv;
        mv(1, d, dv, V, dv, h, qh);
        fr = 0.0;
        for (size_t j = 0; j < dv; j++) {
          tmpv[j] = qh[j] > 0 ? v[j] : 0.0;
          if (qh[j] > 0) fr += v[j] * qh[j];
        }
        mv(0, d, dv, V, dv, tmpv, gpsi);
      } else {
        double hh = 0.0, vh = 0.0;
        for (size_t a2 = 0; a2 < d; a2++) {
          hh += h[a2] * h[a2];
          vh += v[a2] * h[a2];
          gpsi[a2] = v[a2] - 2.0 * c->lambda * h[a2];
        }
        fr = vh - c->lambda * hh;
      }
      mv(0, L, d, Xi, d, gpsi, gt);
    }
    /* cancellation-free mean of gt under s: fbar = gt_m + sum_{t != m} s_t (gt_t - gt_m) */
    double fm = 0.0;
    int nonconst = 0;
    for (size_t t = 0; t < L; t++) {
      if (t == mi) continue;
      double dlt = gt[t] - gt[mi];
      if (dlt != 0.0) nonconst = 1;
      fm += s[t] * dlt;
    }
    if (head == HM_HEAD_LINEAR) fr = gt[mi] + fm;
    f[r] = fr;
    const double y = seq ? ds->Y[i * T + (r % T)] : ds->Y[i];
    double lv, ld;
    hm_status st = hm_loss_eval(&m->loss, y * fr, &lv, &ld);
    if (st) return st;
    loss += w * lv;
    double cr = w * y * ld;
    cw[r] = cr;
    if (att_grad) {
      if (mode == 0) {
        int allzero = 1;
        for (size_t t = 0; t < L; t++) {
          double dlt = gt[t] - gt[mi];
          rc[t] = cr * (s[t] * (dlt - fm));
          if (rc[t] != 0.0) allzero = 0;
        }
        for (size_t t = L; t < T; t++) rc[t] = 0.0;
        if (allzero && nonconst && L >= 2 && (ld != 0.0 || m->loss.kind != HM_LOSS_CUSTOM))
          underflow++;
      } else {
        /* remember what the rescaled second pass needs */
        RMI[r] = (double)mi;
        RFM[r] = fm;
        RLSE[r] = log(se);
        RNC[r] = (nonconst && L >= 2) ? second - a[mi] : NAN;
      }
    }
    if (mode == 1) {
      double lg;
      st = hm_loss_logderiv(&m->loss, y * fr, &lg);
      if (st) return st;
      RLC[r] = log(w) + lg; /* log |c_r| (c_r = -y exp(RLC) for the decreasing built-ins) */
      if (RLC[r] > khead) khead = RLC[r];
      if (att_grad && !isnan(RNC[r]) && RLC[r] + RNC[r] - RLSE[r] > katt)
        katt = RLC[r] + RNC[r] - RLSE[r];
    }
  }
  if (mode == 1) {
    if (!isfinite(katt)) katt = 0.0;
    if (!isfinite(khead)) khead = 0.0;
    for (size_t r = 0; r < R; r++) {
      const size_t i = seq ? r / T : r;
      const double y = seq ? ds->Y[i * T + (r % T)] : ds->Y[i];
      cw[r] = -y * exp(RLC[r] - khead);
      if (!att_grad) continue;
      const size_t L = (seq && c->causal) ? (r % T) + 1 : T;
      double *a = A + r * T, *s = S + r * T, *rc = RC + r * T;
      const double *gt = head == HM_HEAD_LINEAR ? GV + i * T : Gt + r * T;
      const size_t mi = (size_t)RMI[r];
      const double sh = RLC[r] - katt - RLSE[r], fm = RFM[r];
      /* s_t e^{lc - kappa} computed from the logits so it survives s_t underflow */
      double fmh = 0.0;
      int allzero = 1;
      for (size_t t = 0; t < L; t++) {
        if (t == mi) continue;
        double shat = exp(a[t] - a[mi] + sh), dlt = gt[t] - gt[mi];
        fmh += shat * dlt;
        rc[t] = -y * shat * (dlt - fm);
        if (rc[t] != 0.0) allzero = 0;
      }
      rc[mi] = -y * s[mi] * (-fmh);
      if (rc[mi] != 0.0) allzero = 0;
      for (size_t t = L; t < T; t++) rc[t] = 0.0;
      if (allzero && !isnan(RNC[r])) underflow++;
    }
  }
  m->min_logit_gap = mingap;
  m->grad_underflow = underflow;
  if (c->param == HM_ATT_KQ && c->ridge != 0.0) {
    double sk = 0, sq = 0;
    size_t km = d * c->m;
    for (size_t j = 0; j < km; j++) {
      sk += m->x[HM_MP_K][j] * m->x[HM_MP_K][j];
      sq += m->x[HM_MP_Q][j] * m->x[HM_MP_Q][j];
    }
    loss += c->ridge * (sk + sq);
  }
  if (!isfinite(loss)) return HM_ENONFINITE;
  *loss_out = loss;
  if (!want_grad) return HM_OK;

  if (att_grad) {
    /* U rows u_r = X_i^T (c_r r_r) */
    if (seq) {
      for (size_t i = 0; i < n; i++)
        mm(0, 0, T, d, T, RC + i * T * T, T, ds->X + i * T * d, d, U + i * T * d, d);
    } else {
      for (size_t i = 0; i < n; i++)
        mv(1, T, d, ds->X + i * T * d, d, RC + i * T, U + i * d);
    }
    if (prompt) {
      memset(sumU, 0, d * sizeof(double));
      for (size_t r = 0; r < R; r++)
        cblas_daxpy((int)d, 1.0, U + r * d, 1, sumU, 1);
      if (any_trainable(m, HM_MP_P))
        mv(1, d, d, W, d, sumU, m->g[HM_MP_P]);
      memset(G, 0, d * d * sizeof(double));
      cblas_dger(CblasRowMajor, (int)d, (int)d, 1.0, sumU, 1, Zr, 1, G, (int)d);
    } else {
      mm(1, 0, d, d, R, U, d, Zr, ldz, G, d);
    }
    if (any_trainable(m, HM_MP_W)) memcpy(m->g[HM_MP_W], G, d * d * sizeof(double));
    if (c->param == HM_ATT_KQ) {
      size_t mk = c->m;
      if (any_trainable(m, HM_MP_K)) {
        mm(0, 0, d, mk, d, G, d, m->x[HM_MP_Q], mk, m->g[HM_MP_K], mk);
        add_ridge(m, HM_MP_K, mode, katt);
      }
      if (any_trainable(m, HM_MP_Q)) {
        mm(1, 0, d, mk, d, G, d, m->x[HM_MP_K], mk, m->g[HM_MP_Q], mk);
        add_ridge(m, HM_MP_Q, mode, katt);
      }
    }
  }
  /* head gradients */
  if (head == HM_HEAD_RELU) {
    if (any_trainable(m, HM_MP_V)) {
      double *gv = m->g[HM_MP_V];
      memset(gv, 0, dv * sizeof(double));
      for (size_t r = 0; r < R; r++)
        for (size_t j = 0; j < dv; j++)
          if (QH[r * dv + j] > 0) gv[j] += cw[r] * QH[r * dv + j];
    }
    if (any_trainable(m, HM_MP_VM)) {
      double *gV = m->g[HM_MP_VM];
      memset(gV, 0, d * dv * sizeof(double));
      for (size_t r = 0; r < R; r++) {
        for (size_t j = 0; j < dv; j++) tmpv[j] = QH[r * dv + j] > 0 ? cw[r] * v[j] : 0.0;
        cblas_dger(CblasRowMajor, (int)d, (int)dv, 1.0, H + r * d, 1, tmpv, 1, gV, (int)dv);
      }
    }
  } else if (any_trainable(m, HM_MP_V)) {
    mv(1, R, d, H, d, cw, m->g[HM_MP_V]);
  }
  if (mode == 1) {
    for (int k = 0; k < HM_MP_COUNT; k++) {
      if (k == HM_MP_VM || k == HM_MP_V) m->log_scale[k] = khead;
      else if (!((k == HM_MP_K || k == HM_MP_Q) && c->ridge != 0.0)) m->log_scale[k] = katt;
    }
  }
  for (int k = 0; k < HM_MP_COUNT; k++)
    if (any_trainable(m, k) && !hm_all_finite(m->g[k], m->rows[k] * m->cols[k]))
      return HM_ENONFINITE;
  return HM_OK;
}

hm_status hm_model_gradcheck(hm_model *m, const hm_dataset *ds, double h,
                             double maxrel[HM_MP_COUNT]) {
  double L0;
  for (int k = 0; k < HM_MP_COUNT; k++) maxrel[k] = NAN;
  hm_status s = hm_model_eval(m, ds, 1, 0, &L0);
  if (s) return s;
  size_t tot = 0;
  for (int k = 0; k < HM_MP_COUNT; k++)
    if (any_trainable(m, k)) tot += m->rows[k] * m->cols[k];
  double *ga = (double *)malloc((tot ? tot : 1) * sizeof(double));
  if (!ga) return HM_ENOMEM;
  size_t off = 0;
  for (int k = 0; k < HM_MP_COUNT; k++)
    if (any_trainable(m, k)) {
      size_t sz = m->rows[k] * m->cols[k];
      memcpy(ga + off, m->g[k], sz * sizeof(double));
      off += sz;
    }
  off = 0;
  for (int k = 0; k < HM_MP_COUNT && s == HM_OK; k++) {
    if (!any_trainable(m, k)) continue;
    size_t sz = m->rows[k] * m->cols[k];
    double maxerr = 0, maxfd = 0;
    for (size_t j = 0; j < sz; j++) {
      double x0 = m->x[k][j], lp, lm;
      m->x[k][j] = x0 + h;
      s = hm_model_eval(m, ds, 0, 0, &lp);
      m->x[k][j] = x0 - h;
      if (s == HM_OK) s = hm_model_eval(m, ds, 0, 0, &lm);
      m->x[k][j] = x0;
      if (s) break;
      double fd = (lp - lm) / (2 * h);
      if (fabs(fd) > maxfd) maxfd = fabs(fd);
      double e = fabs(ga[off + j] - fd);
      if (e > maxerr) maxerr = e;
    }
    maxrel[k] = maxerr / (maxfd > 1e-300 ? maxfd : 1e-300);
    off += sz;
  }
  /* restore the analytic gradient buffers */
  off = 0;
  for (int k = 0; k < HM_MP_COUNT; k++)
    if (any_trainable(m, k)) {
      size_t sz = m->rows[k] * m->cols[k];
      memcpy(m->g[k], ga + off, sz * sizeof(double));
      off += sz;
    }
  free(ga);
  if (s == HM_OK) s = hm_model_eval(m, ds, 0, 0, &L0);
  return s;
}

/* Infimum of the loss over the attention parameters for a fixed linear head: Y_i f_i is a
 * convex combination of the token scores gamma_it = Y_i v.x_it, so l(Y_i f_i) >=
 * l(max_t gamma_it) for a decreasing l, with equality approached when the attention selects
 * the optimal tokens (attainable in the limit iff Att-SVM(opt) is feasible). A valid lower
 * bound in every case; NaN where no such closed form holds (other heads, trained heads,
 * sequence outputs, custom losses). */
double hm_model_loss_inf(const hm_model *m, const hm_dataset *ds) {
  if (m->c.head != HM_HEAD_LINEAR || m->c.sequence || m->loss.kind == HM_LOSS_CUSTOM) return NAN;
  if (!m->x[HM_MP_V] || m->trainable[HM_MP_V] || ds->n == 0) return NAN;
  const double *v = m->x[HM_MP_V];
  size_t n = ds->n, T = ds->T, d = ds->d;
  double sum = 0.0;
  for (size_t i = 0; i < n; i++) {
    double best = -INFINITY;
    for (size_t t = 0; t < T; t++) {
      const double *x = ds->X + (i * T + t) * d;
      double g = 0.0;
      for (size_t j = 0; j < d; j++) g += v[j] * x[j];
      g *= ds->Y[i];
      if (g > best) best = g;
    }
    double l;
    if (hm_loss_eval(&m->loss, best, &l, NULL) != HM_OK) return NAN;
    sum += l;
  }
  return sum / (double)n;
}
