/* Optimizers on toy objectives: hand-computed first steps, lp-MD(p=2) == GD / NGD bit for
 * bit, the NGD norm bound, Polyak on a quadratic with known L_*, metric helpers. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "hm_optim.h"
#include "hm_test.h"
#include "toy_objectives.h"

static void test_helpers(void) {
  double x[4] = {3, -4, 0, 0};
  CHECK(hm_vnorm2(x, 4) == 5.0);
  CHECK(hm_normp(x, 4, 1.0) == 7.0);
  CHECK(hm_normp(x, 4, INFINITY) == 4.0);
  CHECK_CLOSE(hm_normp(x, 4, 3.0), cbrt(27.0 + 64.0), 1e-15);
  double tiny[2] = {3e-200, 4e-200}, huge[2] = {3e200, 4e200};
  CHECK_CLOSE(hm_vnorm2(tiny, 2), 5e-200, 1e-15);
  CHECK_CLOSE(hm_vnorm2(huge, 2), 5e200, 1e-15);
  double a[3] = {1, 2, 2}, b[3] = {2, 4, 4}, c[3] = {-1, -2, -2};
  CHECK_CLOSE(hm_corr(a, b, 3), 1.0, 1e-15);
  CHECK_CLOSE(hm_corr(a, c, 3), -1.0, 1e-15);
  double z[3] = {0, 0, 0};
  CHECK(isnan(hm_corr(a, z, 3)));
  /* Bregman: zero on equal directions, D_psi formula otherwise */
  for (double p = 1.5; p <= 3.0; p += 0.75) {
    CHECK(fabs(hm_bregman_dir(a, b, 3, p)) < 1e-15);
    double w[3] = {0.5, -1.0, 2.0};
    double na = hm_normp(a, 3, p), nw = hm_normp(w, 3, p);
    /* D_psi(ah, wh) = |ah|^p/p + (p-1)|wh|^p/p - <sign(wh)|wh|^{p-1}, ah> */
    double inner = 0.0;
    for (int j = 0; j < 3; j++)
      inner += copysign(pow(fabs(w[j] / nw), p - 1), w[j]) * (a[j] / na);
    double direct = 1.0 / p + (p - 1.0) / p - inner;
    CHECK_CLOSE(hm_bregman_dir(a, w, 3, p), direct, 1e-14);
    CHECK(hm_bregman_dir(a, w, 3, p) > 0);
  }
  double y[3];
  CHECK(hm_lp_normalize(a, y, 3, 1.0) == HM_OK);
  CHECK_CLOSE(y[0], 0.2, 1e-15);
  CHECK(hm_lp_normalize(z, y, 3, 2.0) == HM_EARG);
}

static void test_gd_ngd_first_step(void) {
  toy_quad q;
  toy_quad_init(&q, 2.0, 0, 0.5);
  double x0[7];
  memcpy(x0, q.x, sizeof x0);
  hm_optim o;
  hm_optim_init(&o, HM_OPT_GD);
  o.lr = 0.1;
  CHECK(hm_optim_validate(&o) == HM_OK);
  double L;
  CHECK(hm_optim_step(&o, &q.obj, &L, NULL) == HM_OK);
  double Lexp = 0.5;
  for (int j = 0; j < 7; j++) {
    double e = x0[j] - q.c[j];
    Lexp += 0.5 * q.a[j] * e * e;
    CHECK(q.x[j] == x0[j] - 0.1 * (q.a[j] * e));
  }
  CHECK(L == Lexp);
  hm_optim_free(&o);

  /* NGD: each tensor normalized separately, per-parameter eps */
  toy_quad_init(&q, 2.0, 0, 0.0);
  memcpy(x0, q.x, sizeof x0);
  hm_optim_init(&o, HM_OPT_NGD);
  o.lr = 0.25;
  o.eps = 1e-3;
  o.neps = 1;
  strcpy(o.eps_name[0], "b");
  o.eps_val[0] = 0.5;
  CHECK(hm_optim_validate(&o) == HM_OK);
  CHECK(hm_optim_eps_for(&o, "b") == 0.5 && hm_optim_eps_for(&o, "A") == 1e-3);
  CHECK(hm_optim_step(&o, &q.obj, &L, NULL) == HM_OK);
  double g[7], nA = 0, nb = 0;
  for (int j = 0; j < 7; j++) g[j] = q.a[j] * (x0[j] - q.c[j]);
  for (int j = 0; j < 4; j++) nA += g[j] * g[j];
  for (int j = 4; j < 7; j++) nb += g[j] * g[j];
  nA = sqrt(nA);
  nb = sqrt(nb);
  for (int j = 0; j < 4; j++) CHECK_CLOSE(q.x[j], x0[j] - 0.25 * g[j] / (nA + 1e-3), 1e-15);
  for (int j = 4; j < 7; j++) CHECK_CLOSE(q.x[j], x0[j] - 0.25 * g[j] / (nb + 0.5), 1e-15);
  /* the A block moved by lr * |g|/(|g|+eps) */
  double dA = 0;
  for (int j = 0; j < 4; j++) dA += (q.x[j] - x0[j]) * (q.x[j] - x0[j]);
  CHECK_CLOSE(sqrt(dA), 0.25 * nA / (nA + 1e-3), 1e-14);
  hm_optim_free(&o);
}

static void test_mirror_p2_equals_gd(void) {
  for (int norm = 0; norm <= 1; norm++) {
    for (int kq = 0; kq <= 1; kq++) {
      toy_att a, b;
      toy_att_init(&a, 6, 8, 10, 7, kq, kq ? 0.3 : 0.1);
      toy_att_init(&b, 6, 8, 10, 7, kq, kq ? 0.3 : 0.1);
      hm_optim o1, o2;
      hm_optim_init(&o1, norm ? HM_OPT_NGD : HM_OPT_GD);
      hm_optim_init(&o2, HM_OPT_MIRROR);
      o1.lr = o2.lr = norm ? 0.1 : 1.0;
      o1.eps = o2.eps = 2.22e-16;
      o2.p = 2.0;
      o2.normalized = norm;
      CHECK(hm_optim_validate(&o1) == HM_OK && hm_optim_validate(&o2) == HM_OK);
      int same = 1;
      for (int k = 0; k < 300; k++) {
        double L1, L2;
        CHECK(hm_optim_step(&o1, &a.obj, &L1, NULL) == HM_OK);
        CHECK(hm_optim_step(&o2, &b.obj, &L2, NULL) == HM_OK);
        if (L1 != L2) same = 0;
        for (int i = 0; i < a.obj.nparam; i++)
          if (memcmp(a.prm[i].x, b.prm[i].x, a.prm[i].size * sizeof(double)) != 0) same = 0;
      }
      CHECK(same); /* bit for bit */
      hm_optim_free(&o1);
      hm_optim_free(&o2);
      toy_att_free(&a);
      toy_att_free(&b);
    }
  }
}

static void test_mirror_p3_first_step(void) {
  toy_quad q;
  toy_quad_init(&q, 1.0, 0, 0.0);
  double x0[7], g[7];
  memcpy(x0, q.x, sizeof x0);
  for (int j = 0; j < 7; j++) g[j] = q.a[j] * (x0[j] - q.c[j]);
  for (int norm = 0; norm <= 1; norm++) {
    memcpy(q.x, x0, sizeof x0);
    hm_optim o;
    hm_optim_init(&o, HM_OPT_MIRROR);
    o.p = 3.0;
    o.lr = 0.05;
    o.eps = 1e-9;
    o.normalized = norm;
    CHECK(hm_optim_validate(&o) == HM_OK);
    double L;
    CHECK(hm_optim_step(&o, &q.obj, &L, NULL) == HM_OK);
    /* dual exponent q = 3/2; blocks A (0..3) and b (4..6) */
    double nq[2] = {0, 0};
    for (int j = 0; j < 7; j++) nq[j >= 4] += pow(fabs(g[j]), 1.5);
    for (int k = 0; k < 2; k++) nq[k] = pow(nq[k], 1.0 / 1.5);
    for (int j = 0; j < 7; j++) {
      double sc = norm ? 0.05 / (nq[j >= 4] + 1e-9) : 0.05;
      double u = (x0[j] >= 0 ? 1 : -1) * x0[j] * x0[j] - sc * g[j];
      double want = (u >= 0 ? 1 : -1) * sqrt(fabs(u));
      CHECK_CLOSE(q.x[j], want, 1e-14);
    }
    hm_optim_free(&o);
  }
  hm_optim o;
  hm_optim_init(&o, HM_OPT_MIRROR);
  o.lr = 0.1;
  o.p = 1.0;
  CHECK(hm_optim_validate(&o) == HM_EARG);
  o.p = 0.5;
  CHECK(hm_optim_validate(&o) == HM_EARG);
}

static void test_ngd_norm_bound(void) {
  for (int kq = 0; kq <= 1; kq++) {
    toy_att a;
    toy_att_init(&a, 6, 8, 10, 3, kq, 0.2);
    hm_optim o;
    hm_optim_init(&o, HM_OPT_NGD);
    o.lr = 0.1;
    o.eps = 2.22e-16;
    double n0[2] = {hm_vnorm2(a.prm[0].x, 100), hm_vnorm2(a.prm[1].x, kq ? 100 : 0)};
    int ok = 1, grows = 0;
    for (int k = 1; k <= 500; k++) {
      double L;
      CHECK(hm_optim_step(&o, &a.obj, &L, NULL) == HM_OK);
      for (int i = 0; i < a.obj.nparam; i++) {
        double nk = hm_vnorm2(a.prm[i].x, 100);
        if (nk > n0[i] + 0.1 * k * (1 + 1e-14)) ok = 0;
        if (k == 500 && !kq && nk > 0.5 * 0.1 * k) grows = 1;
      }
    }
    CHECK(ok);
    CHECK(grows || kq); /* W: after alignment the norm grows ~ eta k (D.0.3) */
    hm_optim_free(&o);
    toy_att_free(&a);
  }
}

static void test_polyak(void) {
  /* isotropic quadratic: eta = (L-L*)/|g|^2 = 1/(2a): the error halves every step */
  toy_quad q;
  toy_quad_init(&q, 4.0, 1, 0.75);
  double e0[7];
  for (int j = 0; j < 7; j++) e0[j] = q.x[j] - q.c[j];
  hm_optim o;
  hm_optim_init(&o, HM_OPT_POLYAK); /* lstar from the objective's loss_inf */
  CHECK(hm_optim_validate(&o) == HM_OK);
  for (int k = 1; k <= 5; k++) {
    double L;
    CHECK(hm_optim_step(&o, &q.obj, &L, NULL) == HM_OK);
    CHECK_CLOSE(o.last_lr, 1.0 / 8.0, 1e-14);
    for (int j = 0; j < 7; j++) CHECK_CLOSE(q.x[j] - q.c[j], e0[j] * pow(0.5, k), 1e-13);
  }
  /* explicit lstar, scale c, cap */
  toy_quad_init(&q, 4.0, 1, 0.75);
  hm_optim_init(&o, HM_OPT_POLYAK);
  o.lstar = 0.5; /* gap = L - 0.5 = 0.25 + 2|e|^2 */
  o.c = 0.5;
  double L, e2 = 0;
  for (int j = 0; j < 7; j++) e2 += e0[j] * e0[j];
  CHECK(hm_optim_step(&o, &q.obj, &L, NULL) == HM_OK);
  CHECK_CLOSE(o.last_lr, 0.5 * (0.25 + 2.0 * e2) / (16.0 * e2), 1e-14);
  o.lr_max = 1e-3;
  CHECK(hm_optim_step(&o, &q.obj, &L, NULL) == HM_OK);
  CHECK(o.last_lr == 1e-3);
  /* no L_* anywhere: error */
  q.obj.loss_inf = NAN;
  hm_optim_init(&o, HM_OPT_POLYAK);
  CHECK(hm_optim_step(&o, &q.obj, &L, NULL) == HM_EARG);
}

static void test_momentum_adam(void) {
  toy_quad q;
  toy_quad_init(&q, 1.0, 0, 0.0);
  double x0[7];
  memcpy(x0, q.x, sizeof x0);
  for (int nest = 0; nest <= 1; nest++) {
    memcpy(q.x, x0, sizeof x0);
    hm_optim o;
    hm_optim_init(&o, HM_OPT_MOMENTUM);
    o.lr = 0.1;
    o.beta = 0.8;
    o.nesterov = nest;
    double L;
    /* hand computation: v1 = g0; x1 = x0 - lr*(nest ? g0 + b v1 : v1);
     * v2 = b v1 + g1; x2 = x1 - lr*(nest ? g1 + b v2 : v2) */
    double x1[7], x2[7], v[7];
    for (int j = 0; j < 7; j++) {
      double g0 = q.a[j] * (x0[j] - q.c[j]);
      v[j] = g0;
      x1[j] = x0[j] - 0.1 * (nest ? g0 + 0.8 * v[j] : v[j]);
      double g1 = q.a[j] * (x1[j] - q.c[j]);
      v[j] = 0.8 * v[j] + g1;
      x2[j] = x1[j] - 0.1 * (nest ? g1 + 0.8 * v[j] : v[j]);
    }
    CHECK(hm_optim_step(&o, &q.obj, &L, NULL) == HM_OK);
    for (int j = 0; j < 7; j++) CHECK_CLOSE(q.x[j], x1[j], 1e-15);
    CHECK(hm_optim_step(&o, &q.obj, &L, NULL) == HM_OK);
    for (int j = 0; j < 7; j++) CHECK_CLOSE(q.x[j], x2[j], 1e-15);
    /* reset: the next step is a first step again */
    hm_optim_reset(&o);
    memcpy(q.x, x0, sizeof x0);
    CHECK(hm_optim_step(&o, &q.obj, &L, NULL) == HM_OK);
    for (int j = 0; j < 7; j++) CHECK_CLOSE(q.x[j], x1[j], 1e-15);
    hm_optim_free(&o);
  }
  /* Adam: first step moves every coordinate by lr*sign(g) (up to eps), second by hand */
  memcpy(q.x, x0, sizeof x0);
  hm_optim o;
  hm_optim_init(&o, HM_OPT_ADAM);
  o.lr = 0.01;
  o.beta1 = 0.9;
  o.beta2 = 0.99;
  o.eps = 1e-8;
  double L, m[7], v2[7], x1[7], x2[7];
  for (int j = 0; j < 7; j++) {
    double g0 = q.a[j] * (x0[j] - q.c[j]);
    m[j] = 0.1 * g0;
    v2[j] = 0.01 * g0 * g0;
    x1[j] = x0[j] - 0.01 * (m[j] / 0.1) / (sqrt(v2[j] / 0.01) + 1e-8);
    double g1 = q.a[j] * (x1[j] - q.c[j]);
    m[j] = 0.9 * m[j] + 0.1 * g1;
    v2[j] = 0.99 * v2[j] + 0.01 * g1 * g1;
    double bc1 = 1 - 0.81, bc2 = 1 - 0.99 * 0.99;
    x2[j] = x1[j] - 0.01 * (m[j] / bc1) / (sqrt(v2[j] / bc2) + 1e-8);
  }
  CHECK(hm_optim_step(&o, &q.obj, &L, NULL) == HM_OK);
  for (int j = 0; j < 7; j++) {
    CHECK_CLOSE(q.x[j], x1[j], 1e-15);
    CHECK_CLOSE(fabs(q.x[j] - x0[j]), 0.01, 1e-7);
  }
  CHECK(hm_optim_step(&o, &q.obj, &L, NULL) == HM_OK);
  for (int j = 0; j < 7; j++) CHECK_CLOSE(q.x[j], x2[j], 1e-15);
  hm_optim_free(&o);
  hm_optim_init(&o, HM_OPT_ADAM);
  o.beta1 = 1.0;
  CHECK(hm_optim_validate(&o) == HM_EARG);
  hm_optim_init(&o, HM_OPT_NGD);
  o.lr = 0.1; /* eps missing (NaN): invalid */
  CHECK(hm_optim_validate(&o) == HM_EARG);
  o.eps = 0.0;
  CHECK(hm_optim_validate(&o) == HM_OK);
}

static void test_nonfinite(void) {
  toy_quad q;
  toy_quad_init(&q, 1.0, 1, 0.0);
  hm_optim o;
  hm_optim_init(&o, HM_OPT_GD);
  o.lr = 1.0;
  q.x[5] = INFINITY;
  double L;
  CHECK(hm_optim_step(&o, &q.obj, &L, NULL) == HM_ENONFINITE);
  toy_quad_init(&q, 1.0, 1, 0.0);
  q.x[5] = 1e300; /* loss overflows first */
  CHECK(hm_optim_step(&o, &q.obj, &L, NULL) == HM_ENONFINITE);
  CHECK(isinf(L));
}

/* rescaled-direction mode: grad_k = exp(-ls_k) * true gradient; NGD / normalized MD use
 * g/(|g| + eps exp(-ls)), the recorded norm is the true one, other kinds refuse */
static void test_rescaled(void) {
  const double lsv[2] = {-2.0, 3.0};
  for (int pass = 0; pass < 2; pass++) {
    toy_quad q;
    toy_quad_init(&q, 2.0, 0, 0.0);
    double x0[7], L;
    memcpy(x0, q.x, sizeof x0);
    CHECK(toy_quad_eval(&q, 1, &L) == HM_OK);
    double g[7];
    memcpy(g, q.g, sizeof g); /* the buffer handed to the optimizer */
    q.obj.grad_log_scale = lsv;
    hm_optim o;
    hm_optim_init(&o, pass == 0 ? HM_OPT_NGD : HM_OPT_MIRROR);
    o.lr = 0.25;
    o.eps = 0.1;
    o.p = 2.0;
    o.normalized = 1;
    o.rescaled = 1;
    CHECK(hm_optim_validate(&o) == HM_OK);
    CHECK(hm_optim_update(&o, &q.obj, L, NULL) == HM_OK);
    double nA = sqrt(g[0] * g[0] + g[1] * g[1] + g[2] * g[2] + g[3] * g[3]);
    double nb = sqrt(g[4] * g[4] + g[5] * g[5] + g[6] * g[6]);
    for (int j = 0; j < 7; j++) {
      double s = j < 4 ? lsv[0] : lsv[1], n = j < 4 ? nA : nb;
      double gt = exp(s) * g[j], nt = exp(s) * n; /* the true gradient, no underflow here */
      CHECK_CLOSE(q.x[j], x0[j] - 0.25 * gt / (nt + 0.1), 1e-14);
    }
    CHECK_CLOSE(o.last_grad_norm, hypot(exp(lsv[0]) * nA, exp(lsv[1]) * nb), 1e-14);
    hm_optim_free(&o);
  }
  /* a scale far below the underflow: eps = 0 gives the unit step, eps > 0 gives no step */
  toy_quad q;
  toy_quad_init(&q, 2.0, 0, 0.0);
  double L, x0[7];
  CHECK(toy_quad_eval(&q, 1, &L) == HM_OK);
  const double deep[2] = {-900.0, -1000.0};
  q.obj.grad_log_scale = deep;
  hm_optim o;
  hm_optim_init(&o, HM_OPT_NGD);
  o.lr = 0.5;
  o.eps = 0.0;
  o.rescaled = 1;
  memcpy(x0, q.x, sizeof x0);
  CHECK(hm_optim_update(&o, &q.obj, L, NULL) == HM_OK);
  double dA = 0, db = 0;
  for (int j = 0; j < 7; j++) *(j < 4 ? &dA : &db) += (q.x[j] - x0[j]) * (q.x[j] - x0[j]);
  CHECK_CLOSE(sqrt(dA), 0.5, 1e-14);
  CHECK_CLOSE(sqrt(db), 0.5, 1e-14);
  CHECK(o.last_grad_norm == 0.0); /* exp(-900) |g| underflows: recorded truthfully */
  CHECK(hm_optim_true_norm(&q.obj, NULL) == 0.0);
  o.eps = 1e-300;
  memcpy(x0, q.x, sizeof x0);
  CHECK(hm_optim_update(&o, &q.obj, L, NULL) == HM_OK);
  for (int j = 0; j < 7; j++) CHECK(q.x[j] == x0[j]);
  hm_optim_free(&o);
  /* GD on a rescaled gradient would take a wrong-size step: refused */
  hm_optim_init(&o, HM_OPT_GD);
  o.lr = 0.1;
  CHECK(hm_optim_update(&o, &q.obj, L, NULL) == HM_EARG);
  o.rescaled = 1;
  CHECK(hm_optim_validate(&o) == HM_EARG);
  hm_optim_free(&o);
  /* helpers */
  CHECK(hm_scaled_norm(2.0, 0.0) == 2.0);
  CHECK_CLOSE(hm_scaled_norm(1e-300, 600.0), 1e-300 * exp(600.0), 1e-13);
  CHECK(hm_scaled_norm(0.0, -5.0) == 0.0);
}

/* p = 2 / p = 3 fast paths in the subnormal-gradient branch (eta/|g|_q overflows with eps = 0):
 * the general formula with pow, to 1e-15 relative */
static void test_mirror_fast_subnormal(void) {
  for (int p = 2; p <= 3; p++) {
    toy_quad q;
    toy_quad_init(&q, 1.0, 0, 0.0);
    for (int j = 0; j < 7; j++) q.a[j] = 1e-312 * (1.0 + j);
    double x0[7], g[7], L;
    memcpy(x0, q.x, sizeof x0);
    CHECK(toy_quad_eval(&q, 1, &L) == HM_OK);
    memcpy(g, q.g, sizeof g);
    hm_optim o;
    hm_optim_init(&o, HM_OPT_MIRROR);
    o.p = p;
    o.lr = 0.05;
    o.eps = 0.0;
    o.normalized = 1;
    CHECK(hm_optim_update(&o, &q.obj, L, NULL) == HM_OK);
    double qe = p / (p - 1.0);
    for (int k = 0; k < 2; k++) {
      int lo = k ? 4 : 0, hi = k ? 7 : 4;
      double den = hm_normp(g + lo, (size_t)(hi - lo), qe);
      CHECK(!isfinite(0.05 / den)); /* really the subnormal branch */
      for (int j = lo; j < hi; j++) {
        double u = copysign(pow(fabs(x0[j]), p - 1.0), x0[j]) - 0.05 * (g[j] / den);
        double want = copysign(pow(fabs(u), 1.0 / (p - 1.0)), u);
        CHECK_CLOSE(q.x[j], want, 1e-15);
        if (p == 2) CHECK(q.x[j] == want);
      }
    }
    hm_optim_free(&o);
  }
}

int main(void) {
  test_helpers();
  test_gd_ngd_first_step();
  test_mirror_p2_equals_gd();
  test_mirror_p3_first_step();
  test_ngd_norm_bound();
  test_polyak();
  test_momentum_adam();
  test_nonfinite();
  test_rescaled();
  test_mirror_fast_subnormal();
  return hm_test_report("optim");
}
