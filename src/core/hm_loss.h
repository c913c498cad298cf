/* Scalar margin losses l(x) applied to y*f (theory.md A.3), evaluated stably:
 *   logistic     l = log(1+e^-x) = log1p(exp(-|x|)) + max(-x,0),
 *                l' = -exp(-softplus(x)) = -1/(1+e^x)   (never cancels, never divides by 0)
 *   exponential  l = e^-x, l' = -e^-x  (HM_ENONFINITE once e^-x overflows, x < ~-709.78)
 *   correlation  l = -x,   l' = -1
 *   custom       a callback (the Lua binding evaluates user functions through it). */
#ifndef HM_LOSS_H
#define HM_LOSS_H

#include "hm_status.h"

typedef enum hm_loss_kind {
  HM_LOSS_LOGISTIC = 0,
  HM_LOSS_EXPONENTIAL,
  HM_LOSS_CORRELATION,
  HM_LOSS_CUSTOM
} hm_loss_kind;

typedef struct hm_loss {
  hm_loss_kind kind;
  /* custom only: value and/or derivative at x (either pointer may be NULL = not wanted) */
  hm_status (*fn)(void *ud, double x, double *value, double *deriv);
  void *ud;
} hm_loss;

/* softplus(x) = log(1+e^x), stable for all x. */
double hm_softplus(double x);

/* l(x) and l'(x); value/deriv may be NULL. HM_ENONFINITE when a result is not finite
 * (e.g. exponential overflow) or x is NaN. */
hm_status hm_loss_eval(const hm_loss *l, double x, double *value, double *deriv);

/* log(-l'(x)) for the built-in losses (used to rescale gradients far in the saturated
 * regime); HM_EARG for custom losses and the correlation loss returns 0. */
hm_status hm_loss_logderiv(const hm_loss *l, double x, double *logneg);

const char *hm_loss_name(hm_loss_kind k);

#endif
