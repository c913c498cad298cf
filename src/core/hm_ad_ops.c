/* Forward and backward kernels of the ad ops (hm_ad.h). Backward kernels accumulate into the
 * operands' gradient buffers (those that exist: operands that depend on a variable). */
#include "hm_ad.h"
#include "hm_mat_ops.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

static inline size_t nonzero(size_t n) { return n ? n : 1; }

#define IN(t, y, k) (&(t)->node[(y)->in[k]])

/* ---- broadcasting -------------------------------------------------------------------------- */

typedef struct bcast {
  size_t od[3];     /* output dims, padded to rank 3 */
  size_t sa[3], sb[3]; /* operand strides per output axis (0 where broadcast) */
} bcast;

static void pad_strides(const hm_ad_node *x, size_t *st) {
  size_t pd[3] = {1, 1, 1};
  for (int k = 0; k < x->rank; k++) pd[3 - x->rank + k] = x->dim[k];
  size_t full[3] = {pd[1] * pd[2], pd[2], 1};
  for (int k = 0; k < 3; k++) st[k] = pd[k] > 1 ? full[k] : 0;
}

static void bcast_setup(const hm_ad_node *y, const hm_ad_node *a, const hm_ad_node *b, bcast *c) {
  for (int k = 0; k < 3; k++) c->od[k] = 1;
  for (int k = 0; k < y->rank; k++) c->od[3 - y->rank + k] = y->dim[k];
  pad_strides(a, c->sa);
  pad_strides(b, c->sb);
}

static inline double binop_f(hm_ad_op op, double x, double z) {
  switch (op) {
    case HM_AD_ADD: return x + z;
    case HM_AD_SUB: return x - z;
    case HM_AD_MUL: return x * z;
    default: return x / z;
  }
}

static void binop_forward(hm_tape *t, hm_ad_node *y) {
  const hm_ad_node *a = IN(t, y, 0), *b = IN(t, y, 1);
  if (a->size == y->size && b->size == y->size) { /* same shape: flat loop */
    for (size_t i = 0; i < y->size; i++) y->val[i] = binop_f(y->op, a->val[i], b->val[i]);
    return;
  }
  bcast c;
  bcast_setup(y, a, b, &c);
  size_t o = 0;
  for (size_t i = 0; i < c.od[0]; i++)
    for (size_t j = 0; j < c.od[1]; j++)
      for (size_t k = 0; k < c.od[2]; k++, o++)
        y->val[o] = binop_f(y->op, a->val[i * c.sa[0] + j * c.sa[1] + k * c.sa[2]],
                            b->val[i * c.sb[0] + j * c.sb[1] + k * c.sb[2]]);
}

/* dA += dY * dy/da, dB += dY * dy/db at one element (y = value of the output) */
static inline void binop_b(hm_ad_op op, double g, double x, double z, double yv, double *ga, double *gb) {
  switch (op) {
    case HM_AD_ADD: if (ga) *ga += g; if (gb) *gb += g; break;
    case HM_AD_SUB: if (ga) *ga += g; if (gb) *gb -= g; break;
    case HM_AD_MUL: if (ga) *ga += g * z; if (gb) *gb += g * x; break;
    default: if (ga) *ga += g / z; if (gb) *gb -= g * yv / z; break;
  }
}

static void binop_backward(hm_tape *t, hm_ad_node *y) {
  const hm_ad_node *a = IN(t, y, 0), *b = IN(t, y, 1);
  double *ga = a->grad, *gb = b->grad;
  if (a->size == y->size && b->size == y->size) {
    for (size_t i = 0; i < y->size; i++)
      binop_b(y->op, y->grad[i], a->val[i], b->val[i], y->val[i], ga ? ga + i : NULL, gb ? gb + i : NULL);
    return;
  }
  bcast c;
  bcast_setup(y, a, b, &c);
  size_t o = 0;
  for (size_t i = 0; i < c.od[0]; i++)
    for (size_t j = 0; j < c.od[1]; j++)
      for (size_t k = 0; k < c.od[2]; k++, o++) {
        size_t ia = i * c.sa[0] + j * c.sa[1] + k * c.sa[2], ib = i * c.sb[0] + j * c.sb[1] + k * c.sb[2];
        binop_b(y->op, y->grad[o], a->val[ia], b->val[ib], y->val[o], ga ? ga + ia : NULL, gb ? gb + ib : NULL);
      }
}

/* ---- element-wise functions --------------------------------------------------------------- */

static double sigmoid(double x) {
  if (x >= 0) return 1.0 / (1.0 + exp(-x));
  double e = exp(x);
  return e / (1.0 + e);
}

/* sech^2 x = 1 - tanh^2 x without the cancellation: 4 e^-2|x| / (1 + e^-2|x|)^2 */
static double sech2(double x) {
  double e = exp(-2.0 * fabs(x));
  return 4.0 * e / ((1.0 + e) * (1.0 + e));
}

static double unary_f(const hm_ad_node *y, double x) {
  double s = y->a.s;
  switch (y->op) {
    case HM_AD_SCALE: return s * x;
    case HM_AD_SHIFT: return x + s;
    case HM_AD_RSUB: return s - x;
    case HM_AD_RDIV: return s / x;
    case HM_AD_POW: return pow(x, s);
    case HM_AD_EXP: return exp(x);
    case HM_AD_LOG: return log(x);
    case HM_AD_LOG1P: return log1p(x);
    case HM_AD_RELU: return x > 0 ? x : (isnan(x) ? x : 0.0);
    case HM_AD_TANH: return tanh(x);
    case HM_AD_SIGMOID: return sigmoid(x);
    case HM_AD_ABS: return fabs(x);
    case HM_AD_LOGISTIC: return fmax(-x, 0.0) + log1p(exp(-fabs(x))); /* softplus(-x) */
    default: return exp(-x);                                          /* exponential */
  }
}

/* d y / d x at x (y = its value) */
static double unary_d(const hm_ad_node *y, double x, double yv) {
  double s = y->a.s;
  switch (y->op) {
    case HM_AD_SCALE: return s;
    case HM_AD_SHIFT: return 1.0;
    case HM_AD_RSUB: return -1.0;
    case HM_AD_RDIV: return -yv / x;
    case HM_AD_POW: return s == 1.0 ? 1.0 : s * pow(x, s - 1.0);
    case HM_AD_EXP: return yv;
    case HM_AD_LOG: return 1.0 / x;
    case HM_AD_LOG1P: return 1.0 / (1.0 + x);
    case HM_AD_RELU: return x > 0 ? 1.0 : 0.0;
    case HM_AD_TANH: return sech2(x);
    case HM_AD_SIGMOID: return sigmoid(x) * sigmoid(-x);
    case HM_AD_ABS: return x > 0 ? 1.0 : (x < 0 ? -1.0 : 0.0);
    case HM_AD_LOGISTIC: return -exp(-(fmax(x, 0.0) + log1p(exp(-fabs(x))))); /* -sigma(-x) */
    default: return -yv;                                                     /* exponential */
  }
}

static void unary_forward(hm_tape *t, hm_ad_node *y) {
  const hm_ad_node *a = IN(t, y, 0);
  for (size_t i = 0; i < y->size; i++) y->val[i] = unary_f(y, a->val[i]);
}

static void unary_backward(hm_tape *t, hm_ad_node *y) {
  const hm_ad_node *a = IN(t, y, 0);
  for (size_t i = 0; i < y->size; i++)
    if (y->grad[i] != 0.0) a->grad[i] += y->grad[i] * unary_d(y, a->val[i], y->val[i]);
}

/* ---- matrix products ----------------------------------------------------------------------- */

/* C (m x n) = A (m x k) B (k x n), or C += when beta = 1 */
static void gemm(int ta, int tb, size_t m, size_t n, size_t k, const double *A, const double *B, double beta,
                 double *C) {
  if (!m || !n) return;
  if (!k) {
    if (beta == 0.0) memset(C, 0, m * n * sizeof(double));
    return;
  }
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)m, (int)n,
              (int)k, 1.0, A, ta ? (int)m : (int)k, B, tb ? (int)k : (int)n, beta, C, (int)n);
}

/* y (rows) = A x (ta = 0; A rows x cols) or A^T x (ta = 1; y has cols entries); y += when beta = 1 */
static void gemv(int ta, size_t rows, size_t cols, const double *A, const double *x, double beta, double *y) {
  size_t ny = ta ? cols : rows;
  if (!ny) return;
  if (!rows || !cols) {
    if (beta == 0.0) memset(y, 0, ny * sizeof(double));
    return;
  }
  cblas_dgemv(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, (int)rows, (int)cols, 1.0, A, (int)cols, x, 1, beta,
              y, 1);
}

/* A += x y^T (A rows x cols) */
static void ger(size_t rows, size_t cols, const double *x, const double *y, double *A) {
  if (rows && cols) cblas_dger(CblasRowMajor, (int)rows, (int)cols, 1.0, x, 1, y, 1, A, (int)cols);
}

static void matmul_forward(hm_tape *t, hm_ad_node *y) {
  const hm_ad_node *a = IN(t, y, 0), *b = IN(t, y, 1);
  size_t ka = a->dim[a->rank - 1];
  switch (y->a.mode) {
    case HM_AD_MM_22: gemm(0, y->a.tb, a->size / nonzero(ka), y->dim[y->rank - 1], ka, a->val, b->val, 0.0, y->val); break;
    case HM_AD_MM_21: gemv(0, a->size / (ka ? ka : 1), ka, a->val, b->val, 0.0, y->val); break;
    case HM_AD_MM_12: gemv(1, b->dim[0], b->dim[1], b->val, a->val, 0.0, y->val); break;
    case HM_AD_MM_33: {
      size_t m = a->dim[1], k = a->dim[2], n = b->dim[2];
      for (size_t i = 0; i < a->dim[0]; i++) gemm(0, 0, m, n, k, a->val + i * m * k, b->val + i * k * n, 0.0, y->val + i * m * n);
      break;
    }
    case HM_AD_MM_BMV: {
      size_t m = a->dim[1], k = a->dim[2];
      for (size_t i = 0; i < a->dim[0]; i++) gemv(0, m, k, a->val + i * m * k, b->val + i * k, 0.0, y->val + i * m);
      break;
    }
    default: { /* BVM: y_i = B_i^T a_i */
      size_t m = b->dim[1], k = b->dim[2];
      for (size_t i = 0; i < b->dim[0]; i++) gemv(1, m, k, b->val + i * m * k, a->val + i * m, 0.0, y->val + i * k);
      break;
    }
  }
}

static void matmul_backward(hm_tape *t, hm_ad_node *y) {
  const hm_ad_node *a = IN(t, y, 0), *b = IN(t, y, 1);
  double *ga = a->grad, *gb = b->grad, *gy = y->grad;
  size_t ka = a->dim[a->rank - 1];
  switch (y->a.mode) {
    case HM_AD_MM_22: {
      size_t m = a->size / nonzero(ka), n = y->dim[y->rank - 1];
      if (ga) gemm(0, !y->a.tb, m, ka, n, gy, b->val, 1.0, ga); /* dA += dY B^T */
      if (gb && y->a.tb) gemm(1, 0, n, ka, m, gy, a->val, 1.0, gb); /* B stored transposed: += dY^T A */
      else if (gb) gemm(1, 0, ka, n, m, a->val, gy, 1.0, gb);      /* dB += A^T dY */
      break;
    }
    case HM_AD_MM_21: {
      size_t m = a->size / (ka ? ka : 1);
      if (ga) ger(m, ka, gy, b->val, ga);                 /* dA += dy x^T */
      if (gb) gemv(1, m, ka, a->val, gy, 1.0, gb);        /* dx += A^T dy */
      break;
    }
    case HM_AD_MM_12: {
      if (ga) gemv(0, b->dim[0], b->dim[1], b->val, gy, 1.0, ga); /* dx += B dy */
      if (gb) ger(b->dim[0], b->dim[1], a->val, gy, gb);          /* dB += x dy^T */
      break;
    }
    case HM_AD_MM_33: {
      size_t m = a->dim[1], k = a->dim[2], n = b->dim[2];
      for (size_t i = 0; i < a->dim[0]; i++) {
        if (ga) gemm(0, 1, m, k, n, gy + i * m * n, b->val + i * k * n, 1.0, ga + i * m * k);
        if (gb) gemm(1, 0, k, n, m, a->val + i * m * k, gy + i * m * n, 1.0, gb + i * k * n);
      }
      break;
    }
    case HM_AD_MM_BMV: {
      size_t m = a->dim[1], k = a->dim[2];
      for (size_t i = 0; i < a->dim[0]; i++) {
        if (ga) ger(m, k, gy + i * m, b->val + i * k, ga + i * m * k);
        if (gb) gemv(1, m, k, a->val + i * m * k, gy + i * m, 1.0, gb + i * k);
      }
      break;
    }
    default: { /* BVM: y_i = B_i^T a_i, B_i m x k */
      size_t m = b->dim[1], k = b->dim[2];
      for (size_t i = 0; i < b->dim[0]; i++) {
        if (ga) gemv(0, m, k, b->val + i * m * k, gy + i * k, 1.0, ga + i * m);
        if (gb) ger(m, k, a->val + i * m, gy + i * k, gb + i * m * k);
      }
      break;
    }
  }
}

/* ---- reductions and the softmax family (along one axis: outer x n x inner) ----------------- */

static void split(const hm_ad_node *x, int axis, size_t *outer, size_t *n, size_t *inner) {
  if (axis < 0) {
    *outer = 1; *n = x->size; *inner = 1;
    return;
  }
  *outer = *inner = 1;
  for (int r = 0; r < axis; r++) *outer *= x->dim[r];
  *n = x->dim[axis];
  for (int r = axis + 1; r < x->rank; r++) *inner *= x->dim[r];
}

static void reduce_forward(hm_tape *t, hm_ad_node *y) {
  const hm_ad_node *a = IN(t, y, 0);
  size_t outer, n, inner;
  split(a, y->a.axis, &outer, &n, &inner);
  (void)hm_reduce(y->op == HM_AD_SUM ? HM_SUM : HM_MEAN, outer, n, inner, a->val, y->val);
}

static void reduce_backward(hm_tape *t, hm_ad_node *y) {
  const hm_ad_node *a = IN(t, y, 0);
  size_t outer, n, inner;
  split(a, y->a.axis, &outer, &n, &inner);
  double w = y->op == HM_AD_MEAN ? 1.0 / (double)n : 1.0;
  for (size_t o = 0; o < outer; o++)
    for (size_t j = 0; j < n; j++)
      for (size_t i = 0; i < inner; i++) a->grad[(o * n + j) * inner + i] += w * y->grad[o * inner + i];
}

/* first index of the largest entry of a strided slice (a NaN slice gives 0) */
static size_t slice_argmax(const double *x, size_t n, size_t st) {
  size_t m = 0;
  for (size_t j = 1; j < n; j++)
    if (x[j * st] > x[m * st]) m = j;
  return m;
}

static double slice_lse(const double *x, size_t n, size_t st) {
  if (n == 0) return -INFINITY;
  double mx = x[slice_argmax(x, n, st) * st];
  if (!isfinite(mx)) return mx == -INFINITY ? -INFINITY : NAN;
  double s = 0;
  for (size_t j = 0; j < n; j++) s += exp(x[j * st] - mx);
  return mx + log(s);
}

static void softmax_forward(hm_tape *t, hm_ad_node *y) {
  const hm_ad_node *a = IN(t, y, 0);
  size_t outer, n, inner;
  split(a, y->a.axis, &outer, &n, &inner);
  if (y->op != HM_AD_LOGSUMEXP) {
    hm_softmax(y->op == HM_AD_LOG_SOFTMAX, outer, n, inner, a->val, y->val);
    return;
  }
  for (size_t o = 0; o < outer; o++)
    for (size_t i = 0; i < inner; i++) y->val[o * inner + i] = slice_lse(a->val + o * n * inner + i, n, inner);
}

/* The stable backward passes of softmax / log_softmax / logsumexp, one slice at a time
 * (x, y, dy, dx strided by st; m = argmax of x). */
static void softmax_slice_backward(hm_ad_op op, const double *x, const double *yv, const double *gy, double *gx,
                                   size_t n, size_t st) {
  if (n == 0) return;
  size_t m = slice_argmax(x, n, st);
  if (op == HM_AD_SOFTMAX) {
    double gm = gy[m * st], D = 0;
    for (size_t j = 0; j < n; j++)
      if (j != m) D += yv[j * st] * (gy[j * st] - gm);
    for (size_t j = 0; j < n; j++) gx[j * st] += yv[j * st] * ((gy[j * st] - gm) - D);
  } else { /* log_softmax: dx_t = dy_t - p_t sum dy, with 1 - p_m = sum_{u != m} p_u */
    double S = 0, Sm = 0, Pm = 0;
    for (size_t j = 0; j < n; j++) {
      S += gy[j * st];
      if (j != m) {
        Sm += gy[j * st];
        Pm += exp(yv[j * st]);
      }
    }
    for (size_t j = 0; j < n; j++) {
      double p = exp(yv[j * st]);
      gx[j * st] += j == m ? gy[j * st] * Pm - p * Sm : gy[j * st] - p * S;
    }
  }
}

static void softmax_backward(hm_tape *t, hm_ad_node *y) {
  const hm_ad_node *a = IN(t, y, 0);
  size_t outer, n, inner;
  split(a, y->a.axis, &outer, &n, &inner);
  for (size_t o = 0; o < outer; o++)
    for (size_t i = 0; i < inner; i++) {
      size_t off = o * n * inner + i;
      if (y->op == HM_AD_LOGSUMEXP) {
        double g = y->grad[o * inner + i], l = y->val[o * inner + i];
        if (g == 0.0 || l == -INFINITY) continue;
        for (size_t j = 0; j < n; j++) a->grad[off + j * inner] += g * exp(a->val[off + j * inner] - l);
      } else {
        softmax_slice_backward(y->op, a->val + off, y->val + off, y->grad + off, a->grad + off, n, inner);
      }
    }
}

/* log of the softmax mass on S = {t : mask_t = 1}, one row: lse over S and over all */
static void mass_lses(const double *x, const double *mask, size_t n, double *lse_s, double *lse) {
  double ms = -INFINITY, m = -INFINITY;
  for (size_t j = 0; j < n; j++) {
    if (x[j] > m || isnan(x[j])) m = x[j];
    if (mask[j] == 1.0 && (x[j] > ms || isnan(x[j]))) ms = x[j];
  }
  double zs = 0, z = 0;
  if (isfinite(ms))
    for (size_t j = 0; j < n; j++)
      if (mask[j] == 1.0) zs += exp(x[j] - ms);
  if (isfinite(m))
    for (size_t j = 0; j < n; j++) z += exp(x[j] - m);
  *lse_s = isfinite(ms) ? ms + log(zs) : (ms == -INFINITY ? -INFINITY : NAN);
  *lse = isfinite(m) ? m + log(z) : (m == -INFINITY ? -INFINITY : NAN);
}

static void logmass_forward(hm_tape *t, hm_ad_node *y) {
  const hm_ad_node *a = IN(t, y, 0), *mk = IN(t, y, 1);
  size_t n = a->dim[a->rank - 1], rows = y->size;
  for (size_t r = 0; r < rows; r++) {
    const double *x = a->val + r * n, *mask = mk->val + r * n;
    double ls, l;
    mass_lses(x, mask, n, &ls, &l);
    double ms = -INFINITY, mo = -INFINITY, zs = 0, zo = 0;
    for (size_t j = 0; j < n; j++) {
      if (mask[j] == 1.0) ms = fmax(ms, x[j]);
      else mo = fmax(mo, x[j]);
    }
    if (isfinite(ls) && isfinite(ms) && (mo == -INFINITY || mo - ms < 700.0)) {
      /* -log1p(Z_out / Z_S), both relative to max over S: exact when the mass outside is tiny */
      for (size_t j = 0; j < n; j++) {
        double e = exp(x[j] - ms);
        if (mask[j] == 1.0) zs += e;
        else zo += e;
      }
      y->val[r] = -log1p(zo / zs);
    } else {
      y->val[r] = ls - l;
    }
  }
}

static void logmass_backward(hm_tape *t, hm_ad_node *y) {
  const hm_ad_node *a = IN(t, y, 0), *mk = IN(t, y, 1);
  size_t n = a->dim[a->rank - 1], rows = y->size;
  for (size_t r = 0; r < rows; r++) {
    double g = y->grad[r];
    if (g == 0.0) continue;
    const double *x = a->val + r * n, *mask = mk->val + r * n;
    double *gx = a->grad + r * n;
    double ls, l, pout = 0;
    mass_lses(x, mask, n, &ls, &l);
    for (size_t j = 0; j < n; j++)
      if (mask[j] != 1.0) pout += exp(x[j] - l);
    for (size_t j = 0; j < n; j++)
      gx[j] += mask[j] == 1.0 ? g * exp(x[j] - ls) * pout : -g * exp(x[j] - l);
  }
}

/* ---- fused attention ----------------------------------------------------------------------- */

/* row i: s = softmax(a) into s (max-shifted), returns the argmax */
static size_t row_softmax(const double *a, size_t T, double *s) {
  size_t m = slice_argmax(a, T, 1);
  double z = 0;
  for (size_t t = 0; t < T; t++) z += (s[t] = exp(a[t] - a[m]));
  for (size_t t = 0; t < T; t++) s[t] /= z;
  return m;
}

static void attend_forward(hm_tape *t, hm_ad_node *y) {
  const hm_ad_node *a = IN(t, y, 0), *v = IN(t, y, 1);
  size_t n = a->dim[0], T = a->dim[1];
  for (size_t i = 0; i < n; i++) {
    double *s = y->aux + i * T;
    size_t m = row_softmax(a->val + i * T, T, s);
    if (v->rank == 2) { /* f = g_m + sum_{t != m} s_t (g_t - g_m): the built-in model's form */
      const double *g = v->val + i * T;
      double f = 0;
      for (size_t u = 0; u < T; u++)
        if (u != m) f += s[u] * (g[u] - g[m]);
      y->val[i] = g[m] + f;
    } else {
      size_t d = v->dim[2];
      gemv(1, T, d, v->val + i * T * d, s, 0.0, y->val + i * d); /* h_i = V_i^T s_i */
    }
  }
}

/* da_t += s_t ((dy_t - dy_m) - sum_{u != m} s_u (dy_u - dy_m)): the softmax JVP relative to
 * the argmax m, so no 1 - s appears (hm_ad.h) */
static void attend_da(const double *s, const double *dy, size_t T, size_t m, double *da) {
  double D = 0;
  for (size_t u = 0; u < T; u++)
    if (u != m) D += s[u] * (dy[u] - dy[m]);
  for (size_t u = 0; u < T; u++) da[u] += s[u] * ((dy[u] - dy[m]) - D);
}

static void attend_backward(hm_tape *t, hm_ad_node *y) {
  const hm_ad_node *a = IN(t, y, 0), *v = IN(t, y, 1);
  size_t n = a->dim[0], T = a->dim[1], d = v->rank == 3 ? v->dim[2] : 1;
  double dy[256], *dyb = dy;
  for (size_t i = 0; i < n; i++) {
    const double *s = y->aux + i * T, *gy = y->grad + i * d;
    size_t m = slice_argmax(a->val + i * T, T, 1);
    if (v->rank == 2) {
      if (gy[0] == 0.0) continue;
      if (a->grad) {
        const double *g = v->val + i * T;
        double D = 0;
        for (size_t u = 0; u < T; u++)
          if (u != m) D += s[u] * (g[u] - g[m]);
        for (size_t u = 0; u < T; u++) a->grad[i * T + u] += gy[0] * s[u] * ((g[u] - g[m]) - D);
      }
      if (v->grad) hm_axpy(T, gy[0], s, v->grad + i * T);
      continue;
    }
    if (a->grad) {
      if (T > 256 && dyb == dy) dyb = NULL; /* long rows: ds_t computed one at a time below */
      if (dyb) {
        gemv(0, T, d, v->val + i * T * d, gy, 0.0, dyb); /* dy_t = <dh_i, v_it> */
        attend_da(s, dyb, T, m, a->grad + i * T);
      } else {
        const double *V = v->val + i * T * d;
        double dm = hm_dot(d, V + m * d, gy), D = 0;
        for (size_t u = 0; u < T; u++)
          if (u != m) D += s[u] * (hm_dot(d, V + u * d, gy) - dm);
        for (size_t u = 0; u < T; u++) a->grad[i * T + u] += s[u] * ((hm_dot(d, V + u * d, gy) - dm) - D);
      }
    }
    if (v->grad) ger(T, d, s, gy, v->grad + i * T * d); /* dV_i += s_i dh_i^T */
  }
}

/* ---- data movement ------------------------------------------------------------------------- */

static void transpose_backward(const hm_ad_node *a, const hm_ad_node *y) {
  size_t rows = a->dim[a->rank - 2], cols = a->dim[a->rank - 1], batch = a->size / nonzero(rows * cols);
  for (size_t b = 0; b < batch; b++)
    for (size_t i = 0; i < rows; i++)
      for (size_t j = 0; j < cols; j++) a->grad[(b * rows + i) * cols + j] += y->grad[(b * cols + j) * rows + i];
}

static void range_add(size_t outer, size_t n, size_t inner, size_t at, size_t count, const double *src,
                      double *dst) {
  for (size_t o = 0; o < outer; o++)
    for (size_t j = 0; j < count * inner; j++) dst[(o * n + at) * inner + j] += src[o * count * inner + j];
}

static void move_forward(hm_tape *t, hm_ad_node *y) {
  const hm_ad_node *a = IN(t, y, 0);
  size_t outer, n, inner;
  switch (y->op) {
    case HM_AD_TRANSPOSE: {
      size_t rows = a->dim[a->rank - 2], cols = a->dim[a->rank - 1];
      hm_transpose(a->size / nonzero(rows * cols), rows, cols, a->val, y->val);
      break;
    }
    case HM_AD_RESHAPE:
      if (y->size) memcpy(y->val, a->val, y->size * sizeof(double));
      break;
    case HM_AD_SLICE:
      split(a, y->a.axis, &outer, &n, &inner);
      hm_take_range(outer, n, inner, y->a.from, y->a.count, a->val, y->val);
      break;
    case HM_AD_CONCAT: {
      const hm_ad_node *b = IN(t, y, 1);
      split(y, y->a.axis, &outer, &n, &inner);
      hm_put_range(outer, n, inner, 0, a->dim[y->a.axis], a->val, y->val);
      hm_put_range(outer, n, inner, a->dim[y->a.axis], b->dim[y->a.axis], b->val, y->val);
      break;
    }
    case HM_AD_GATHER: {
      size_t d = a->dim[1], k = y->size / (d ? d : 1);
      for (size_t r = 0; r < k; r++) memcpy(y->val + r * d, a->val + y->idx[r] * d, d * sizeof(double));
      break;
    }
    default: { /* PICK */
      size_t T = a->dim[1], d = a->rank == 3 ? a->dim[2] : 1;
      for (size_t b = 0; b < a->dim[0]; b++) memcpy(y->val + b * d, a->val + (b * T + y->idx[b]) * d, d * sizeof(double));
      break;
    }
  }
}

static void move_backward(hm_tape *t, hm_ad_node *y) {
  const hm_ad_node *a = IN(t, y, 0);
  size_t outer, n, inner;
  switch (y->op) {
    case HM_AD_TRANSPOSE: transpose_backward(a, y); break;
    case HM_AD_RESHAPE: hm_axpy(y->size, 1.0, y->grad, a->grad); break;
    case HM_AD_SLICE:
      split(a, y->a.axis, &outer, &n, &inner);
      range_add(outer, n, inner, y->a.from, y->a.count, y->grad, a->grad);
      break;
    case HM_AD_CONCAT: {
      const hm_ad_node *b = IN(t, y, 1);
      split(y, y->a.axis, &outer, &n, &inner);
      size_t na = a->dim[y->a.axis], nb = b->dim[y->a.axis];
      for (size_t o = 0; o < outer; o++) {
        if (a->grad) hm_axpy(na * inner, 1.0, y->grad + o * n * inner, a->grad + o * na * inner);
        if (b->grad) hm_axpy(nb * inner, 1.0, y->grad + (o * n + na) * inner, b->grad + o * nb * inner);
      }
      break;
    }
    case HM_AD_GATHER: {
      size_t d = a->dim[1], k = y->size / (d ? d : 1);
      for (size_t r = 0; r < k; r++) hm_axpy(d, 1.0, y->grad + r * d, a->grad + y->idx[r] * d);
      break;
    }
    default: { /* PICK */
      size_t T = a->dim[1], d = a->rank == 3 ? a->dim[2] : 1;
      for (size_t b = 0; b < a->dim[0]; b++) hm_axpy(d, 1.0, y->grad + b * d, a->grad + (b * T + y->idx[b]) * d);
      break;
    }
  }
}

/* ---- dispatch ------------------------------------------------------------------------------ */

void hm_ad_forward_node(hm_tape *t, hm_ad_node *y) {
  switch (y->op) {
    case HM_AD_VAR: case HM_AD_CONST: case HM_AD_NOPS: return;
    case HM_AD_ADD: case HM_AD_SUB: case HM_AD_MUL: case HM_AD_DIV: binop_forward(t, y); return;
    case HM_AD_MATMUL: matmul_forward(t, y); return;
    case HM_AD_SUM: case HM_AD_MEAN: reduce_forward(t, y); return;
    case HM_AD_SOFTMAX: case HM_AD_LOG_SOFTMAX: case HM_AD_LOGSUMEXP: softmax_forward(t, y); return;
    case HM_AD_LOG_MASS: logmass_forward(t, y); return;
    case HM_AD_ATTEND: attend_forward(t, y); return;
    case HM_AD_TRANSPOSE: case HM_AD_RESHAPE: case HM_AD_SLICE: case HM_AD_GATHER: case HM_AD_PICK:
    case HM_AD_CONCAT:
      move_forward(t, y);
      return;
    default: unary_forward(t, y); return;
  }
}

void hm_ad_backward_node(hm_tape *t, hm_ad_node *y) {
  switch (y->op) {
    case HM_AD_VAR: case HM_AD_CONST: case HM_AD_NOPS: return;
    case HM_AD_ADD: case HM_AD_SUB: case HM_AD_MUL: case HM_AD_DIV: binop_backward(t, y); return;
    case HM_AD_MATMUL: matmul_backward(t, y); return;
    case HM_AD_SUM: case HM_AD_MEAN: reduce_backward(t, y); return;
    case HM_AD_SOFTMAX: case HM_AD_LOG_SOFTMAX: case HM_AD_LOGSUMEXP: softmax_backward(t, y); return;
    case HM_AD_LOG_MASS: logmass_backward(t, y); return;
    case HM_AD_ATTEND: attend_backward(t, y); return;
    case HM_AD_TRANSPOSE: case HM_AD_RESHAPE: case HM_AD_SLICE: case HM_AD_GATHER: case HM_AD_PICK:
    case HM_AD_CONCAT:
      move_backward(t, y);
      return;
    default: unary_backward(t, y); return;
  }
}
