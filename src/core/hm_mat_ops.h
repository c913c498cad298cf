/* Element-wise arithmetic, unary math, reductions, softmax, norms and data movement on
 * raw row-major double arrays. Pure C: no allocation unless stated, no Lua.
 *
 * Axis layout: an array of rank r reduced (or softmaxed) along axis k is seen as
 * outer x n x inner with outer = prod(dim[0..k-1]), n = dim[k], inner = prod(dim[k+1..]). */
#ifndef HM_MAT_OPS_H
#define HM_MAT_OPS_H

#include <stddef.h>
#include "hm_mat.h"

typedef enum hm_binop { HM_ADD, HM_SUB, HM_MUL, HM_DIV } hm_binop;

/* out[i] = a[i] op b[i]; out may alias a or b. */
void hm_binop_vv(hm_binop op, size_t n, const double *a, const double *b, double *out);
/* out[i] = a[i] op s (rev = 0) or s op a[i] (rev = 1); out may alias a. */
void hm_binop_vs(hm_binop op, size_t n, const double *a, double s, int rev, double *out);
/* Row broadcasting: a is rows x cols, b has cols entries;
 * out[i][j] = a[i][j] op b[j] (rev = 0) or b[j] op a[i][j] (rev = 1); out may alias a. */
void hm_binop_row(hm_binop op, size_t rows, size_t cols, const double *a, const double *b,
                  int rev, double *out);
/* y += alpha x */
void hm_axpy(size_t n, double alpha, const double *x, double *y);

typedef enum hm_unop {
  HM_NEG, HM_EXP, HM_LOG, HM_ABS, HM_SQRT, HM_TANH, HM_RELU, HM_SIGMOID, HM_SIGN
} hm_unop;
/* out[i] = f(x[i]) (IEEE semantics: log(0) = -inf, sqrt(-1) = NaN); out may alias x.
 * sigmoid is evaluated stably (no overflow for large |x|); sign(0) = 0, sign(NaN) = NaN. */
void hm_unop_apply(hm_unop op, size_t n, const double *x, double *out);
void hm_pow_apply(size_t n, const double *x, double p, double *out);

typedef enum hm_redop { HM_SUM, HM_MEAN, HM_MAX, HM_MIN, HM_ARGMAX, HM_ARGMIN } hm_redop;
/* out[o*inner + i] = reduce_j x[(o*n + j)*inner + i]. Arg reductions store the 0-based
 * index of the first extremum (a NaN counts as the extremum, as in NumPy; max/min then
 * return NaN). n == 0 is HM_EARG for max/min/arg* (no identity), and gives 0 / NaN for
 * sum / mean. Sums use pairwise-free compensated (Kahan-Babuska) summation. */
hm_status hm_reduce(hm_redop op, size_t outer, size_t n, size_t inner, const double *x,
                    double *out);

/* Softmax (log_softmax when logsm) along the middle axis, max-subtracted so it never
 * overflows. A slice that is all -inf, or contains NaN or +inf, gives NaN. out may alias x. */
void hm_softmax(int logsm, size_t outer, size_t n, size_t inner, const double *x, double *out);

/* Inner product of two n-vectors (BLAS ddot). */
double hm_dot(size_t n, const double *a, const double *b);
/* Euclidean / Frobenius norm, scaled so that it neither overflows nor underflows. */
double hm_norm2(size_t n, const double *x);
/* Entrywise p-norm for p >= 1 (p = INFINITY: max |x_i|); HM_EARG for p < 1 or NaN p. */
hm_status hm_norm_p(size_t n, const double *x, double p, double *out);
/* Exact equality of every element (NaN != NaN). */
int hm_equal(size_t n, const double *a, const double *b);

/* dst[b][j][i] = src[b][i][j] for batch matrices of rows x cols; dst must not alias src. */
void hm_transpose(size_t batch, size_t rows, size_t cols, const double *src, double *dst);
/* Copy the index range [from, from+count) along the middle axis of an outer x n x inner
 * array into dst (outer x count x inner). */
void hm_take_range(size_t outer, size_t n, size_t inner, size_t from, size_t count,
                   const double *src, double *dst);
/* Place src (outer x count x inner) at offset `at` along the middle axis of dst (outer x n x
 * inner): the inverse of hm_take_range, used by concat. */
void hm_put_range(size_t outer, size_t n, size_t inner, size_t at, size_t count,
                  const double *src, double *dst);

/* outer x n x inner decomposition of m for axis (0-based; must be < rank). */
void hm_axis_split(const hm_mat *m, int axis, size_t *outer, size_t *n, size_t *inner);

#endif
