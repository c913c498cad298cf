#include "hm_mat_ops.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

static inline double apply(hm_binop op, double a, double b) {
  switch (op) {
    case HM_ADD: return a + b;
    case HM_SUB: return a - b;
    case HM_MUL: return a * b;
    default: return a / b;
  }
}

void hm_binop_vv(hm_binop op, size_t n, const double *a, const double *b, double *out) {
  switch (op) {
    case HM_ADD: for (size_t i = 0; i < n; i++) out[i] = a[i] + b[i]; break;
    case HM_SUB: for (size_t i = 0; i < n; i++) out[i] = a[i] - b[i]; break;
    case HM_MUL: for (size_t i = 0; i < n; i++) out[i] = a[i] * b[i]; break;
    case HM_DIV: for (size_t i = 0; i < n; i++) out[i] = a[i] / b[i]; break;
  }
}

void hm_binop_vs(hm_binop op, size_t n, const double *a, double s, int rev, double *out) {
  if (rev) {
    for (size_t i = 0; i < n; i++) out[i] = apply(op, s, a[i]);
    return;
  }
  switch (op) {
    case HM_ADD: for (size_t i = 0; i < n; i++) out[i] = a[i] + s; break;
    case HM_SUB: for (size_t i = 0; i < n; i++) out[i] = a[i] - s; break;
    case HM_MUL: for (size_t i = 0; i < n; i++) out[i] = a[i] * s; break;
    case HM_DIV: for (size_t i = 0; i < n; i++) out[i] = a[i] / s; break;
  }
}

void hm_binop_row(hm_binop op, size_t rows, size_t cols, const double *a, const double *b,
                  int rev, double *out) {
  for (size_t r = 0; r < rows; r++) {
    const double *ar = a + r * cols;
    double *o = out + r * cols;
    if (rev)
      for (size_t j = 0; j < cols; j++) o[j] = apply(op, b[j], ar[j]);
    else
      for (size_t j = 0; j < cols; j++) o[j] = apply(op, ar[j], b[j]);
  }
}

void hm_axpy(size_t n, double alpha, const double *x, double *y) {
  for (size_t i = 0; i < n; i++) y[i] += alpha * x[i];
}

static inline double sigmoid(double x) {
  if (x >= 0) return 1.0 / (1.0 + exp(-x));
  double e = exp(x);
  return e / (1.0 + e);
}

void hm_unop_apply(hm_unop op, size_t n, const double *x, double *out) {
  switch (op) {
    case HM_NEG: for (size_t i = 0; i < n; i++) out[i] = -x[i]; break;
    case HM_EXP: for (size_t i = 0; i < n; i++) out[i] = exp(x[i]); break;
    case HM_LOG: for (size_t i = 0; i < n; i++) out[i] = log(x[i]); break;
    case HM_ABS: for (size_t i = 0; i < n; i++) out[i] = fabs(x[i]); break;
    case HM_SQRT: for (size_t i = 0; i < n; i++) out[i] = sqrt(x[i]); break;
    case HM_TANH: for (size_t i = 0; i < n; i++) out[i] = tanh(x[i]); break;
    case HM_RELU:
      for (size_t i = 0; i < n; i++) out[i] = x[i] > 0 ? x[i] : (isnan(x[i]) ? x[i] : 0.0);
      break;
    case HM_SIGMOID: for (size_t i = 0; i < n; i++) out[i] = sigmoid(x[i]); break;
    case HM_SIGN:
      for (size_t i = 0; i < n; i++)
        out[i] = x[i] > 0 ? 1.0 : x[i] < 0 ? -1.0 : x[i] == 0 ? 0.0 : x[i];
      break;
  }
}

void hm_pow_apply(size_t n, const double *x, double p, double *out) {
  if (p == 2.0)
    for (size_t i = 0; i < n; i++) out[i] = x[i] * x[i];
  else
    for (size_t i = 0; i < n; i++) out[i] = pow(x[i], p);
}

hm_status hm_reduce(hm_redop op, size_t outer, size_t n, size_t inner, const double *x,
                    double *out) {
  if (n == 0 && op != HM_SUM && op != HM_MEAN) return HM_EARG;
  for (size_t o = 0; o < outer; o++) {
    for (size_t i = 0; i < inner; i++) {
      const double *p = x + o * n * inner + i;
      double r;
      if (op == HM_SUM || op == HM_MEAN) {
        /* Kahan-Babuska (Neumaier) compensated sum */
        double s = 0.0, c = 0.0;
        for (size_t j = 0; j < n; j++) {
          double v = p[j * inner], t = s + v;
          if (fabs(s) >= fabs(v)) c += (s - t) + v;
          else c += (v - t) + s;
          s = t;
        }
        r = s + c;
        if (!isfinite(s)) r = s; /* keep inf / NaN rather than inf - inf */
        if (op == HM_MEAN) r = n ? r / (double)n : NAN;
      } else {
        int want_max = op == HM_MAX || op == HM_ARGMAX;
        size_t best = 0;
        double bv = p[0];
        if (!isnan(bv)) {
          for (size_t j = 1; j < n; j++) {
            double v = p[j * inner];
            if (isnan(v)) { best = j; bv = v; break; }
            if (want_max ? v > bv : v < bv) { best = j; bv = v; }
          }
        }
        r = (op == HM_MAX || op == HM_MIN) ? bv : (double)best;
      }
      out[o * inner + i] = r;
    }
  }
  return HM_OK;
}

void hm_softmax(int logsm, size_t outer, size_t n, size_t inner, const double *x, double *out) {
  for (size_t o = 0; o < outer; o++) {
    for (size_t i = 0; i < inner; i++) {
      const double *p = x + o * n * inner + i;
      double *q = out + o * n * inner + i;
      double mx = -INFINITY;
      int bad = 0;
      for (size_t j = 0; j < n; j++) {
        double v = p[j * inner];
        if (isnan(v) || v == INFINITY) bad = 1;
        if (v > mx) mx = v;
      }
      if (bad || mx == -INFINITY) {
        for (size_t j = 0; j < n; j++) q[j * inner] = NAN;
        continue;
      }
      double s = 0.0;
      if (logsm) {
        for (size_t j = 0; j < n; j++) s += exp(p[j * inner] - mx);
        double ls = log(s);
        for (size_t j = 0; j < n; j++) q[j * inner] = (p[j * inner] - mx) - ls;
      } else {
        /* one exp per element: q may alias p, each entry is read before it is written */
        for (size_t j = 0; j < n; j++) {
          double e = exp(p[j * inner] - mx);
          q[j * inner] = e;
          s += e;
        }
        double inv = 1.0 / s;
        for (size_t j = 0; j < n; j++) q[j * inner] *= inv;
      }
    }
  }
}

double hm_dot(size_t n, const double *a, const double *b) {
  double s = 0.0;
  /* BLAS takes int lengths: chunk long vectors. */
  while (n > 0) {
    size_t c = n > (1u << 30) ? (1u << 30) : n;
    s += cblas_ddot((int)c, a, 1, b, 1);
    a += c; b += c; n -= c;
  }
  return s;
}

double hm_norm2(size_t n, const double *x) {
  double scale = 0.0, ssq = 1.0;
  for (size_t i = 0; i < n; i++) {
    double a = fabs(x[i]);
    if (isnan(a)) return NAN;
    if (a == 0.0) continue;
    if (isinf(a)) scale = INFINITY;
    if (scale < a) {
      ssq = 1.0 + ssq * (scale / a) * (scale / a);
      scale = a;
    } else {
      ssq += (a / scale) * (a / scale);
    }
  }
  if (isinf(scale)) return INFINITY;
  return scale * sqrt(ssq);
}

hm_status hm_norm_p(size_t n, const double *x, double p, double *out) {
  if (!(p >= 1.0)) return HM_EARG;
  double mx = 0.0;
  for (size_t i = 0; i < n; i++) {
    double a = fabs(x[i]);
    if (isnan(a)) { *out = NAN; return HM_OK; }
    if (a > mx) mx = a;
  }
  if (isinf(p) || mx == 0.0 || isinf(mx)) { *out = mx; return HM_OK; }
  if (p == 2.0) { *out = hm_norm2(n, x); return HM_OK; }
  double s = 0.0;
  if (p == 1.0) {
    for (size_t i = 0; i < n; i++) s += fabs(x[i]);
    *out = s;
    return HM_OK;
  }
  for (size_t i = 0; i < n; i++) s += pow(fabs(x[i]) / mx, p);
  *out = mx * pow(s, 1.0 / p);
  return HM_OK;
}

int hm_equal(size_t n, const double *a, const double *b) {
  for (size_t i = 0; i < n; i++)
    if (!(a[i] == b[i])) return 0;
  return 1;
}

void hm_transpose(size_t batch, size_t rows, size_t cols, const double *src, double *dst) {
  const size_t B = 32;
  for (size_t b = 0; b < batch; b++) {
    const double *s = src + b * rows * cols;
    double *d = dst + b * rows * cols;
    for (size_t i0 = 0; i0 < rows; i0 += B)
      for (size_t j0 = 0; j0 < cols; j0 += B) {
        size_t i1 = i0 + B < rows ? i0 + B : rows, j1 = j0 + B < cols ? j0 + B : cols;
        for (size_t i = i0; i < i1; i++)
          for (size_t j = j0; j < j1; j++) d[j * rows + i] = s[i * cols + j];
      }
  }
}

void hm_take_range(size_t outer, size_t n, size_t inner, size_t from, size_t count,
                   const double *src, double *dst) {
  if (count == 0 || inner == 0) return;
  for (size_t o = 0; o < outer; o++)
    memcpy(dst + o * count * inner, src + (o * n + from) * inner, count * inner * sizeof(double));
}

void hm_put_range(size_t outer, size_t n, size_t inner, size_t at, size_t count,
                  const double *src, double *dst) {
  if (count == 0 || inner == 0) return;
  for (size_t o = 0; o < outer; o++)
    memcpy(dst + (o * n + at) * inner, src + o * count * inner, count * inner * sizeof(double));
}

void hm_axis_split(const hm_mat *m, int axis, size_t *outer, size_t *n, size_t *inner) {
  size_t a = 1, b = 1;
  for (int k = 0; k < axis; k++) a *= m->dim[k];
  for (int k = axis + 1; k < m->rank; k++) b *= m->dim[k];
  *outer = a;
  *n = m->dim[axis];
  *inner = b;
}
