/* The linear next-token-prediction model with soft labels (Thrampoulidis, "Implicit
 * Optimization Bias of Next-token Prediction in Linear Models", NeurIPS 2024; docs/ntp.md §9):
 * m distinct contexts with fixed embeddings h_j (rows of H, m x d), context frequencies pi_j
 * and next-token distributions p_j over V tokens (rows of P, m x V, support S_j = {p_jz > 0});
 * decoder W (V x d, row-major), logits W h_j.
 *
 *   CE(W) = sum_j pi_j sum_z p_jz (LSE(W h_j) - (W h_j)_z)  >=  H = sum_j pi_j entropy(p_j)
 *
 *   F      = span{(e_z - e_z') h_j^T : z, z' in S_j}                (the data subspace)
 *   W*     = the least-norm W with (e_z - e_r) W h_j = log(p_jz / p_jr), z in S_j, r = min S_j
 *            (it lies in F; NTPH-compatibility: the system is consistent)
 *   W^mm   = argmin |W|_F s.t. (e_z - e_r) W h_j = 0, (e_z - e_v) W h_j >= 1 (z in S_j, v not)
 *            (the NTP-SVM; W^mm is orthogonal to F by the projection argument of hm_svm_eq.c). */
#ifndef HM_NTP_SOFT_H
#define HM_NTP_SOFT_H

#include <stddef.h>
#include "hm_rng.h"
#include "hm_status.h"

typedef struct hm_ntps_data {
  size_t m, d, V;
  const double *H;  /* m x d */
  const double *P;  /* m x V, rows on the simplex */
  const double *pi; /* m, on the simplex */
} hm_ntps_data;

/* HM_EARG (message in msg, 160 bytes) unless P's rows and pi are probability vectors (entries
 * >= 0, sums within 1e-12 of 1) and every support has >= 1 token; HM_ENONFINITE for NaN/Inf. */
hm_status hm_ntps_check(const hm_ntps_data *D, char *msg);

/* sum_j pi_j entropy(p_j) (0 log 0 = 0): the infimum of CE. */
double hm_ntps_entropy(const hm_ntps_data *D);

/* CE at W (V x d) and (G non-NULL) its gradient sum_j pi_j (softmax(W h_j) - p_j) h_j^T. */
hm_status hm_ntps_loss(const hm_ntps_data *D, const double *W, double *loss, double *G);

/* NTP-SVM rows as vector rows of length V*d (row-major W): per context j, with r = min S_j,
 * the equalities (e_z - e_r) h_j^T (z in S_j \ {r}; eq = 1, b = 0, rhs c = log(p_jz/p_jr))
 * and the margins (e_z - e_v) h_j^T (z in S_j, v not in S_j; b = 1, c = 0). Room for
 * hm_ntps_nrows(D) rows; ctx / tok / other (0-based j, z, and r or v) may be NULL. */
size_t hm_ntps_nrows(const hm_ntps_data *D);
hm_status hm_ntps_rows(const hm_ntps_data *D, double *F, double *b, unsigned char *eq, double *c,
                       size_t *ctx, size_t *tok, size_t *other, size_t *m_out);

/* W* (V x d) from the equality rows (least norm, pseudo-inverse of their Gram); *residual =
 * max |row . W* - c| / max(1, max |c|); orthonormal basis of F into B (rows of V*d, room for
 * min(equality rows, V*d) rows, at most m*V) with its dimension *r (rank cut 1e-10). B may
 * be NULL. */
hm_status hm_ntps_wstar(const hm_ntps_data *D, double *Wstar, double *residual, double *B,
                        size_t *r);

/* The experiment's data: h_j ~ N(0, I_d); S_j a uniform subset of `support` tokens; the true
 * p_j uniform on the simplex of S_j (Dirichlet(1)); n sequences: context uniform over m, next
 * token ~ p_j; pi and P are the empirical frequencies (a context drawn zero times gets
 * pi_j = 0 and keeps P_j = its true p_j). H, P (m x V) and pi (m) are outputs. */
hm_status hm_ntps_generate(hm_rng *g, size_t n, size_t m, size_t d, size_t V, size_t support,
                           double *H, double *P, double *pi);

#endif
