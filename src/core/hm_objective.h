/* The contract between models and optimizers: a differentiable objective over named
 * parameter tensors. Models (hm_model*.c) build one; optimizers and the training loop
 * (hm_optim*.c) only see this struct, so either side can change without the other. */
#ifndef HM_OBJECTIVE_H
#define HM_OBJECTIVE_H

#include <stddef.h>
#include "hm_status.h"

typedef struct hm_param {
  const char *name; /* "W", "K", "Q", "p", "v", "V" */
  double *x;        /* values, length size, row-major */
  double *grad;     /* gradient buffer, length size, written by eval */
  size_t size;
  size_t rows, cols; /* matrix shape (cols = 1 for vectors) */
  int trainable;     /* optimizers update only trainable parameters */
} hm_param;

typedef struct hm_objective {
  void *ctx;
  int nparam;
  hm_param *param;
  /* Loss at the current parameters; with want_grad also fill grad of every trainable
   * parameter. HM_ENONFINITE if the loss or a gradient is not finite. */
  hm_status (*eval)(void *ctx, int want_grad, double *loss);
  /* Optional (NULL when the model has no such notion): */
  /* effective attention matrix W (d x d, e.g. K Q^T); w_size = d*d */
  hm_status (*effective_w)(void *ctx, double *W);
  size_t w_size;
  /* attention probabilities, probs_size doubles (n x T, or n x T x T for sequence models) */
  hm_status (*probs)(void *ctx, double *S);
  size_t n, T, probs_size;
  /* infimum of the loss if known (for the Polyak step), else NaN */
  double loss_inf;
  /* diagnostics of the last eval: minimum logit gap (top logit minus runner-up, min over
   * samples) and whether some gradient underflowed to exactly zero */
  double min_logit_gap;
  int grad_underflow;
  /* Rescaled-direction mode (theory.md D.5), NULL when off (the default: exact gradients).
   * When non-NULL, the last eval wrote grad_k = exp(-grad_log_scale[k]) dL/dx_k for every
   * parameter k (one scale per tensor, same order as param), so the true gradient is
   * exp(grad_log_scale[k]) * grad_k even where it underflows. Only per-tensor normalized
   * methods (NGD, normalized mirror descent) accept such an objective; the training loop
   * records true gradient norms from it. */
  const double *grad_log_scale;
  /* Optional, NULL when not available: the attention probabilities (probs_size doubles) of
   * the last successful eval, valid until the next call into the objective or a change of
   * its parameters. The training loop records from it instead of calling probs (which
   * evaluates the model again). */
  const double *eval_probs;
} hm_objective;

/* Central differences with step h on every trainable entry (parameters restored afterwards):
 * *maxrel = max over parameters of max_j |g_j - fd_j| / max(max_j |fd_j|, 1e-300). The first
 * failing eval's status is returned (hm_objective_check.c). */
hm_status hm_objective_gradcheck(hm_objective *o, double h, double *maxrel);

#endif
