/* The training loop: recorders against direct computation, row schedule, stop criteria,
 * divergence / underflow / interrupt statuses, and the saturated-regime NGD test. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "hm_interrupt.h"
#include "hm_optim.h"
#include "hm_train.h"
#include "hm_test.h"
#include "toy_objectives.h"

static void test_rows(void) {
  CHECK(hm_train_rows(10, 3) == 5); /* 0 3 6 9 10 */
  CHECK(hm_train_rows(9, 3) == 4);  /* 0 3 6 9 */
  CHECK(hm_train_rows(0, 5) == 1);
  CHECK(hm_train_rows(7, 1) == 8);
}

static void test_recorders(void) {
  toy_att a, b;
  toy_att_init(&a, 5, 6, 7, 11, 0, 0.3);
  toy_att_init(&b, 5, 6, 7, 11, 0, 0.3);
  const long iters = 10, every = 3, rows = hm_train_rows(iters, every);
  double target[49], Wt[49 * 5], loss[5], gn[5], pn[5], smax[5], sat[5], corr[5], breg[5],
      gap[5], lr[5];
  for (int j = 0; j < 49; j++) target[j] = sin(1.0 + j);
  size_t idx[5] = {0, 1, 2, 3, 5};
  hm_recorder rec[] = {
      {HM_REC_LOSS, -1, NULL, NULL, 0, 0, loss},
      {HM_REC_GRAD_NORM, -1, NULL, NULL, 0, 0, gn},
      {HM_REC_PARAM_NORM, 0, NULL, NULL, 0, 0, pn},
      {HM_REC_VALUE, -1, NULL, NULL, 0, 0, Wt},
      {HM_REC_SOFTMAX_MAX, -1, NULL, NULL, 0, 0, smax},
      {HM_REC_SOFTMAX_AT, -1, NULL, idx, 0, 0, sat},
      {HM_REC_CORR, -1, target, NULL, 0, 0, corr},
      {HM_REC_BREGMAN, 0, target, NULL, 1.5, 0, breg},
      {HM_REC_MIN_LOGIT_GAP, -1, NULL, NULL, 0, 0, gap},
      {HM_REC_LR, -1, NULL, NULL, 0, 0, lr},
  };
  double wbuf[49], sbuf[30];
  hm_train_cfg cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.iters = iters;
  cfg.every = every;
  cfg.nrec = (int)(sizeof rec / sizeof rec[0]);
  cfg.rec = rec;
  cfg.stop.loss_below = NAN;
  cfg.stop.grad_norm_below = NAN;
  cfg.wbuf = wbuf;
  cfg.sbuf = sbuf;
  hm_optim o, o2;
  hm_optim_init(&o, HM_OPT_POLYAK);
  hm_optim_init(&o2, HM_OPT_POLYAK);
  o.lr_max = o2.lr_max = 5.0;
  hm_train_result res;
  CHECK(hm_train_run(&o, &a.obj, &cfg, &res) == HM_OK);
  CHECK(res.status == HM_TRAIN_OK && res.iters == iters && res.rows == rows);
  /* replay with plain steps and compare every recorded row */
  long r = 0;
  for (long k = 0; k <= iters; k++) {
    if (k % every == 0 || k == iters) {
      double L;
      toy_att_eval(&b, 1, &L);
      CHECK(loss[r] == L);
      CHECK_CLOSE(gn[r], hm_vnorm2(b.gW, 49), 1e-15);
      CHECK_CLOSE(pn[r], hm_vnorm2(b.W, 49), 1e-15);
      CHECK(memcmp(Wt + r * 49, b.W, sizeof wbuf) == 0);
      double sm = 0, sa = 0;
      for (int i = 0; i < 5; i++) {
        double mx = 0;
        for (int t = 0; t < 6; t++) mx = fmax(mx, b.s[i * 6 + t]);
        sm += mx;
        sa += b.s[i * 6 + idx[i]];
      }
      CHECK_CLOSE(smax[r], sm / 5, 1e-15);
      CHECK_CLOSE(sat[r], sa / 5, 1e-15);
      double dot = 0, nt = 0, nw = 0;
      for (int j = 0; j < 49; j++) {
        dot += b.W[j] * target[j];
        nt += target[j] * target[j];
        nw += b.W[j] * b.W[j];
      }
      CHECK_CLOSE(corr[r], dot / sqrt(nt * nw), 1e-14);
      CHECK_CLOSE(breg[r], hm_bregman_dir(target, b.W, 49, 1.5), 1e-15);
      CHECK(gap[r] == b.obj.min_logit_gap);
      r++;
    }
    if (k < iters) {
      double L;
      CHECK(hm_optim_step(&o2, &b.obj, &L, NULL) == HM_OK);
      if ((k % every) == 0) CHECK(lr[r - 1] == o2.last_lr);
    }
  }
  CHECK(isnan(lr[rows - 1]));
  CHECK(memcmp(a.W, b.W, sizeof wbuf) == 0);
  /* bad recorders */
  hm_recorder bad = {HM_REC_SOFTMAX_AT, -1, NULL, NULL, 0, 0, sat};
  CHECK(hm_train_prepare(&a.obj, &bad, 1) == HM_EARG);
  size_t badidx[5] = {0, 0, 6, 0, 0};
  bad.idx = badidx;
  CHECK(hm_train_prepare(&a.obj, &bad, 1) == HM_EARG);
  hm_recorder bad2 = {HM_REC_VALUE, 3, NULL, NULL, 0, 0, sat};
  CHECK(hm_train_prepare(&a.obj, &bad2, 1) == HM_EARG);
  hm_optim_free(&o);
  hm_optim_free(&o2);
  toy_att_free(&a);
  toy_att_free(&b);
}

static void test_divergence(void) {
  /* GD with lr = 10 on a = 1: e_k = (-9)^k e_0 until the loss overflows */
  toy_quad q;
  toy_quad_init(&q, 1.0, 1, 0.0);
  double e[7];
  for (int j = 0; j < 7; j++) e[j] = q.x[j] - q.c[j];
  long kdiv = 0;
  for (;; kdiv++) { /* first k with a non-finite loss, by direct simulation */
    double L = 0.0;
    for (int j = 0; j < 7; j++) L += 0.5 * e[j] * e[j];
    if (!isfinite(L)) break;
    for (int j = 0; j < 7; j++) e[j] = (q.c[j] + e[j] - 10.0 * e[j]) - q.c[j];
  }
  double lbuf[400];
  hm_recorder rec = {HM_REC_LOSS, -1, NULL, NULL, 0, 0, lbuf};
  hm_train_cfg cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.iters = 399;
  cfg.every = 1;
  cfg.nrec = 1;
  cfg.rec = &rec;
  cfg.stop.loss_below = NAN;
  cfg.stop.grad_norm_below = NAN;
  hm_optim o;
  hm_optim_init(&o, HM_OPT_GD);
  o.lr = 10.0;
  hm_train_result res;
  CHECK(hm_train_run(&o, &q.obj, &cfg, &res) == HM_OK);
  CHECK(res.status == HM_TRAIN_DIVERGED_LOSS || res.status == HM_TRAIN_DIVERGED_PARAM);
  CHECK(res.status == HM_TRAIN_DIVERGED_LOSS);
  CHECK(res.step == kdiv);
  CHECK(res.iters == kdiv && res.rows == kdiv);
  CHECK(kdiv > 100 && isfinite(lbuf[kdiv - 1]));

  /* the update itself overflows a parameter (loss finite at step 0) */
  toy_quad_init(&q, 4.0, 0, 0.0);
  hm_optim big;
  hm_optim_init(&big, HM_OPT_GD);
  big.lr = 1.7e308;
  CHECK(hm_train_run(&big, &q.obj, &cfg, &res) == HM_OK);
  CHECK(res.status == HM_TRAIN_DIVERGED_PARAM && res.step == 0 && res.bad_param >= 0);
  CHECK(res.rows == 1 && isfinite(lbuf[0]));
  hm_optim_free(&big);

  /* exactly zero gradient: underflow status at step 0 */
  toy_quad_init(&q, 1.0, 1, 0.0);
  memcpy(q.x, q.c, sizeof q.x);
  CHECK(hm_train_run(&o, &q.obj, &cfg, &res) == HM_OK);
  CHECK(res.status == HM_TRAIN_UNDERFLOW && res.step == 0 && res.rows == 1 && res.iters == 0);

  /* interrupt */
  toy_quad_init(&q, 1.0, 1, 0.0);
  hm_interrupt_raise();
  CHECK(hm_train_run(&o, &q.obj, &cfg, &res) == HM_OK);
  CHECK(res.status == HM_TRAIN_INTERRUPTED && res.step == 0 && res.rows == 0);
  hm_interrupt_clear();

  /* stop criterion: loss <= 1e-6 with lr = 0.5 (error halves each step) */
  toy_quad_init(&q, 1.0, 1, 0.0);
  o.lr = 0.5;
  cfg.stop.loss_below = 1e-6;
  CHECK(hm_train_run(&o, &q.obj, &cfg, &res) == HM_OK);
  CHECK(res.status == HM_TRAIN_STOPPED && res.stop_reason == 0);
  CHECK(lbuf[res.rows - 1] <= 1e-6 && lbuf[res.rows - 2] > 1e-6 && res.iters == res.step);
  hm_optim_free(&o);
}

static int stop_at_6(void *ud, long k) {
  long *calls = (long *)ud;
  (*calls)++;
  return k >= 6 ? 1 : 0;
}

static void test_callback(void) {
  toy_quad q;
  toy_quad_init(&q, 1.0, 0, 0.0);
  double lbuf[20];
  hm_recorder rec = {HM_REC_LOSS, -1, NULL, NULL, 0, 0, lbuf};
  hm_train_cfg cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.iters = 19;
  cfg.every = 2;
  cfg.nrec = 1;
  cfg.rec = &rec;
  cfg.stop.loss_below = NAN;
  cfg.stop.grad_norm_below = NAN;
  long calls = 0;
  cfg.callback = stop_at_6;
  cfg.cb_ud = &calls;
  hm_optim o;
  hm_optim_init(&o, HM_OPT_GD);
  o.lr = 0.1;
  hm_train_result res;
  CHECK(hm_train_run(&o, &q.obj, &cfg, &res) == HM_OK);
  CHECK(res.status == HM_TRAIN_CALLBACK && res.step == 6 && calls == 4 && res.rows == 4);
  CHECK(res.iters == 6);
  hm_optim_free(&o);
}

/* Saturated regime (issue 3): G-rand(6,8,10), W = 0, NGD eta = 0.1, eps = 2.22e-16: with
 * the stable gradient, 1 - corr(W_k, W^mm_alpha) keeps decreasing from k = 2000 to 10000. */
static void test_saturated(void) {
  for (uint64_t seed = 0; seed < 2; seed++) {
    toy_att a;
    toy_att_init(&a, 6, 8, 10, seed, 0, 0.0);
    double Ws[6 * 100];
    hm_recorder rec = {HM_REC_VALUE, 0, NULL, NULL, 0, 0, Ws};
    hm_train_cfg cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.iters = 10000;
    cfg.every = 2000;
    cfg.nrec = 1;
    cfg.rec = &rec;
    cfg.stop.loss_below = NAN;
    cfg.stop.grad_norm_below = NAN;
    hm_optim o;
    hm_optim_init(&o, HM_OPT_NGD);
    o.lr = 0.1;
    o.eps = 2.22e-16;
    hm_train_result res;
    CHECK(hm_train_run(&o, &a.obj, &cfg, &res) == HM_OK);
    CHECK(res.status == HM_TRAIN_OK && res.rows == 6);
    double L;
    toy_att_eval(&a, 0, &L);
    CHECK(a.obj.min_logit_gap > 30); /* saturated: 1 - s_max below 2^-53 */
    size_t al[6];
    for (int i = 0; i < 6; i++) {
      size_t bst = 0;
      for (size_t t = 0; t < 8; t++)
        if (a.s[i * 8 + t] > a.s[i * 8 + bst]) bst = t;
      al[i] = bst;
    }
    double Wm[100];
    CHECK(toy_svm_fro(&a, al, Wm, 20000) < 1e-9);
    double prev = INFINITY;
    for (int r = 1; r < 6; r++) {
      double c = 1.0 - hm_corr(Ws + r * 100, Wm, 100);
      CHECK(c < prev);
      CHECK(c < 5e-3);
      prev = c;
    }
    hm_optim_free(&o);
    toy_att_free(&a);
  }
}

int main(void) {
  test_rows();
  test_recorders();
  test_divergence();
  test_callback();
  test_saturated();
  return hm_test_report("train");
}
