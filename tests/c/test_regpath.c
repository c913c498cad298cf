/* Ball projections and the regularization-path solver on toy objectives. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "hm_optim.h"
#include "hm_regpath.h"
#include "hm_test.h"
#include "toy_objectives.h"

static void test_projections(void) {
  double x[4] = {3, -4, 0, 0};
  CHECK(hm_proj_ball(HM_BALL_L2, x, 4, 1.0, 4, 1) == HM_OK);
  CHECK_CLOSE(x[0], 0.6, 1e-15);
  CHECK_CLOSE(x[1], -0.8, 1e-15);
  double y[4] = {0.1, 0.2, 0, 0};
  CHECK(hm_proj_ball(HM_BALL_L2, y, 4, 1.0, 4, 1) == HM_OK && y[0] == 0.1 && y[1] == 0.2);
  /* l1: (3,-1,0.5) onto radius 2 -> threshold 1: (2, 0, 0); radius 3 -> theta 0.5: (2.5,-0.5,0) */
  double z[3] = {3, -1, 0.5};
  CHECK(hm_proj_ball(HM_BALL_L1, z, 3, 2.0, 3, 1) == HM_OK);
  CHECK_CLOSE(z[0], 2.0, 1e-15);
  CHECK(z[1] == 0.0 && z[2] == 0.0);
  double z2[3] = {3, -1, 0.5};
  CHECK(hm_proj_ball(HM_BALL_L1, z2, 3, 3.0, 3, 1) == HM_OK);
  CHECK_CLOSE(z2[0], 2.5, 1e-15);
  CHECK_CLOSE(z2[1], -0.5, 1e-15);
  CHECK(z2[2] == 0.0);
  double w[3] = {3, -1, 0.5};
  CHECK(hm_proj_ball(HM_BALL_LINF, w, 3, 0.75, 3, 1) == HM_OK);
  CHECK(w[0] == 0.75 && w[1] == -0.75 && w[2] == 0.5);
  /* nuclear: M = U diag(3, 1, 0.5) V^T with rotations; radius 2 -> singular values (2,0,0) */
  double c = cos(0.3), s = sin(0.3), c2 = cos(1.1), s2 = sin(1.1);
  double U[9] = {c, -s, 0, s, c, 0, 0, 0, 1}, V[9] = {1, 0, 0, 0, c2, -s2, 0, s2, c2};
  double sig[3] = {3, 1, 0.5}, M[9], want[9];
  double sw[3] = {2.0, 0, 0};
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++) {
      M[i * 3 + j] = 0;
      want[i * 3 + j] = 0;
      for (int k = 0; k < 3; k++) {
        M[i * 3 + j] += U[i * 3 + k] * sig[k] * V[j * 3 + k];
        want[i * 3 + j] += U[i * 3 + k] * sw[k] * V[j * 3 + k];
      }
    }
  double nn;
  CHECK(hm_ball_norm(HM_BALL_NUC, M, 9, 3, 3, &nn) == HM_OK);
  CHECK_CLOSE(nn, 4.5, 1e-14);
  CHECK(hm_proj_ball(HM_BALL_NUC, M, 9, 2.0, 3, 3) == HM_OK);
  for (int j = 0; j < 9; j++) CHECK_CLOSE(M[j], want[j], 1e-14);
  /* radius 3.2: singular values (2.6, 0.6, 0) (threshold 0.4) */
  double M2[9];
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++) {
      M2[i * 3 + j] = 0;
      for (int k = 0; k < 3; k++) M2[i * 3 + j] += U[i * 3 + k] * sig[k] * V[j * 3 + k];
    }
  CHECK(hm_proj_ball(HM_BALL_NUC, M2, 9, 3.2, 3, 3) == HM_OK);
  CHECK(hm_ball_norm(HM_BALL_NUC, M2, 9, 3, 3, &nn) == HM_OK);
  CHECK_CLOSE(nn, 3.2, 1e-13);
  /* rectangular 2x3 */
  double R[6] = {1, 0, 0, 0, 2, 0};
  CHECK(hm_proj_ball(HM_BALL_NUC, R, 6, 1.0, 2, 3) == HM_OK);
  CHECK_CLOSE(R[4], 1.0, 1e-14);
  CHECK(fabs(R[0]) < 1e-14);
}

static void test_quadratic_path(void) {
  /* isotropic quadratic, center c outside the ball: the solution is c * rho/|c| */
  toy_quad q;
  toy_quad_init(&q, 3.0, 1, 1.0);
  double cn = hm_vnorm2(q.c, 7);
  int sel[2] = {0, 1};
  double radii[3] = {0.5, 1.0, 2.0};
  double sol[21], loss[3], norm[3], gap[3], pg[3];
  long its[3];
  int conv[3];
  hm_regpath_cfg cfg = {HM_BALL_L2, 2, sel, 0, 3, radii, 500, 5, 1e-9,
                        sol, NULL, loss, norm, gap, pg, its, conv, NULL, 0, 0, NULL};
  double x0[7];
  memcpy(x0, q.x, sizeof x0);
  CHECK(hm_regpath_run(&q.obj, &cfg) == HM_OK);
  for (int r = 0; r < 3; r++) {
    CHECK(conv[r]);
    CHECK_CLOSE(norm[r], radii[r], 1e-12);
    /* on the boundary the FW gap is quadratic in the angular error: |x - x*| ~ sqrt(tol) */
    for (int j = 0; j < 7; j++) CHECK_CLOSE(sol[r * 7 + j], q.c[j] * radii[r] / cn, 1e-5);
    CHECK(1.0 - hm_corr(sol + r * 7, q.c, 7) < 1e-9);
  }
  CHECK(memcmp(q.x, x0, sizeof x0) == 0); /* parameters restored */
  /* separate balls: A (first 4) radius 0.2, b radius 10 (inactive: b = c_b) */
  double rad2[2] = {0.2, 10.0};
  double n2[2];
  hm_regpath_cfg c2 = {HM_BALL_L2, 2, sel, 1, 1, rad2, 500, 5, 1e-9,
                       sol, NULL, loss, n2, gap, pg, its, conv, NULL, 0, 0, NULL};
  CHECK(hm_regpath_run(&q.obj, &c2) == HM_OK);
  double cA = hm_vnorm2(q.c, 4);
  CHECK(conv[0]);
  for (int j = 0; j < 4; j++) CHECK_CLOSE(sol[j], q.c[j] * 0.2 / cA, 1e-5);
  for (int j = 4; j < 7; j++) CHECK_CLOSE(sol[j], q.c[j], 1e-5);
  CHECK_CLOSE(n2[0], 0.2, 1e-12);
  /* bad input */
  double bad[1] = {-1.0};
  hm_regpath_cfg c3 = cfg;
  c3.nradii = 1;
  c3.radii = bad;
  CHECK(hm_regpath_run(&q.obj, &c3) == HM_EARG);
}

/* Attention W: one sample, T = 2: the constrained minimizer is R A/|A|_F exactly
 * (the loss depends on W only through <A, W>), so corr = 1 at every radius. With orthogonal
 * queries and one constraint per sample the path tends to W^mm = sum_j A_j/|A_j|^2. */
static void test_attention_path(void) {
  toy_att a;
  toy_att_init(&a, 6, 8, 10, 2, 0, 0.0);
  size_t alpha[6];
  for (int i = 0; i < 6; i++) { /* opt tokens */
    double best = -INFINITY;
    for (size_t t = 0; t < 8; t++) {
      double g = 0;
      for (int j = 0; j < 10; j++) g += a.X[(i * 8 + t) * 10 + j] * a.v[j];
      if (a.Y[i] * g > best) {
        best = a.Y[i] * g;
        alpha[i] = t;
      }
    }
  }
  double Wm[100];
  CHECK(toy_svm_fro(&a, alpha, Wm, 20000) < 1e-9);
  int sel[1] = {0};
  double radii[4] = {1, 10, 31.6, 100};
  double sol[400], wsol[400], loss[4], norm[4], gap[4], pg[4];
  long its[4];
  int conv[4];
  hm_regpath_cfg cfg = {HM_BALL_L2, 1, sel, 0, 4, radii, 5000, 10, 1e-6,
                        sol, wsol, loss, norm, gap, pg, its, conv, NULL, 0, 0, NULL};
  CHECK(hm_regpath_run(&a.obj, &cfg) == HM_OK);
  for (int r = 0; r < 4; r++) {
    CHECK(conv[r]);
    if (r) CHECK(hm_corr(sol + r * 100, Wm, 100) > hm_corr(sol + (r - 1) * 100, Wm, 100));
    CHECK(memcmp(sol + r * 100, wsol + r * 100, 800) == 0);
    CHECK(norm[r] <= radii[r] * (1 + 1e-12));
  }
  /* the path is a local solver: its limit is W^mm_alpha for the selection alpha it makes
   * (theory.md §D.2, local regularization path); here alpha = opt (global) */
  memcpy(a.W, sol + 300, 800);
  double Lf;
  toy_att_eval(&a, 0, &Lf);
  size_t al[6];
  int global = 1;
  for (int i = 0; i < 6; i++) {
    size_t bst = 0;
    for (size_t t = 0; t < 8; t++)
      if (a.s[i * 8 + t] > a.s[i * 8 + bst]) bst = t;
    al[i] = bst;
    if (bst != alpha[i]) global = 0;
  }
  double Wl[100];
  CHECK(toy_svm_fro(&a, al, Wl, 20000) < 1e-9);
  CHECK(hm_corr(sol + 300, Wl, 100) >= 0.99);
  CHECK(global);
  CHECK(hm_corr(sol + 300, Wm, 100) >= 0.99);
  toy_att_free(&a);

  /* (K,Q): the ball |K|^2 + |Q|^2 <= 2R gives |KQ^T|_* <= R */
  toy_att b;
  toy_att_init(&b, 4, 5, 6, 9, 1, 0.1);
  int sel2[2] = {0, 1};
  double R[2] = {2.0, 10.0}, rho[2] = {sqrt(4.0), sqrt(20.0)};
  double sol2[2 * 72], w2[72], l2[2], nrm2[2], g2[2], p2[2];
  long it2[2];
  int cv2[2];
  hm_regpath_cfg ck = {HM_BALL_L2, 2, sel2, 0, 2, rho, 3000, 10, 1e-6,
                       sol2, w2, l2, nrm2, g2, p2, it2, cv2, NULL, 0, 0, NULL};
  CHECK(hm_regpath_run(&b.obj, &ck) == HM_OK);
  for (int r = 0; r < 2; r++) {
    double nuc;
    CHECK(hm_ball_norm(HM_BALL_NUC, w2 + r * 36, 36, 6, 6, &nuc) == HM_OK);
    CHECK(nuc <= R[r] * (1 + 1e-9));
    CHECK(nuc >= 0.95 * R[r]); /* the constraint is active */
    CHECK(l2[r] < (r ? l2[0] : INFINITY));
  }
  toy_att_free(&b);

  /* nuclear ball on W */
  toy_att c;
  toy_att_init(&c, 4, 5, 6, 9, 0, 0.0);
  double rn[2] = {2.0, 10.0};
  double s3[72], l3[2], n3[2], g3[2], p3[2];
  long it3[2];
  int cv3[2];
  hm_regpath_cfg cn = {HM_BALL_NUC, 1, sel, 0, 2, rn, 3000, 10, 1e-6,
                       s3, NULL, l3, n3, g3, p3, it3, cv3, NULL, 0, 0, NULL};
  CHECK(hm_regpath_run(&c.obj, &cn) == HM_OK);
  for (int r = 0; r < 2; r++) {
    CHECK(n3[r] <= rn[r] * (1 + 1e-9));
    CHECK(cv3[r]);
    /* the KQ solution is feasible for the nuclear problem: nuclear optimum is no worse */
    CHECK(l3[r] <= l2[r] * (1 + 1e-6));
  }
  toy_att_free(&c);
}

int main(void) {
  test_projections();
  test_quadratic_path();
  test_attention_path();
  return hm_test_report("regpath");
}
