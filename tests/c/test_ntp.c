/* Next-token prediction core (hm_ntp.c): SCCs (known graphs, a 200000-node chain and cycle
 * that a recursive Tarjan would overflow the stack on), graph rows, the loss in the
 * saturated regime against closed forms, the gradient against central differences, W_fin's
 * optimality, and the generator's contracts. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hm_ntp.h"
#include "hm_rng.h"
#include "hm_test.h"

static void scc_known(void) {
  /* 0 -> 1 -> 2 -> 0, 2 -> 3, 3 -> 4, 4 -> 3, 5 alone */
  size_t start[] = {0, 1, 2, 4, 5, 6, 6}, adj[] = {1, 2, 0, 3, 4, 3}, comp[6], nc;
  CHECK(hm_ntp_scc(6, start, adj, comp, &nc) == HM_OK);
  CHECK(nc == 3);
  CHECK(comp[0] == comp[1] && comp[1] == comp[2]);
  CHECK(comp[3] == comp[4] && comp[3] != comp[0]);
  CHECK(comp[5] != comp[0] && comp[5] != comp[3]);
  /* reverse topological order: {3,4} (a sink) completes before {0,1,2} */
  CHECK(comp[3] < comp[0]);
}

static void scc_deep(void) {
  size_t nv = 200000;
  size_t *start = malloc((nv + 1) * sizeof *start), *adj = malloc(nv * sizeof *adj);
  size_t *comp = malloc(nv * sizeof *comp), nc = 0;
  for (size_t u = 0; u <= nv; u++) start[u] = u < nv ? u : nv - 1;
  for (size_t u = 0; u + 1 < nv; u++) adj[u] = u + 1; /* a chain: nv components */
  CHECK(hm_ntp_scc(nv, start, adj, comp, &nc) == HM_OK);
  CHECK(nc == nv);
  start[nv] = nv; /* close it into one cycle */
  adj[nv - 1] = 0;
  CHECK(hm_ntp_scc(nv, start, adj, comp, &nc) == HM_OK);
  CHECK(nc == 1);
  free(start);
  free(adj);
  free(comp);
}

/* Two tokens in one sequence, T = 2, orthonormal E = I (d = 2), label token 0, last token
 * 1: logits a_0 = W[0][1], a_1 = W[1][1]; loss = softplus(a_1 - a_0). */
static void loss_saturated(void) {
  double E[] = {1, 0, 0, 1};
  size_t tok[] = {0, 1}, lab[] = {0};
  hm_ntp_data D = {1, 2, 2, 2, E, tok, lab, NULL, NULL, HM_NTP_NLL};
  for (double gap = 1; gap <= 800; gap *= 2) {
    double W[] = {0, gap, 0, 0}, G[4], S[2], L, g;
    CHECK(hm_ntp_loss(&D, W, &L, G, S, &g) == HM_OK);
    /* softplus(-gap) = log1p(exp(-gap)); relative accuracy, also where it underflows 1 - s */
    double ex = log1p(exp(-gap));
    CHECK(fabs(L - ex) <= 4e-16 * ex);
    /* dL/dW[0][1] = -s_1 = -exp(-gap)/(1+exp(-gap)), dL/dW[1][1] = +s_1 */
    double s1 = exp(-gap) / (1 + exp(-gap));
    CHECK(fabs(G[1] + s1) <= 4e-16 * s1);
    CHECK(fabs(G[3] - s1) <= 4e-16 * s1);
    CHECK(G[0] == 0 && G[2] == 0);
    CHECK(g == gap);
  }
}

static void grad_fd(void) {
  hm_rng g;
  hm_rng_seed(&g, 7);
  size_t n = 6, T = 4, K = 6, d = 8, tok[24], lab[6];
  double E[48];
  int draws;
  CHECK(hm_ntp_generate(&g, n, T, K, d, 0, 0, 1, E, tok, lab, &draws) == HM_OK);
  hm_ntp_data D = {n, T, K, d, E, tok, lab, NULL, NULL, HM_NTP_NLL};
  char msg[160];
  CHECK(hm_ntp_check(&D, msg) == HM_OK);
  double W[64], G[64], L, Lp, Lm, maxerr = 0, maxg = 0;
  for (int j = 0; j < 64; j++) W[j] = 2 * hm_rng_normal(&g);
  CHECK(hm_ntp_loss(&D, W, &L, G, NULL, NULL) == HM_OK);
  for (int j = 0; j < 64; j++) {
    double w = W[j], h = 1e-5;
    W[j] = w + h;
    hm_ntp_loss(&D, W, &Lp, NULL, NULL, NULL);
    W[j] = w - h;
    hm_ntp_loss(&D, W, &Lm, NULL, NULL, NULL);
    W[j] = w;
    double fd = (Lp - Lm) / (2 * h);
    if (fabs(fd - G[j]) > maxerr) maxerr = fabs(fd - G[j]);
    if (fabs(G[j]) > maxg) maxg = fabs(G[j]);
  }
  /* central differences: O(h^2 |L'''|) + O(eps |L| / h); both far below 1e-6 here */
  CHECK(maxerr <= 1e-6 * maxg);

  /* graph, rows, S_fin, W_fin */
  size_t comp[36], nc[6], pres[6];
  CHECK(hm_ntp_graph(&D, comp, nc, pres) == HM_OK);
  double A[18 * 8], Z[18 * 8], b[18];
  unsigned char eq[18];
  size_t m;
  CHECK(hm_ntp_rows(&D, comp, A, Z, b, eq, NULL, NULL, &m) == HM_OK);
  CHECK(m >= 1 && m <= 18);
  size_t ne = 0;
  for (size_t k = 0; k < m; k++) {
    ne += eq[k];
    CHECK(b[k] == (eq[k] ? 0.0 : 1.0));
  }
  CHECK(ne >= 1); /* the generator drew a cycle */
  double *B = malloc(64 * 64 * sizeof *B), Wf[64], gn;
  size_t r;
  int it;
  CHECK(hm_ntp_sfin(&D, comp, pres, B, &r) == HM_OK);
  CHECK(r >= 1);
  /* orthonormal basis */
  for (size_t i = 0; i < r; i++)
    for (size_t j = 0; j < r; j++) {
      double s = 0;
      for (int q = 0; q < 64; q++) s += B[i * 64 + q] * B[j * 64 + q];
      CHECK(fabs(s - (i == j)) <= 1e-12);
    }
  /* every equality row lies in S_fin: |row - P row| ~ 0 */
  for (size_t k = 0; k < m; k++) {
    if (!eq[k]) continue;
    double row[64], nr = 0, res = 0;
    for (int p = 0; p < 8; p++)
      for (int q = 0; q < 8; q++) row[p * 8 + q] = A[k * 8 + p] * Z[k * 8 + q];
    for (int q = 0; q < 64; q++) nr += row[q] * row[q];
    for (size_t i = 0; i < r; i++) {
      double c = 0;
      for (int q = 0; q < 64; q++) c += B[i * 64 + q] * row[q];
      for (int q = 0; q < 64; q++) row[q] -= c * B[i * 64 + q];
    }
    for (int q = 0; q < 64; q++) res += row[q] * row[q];
    CHECK(sqrt(res) <= 1e-12 * sqrt(nr));
  }
  CHECK(hm_ntp_wfin(&D, comp, B, r, Wf, &gn, &it) == HM_OK);
  CHECK(gn <= 1e-12);
  CHECK(it < 200);
  free(B);
}

static void bad_input(void) {
  double E[] = {1, 0, 0, 1};
  size_t tok[] = {0, 1}, lab[] = {1}, lab_bad[] = {2}, tok_bad[] = {0, 5};
  char msg[160];
  hm_ntp_data D = {1, 2, 2, 2, E, tok, lab, NULL, NULL, HM_NTP_NLL};
  CHECK(hm_ntp_check(&D, msg) == HM_OK);
  D.lab = lab_bad;
  CHECK(hm_ntp_check(&D, msg) == HM_EARG);
  D.lab = lab;
  D.tok = tok_bad;
  CHECK(hm_ntp_check(&D, msg) == HM_EARG);
  size_t tok1[] = {0, 0};
  D.tok = tok1; /* label 1 absent from the sequence */
  CHECK(hm_ntp_check(&D, msg) == HM_EARG);
  double W[] = {NAN, 0, 0, 0}, L;
  D.tok = tok;
  CHECK(hm_ntp_loss(&D, W, &L, NULL, NULL, NULL) == HM_ENONFINITE);
  hm_rng g;
  hm_rng_seed(&g, 1);
  double Eb[64];
  size_t tb[8], lb[2];
  int dr;
  CHECK(hm_ntp_generate(&g, 2, 4, 3, 8, 0, 0, 0, Eb, tb, lb, &dr) == HM_EARG); /* T > K */
  CHECK(hm_ntp_generate(&g, 2, 2, 9, 8, 1, 0, 0, Eb, tb, lb, &dr) == HM_EARG); /* K > d */
  CHECK(hm_ntp_generate(&g, 2, 2, 8, 8, 2, 0.5, 0, Eb, tb, lb, &dr) == HM_EARG); /* K+1 > d */
}

static void generator(void) {
  hm_rng g;
  hm_rng_seed(&g, 3);
  size_t n = 50, T = 4, K = 6, d = 8, tok[200], lab[50];
  double E[48];
  int draws;
  for (int kind = 0; kind <= 2; kind++) {
    size_t KK = kind == 2 ? 5 : K;
    CHECK(hm_ntp_generate(&g, n, T, KK, d, kind, 0.5, 0, E, tok, lab, &draws) == HM_OK);
    for (size_t u = 0; u < KK; u++)
      for (size_t v = 0; v <= u; v++) {
        double s = 0;
        for (size_t p = 0; p < d; p++) s += E[u * d + p] * E[v * d + p];
        if (u == v) CHECK(fabs(s - 1) <= 1e-14);
        else if (kind == 1) CHECK(fabs(s) <= 1e-14);
        else if (kind == 2) CHECK(fabs(s - 0.5) <= 1e-14);
      }
    hm_ntp_data D = {n, T, KK, d, E, tok, lab, NULL, NULL, HM_NTP_NLL};
    char msg[160];
    CHECK(hm_ntp_check(&D, msg) == HM_OK);
    for (size_t i = 0; i < n; i++)
      for (size_t t = 0; t < T; t++)
        for (size_t u = 0; u < t; u++) CHECK(tok[i * T + t] != tok[i * T + u]);
  }
  /* acyclic on request */
  size_t comp[36], nc[6], pres[6];
  CHECK(hm_ntp_generate(&g, 6, 4, 6, 8, 0, 0, -1, E, tok, lab, &draws) == HM_OK);
  hm_ntp_data D = {6, 4, 6, 8, E, tok, lab, NULL, NULL, HM_NTP_NLL};
  CHECK(hm_ntp_graph(&D, comp, nc, pres) == HM_OK);
  for (size_t k = 0; k < 6; k++)
    if (pres[k]) CHECK(nc[k] == 6);
}

int main(void) {
  scc_known();
  scc_deep();
  loss_saturated();
  grad_fd();
  bad_input();
  generator();
  return hm_test_report("test_ntp");
}
