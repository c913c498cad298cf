/* Regularization paths (theory.md §D.1, §D.2, §F.10): for each radius, solve
 *     min L(theta)  subject to  theta in B(rho)
 * over the selected parameters (the others stay fixed) by accelerated projected gradient
 * driven by gradients only (curvature-based step acceptance, gradient-mapping momentum
 * restart; loss values far along the path are below the rounding of L), warm-started from
 * the previous radius (rescaled to the new radius when the previous solution was on the
 * boundary), optionally with extra random starts per radius. Balls: Euclidean on the
 * concatenation of the selected tensors (one radius), Euclidean per tensor (one radius per
 * tensor), nuclear norm of a single matrix (projection by SVD + l1-ball projection of the
 * singular values; dgesdd, dgesvd fallback), entrywise l1 and l_inf (joint or per tensor).
 *
 * Stopping rule: every `check` iterations (and at the last one) the gradient is evaluated
 * at the current iterate x and the Frank-Wolfe gap
 *     gap(x) = max_{s in B} <grad L(x), x - s> = <g, x> + sum_b rho_b |g_b|_dual
 * is computed (dual norms: l2 -> l2, nuclear -> spectral, l1 -> l_inf, l_inf -> l1). The
 * solve for a radius stops when (a) gap <= tol * sum_b rho_b |g_b|_dual (scale-free: on an
 * active l2 constraint gap/(rho|g|) = 1 - cos(-g, x); it keeps working when the excess loss
 * is below the rounding of L, as happens far along the path), or (b) gap <= tol * (L(x) -
 * L_inf) when objective->loss_inf is finite, or (c) otherwise gap <= tol * |L(x)| for an
 * iterate strictly inside the ball. gap >= 0
 * and gap = 0 exactly at a KKT point; for convex L it bounds L(x) - min_B L. The
 * gradient-mapping norm Lip * |x - P(x - g/Lip)| is reported as well. */
#ifndef HM_REGPATH_H
#define HM_REGPATH_H

#include <stddef.h>
#include "hm_objective.h"
#include "hm_status.h"

typedef enum hm_ball_kind { HM_BALL_L2 = 0, HM_BALL_NUC, HM_BALL_L1, HM_BALL_LINF } hm_ball_kind;

typedef struct hm_regpath_cfg {
  hm_ball_kind ball;
  int nsel;
  const int *sel;        /* indices of the optimized parameters */
  int separate;          /* 1: one ball per selected tensor (radii has nsel columns) */
  size_t nradii;
  const double *radii;   /* nradii x (separate ? nsel : 1) ball radii rho > 0 */
  long max_iter;         /* per radius */
  long check;            /* gap check period (>= 1) */
  double tol;            /* relative Frank-Wolfe gap */
  /* outputs (caller-allocated) */
  double *sol;           /* nradii x N (packed selected tensors in sel order) */
  double *wsol;          /* nradii x w_size, or NULL */
  double *loss;          /* nradii */
  double *norm;          /* nradii x (separate ? nsel : 1): ball norm at the solution */
  double *gap;           /* nradii: Frank-Wolfe gap */
  double *pgnorm;        /* nradii: gradient-mapping norm */
  long *iters;           /* nradii */
  int *converged;        /* nradii: stopping rule met */
  double *kkt;           /* nradii or NULL: gap / sum_b rho_b |g_b|_dual (scale-free) */
  /* multi-start (the loss is not convex): besides the warm start, `restarts` extra starts per
   * radius — the first near the origin (1e-6 rho random), the others random points on the
   * sphere of radius rho — drawn from a generator seeded with `seed`; the solution with the
   * lowest loss is kept (ties: the earlier start). */
  int restarts;
  unsigned long long seed;
  int *start_used;       /* nradii or NULL: 0 = warm start, 1 = near origin, k >= 2 random */
} hm_regpath_cfg;

/* Project packed x (sizes of the selected tensors) onto the ball(s); rho has one entry per
 * block when separate. For HM_BALL_NUC, rows x cols is the matrix shape (one block). */
hm_status hm_proj_ball(hm_ball_kind ball, double *x, size_t n, double rho, size_t rows,
                       size_t cols);

/* The ball norm of x: l2, nuclear (rows x cols), l1 or l_inf. */
hm_status hm_ball_norm(hm_ball_kind ball, const double *x, size_t n, size_t rows, size_t cols,
                       double *out);

/* Solve the path. The selected parameters are restored to their initial values at the end.
 * HM_EINTR when interrupted; HM_ENONFINITE if the objective fails at the start point. */
hm_status hm_regpath_run(hm_objective *obj, hm_regpath_cfg *cfg);

#endif
