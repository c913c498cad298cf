/* Next-token prediction with one self-attention layer (Li, Huang, Ildiz, Rawat, Oymak,
 * AISTATS 2024; docs/ntp.md): vocabulary embedding E (K x d), sequences of T token indices,
 * query = the last token, label = a token of the sequence.
 *
 *   logits   a_it = e_{x_it}^T W e_{x_iT}
 *   loss     L(W) = (1/n) sum_i [ LSE_t a_it - LSE_{t: x_it = y_i} a_it ]
 *
 * plus the token-priority graphs G^(k) (one per last token k, edges y_i -> x_it), their
 * strongly connected components (iterative Tarjan), the graph-SVM rows, the finite
 * component's subspace S_fin and W_fin (Newton on S_fin), and the data generator.
 * Token indices are 0-based here. */
#ifndef HM_NTP_H
#define HM_NTP_H

#include <stddef.h>
#include "hm_rng.h"
#include "hm_status.h"

enum { HM_NTP_NLL = 0, HM_NTP_LSQ2 = 1 };

typedef struct hm_ntp_data {
  size_t n, T, K, d;
  const double *E;   /* K x d */
  const size_t *tok; /* n x T token indices */
  const size_t *lab; /* n labels */
  /* Optional (NULL: derived from the labels): n x T flags of the selected positions, which
   * replace the labels in the graphs, the SVM rows, S_fin and W_fin (the local analysis:
   * the tokens a trained model attends to), and of excluded positions (no graph edges to
   * them). */
  const unsigned char *sel, *excl;
  int loss;          /* HM_NTP_NLL (default): -log sum_{t: x_it = y_i} s_it;
                        HM_NTP_LSQ2: (1 - p_iy)^2, p_i = softmax_v(E_v . sum_t s_it x_it) (the
                        official notebooks' "lsq2" loss with the embedding classifier) */
} hm_ntp_data;

/* HM_EARG (message in msg, 160 bytes) unless every index is < K, n, T >= 1, and every label
 * occurs in its sequence; HM_ENONFINITE for NaN/Inf in E. Repeated tokens are allowed. */
hm_status hm_ntp_check(const hm_ntp_data *D, char *msg);

/* Strongly connected components of a directed graph on nv nodes, edges of node u:
 * adj[start[u] .. start[u+1]). Iterative Tarjan (explicit stack; no recursion). comp[u] in
 * 0..*ncomp-1, numbered in the order Tarjan completes them (reverse topological order). */
hm_status hm_ntp_scc(size_t nv, const size_t *start, const size_t *adj, size_t *comp,
                     size_t *ncomp);

/* Components of every G^(k) (edges c -> x_it from every selected token c = y_i, or every
 * selected position's token, to the sample's other non-excluded tokens): comp[k*K + v] for token v (all K tokens are nodes, as in the
 * official code; a token without edges is its own component), ncomp[k], present[k] = number
 * of samples with last token k (G^(k) is empty when 0; its comp row is then 0..K-1). */
hm_status hm_ntp_graph(const hm_ntp_data *D, size_t *comp, size_t *ncomp, size_t *present);

/* Graph-SVM rows (deduplicated over (k, y, j)): for every sample i, k = x_iT, selected token
 * y (the label, or the token of a selected position), and token j = x_it != y (excluded ones
 * included, as the official solver does): a = e_y - e_j, z = e_k, and
 *   comp(y) != comp(j):  a^T W z >= 1   ((e_j - e_y)^T W e_k <= -1), b = 1
 *   comp(y) == comp(j):  a^T W z  = 0   (eq = 1, b = 0; one row per unordered pair).
 * Room for n*T*(T-1) rows (n*(T-1) with the labels); sample/token (0-based, the first
 * occurrence) may be NULL. */
hm_status hm_ntp_rows(const hm_ntp_data *D, const size_t *comp, double *A, double *Zr,
                      double *b, unsigned char *eq, size_t *sample, size_t *token,
                      size_t *m_out);

/* Orthonormal basis (rows of B, each d*d, row-major W layout) of
 *   S_fin = span{ (e_i - e_j) e_k^T : i, j in one component of G^(k), k present },
 * rank cut 1e-10 of the largest singular value of the generators (e_v - e_ref) e_k^T, ref
 * the component's first token. B needs room for min(generators, d*d) rows of d*d
 * (hm_ntp_sfin_generators); *r receives the dimension. */
hm_status hm_ntp_sfin(const hm_ntp_data *D, const size_t *comp, const size_t *present,
                      double *B, size_t *r);
/* The number of those generators: sum over present k of K - ncomp[k]. */
size_t hm_ntp_sfin_generators(const size_t *comp, const size_t *present, size_t K);

/* W_fin = argmin over W in span(B) (r rows) of the reduced log-loss: every sample restricted
 * to the positions whose token shares a selected token's component in G^(k), the selected
 * positions as the label set (samples with nothing else there contribute a constant and are
 * left out). Damped Newton from 0 (the reduced loss
 * is convex; exact line search by backtracking). *grad_norm: norm of the reduced gradient
 * projected on span(B) at the answer; *iters: Newton steps. HM_ENOCONV after 200 steps. */
hm_status hm_ntp_wfin(const hm_ntp_data *D, const size_t *comp, const double *B, size_t r,
                      double *Wfin, double *grad_norm, int *iters);

/* Loss (D->loss) at W (d x d); with G also its gradient (d x d), with S the softmax (n x T), with gap
 * the minimum over samples of (max label logit - max other logit) (NaN when no sample has a
 * non-label position). Stable log-domain evaluation: per sample the loss is
 * softplus(delta), delta = LSE_other - LSE_label, and dL/da_t = sigma(delta) q_t off the
 * label, -sigma(delta) p_t on it (q, p: the softmaxes within the two groups; sigma(delta) =
 * the mass off the label, never formed as 1 - s). LSQ2: loss q^2 with q = sum_{v != y} p_v,
 * dL/dc_v = 2 q p_y p_v (v != y), -2 q^2 p_y (v = y), u = sum_v dL/dc_v E_v, and
 * dL/da_t = s_t sum_tau s_tau (x_t - x_tau) . u (pairwise: no s_t ~ 1 cancellation). */
hm_status hm_ntp_loss(const hm_ntp_data *D, const double *W, double *loss, double *G, double *S,
                      double *gap);

/* The factorized model W = K Q^T (K, Q: d x m): loss, gradients dL/dK = G Q and
 * dL/dQ = G^T K (G = dL/dW), softmax and gap as hm_ntp_loss. W and GW are scratch (d x d);
 * GK and GQ may be NULL together (loss only). */
hm_status hm_ntp_loss_kq(const hm_ntp_data *D, const double *K, const double *Q, size_t m,
                         double *loss, double *GK, double *GQ, double *S, double *gap, double *W,
                         double *GW);

/* Generator: embedding kind 0 random unit rows (normal, normalized), 1 orthonormal rows
 * (QR of a d x d normal matrix; K <= d), 2 equicorrelated rows sqrt(rho) c_0 + sqrt(1-rho) c_j
 * (orthonormal c, K + 1 <= d, 0 <= rho < 1). Each sequence: T distinct tokens uniform without
 * replacement (T <= K); label uniform over K, replaced by a uniform token of the sequence when
 * it does not occur in it (the official generator). cyclic = 1 redraws the sequences and
 * labels (not E) until some G^(k) has a component with two or more tokens, -1 until none
 * does, 0 accepts the first draw; HM_ENOCONV after 10000 draws. *draws: number of draws. */
hm_status hm_ntp_generate(hm_rng *g, size_t n, size_t T, size_t K, size_t d, int kind,
                          double rho, int cyclic, double *E, size_t *tok, size_t *lab,
                          int *draws);

#endif
