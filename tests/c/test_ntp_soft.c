/* Soft-label linear NTP core (hm_ntp_soft.c): closed forms of W* and the rows, the loss at 0
 * and its gradient against central differences, the generator's contracts, bad input. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hm_ntp_soft.h"
#include "hm_rng.h"
#include "hm_svm.h"
#include "hm_test.h"

int main(void) {
  /* one context, d = 1, h = 1, V = 3, p = (2/3, 1/3, 0) */
  double H[] = {1}, P[] = {2.0 / 3, 1.0 / 3, 0}, pi[] = {1};
  hm_ntps_data D = {1, 1, 3, H, P, pi};
  char msg[160];
  CHECK(hm_ntps_check(&D, msg) == HM_OK);
  double W0[3] = {0, 0, 0}, L, G[3];
  CHECK(hm_ntps_loss(&D, W0, &L, G) == HM_OK);
  CHECK_CLOSE(L, log(3.0), 1e-15);
  CHECK_CLOSE(G[0], 1.0 / 3 - 2.0 / 3, 1e-15);
  CHECK_CLOSE(G[2], 1.0 / 3, 1e-15);
  CHECK_CLOSE(hm_ntps_entropy(&D), -(2.0 / 3 * log(2.0 / 3) + 1.0 / 3 * log(1.0 / 3)), 1e-15);
  double F[27], b[9], c[9];
  unsigned char eq[9];
  size_t m, ctx[9], tok[9], oth[9];
  CHECK(hm_ntps_rows(&D, F, b, eq, c, ctx, tok, oth, &m) == HM_OK);
  CHECK(m == 3);
  CHECK(eq[0] == 1 && tok[0] == 1 && oth[0] == 0); /* (e_2 - e_1) h^T = 0 first */
  CHECK_CLOSE(c[0], log(0.5), 1e-15);
  CHECK(!eq[1] && !eq[2] && b[1] == 1 && oth[1] == 2 && oth[2] == 2);
  double Ws[3], res, B[9];
  size_t r;
  CHECK(hm_ntps_wstar(&D, Ws, &res, B, &r) == HM_OK);
  CHECK_CLOSE(Ws[0], log(2.0) / 2, 1e-15);
  CHECK_CLOSE(Ws[1], -log(2.0) / 2, 1e-15);
  CHECK(Ws[2] == 0 && r == 1 && res <= 1e-15);
  /* the NTP-SVM through the equality path: w = (1/3, 1/3, -2/3) */
  double x[3], l[3], f[3];
  hm_vcons vc = {m, 3, 0, F, b, eq};
  hm_svm_result sr;
  memset(&sr, 0, sizeof sr);
  sr.x = x, sr.lambda = l, sr.farkas = f;
  CHECK(hm_svm_qp_vec(&vc, NULL, &sr) == HM_OK);
  CHECK(sr.status == HM_SVM_OPTIMAL);
  CHECK_CLOSE(x[0], 1.0 / 3, 1e-12);
  CHECK_CLOSE(x[1], 1.0 / 3, 1e-12);
  CHECK_CLOSE(x[2], -2.0 / 3, 1e-12);

  /* generator and gradient */
  hm_rng g;
  hm_rng_seed(&g, 5);
  size_t mm = 6, d = 4, V = 5, k = 3, n = 300;
  double *Hh = malloc(mm * d * sizeof *Hh), *Pp = malloc(mm * V * sizeof *Pp), *pp = malloc(mm * sizeof *pp);
  CHECK(hm_ntps_generate(&g, n, mm, d, V, k, Hh, Pp, pp) == HM_OK);
  hm_ntps_data E = {mm, d, V, Hh, Pp, pp};
  CHECK(hm_ntps_check(&E, msg) == HM_OK);
  for (size_t j = 0; j < mm; j++) {
    size_t sup = 0;
    for (size_t v = 0; v < V; v++) sup += Pp[j * V + v] > 0;
    CHECK(sup >= 1 && sup <= k);
    CHECK(fabs(pp[j] * (double)n - round(pp[j] * (double)n)) <= 1e-9); /* counts / n */
  }
  double W[20], GG[20], Lp, Lm, maxerr = 0, maxg = 0;
  for (int j = 0; j < 20; j++) W[j] = hm_rng_normal(&g);
  CHECK(hm_ntps_loss(&E, W, &L, GG) == HM_OK);
  CHECK(L >= hm_ntps_entropy(&E));
  for (int j = 0; j < 20; j++) {
    double w = W[j], h = 1e-5;
    W[j] = w + h;
    hm_ntps_loss(&E, W, &Lp, NULL);
    W[j] = w - h;
    hm_ntps_loss(&E, W, &Lm, NULL);
    W[j] = w;
    maxerr = fmax(maxerr, fabs((Lp - Lm) / (2 * h) - GG[j]));
    maxg = fmax(maxg, fabs(GG[j]));
  }
  CHECK(maxerr <= 1e-6 * maxg);
  /* bad input */
  double Pbad[] = {0.5, 0.4, 0}, pneg[] = {-1};
  hm_ntps_data Db = {1, 1, 3, H, Pbad, pi};
  CHECK(hm_ntps_check(&Db, msg) == HM_EARG);
  Db.P = P;
  Db.pi = pneg;
  CHECK(hm_ntps_check(&Db, msg) == HM_EARG);
  CHECK(hm_ntps_generate(&g, 10, 2, 2, 3, 4, Hh, Pp, pp) == HM_EARG); /* support > V */
  double Wn[3] = {NAN, 0, 0};
  CHECK(hm_ntps_loss(&D, Wn, &L, NULL) == HM_ENONFINITE);
  free(Hh), free(Pp), free(pp);
  return hm_test_report("test_ntp_soft");
}
