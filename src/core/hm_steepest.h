/* Steepest-descent directions under a norm (theory.md §A.5, docs/optim.md "Steepest
 * descent"): for a gradient G (rows x cols, row-major) and a norm ||.||,
 *   D = argmax { <G, D> : ||D|| <= 1 },   <G, D> = ||G||_*  (the dual norm),
 * taking the minimum-Frobenius-norm maximizer where it is not unique, so the result does
 * not depend on coordinate order:
 *   l_inf (entrywise):  D = sign(G) with sign(0) = 0;                 ||G||_* = ||G||_1
 *   l_1   (entrywise):  D = sum_{j in J} sign(G_j) e_j / |J|, J = argmax |G_j|;  ||G||_inf
 *   spectral:           D = U V^T over the nonzero singular values;  ||G||_* = sum sigma
 *   Frobenius:          D = G / ||G||_F;                             ||G||_F
 * and Muon's Newton-Schulz approximation of U V^T (Jordan et al. 2024: quintic iteration
 * X <- a X + (b A + c A^2) X, A = X X^T, (a, b, c) = (3.4445, -4.7750, 2.0315), from
 * X_0 = G/||G||_F; it maps singular values to about [0.7, 1.2], not to 1).
 * G = 0 gives D = 0. No allocation: the caller provides the workspace. */
#ifndef HM_STEEPEST_H
#define HM_STEEPEST_H

#include <stddef.h>
#include "hm_status.h"

typedef enum hm_steep_norm {
  HM_STEEP_FRO = 0,
  HM_STEEP_LINF,
  HM_STEEP_L1,
  HM_STEEP_SPECTRAL,
  HM_STEEP_NEWTON_SCHULZ /* Muon's approximation of the spectral direction */
} hm_steep_norm;

/* Workspace (doubles) hm_steepest_dir needs for a rows x cols tensor; 0 on overflow of
 * LAPACK's int or when the workspace query fails (then the direction cannot be formed). */
size_t hm_steepest_work_size(hm_steep_norm norm, size_t rows, size_t cols);

/* D (rows x cols, may not alias G) and *dual = ||G||_* (for Newton-Schulz: the nuclear norm
 * is not formed; *dual = NaN). ns_steps: Newton-Schulz iterations (>= 1). work: at least
 * hm_steepest_work_size doubles. HM_ENOCONV if the SVD does not converge (dgesdd and the
 * dgesvd fallback), HM_ENOMEM if the workspace is too small. */
hm_status hm_steepest_dir(hm_steep_norm norm, const double *G, size_t rows, size_t cols,
                          int ns_steps, double *D, double *dual, double *work,
                          size_t work_size);

#endif
