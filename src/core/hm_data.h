/* Datasets (theory.md A.1, E): X is n x T x d (row-major; tokens are rows of the T x d
 * block X_i), Y is n (single output) or n x T (sequence output), labels +-1, Z (n x d,
 * optional) holds cross-attention query tokens. The core only sees borrowed pointers. */
#ifndef HM_DATA_H
#define HM_DATA_H

#include <stddef.h>
#include "hm_rng.h"
#include "hm_status.h"

typedef struct hm_dataset {
  size_t n, T, d;
  const double *X; /* n*T*d */
  const double *Y; /* n, or n*T when seq */
  const double *Z; /* n*d or NULL */
  int seq;         /* Y is n x T */
} hm_dataset;

/* Validate: finite X/Z, labels exactly +-1. On failure *bad receives the 0-based flat
 * index of the offending element and *what names the array ("X", "Y", "Z"). */
hm_status hm_data_validate(const hm_dataset *ds, size_t *bad, const char **what);

/* Normalize each length-d row of x (rows of them) to unit Euclidean norm (zero rows are
 * left unchanged). */
void hm_rows_normalize(double *x, size_t rows, size_t d);

/* Generators (draw orders documented in docs/data.md; all normals via hm_rng_normal).
 * G-rand / G-md (identical streams): v (d), Y (n: +1 iff N(0,1) > 0), X (n*T*d),
 * Z (n*d); v, every token and every z_i normalized. */
void hm_data_grand(hm_rng *g, size_t n, size_t T, size_t d, double *v, double *Y, double *X,
                   double *Z);
/* SVM-F5 ReLU mode: V (d x d, then V /= ||V||_F), X (token-normalized), Y (as G-rand), Z
 * (unit rows); the whole draw is repeated while every label is +1 (when n > 0).
 * Returns the number of draws made (>= 1). */
int hm_data_relu_mode(hm_rng *g, size_t n, size_t T, size_t d, double *V, double *Y,
                      double *X, double *Z);
/* FR-F3 joint-training data: Y (as G-rand), X ~ N(0, I/d), x_i1 += Y_i mu (mu = e_1 scaled
 * by mu_scale), Z unit rows. */
void hm_data_fr_joint(hm_rng *g, size_t n, size_t T, size_t d, double mu_scale, double *Y,
                      double *X, double *Z);

/* Token scores for a linear head: gamma[i*T+t] = Y_i v.x_it (single output only). */
void hm_data_scores_linear(const hm_dataset *ds, const double *v, double *gamma);

/* opt[i] = argmax_t gamma[i*T+t] (0-based, first maximum); tied[i] = 1 when another token is
 * within 1e-12 relative (|g_t - g_max| <= 1e-12 max(1,|g_max|)). Returns the tie count. */
size_t hm_data_argmax_rows(const double *gamma, size_t n, size_t T, size_t *opt, int *tied);

#endif
