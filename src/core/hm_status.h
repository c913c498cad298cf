/* Status codes of the numeric core. The core never longjmps and never prints: every
 * fallible routine returns one of these and the bindings turn it into a Lua error. */
#ifndef HM_STATUS_H
#define HM_STATUS_H

typedef enum hm_status {
  HM_OK = 0,
  HM_ENOMEM,     /* allocation failed or the size overflows size_t */
  HM_ESHAPE,     /* operand shapes do not conform */
  HM_EARG,       /* an argument is out of its domain (negative size, p <= 1, ...) */
  HM_ENONFINITE, /* NaN or Inf where finite numbers are required */
  HM_ELAPACK,    /* LAPACK reported an illegal argument */
  HM_ENOCONV,    /* an iterative routine did not converge */
  HM_ESINGULAR,  /* a matrix that must be nonsingular / positive definite is not */
  HM_EINTR,      /* interrupted by the user (Ctrl-C); see hm_interrupt.h */
  HM_EIO         /* file I/O failed (errno holds the reason) */
} hm_status;

/* A short English description, e.g. for "mat.svd: <message>". */
const char *hm_status_message(hm_status s);

#include <stddef.h>
/* Format a message into err (errlen bytes; nothing when err is NULL or errlen is 0) and
 * return s: `return hm_fail(err, errlen, HM_EIO, "truncated after %zu bytes", n);` */
hm_status hm_fail(char *err, size_t errlen, hm_status s, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
