/* Optimizers over an hm_objective (theory.md §A.5): GD, normalized GD (per-tensor, explicit
 * eps), Polyak step, momentum / Nesterov, Adam, lp mirror descent (plain and dual-norm
 * normalized), steepest descent under the l_inf / l_1 / spectral / Frobenius norms, and Muon.
 * Only the hm_objective contract is used, so any model works.
 *
 * One step: evaluate loss and gradient at the current parameters, then update every
 * trainable parameter in place. The loss returned is the loss at the point where the
 * gradient was taken (before the update). Optimizer state (momentum buffers, Adam moments)
 * is allocated on the first step and re-created (zeroed) when the objective's trainable
 * layout changes; no allocation happens on later steps. */
#ifndef HM_OPTIM_H
#define HM_OPTIM_H

#include <stddef.h>
#include "hm_objective.h"
#include "hm_status.h"

typedef enum hm_optim_kind {
  HM_OPT_GD = 0,
  HM_OPT_NGD,
  HM_OPT_POLYAK,
  HM_OPT_MOMENTUM,
  HM_OPT_ADAM,
  HM_OPT_MIRROR,
  HM_OPT_STEEPEST, /* normalized steepest descent under a norm (hm_steepest.h) */
  HM_OPT_MUON      /* momentum + Newton-Schulz orthogonalization (Muon) */
} hm_optim_kind;

#define HM_OPT_MAXEPS 8     /* per-parameter eps entries */
#define HM_OPT_NAMELEN 16

typedef struct hm_optim {
  hm_optim_kind kind;
  double lr;
  double eps;      /* NGD / normalized MD / Adam eps (default for parameters without own) */
  int neps;        /* per-parameter eps overrides (NGD, normalized MD) */
  char eps_name[HM_OPT_MAXEPS][HM_OPT_NAMELEN];
  double eps_val[HM_OPT_MAXEPS];
  double beta;     /* momentum */
  int nesterov;
  double beta1, beta2; /* Adam */
  double lstar;    /* Polyak L_*; NaN = take objective->loss_inf */
  double c;        /* Polyak scale */
  double lr_max;   /* Polyak cap (may be +inf) */
  double p;        /* mirror potential exponent, p > 1 */
  int normalized;  /* mirror: normalize by the dual q-norm */
  int snorm;       /* steepest: hm_steep_norm */
  int ns_steps;    /* Muon / steepest with norm = Newton-Schulz: iterations */
  int rescaled;    /* NGD / normalized mirror: evaluate in the rescaled-direction mode (the
                    * caller sets obj->grad_log_scale; theory.md D.5) */
  /* state */
  long t;          /* number of completed steps */
  double last_lr;  /* step size of the last step (Polyak: eta_t; others: lr) */
  double last_grad_norm; /* total Frobenius norm of the trainable gradient at the last step */
  double *state;   /* momentum buffer or Adam m,v (owned, malloc) */
  size_t state_size;
  size_t layout;   /* hash of the trainable layout the state belongs to */
  double *work;    /* steepest / Muon: direction buffer + SVD / Newton-Schulz workspace */
  size_t work_size;
} hm_optim;

/* Fill defaults for a kind (lr = NaN: callers must set it; eps = NaN where required). */
void hm_optim_init(hm_optim *o, hm_optim_kind kind);
/* Check settings: HM_EARG if out of domain (lr < 0, p <= 1, beta not in [0,1), ...). */
hm_status hm_optim_validate(const hm_optim *o);
/* Zero the state (step counter, buffers) without freeing. */
void hm_optim_reset(hm_optim *o);
void hm_optim_free(hm_optim *o);
/* eps for a parameter name (per-parameter override or the default). */
double hm_optim_eps_for(const hm_optim *o, const char *name);

/* One step. *loss = loss before the update. Returns HM_ENONFINITE when the loss or the
 * gradient is not finite (parameters untouched) or when the update produced a non-finite
 * parameter (then *bad_param, if non-NULL, is its index; otherwise -1). */
hm_status hm_optim_step(hm_optim *o, hm_objective *obj, double *loss, int *bad_param);
/* The update only, using the gradient already in obj->param[].grad and the loss value. */
hm_status hm_optim_update(hm_optim *o, hm_objective *obj, double loss, int *bad_param);
/* Same with the Frobenius norms of the gradients precomputed (gnorms[i] for parameter i;
 * entries of non-trainable parameters are ignored); gnorms may be NULL. */
hm_status hm_optim_update_norms(hm_optim *o, hm_objective *obj, double loss,
                                const double *gnorms, int *bad_param);

/* Joint Frobenius norm of the TRUE trainable gradient: sqrt(sum_i (exp(ls_i) nrm_i)^2) with
 * ls = obj->grad_log_scale (0 when NULL) and nrm_i the norm of obj->param[i].grad (taken from
 * nrm when non-NULL, else computed). Formed in the log domain: may underflow to 0, never
 * overflows spuriously. */
double hm_optim_true_norm(const hm_objective *obj, const double *nrm);
/* Norm of the true gradient of one tensor: exp(ls) * n without spurious over/underflow. */
double hm_scaled_norm(double n, double ls);

/* ---- vector helpers (also used by the recorders and exposed to Lua) ---- */
/* Euclidean norm, overflow/underflow safe (exact fast path when no rescaling is needed). */
double hm_vnorm2(const double *x, size_t n);
/* Entrywise p-norm, 0 < p, p = INFINITY allowed; scaled by max|x| (no overflow). */
double hm_normp(const double *x, size_t n, double p);
/* <a,b>/(|a||b|); NaN if either is zero. */
double hm_corr(const double *a, const double *b, size_t n);
/* Directional Bregman divergence of psi = (1/p)|.|_p^p (theory.md §B.5):
 * BD_p(a, b) = 1 - <sign(b^)|b^|^{p-1}, a^> with ^ = lp-normalized. NaN if a or b is 0. */
double hm_bregman_dir(const double *a, const double *b, size_t n, double p);
/* y = x / |x|_p (y may alias x); HM_EARG if x = 0 or p <= 0. */
hm_status hm_lp_normalize(const double *x, double *y, size_t n, double p);

#endif
