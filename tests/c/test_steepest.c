/* Steepest-descent directions (hm_steepest.c) on hand-made gradients: ties, zeros,
 * rank-deficient and rectangular spectral cases, the dual norms, Newton-Schulz. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <lapacke.h>

#include "hm_steepest.h"
#include "hm_test.h"

static double *work_for(hm_steep_norm nrm, size_t r, size_t c, size_t *ws) {
  *ws = hm_steepest_work_size(nrm, r, c);
  return (double *)malloc(*ws * sizeof(double));
}

static void test_entrywise(void) {
  double g[6] = {3, -1, 0, -3, 2, 0.5}, D[6], dual;
  size_t ws;
  double *w = work_for(HM_STEEP_LINF, 2, 3, &ws);
  CHECK(hm_steepest_dir(HM_STEEP_LINF, g, 2, 3, 0, D, &dual, w, ws) == HM_OK);
  double want_s[6] = {1, -1, 0, -1, 1, 1};
  for (int j = 0; j < 6; j++) CHECK(D[j] == want_s[j]);
  CHECK(dual == 9.5);
  /* l1: |g| = 3 twice -> each of the two gets sign/2 (minimum-norm maximizer) */
  CHECK(hm_steepest_dir(HM_STEEP_L1, g, 2, 3, 0, D, &dual, w, ws) == HM_OK);
  double want_c[6] = {0.5, 0, 0, -0.5, 0, 0};
  for (int j = 0; j < 6; j++) CHECK(D[j] == want_c[j]);
  CHECK(dual == 3.0);
  double z[6] = {0}, Z[6];
  for (int nrm = HM_STEEP_FRO; nrm <= HM_STEEP_L1; nrm++) {
    CHECK(hm_steepest_dir((hm_steep_norm)nrm, z, 2, 3, 0, Z, &dual, w, ws) == HM_OK);
    for (int j = 0; j < 6; j++) CHECK(Z[j] == 0.0);
    CHECK(dual == 0.0);
  }
  free(w);
}

static void test_spectral(void) {
  /* G = 2 u1 v1^T + 1 u2 v2^T (3 x 2) with orthonormal u's, v's: D = u1 v1^T + u2 v2^T */
  double u1[3] = {1 / sqrt(2.0), 1 / sqrt(2.0), 0}, u2[3] = {0, 0, 1};
  double v1[2] = {0.6, 0.8}, v2[2] = {-0.8, 0.6};
  double G[6], P[6], D[6], dual;
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 2; j++) {
      G[i * 2 + j] = 2 * u1[i] * v1[j] + u2[i] * v2[j];
      P[i * 2 + j] = u1[i] * v1[j] + u2[i] * v2[j];
    }
  size_t ws;
  double *w = work_for(HM_STEEP_SPECTRAL, 3, 2, &ws);
  CHECK(ws > 1);
  CHECK(hm_steepest_dir(HM_STEEP_SPECTRAL, G, 3, 2, 0, D, &dual, w, ws) == HM_OK);
  for (int j = 0; j < 6; j++) CHECK_CLOSE(D[j], P[j], 1e-14);
  CHECK_CLOSE(dual, 3.0, 1e-14);
  /* rank one: the zero singular value is left out */
  double R[6];
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 2; j++) R[i * 2 + j] = 5 * u1[i] * v1[j];
  CHECK(hm_steepest_dir(HM_STEEP_SPECTRAL, R, 3, 2, 0, D, &dual, w, ws) == HM_OK);
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 2; j++) CHECK_CLOSE(D[i * 2 + j], u1[i] * v1[j], 1e-14);
  CHECK_CLOSE(dual, 5.0, 1e-14);
  /* the 2 x 3 transpose gives the transposed direction */
  double Gt[6], Dt[6];
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 2; j++) Gt[j * 3 + i] = G[i * 2 + j];
  free(w);
  w = work_for(HM_STEEP_SPECTRAL, 2, 3, &ws);
  CHECK(hm_steepest_dir(HM_STEEP_SPECTRAL, Gt, 2, 3, 0, Dt, &dual, w, ws) == HM_OK);
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 2; j++) CHECK_CLOSE(Dt[j * 3 + i], P[i * 2 + j], 1e-14);
  /* too little workspace is refused */
  CHECK(hm_steepest_dir(HM_STEEP_SPECTRAL, Gt, 2, 3, 0, Dt, &dual, w, 1) == HM_ENOMEM);
  free(w);
  /* Newton-Schulz: same singular vectors, singular values 2/sqrt(5), 1/sqrt(5) of the
   * normalized input mapped by the quintic five times into (0.6, 1.25) */
  w = work_for(HM_STEEP_NEWTON_SCHULZ, 3, 2, &ws);
  CHECK(hm_steepest_dir(HM_STEEP_NEWTON_SCHULZ, G, 3, 2, 5, D, &dual, w, ws) == HM_OK);
  CHECK(isnan(dual));
  double s1 = 0, s2 = 0, off = 0; /* u^T D v */
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 2; j++) {
      s1 += u1[i] * D[i * 2 + j] * v1[j];
      s2 += u2[i] * D[i * 2 + j] * v2[j];
      off += u1[i] * D[i * 2 + j] * v2[j];
    }
  CHECK(s1 > 0.6 && s1 < 1.25);
  CHECK(s2 > 0.6 && s2 < 1.25);
  CHECK(fabs(off) < 1e-14);
  CHECK(hm_steepest_dir(HM_STEEP_NEWTON_SCHULZ, G, 3, 2, 0, D, &dual, w, ws) == HM_EARG);
  free(w);
}

/* U_r V_r^T by LAPACK (row-major dgesdd), for comparison with the small-tensor path */
static void lapack_polar(const double *G, int r, int c, double *P, double *nuc) {
  int k = r < c ? r : c;
  double *a = malloc(sizeof(double) * r * c), *s = malloc(sizeof(double) * k);
  double *u = malloc(sizeof(double) * r * k), *vt = malloc(sizeof(double) * k * c);
  memcpy(a, G, sizeof(double) * r * c);
  LAPACKE_dgesdd(LAPACK_ROW_MAJOR, 'S', r, c, a, c, s, u, k, vt, c);
  *nuc = 0;
  memset(P, 0, sizeof(double) * r * c);
  for (int j = 0; j < k; j++) {
    *nuc += s[j];
    if (!(s[j] > s[0] * (r > c ? r : c) * 2.220446049250313e-16)) continue;
    for (int i = 0; i < r; i++)
      for (int l = 0; l < c; l++) P[i * c + l] += u[i * k + j] * vt[j * c + l];
  }
  free(a), free(s), free(u), free(vt);
}

/* random r x c gradients of rank rk (sums of rk outer products) vs LAPACK */
static void test_spectral_vs_lapack(void) {
  int shapes[][3] = {{10, 10, 10}, {10, 10, 6}, {7, 12, 7}, {12, 7, 3}, {24, 24, 24}, {30, 5, 5}, {5, 30, 2}, {30, 30, 20} /* LAPACK path */};
  unsigned st = 12345;
  for (size_t t = 0; t < sizeof shapes / sizeof shapes[0]; t++) {
    int r = shapes[t][0], c = shapes[t][1], rk = shapes[t][2];
    double *G = calloc((size_t)r * c, sizeof(double)), *D = malloc(sizeof(double) * r * c),
           *P = malloc(sizeof(double) * r * c);
    for (int q = 0; q < rk; q++) {
      double a[64], b[64]; /* r, c <= 64 */
      for (int i = 0; i < r; i++) a[i] = (st = st * 1103515245u + 12345u) / 4294967296.0 - 0.5;
      for (int l = 0; l < c; l++) b[l] = (st = st * 1103515245u + 12345u) / 4294967296.0 - 0.5;
      for (int i = 0; i < r; i++)
        for (int l = 0; l < c; l++) G[i * c + l] += a[i] * b[l];
    }
    size_t ws;
    double *w = work_for(HM_STEEP_SPECTRAL, (size_t)r, (size_t)c, &ws), dual, nuc;
    CHECK(hm_steepest_dir(HM_STEEP_SPECTRAL, G, (size_t)r, (size_t)c, 0, D, &dual, w, ws) == HM_OK);
    lapack_polar(G, r, c, P, &nuc);
    double err = 0;
    for (int i = 0; i < r * c; i++) err = fmax(err, fabs(D[i] - P[i]));
    if (getenv("HM_TEST_VERBOSE")) printf("%dx%d rank %d: max err %.2e\n", r, c, rk, err);
    CHECK(err <= 1e-11);
    CHECK_CLOSE(dual, nuc, 1e-13);
    free(G), free(D), free(P), free(w);
  }
}

int main(void) {
  test_spectral_vs_lapack();
  test_entrywise();
  test_spectral();
  return hm_test_report("steepest");
}
