/* The training loop (optim.train): iterate an optimizer on an objective, recording chosen
 * quantities every `every` steps (step 0, every multiple of `every`, and the final step)
 * into caller-provided buffers. No allocation per step; polls hm_interrupted() each step. */
#ifndef HM_TRAIN_H
#define HM_TRAIN_H

#include <stddef.h>
#include "hm_objective.h"
#include "hm_optim.h"

typedef enum hm_rec_kind {
  HM_REC_LOSS = 0,       /* L(theta_k)                                   width 1 */
  HM_REC_GRAD_NORM,      /* |grad| over trainable params (param<0) or one  width 1;
                          * the TRUE norm when obj->grad_log_scale is set (may underflow) */
  HM_REC_PARAM_NORM,     /* |theta| (Frobenius) over trainable (param<0) or one, width 1 */
  HM_REC_VALUE,          /* snapshot of a parameter (param>=0) or effective W (param<0) */
  HM_REC_SOFTMAX_MAX,    /* mean over attention rows of max_t s                width 1 */
  HM_REC_SOFTMAX_AT,     /* mean_i s_{i, idx_i} (n x T probabilities only)     width 1 */
  HM_REC_CORR,           /* corr(theta or W_eff, target)                      width 1 */
  HM_REC_BREGMAN,        /* BD_p(target, theta or W_eff), exponent p          width 1 */
  HM_REC_MIN_LOGIT_GAP,  /* objective->min_logit_gap of the eval               width 1 */
  HM_REC_LR,             /* step size used by the step taken from theta_k (NaN at the end) */
  HM_REC_GRAD_UNDERFLOW  /* objective->grad_underflow (0/1)                    width 1 */
} hm_rec_kind;

typedef struct hm_recorder {
  hm_rec_kind kind;
  int param;               /* parameter index, or -1 (total / effective W) */
  const double *target;    /* CORR / BREGMAN: same size as the recorded tensor */
  const size_t *idx;       /* SOFTMAX_AT: n 0-based token indices */
  double p;                /* BREGMAN exponent */
  size_t width;            /* values per row (filled by hm_train_prepare) */
  double *out;             /* rows x width, caller-allocated */
} hm_recorder;

/* Stop criteria checked every step (NaN / 0 = off). */
typedef struct hm_train_stop {
  double loss_below;       /* stop when L(theta_k) <= this */
  double grad_norm_below;  /* stop when |grad| <= this */
  double param_norm_above; /* stop when |theta| >= this */
} hm_train_stop;

typedef enum hm_train_status {
  HM_TRAIN_OK = 0,
  HM_TRAIN_DIVERGED_LOSS,    /* loss inf/nan at step k */
  HM_TRAIN_DIVERGED_GRAD,    /* gradient inf/nan at step k */
  HM_TRAIN_DIVERGED_PARAM,   /* the update from step k produced inf/nan in a parameter */
  HM_TRAIN_UNDERFLOW,        /* gradient exactly zero at step k */
  HM_TRAIN_INTERRUPTED,
  HM_TRAIN_CALLBACK,         /* callback asked to stop */
  HM_TRAIN_CALLBACK_ERROR,   /* callback raised (binding re-raises) */
  HM_TRAIN_STOPPED,          /* a stop criterion was met at step k */
  HM_TRAIN_ERROR             /* the objective or optimizer returned another error */
} hm_train_status;

typedef struct hm_train_cfg {
  long iters;
  long every;
  int nrec;
  hm_recorder *rec;
  hm_train_stop stop;
  /* optional: called at each recorded step k (after recording); return 0 to continue,
   * 1 to stop, -1 on error */
  int (*callback)(void *ud, long k);
  void *cb_ud;
  double *wbuf;            /* w_size scratch when effective W is recorded, else NULL */
  double *sbuf;            /* probs_size scratch when softmax is recorded, else NULL */
  double *steps;           /* optional: the step index k of every recorded row */
} hm_train_cfg;

typedef struct hm_train_result {
  hm_train_status status;
  hm_status err;           /* core error for HM_TRAIN_ERROR */
  long iters;              /* updates performed */
  long step;               /* step at which the run stopped (status != OK) */
  long rows;               /* rows recorded */
  int bad_param;           /* DIVERGED_PARAM: parameter index */
  int stop_reason;         /* STOPPED: 0 loss, 1 grad_norm, 2 param_norm */
  double final_loss;
} hm_train_result;

/* Number of rows recorded for iters, every (step 0, multiples of every, final). */
long hm_train_rows(long iters, long every);
/* Validate recorders against the objective and set widths. HM_EARG / HM_ESHAPE. */
hm_status hm_train_prepare(const hm_objective *obj, hm_recorder *rec, int nrec);
hm_status hm_train_run(hm_optim *o, hm_objective *obj, hm_train_cfg *cfg, hm_train_result *res);

#endif
