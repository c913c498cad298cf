/* One-layer softmax-attention models of theory.md A.2 with exact, batched, saturation-
 * stable gradients (A.6, A.7, D.5).
 *
 *   logits   a_it = x_it^T W q_i     W = W (param W or p), K Q^T (param KQ)
 *            q_i  = z_i (cross) | x_{i,qidx} (self) | p (prompt)
 *   sequence rows (i,k): a_ikt = x_it^T W x_ik over t in V(k) (full: all, causal: t <= k)
 *   head     linear v^T h | ReLU v^T ReLU(V^T h) | lambda v^T h - lambda |h|^2
 *   loss     (w) sum_rows l(y f) + ridge (|K|^2 + |Q|^2),  w = 1/n (or 1/(nT) with
 *            position mean for sequences)
 * Parameters live in malloc'd arrays owned by the model (x[k], gradient g[k]). */
#ifndef HM_MODEL_H
#define HM_MODEL_H

#include <stddef.h>
#include "hm_data.h"
#include "hm_loss.h"
#include "hm_status.h"

enum { HM_ATT_W = 0, HM_ATT_KQ, HM_ATT_P };
enum { HM_QUERY_CROSS = 0, HM_QUERY_SELF, HM_QUERY_PROMPT };
enum { HM_HEAD_LINEAR = 0, HM_HEAD_RELU, HM_HEAD_LAMBDA };
/* parameter slots */
enum { HM_MP_W = 0, HM_MP_K, HM_MP_Q, HM_MP_P, HM_MP_VM /* V */, HM_MP_V /* v */, HM_MP_COUNT };

extern const char *const hm_model_param_names[HM_MP_COUNT]; /* "W","K","Q","p","V","v" */

typedef struct hm_model_config {
  int param, query, head;
  size_t qidx;     /* self-attention query token (0-based) */
  int sequence;    /* one output per query position (M6), Y is n x T */
  int causal;      /* sequence mask */
  int pos_mean;    /* sequence: mean (1) or sum (0) over positions */
  size_t d, m, dv; /* token dim, K/Q inner dim, ReLU hidden dim (V is d x dv) */
  double lambda;   /* lambda head */
  double ridge;    /* ridge on (K, Q) */
} hm_model_config;

typedef struct hm_model {
  hm_model_config c;
  hm_loss loss;
  double *x[HM_MP_COUNT]; /* NULL when absent */
  double *g[HM_MP_COUNT];
  size_t rows[HM_MP_COUNT], cols[HM_MP_COUNT];
  int trainable[HM_MP_COUNT];
  double *weff; /* d x d effective W (scratch) */
  double *ws;   /* workspace */
  size_t ws_cap;
  /* results of the last eval */
  size_t R;       /* rows (n or n*T) */
  double *f;      /* R predictions */
  double *S;      /* R x T attention */
  double *A;      /* R x T logits */
  size_t *valid;  /* valid tokens per row */
  double min_logit_gap;
  int grad_underflow; /* rows whose mathematically nonzero gradient became exactly zero */
  /* per parameter: the last eval's g[k] equals exp(-log_scale[k]) * dL/dx[k]
   * (0 in exact mode; see hm_model_eval mode 1) */
  double log_scale[HM_MP_COUNT];
  /* Data token for the next hm_model_eval (which resets it to 0, so an evaluation nested in
   * it, e.g. from a custom loss, runs without): 0 (the default) or a value by which the
   * caller guarantees that the evaluations given this token see the same, unchanged dataset.
   * The linear head's token scores X v then stay cached (gv) between those evaluations and
   * are recomputed only when v or the token changes. */
  unsigned long data_token;
  unsigned long gv_token; /* token of the cached gv; 0: none */
  /* nonzero while hm_model_eval runs: a custom loss calls back into Lua, which must not
   * evaluate or change this model then (the evaluation's workspace and parameters are live);
   * the bindings refuse every use of a model with in_eval set */
  int in_eval;
  double *gv, *gv_v;      /* cached X v (gv_n = n*T values) and the v it was computed with */
  size_t gv_n, gv_cap;
} hm_model;

/* Allocate parameters for config c (zero-filled; W = I for param p). */
hm_status hm_model_init(hm_model *m, const hm_model_config *c);
void hm_model_free(hm_model *m);
/* Deep copy (parameters, trainable flags, loss), fresh workspace. */
hm_status hm_model_copy(hm_model *dst, const hm_model *src);

/* Check model/dataset compatibility; returns HM_ESHAPE/HM_EARG with a message in msg
 * (msg needs 160 bytes). */
hm_status hm_model_check_data(const hm_model *m, const hm_dataset *ds, char *msg);

/* The effective W (d x d) into out. */
hm_status hm_model_effective_w(hm_model *m, double *out);

/* Loss and (want_grad) gradients of every trainable parameter into g[k].
 * mode 0: exact gradient (log_scale[k] = 0).
 * mode 1 (rescaled directions for normalized methods, theory.md D.5): per tensor, the
 * gradient times exp(-kappa_k), where kappa_k is the largest per-row log-weight
 * log|c_r| + log s_rt (t != argmax) for attention tensors, log|c_r| for head tensors, and
 * for ridge-regularized K, Q also log(2 ridge max|x|). The per-row weights are formed in the
 * log domain (probabilities from the logits directly), so directions stay exact when the
 * gradient itself underflows (logit gaps beyond ~745). log_scale[k] = kappa_k, i.e.
 * dL/dx[k] = exp(log_scale[k]) g[k]. Built-in losses only (HM_EARG for custom).
 * HM_ENONFINITE if a parameter, the loss or a gradient is not finite. HM_EARG if called
 * while an evaluation of the same model is in progress (from its custom loss). */
hm_status hm_model_eval(hm_model *m, const hm_dataset *ds, int want_grad, int mode,
                        double *loss);

/* Central differences with step h on every trainable parameter; maxrel[k] = max_j
 * |g_j - fd_j| / max(max_j |fd_j|, 1e-300)  (NaN for absent/non-trainable slots). */
hm_status hm_model_gradcheck(hm_model *m, const hm_dataset *ds, double h,
                             double maxrel[HM_MP_COUNT]);

/* Head value psi(x) for a single token (used for token scores). */
double hm_model_head(const hm_model *m, const double *x);

/* (1/n) sum_i l(max_t Y_i v.x_it) for a fixed linear head (the infimum of the loss when
 * Att-SVM(opt) is feasible, a lower bound otherwise); NaN for other configurations. */
double hm_model_loss_inf(const hm_model *m, const hm_dataset *ds);

#endif
