#include "hm_status.h"

#include <stdarg.h>
#include <stdio.h>

const char *hm_status_message(hm_status s) {
  switch (s) {
    case HM_OK: return "success";
    case HM_ENOMEM: return "not enough memory (or size overflow)";
    case HM_ESHAPE: return "shapes do not conform";
    case HM_EARG: return "argument out of range";
    case HM_ENONFINITE: return "non-finite value (NaN or Inf)";
    case HM_ELAPACK: return "LAPACK rejected an argument";
    case HM_ENOCONV: return "iteration did not converge";
    case HM_ESINGULAR: return "matrix is singular or not positive definite";
    case HM_EINTR: return "interrupted";
    case HM_EIO: return "I/O error";
  }
  return "unknown error";
}

hm_status hm_fail(char *err, size_t errlen, hm_status s, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (err && errlen) vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
  return s;
}
