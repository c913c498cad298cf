#include "hm_loss.h"

#include <math.h>
#include <stddef.h>

double hm_softplus(double x) { return fmax(x, 0.0) + log1p(exp(-fabs(x))); }

hm_status hm_loss_eval(const hm_loss *l, double x, double *value, double *deriv) {
  if (isnan(x)) return HM_ENONFINITE;
  double v = 0, dv = 0;
  switch (l->kind) {
    case HM_LOSS_LOGISTIC: {
      /* hm_softplus(-x) and -exp(-hm_softplus(x)) share log1p(exp(-|x|)): computed once */
      double l1p = log1p(exp(-fabs(x)));
      v = fmax(-x, 0.0) + l1p;
      dv = -exp(-(fmax(x, 0.0) + l1p));
      break;
    }
    case HM_LOSS_EXPONENTIAL:
      v = exp(-x);
      dv = -v;
      break;
    case HM_LOSS_CORRELATION:
      v = -x;
      dv = -1.0;
      break;
    case HM_LOSS_CUSTOM: {
      if (!l->fn) return HM_EARG;
      hm_status s = l->fn(l->ud, x, value ? &v : NULL, deriv ? &dv : NULL);
      if (s != HM_OK) return s;
      break;
    }
    default:
      return HM_EARG;
  }
  if ((value && !isfinite(v)) || (deriv && !isfinite(dv))) return HM_ENONFINITE;
  if (value) *value = v;
  if (deriv) *deriv = dv;
  return HM_OK;
}

hm_status hm_loss_logderiv(const hm_loss *l, double x, double *logneg) {
  if (isnan(x)) return HM_ENONFINITE;
  switch (l->kind) {
    case HM_LOSS_LOGISTIC: *logneg = -hm_softplus(x); return HM_OK;
    case HM_LOSS_EXPONENTIAL: *logneg = -x; return HM_OK;
    case HM_LOSS_CORRELATION: *logneg = 0.0; return HM_OK;
    default: return HM_EARG;
  }
}

const char *hm_loss_name(hm_loss_kind k) {
  switch (k) {
    case HM_LOSS_LOGISTIC: return "logistic";
    case HM_LOSS_EXPONENTIAL: return "exponential";
    case HM_LOSS_CORRELATION: return "correlation";
    case HM_LOSS_CUSTOM: return "custom";
  }
  return "?";
}
