/* The ad tape of the core (hm_ad.h): shapes and statuses, constant folding and lazy
 * re-evaluation, the reverse sweep on a small composite, the stable softmax backward. */
#include <math.h>
#include <string.h>

#include "hm_ad.h"
#include "hm_test.h"

static int push(hm_tape *t, hm_ad_op op, int a, int b, const hm_ad_attr *at) {
  int id = -1;
  char err[200];
  CHECK(hm_ad_push(t, op, a, b, at, &id, err, sizeof err) == HM_OK);
  return id;
}

/* L = sum(exp(W x)) for W 2x3 variable, x a constant: dL/dW = exp(Wx) x^T */
static void test_reverse_and_replay(void) {
  hm_tape t;
  hm_tape_init(&t);
  double W[6] = {0.1, -0.2, 0.3, 0.5, 0.0, -0.4}, xv[3] = {1, 2, -1};
  size_t dW[2] = {2, 3}, dx[1] = {3};
  int w, x;
  CHECK(hm_ad_var(&t, 2, dW, W, &w) == HM_OK);
  CHECK(hm_ad_const(&t, 1, dx, xv, &x) == HM_OK);
  int xx = push(&t, HM_AD_EXP, x, -1, NULL); /* a constant subgraph: folded */
  CHECK(!t.node[xx].varying && t.node[xx].grad == NULL);
  int y = push(&t, HM_AD_MATMUL, w, x, NULL);
  int e = push(&t, HM_AD_EXP, y, -1, NULL);
  hm_ad_attr all = {.axis = -1};
  int L = push(&t, HM_AD_SUM, e, -1, &all);
  for (int rep = 0; rep < 2; rep++) { /* a second replay after changing W in place */
    if (rep) W[0] = 1.0;
    hm_tape_invalidate(&t);
    CHECK(hm_tape_eval(&t, L) == HM_OK);
    CHECK(hm_tape_backward(&t, L) == HM_OK);
    for (int i = 0; i < 2; i++) {
      double yi = W[3 * i] * 1 + W[3 * i + 1] * 2 - W[3 * i + 2];
      for (int j = 0; j < 3; j++) CHECK_CLOSE(t.node[w].grad[3 * i + j], exp(yi) * xv[j], 1e-15);
    }
  }
  hm_tape_free(&t);
}

static void test_errors(void) {
  hm_tape t;
  hm_tape_init(&t);
  double a[6] = {0}, b[4] = {0};
  size_t da[2] = {2, 3}, db[1] = {4};
  int x, z, id;
  char err[200];
  CHECK(hm_ad_var(&t, 2, da, a, &x) == HM_OK);
  CHECK(hm_ad_const(&t, 1, db, b, &z) == HM_OK);
  CHECK(hm_ad_push(&t, HM_AD_ADD, x, z, NULL, &id, err, sizeof err) == HM_ESHAPE);
  CHECK(strcmp(err, "shapes 2x3 and 4 do not broadcast") == 0);
  CHECK(hm_ad_push(&t, HM_AD_MATMUL, x, x, NULL, &id, err, sizeof err) == HM_ESHAPE);
  CHECK(hm_ad_push(&t, HM_AD_EXP, 7, -1, NULL, &id, err, sizeof err) == HM_EARG);
  CHECK(hm_tape_backward(&t, x) == HM_EARG); /* not a scalar */
  hm_tape_free(&t);
}

/* softmax at a logit gap of 60: d/da of sum(softmax(a) * g) keeps its relative accuracy */
static void test_saturated_softmax(void) {
  hm_tape t;
  hm_tape_init(&t);
  double a[3] = {60, 0, 0}, g[3] = {1, 3, -1};
  size_t d[1] = {3};
  int va, cg;
  CHECK(hm_ad_var(&t, 1, d, a, &va) == HM_OK);
  CHECK(hm_ad_const(&t, 1, d, g, &cg) == HM_OK);
  hm_ad_attr ax = {.axis = 0}, all = {.axis = -1};
  int s = push(&t, HM_AD_SOFTMAX, va, -1, &ax);
  int p = push(&t, HM_AD_MUL, s, cg, NULL);
  int L = push(&t, HM_AD_SUM, p, -1, &all);
  CHECK(hm_tape_backward(&t, L) == HM_OK);
  /* f = s_1 + 3 s_2 - s_3 = 1 + 2 s_2 (s_1 = 1 - 2 s_2), so df/da_2 = s_2 (3 - f) = 2 s_2 (1 - s_2)... to
   * first order in s_2 = e^-60 / (1 + 2 e^-60): 2 s_2, and df/da_1 = -s_1 (s_2 (3 - 1) + s_3 (-1 - 1)) = 0 */
  double e = exp(-60.0), s2 = e / (1 + 2 * e);
  CHECK(fabs(t.node[va].grad[1] - s2 * 2.0) <= 1e-13 * s2);
  CHECK(fabs(t.node[va].grad[2] - s2 * -2.0) <= 1e-13 * s2);
  CHECK(fabs(t.node[va].grad[0]) <= 1e-13 * s2);
  hm_tape_free(&t);
}

int main(void) {
  test_reverse_and_replay();
  test_errors();
  test_saturated_softmax();
  return hm_test_report("test_ad");
}
