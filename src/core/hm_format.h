/* Text rendering of arrays (the `tostring` of mat): aligned columns, NumPy-style
 * truncation with edge items when the array has more than `threshold` elements, column
 * blocks when a row is wider than `linewidth`, and a shape footer such as "[3x4 mat]". */
#ifndef HM_FORMAT_H
#define HM_FORMAT_H

#include <stddef.h>
#include "hm_mat.h"

typedef struct hm_printopts {
  int precision;     /* digits after the decimal point (fixed) or of the mantissa (sci) */
  size_t edgeitems;  /* items kept at each end of a truncated axis */
  size_t threshold;  /* truncate when size > threshold */
  size_t linewidth;  /* split rows into column blocks beyond this width */
} hm_printopts;

void hm_printopts_default(hm_printopts *o); /* 4, 3, 1000, 80 */

/* Render m into buf (cap bytes including the terminating NUL; buf may be NULL when cap is
 * 0). Returns the full length (without NUL), so a first call with cap 0 sizes the buffer.
 * `tag` is the word in the footer ("mat" or "mat view"). */
size_t hm_format(const hm_mat *m, const hm_printopts *o, const char *tag, char *buf, size_t cap);

#endif
