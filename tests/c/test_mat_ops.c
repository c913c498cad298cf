/* Core element-wise ops, reductions, softmax, norms, data movement and formatting. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "hm_format.h"
#include "hm_interrupt.h"
#include "hm_linalg.h"
#include "hm_mat_ops.h"
#include "hm_test.h"

static void test_binop(void) {
  double a[4] = {1, 2, 3, 4}, b[4] = {4, 3, 2, 1}, o[4];
  hm_binop_vv(HM_SUB, 4, a, b, o);
  CHECK(o[0] == -3 && o[3] == 3);
  hm_binop_vs(HM_DIV, 4, a, 2, 1, o); /* 2 / a */
  CHECK(o[0] == 2 && o[3] == 0.5);
  double r[2] = {10, 20};
  hm_binop_row(HM_SUB, 2, 2, a, r, 1, o); /* r - a row-wise */
  CHECK(o[0] == 9 && o[1] == 18 && o[2] == 7 && o[3] == 16);
  hm_axpy(4, 2, a, o);
  CHECK(o[3] == 24);
}

static void test_unop(void) {
  double x[5] = {-800, -1, 0, 1, 800}, o[5];
  hm_unop_apply(HM_SIGMOID, 5, x, o);
  CHECK(o[0] == 0 && o[2] == 0.5 && o[4] == 1);
  CHECK_CLOSE(o[1], 1 / (1 + exp(1.0)), 1e-15);
  hm_unop_apply(HM_SIGN, 5, x, o);
  CHECK(o[0] == -1 && o[2] == 0 && o[4] == 1);
  hm_unop_apply(HM_RELU, 5, x, o);
  CHECK(o[0] == 0 && o[4] == 800);
  hm_pow_apply(5, x, 2, o);
  CHECK(o[1] == 1 && o[4] == 640000);
}

static void test_reduce(void) {
  /* 2 x 3 array: reduce along axis 0 (outer 1, n 2, inner 3) and axis 1 (outer 2, n 3) */
  double a[6] = {1, 5, 3, 4, 2, 6}, o[3];
  CHECK(hm_reduce(HM_SUM, 1, 2, 3, a, o) == HM_OK);
  CHECK(o[0] == 5 && o[1] == 7 && o[2] == 9);
  CHECK(hm_reduce(HM_ARGMAX, 2, 3, 1, a, o) == HM_OK);
  CHECK(o[0] == 1 && o[1] == 2);
  CHECK(hm_reduce(HM_MIN, 1, 6, 1, a, o) == HM_OK && o[0] == 1);
  CHECK(hm_reduce(HM_MAX, 1, 0, 1, a, o) == HM_EARG);
  double k[4] = {1e16, 1, 1, -1e16};
  CHECK(hm_reduce(HM_SUM, 1, 4, 1, k, o) == HM_OK && o[0] == 2);
  CHECK(hm_reduce(HM_MEAN, 1, 4, 1, k, o) == HM_OK && o[0] == 0.5);
}

static void test_softmax(void) {
  double x[3] = {1000, 1000, 1000}, o[3];
  hm_softmax(0, 1, 3, 1, x, o);
  CHECK_CLOSE(o[0], 1.0 / 3, 1e-15);
  double y[2] = {0, log(3.0)};
  hm_softmax(1, 1, 2, 1, y, o);
  CHECK_CLOSE(o[0], log(0.25), 1e-15);
  CHECK_CLOSE(o[1], log(0.75), 1e-15);
  double z[2] = {-INFINITY, -INFINITY};
  hm_softmax(0, 1, 2, 1, z, o);
  CHECK(isnan(o[0]));
}

static void test_norms(void) {
  double x[2] = {3e300, -4e300}, r;
  CHECK_CLOSE(hm_norm2(2, x), 5e300, 1e-15);
  CHECK(hm_norm_p(2, x, INFINITY, &r) == HM_OK && r == 4e300);
  CHECK(hm_norm_p(2, x, 0.5, &r) == HM_EARG);
  double y[3] = {1, -2, 2};
  CHECK(hm_norm_p(3, y, 1, &r) == HM_OK && r == 5);
  CHECK(hm_norm_p(3, y, 3, &r) == HM_OK);
  CHECK_CLOSE(r, cbrt(17.0), 1e-15);
  CHECK(hm_dot(3, y, y) == 9);
  CHECK(hm_equal(3, y, y) && !hm_equal(2, x, y));
}

static void test_move(void) {
  double a[6] = {1, 2, 3, 4, 5, 6}, t[6];
  hm_transpose(1, 2, 3, a, t);
  CHECK(t[0] == 1 && t[1] == 4 && t[2] == 2 && t[5] == 6);
  double s[2];
  hm_take_range(2, 3, 1, 1, 1, a, s); /* column 2 */
  CHECK(s[0] == 2 && s[1] == 5);
  double d[6] = {0};
  hm_put_range(2, 3, 1, 2, 1, s, d);
  CHECK(d[2] == 2 && d[5] == 5);
}

static void test_matmul(void) {
  double a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {1, 2, 3, 1, 6, 1}, c[4];
  hm_mat A, B, C;
  size_t da[2] = {2, 3}, db[2] = {3, 2}, dc[2] = {2, 2};
  hm_mat_init(&A, 2, da, a);
  hm_mat_init(&B, 2, db, b);
  hm_mat_init(&C, 2, dc, c);
  CHECK(hm_matmul(&A, &B, &C) == HM_OK);
  CHECK(c[0] == 25 && c[1] == 7 && c[2] == 55 && c[3] == 19);
  int r;
  size_t d[3];
  CHECK(hm_matmul_shape(&A, &A, &r, d) == HM_ESHAPE);
}

static void test_interrupt(void) {
  /* a batched product over 128 samples polls the interrupt flag */
  static double a[128 * 4], b[128 * 4], c[128 * 4];
  hm_mat A, B, C;
  size_t d[3] = {128, 2, 2};
  hm_mat_init(&A, 3, d, a);
  hm_mat_init(&B, 3, d, b);
  hm_mat_init(&C, 3, d, c);
  hm_interrupt_raise();
  CHECK(hm_matmul(&A, &B, &C) == HM_EINTR);
  hm_interrupt_clear();
  CHECK(hm_matmul(&A, &B, &C) == HM_OK);
}

static void test_format(void) {
  double a[4] = {1, -2.5, 3, 4};
  size_t d[2] = {2, 2};
  hm_mat A;
  hm_mat_init(&A, 2, d, a);
  hm_printopts o;
  hm_printopts_default(&o);
  char buf[256];
  size_t n = hm_format(&A, &o, "mat", buf, sizeof buf);
  const char *want = "   1.0  -2.5\n   3.0   4.0\n[2x2 mat]";
  CHECK(n == strlen(want) && strcmp(buf, want) == 0);
  char small[8];
  CHECK(hm_format(&A, &o, "mat", small, sizeof small) == n && strlen(small) == 7);
  CHECK(hm_format(&A, &o, "mat", NULL, 0) == n);
}

int main(void) {
  test_binop();
  test_unop();
  test_reduce();
  test_softmax();
  test_norms();
  test_move();
  test_matmul();
  test_interrupt();
  test_format();
  return hm_test_report("mat_ops");
}
