/* Core basics: shape sizes with overflow detection, descriptors, status messages. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "hm_mat.h"
#include "hm_test.h"

static void test_shape_size(void) {
  size_t n, d[3] = {2, 3, 4};
  CHECK(hm_shape_size(3, d, &n) == HM_OK && n == 24);
  size_t big[2] = {SIZE_MAX / 2, 3};
  CHECK(hm_shape_size(2, big, &n) == HM_ENOMEM);
  size_t z[2] = {0, 5};
  CHECK(hm_shape_size(2, z, &n) == HM_OK && n == 0);
  CHECK(hm_shape_size(4, d, &n) == HM_EARG);
}

static void test_descriptor(void) {
  double buf[24];
  hm_mat m;
  size_t d[3] = {2, 3, 4};
  hm_mat_init(&m, 3, d, buf);
  CHECK(m.size == 24 && hm_mat_rows(&m) == 6 && hm_mat_cols(&m) == 4);
  buf[0] = 1.0;
  CHECK(hm_all_finite(buf, 1));
  buf[1] = NAN;
  CHECK(!hm_all_finite(buf, 2));
  CHECK(strcmp(hm_status_message(HM_ESHAPE), "shapes do not conform") == 0);
}

/* hm_all_finite tests the exponent field: every class of double, at every position */
static void test_all_finite(void) {
  const double fin[] = {0.0, -0.0, 1.0, -2.5, DBL_MAX, -DBL_MAX, DBL_MIN, 4.9e-324, -4.9e-324};
  const double bad[] = {INFINITY, -INFINITY, NAN, -NAN};
  double x[13];
  for (int i = 0; i < 9; i++) x[i] = fin[i];
  CHECK(hm_all_finite(x, 9) && hm_all_finite(x, 0));
  for (int b = 0; b < 4; b++)
    for (int pos = 0; pos < 9; pos++) {
      double keep = x[pos];
      x[pos] = bad[b];
      CHECK(!hm_all_finite(x, 9));
      CHECK(hm_all_finite(x, (size_t)pos));
      x[pos] = keep;
    }
}

int main(void) {
  test_shape_size();
  test_descriptor();
  test_all_finite();
  return hm_test_report("core_basics");
}
