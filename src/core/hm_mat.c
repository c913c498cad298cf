#include "hm_mat.h"

#include <math.h>
#include <stdint.h>

hm_status hm_shape_size(int rank, const size_t *dim, size_t *size) {
  size_t n = 1;
  if (rank < 1 || rank > HM_MAXRANK) return HM_EARG;
  for (int k = 0; k < rank; k++) {
    if (dim[k] != 0 && n > SIZE_MAX / dim[k]) return HM_ENOMEM;
    n *= dim[k];
  }
  if (n > (SIZE_MAX / 2) / sizeof(double)) return HM_ENOMEM;
  *size = n;
  return HM_OK;
}

void hm_mat_init(hm_mat *m, int rank, const size_t *dim, double *data) {
  m->rank = rank;
  m->size = 1;
  for (int k = 0; k < HM_MAXRANK; k++) {
    m->dim[k] = k < rank ? dim[k] : 1;
    if (k < rank) m->size *= dim[k];
  }
  m->data = data;
}

size_t hm_mat_rows(const hm_mat *m) {
  switch (m->rank) {
    case 1: return 1;
    case 2: return m->dim[0];
    default: return m->dim[0] * m->dim[1];
  }
}

size_t hm_mat_cols(const hm_mat *m) { return m->dim[m->rank - 1]; }

/* x - x is 0 for finite x and NaN for inf/nan: four independent sums, no branch per element
 * (a per-element isfinite test costs more than the small gradients it scans) */
int hm_all_finite(const double *x, size_t n) {
  double c0 = 0.0, c1 = 0.0, c2 = 0.0, c3 = 0.0;
  size_t j = 0;
  for (; j + 4 <= n; j += 4) {
    c0 += x[j] - x[j];
    c1 += x[j + 1] - x[j + 1];
    c2 += x[j + 2] - x[j + 2];
    c3 += x[j + 3] - x[j + 3];
  }
  for (; j < n; j++) c0 += x[j] - x[j];
  return (c0 + c1) + (c2 + c3) == 0.0;
}
