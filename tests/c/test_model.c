/* Core tests of hm_loss, hm_data and hm_model (no Lua). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hm_data.h"
#include "hm_loss.h"
#include "hm_model.h"
#include "hm_rng.h"
#include "hm_test.h"

static void test_loss(void) {
  hm_loss l = {HM_LOSS_LOGISTIC, NULL, NULL};
  double v, dv;
  CHECK(hm_loss_eval(&l, 0.0, &v, &dv) == HM_OK);
  CHECK_CLOSE(v, log(2.0), 1e-15);
  CHECK_CLOSE(dv, -0.5, 1e-15);
  CHECK(hm_loss_eval(&l, 50.0, &v, &dv) == HM_OK);
  CHECK_CLOSE(v / exp(-50.0), 1.0, 1e-14);
  CHECK_CLOSE(dv / -exp(-50.0), 1.0, 1e-14);
  CHECK(hm_loss_eval(&l, -1000.0, &v, &dv) == HM_OK);
  CHECK_CLOSE(v, 1000.0, 1e-15);
  l.kind = HM_LOSS_EXPONENTIAL;
  CHECK(hm_loss_eval(&l, -710.0, &v, NULL) == HM_ENONFINITE);
  CHECK(hm_loss_eval(&l, NAN, &v, NULL) == HM_ENONFINITE);
  l.kind = HM_LOSS_CORRELATION;
  CHECK(hm_loss_eval(&l, 2.0, &v, &dv) == HM_OK && v == -2.0 && dv == -1.0);
  double lg;
  l.kind = HM_LOSS_LOGISTIC;
  CHECK(hm_loss_logderiv(&l, 800.0, &lg) == HM_OK);
  CHECK_CLOSE(lg, -800.0, 1e-15);
}

/* theory.md Appendix item 3 */
static void test_small_w(void) {
  const double X[12] = {1, 0, 0, 1, 1, 1, 0.5, -1, 1, 0.5, -1, 0};
  const double Z[4] = {1, 0, 0, 1}, Y[2] = {1, -1};
  hm_dataset ds = {2, 3, 2, X, Y, Z, 0};
  hm_model_config c;
  memset(&c, 0, sizeof c);
  c.param = HM_ATT_W;
  c.query = HM_QUERY_CROSS;
  c.head = HM_HEAD_LINEAR;
  c.d = 2;
  hm_model m;
  CHECK(hm_model_init(&m, &c) == HM_OK);
  const double W[4] = {0.3, -0.2, 0.1, 0.4}, v[2] = {1, -2};
  memcpy(m.x[HM_MP_W], W, sizeof W);
  memcpy(m.x[HM_MP_V], v, sizeof v);
  m.trainable[HM_MP_W] = 1;
  double L;
  CHECK(hm_model_eval(&m, &ds, 1, 0, &L) == HM_OK);
  CHECK_CLOSE(L, 0.890777586116943, 1e-13);
  const double G[4] = {-0.126736346712695, 0.183324194291215, 0.175963778915440,
                       -0.139999294316445};
  for (int j = 0; j < 4; j++) CHECK_CLOSE(m.g[HM_MP_W][j], G[j], 1e-13);
  double rel[HM_MP_COUNT];
  CHECK(hm_model_gradcheck(&m, &ds, 1e-6, rel) == HM_OK);
  CHECK(rel[HM_MP_W] < 1e-7);
  CHECK(isnan(rel[HM_MP_K]));
  char msg[160];
  hm_dataset noz = ds;
  noz.Z = NULL;
  CHECK(hm_model_check_data(&m, &noz, msg) == HM_EARG);
  m.x[HM_MP_W][0] = NAN;
  CHECK(hm_model_eval(&m, &ds, 1, 0, &L) == HM_ENONFINITE);
  hm_model_free(&m);
}

static void test_data(void) {
  hm_rng g;
  hm_rng_seed(&g, 5);
  size_t n = 3, T = 4, d = 5;
  double v[5], Y[3], X[60], Z[15];
  hm_data_grand(&g, n, T, d, v, Y, X, Z);
  double s = 0;
  for (size_t j = 0; j < d; j++) s += v[j] * v[j];
  CHECK_CLOSE(s, 1.0, 1e-14);
  hm_dataset ds = {n, T, d, X, Y, Z, 0};
  size_t bad;
  const char *what;
  CHECK(hm_data_validate(&ds, &bad, &what) == HM_OK);
  double gam[12];
  size_t opt[3];
  int tied[3];
  hm_data_scores_linear(&ds, v, gam);
  CHECK(hm_data_argmax_rows(gam, n, T, opt, tied) == 0);
  for (size_t i = 0; i < n; i++)
    for (size_t t = 0; t < T; t++) CHECK(gam[i * T + t] <= gam[i * T + opt[i]]);
  Y[1] = 0.0;
  CHECK(hm_data_validate(&ds, &bad, &what) == HM_EARG && bad == 1 && what[0] == 'Y');
}

/* A data token lets hm_model_eval keep X v between evaluations: results stay bit-identical
 * to uncached evaluations when v changes, the token applies to one call only, and
 * evaluations without it (on another dataset) neither use nor disturb the cache. */
static void eval_copy(hm_model *m, const hm_dataset *ds, unsigned long token, double *L,
                      double *g) {
  m->data_token = token;
  CHECK(hm_model_eval(m, ds, 1, 0, L) == HM_OK);
  CHECK(m->data_token == 0);
  memcpy(g, m->g[HM_MP_K], 6 * sizeof(double));
  memcpy(g + 6, m->g[HM_MP_Q], 6 * sizeof(double));
}

static int same_eval(hm_model *m, const hm_dataset *ds, unsigned long token, const double *L0,
                     const double *g0) {
  double L, g[12];
  eval_copy(m, ds, token, &L, g);
  return L == *L0 && memcmp(g, g0, sizeof g) == 0;
}

static void test_data_token(void) {
  hm_rng r;
  hm_rng_seed(&r, 11);
  double v[3], Y[4], X[60], Z[12], v2[3], Y2[4], X2[60], Z2[12];
  hm_data_grand(&r, 4, 5, 3, v, Y, X, Z);
  hm_data_grand(&r, 4, 5, 3, v2, Y2, X2, Z2);
  hm_dataset ds = {4, 5, 3, X, Y, Z, 0}, ds2 = {4, 5, 3, X2, Y2, Z2, 0};
  hm_model_config c;
  memset(&c, 0, sizeof c);
  c.param = HM_ATT_KQ;
  c.d = 3;
  c.m = 2;
  hm_model m;
  CHECK(hm_model_init(&m, &c) == HM_OK);
  hm_rng_fill_normal(&r, m.x[HM_MP_K], 6);
  hm_rng_fill_normal(&r, m.x[HM_MP_Q], 6);
  memcpy(m.x[HM_MP_V], v, sizeof v);
  m.trainable[HM_MP_K] = m.trainable[HM_MP_Q] = 1;
  double L0, g0[12], L1, g1[12], L2, g2[12];
  eval_copy(&m, &ds, 0, &L0, g0); /* references without the token */
  eval_copy(&m, &ds2, 0, &L2, g2);
  CHECK(m.gv_token == 0);
  CHECK(same_eval(&m, &ds, 7, &L0, g0)); /* fills the cache */
  CHECK(m.gv_token == 7);
  CHECK(same_eval(&m, &ds, 7, &L0, g0)); /* uses it */
  CHECK(same_eval(&m, &ds2, 0, &L2, g2)); /* another dataset without the token */
  CHECK(m.gv_token == 7);
  CHECK(same_eval(&m, &ds, 7, &L0, g0));
  m.x[HM_MP_V][1] = -m.x[HM_MP_V][1]; /* v changed: recomputed */
  eval_copy(&m, &ds, 0, &L1, g1);
  CHECK(L1 != L0);
  CHECK(same_eval(&m, &ds, 7, &L1, g1));
  m.x[HM_MP_V][1] = -m.x[HM_MP_V][1];
  CHECK(same_eval(&m, &ds2, 8, &L2, g2)); /* a new token for the other dataset */
  CHECK(m.gv_token == 8);
  CHECK(same_eval(&m, &ds2, 8, &L2, g2));
  hm_model_free(&m);
  CHECK(m.gv == NULL && m.gv_token == 0);
}

int main(void) {
  test_loss();
  test_small_w();
  test_data();
  test_data_token();
  return hm_test_report("test_model");
}
