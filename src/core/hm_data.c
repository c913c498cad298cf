#include "hm_data.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hm_mat.h"

hm_status hm_data_validate(const hm_dataset *ds, size_t *bad, const char **what) {
  size_t nx = ds->n * ds->T * ds->d, ny = ds->seq ? ds->n * ds->T : ds->n;
  for (size_t j = 0; j < nx; j++)
    if (!isfinite(ds->X[j])) { *bad = j; *what = "X"; return HM_ENONFINITE; }
  if (ds->Z)
    for (size_t j = 0; j < ds->n * ds->d; j++)
      if (!isfinite(ds->Z[j])) { *bad = j; *what = "Z"; return HM_ENONFINITE; }
  for (size_t j = 0; j < ny; j++)
    if (ds->Y[j] != 1.0 && ds->Y[j] != -1.0) { *bad = j; *what = "Y"; return HM_EARG; }
  return HM_OK;
}

void hm_rows_normalize(double *x, size_t rows, size_t d) {
  for (size_t r = 0; r < rows; r++) {
    double *p = x + r * d, s = 0;
    for (size_t j = 0; j < d; j++) s += p[j] * p[j];
    s = sqrt(s);
    if (s > 0)
      for (size_t j = 0; j < d; j++) p[j] /= s;
  }
}

static void draw_labels(hm_rng *g, size_t n, double *Y) {
  for (size_t i = 0; i < n; i++) Y[i] = hm_rng_normal(g) > 0 ? 1.0 : -1.0;
}

void hm_data_grand(hm_rng *g, size_t n, size_t T, size_t d, double *v, double *Y, double *X,
                   double *Z) {
  hm_rng_fill_normal(g, v, d);
  draw_labels(g, n, Y);
  hm_rng_fill_normal(g, X, n * T * d);
  hm_rng_fill_normal(g, Z, n * d);
  hm_rows_normalize(v, 1, d);
  hm_rows_normalize(X, n * T, d);
  hm_rows_normalize(Z, n, d);
}

int hm_data_relu_mode(hm_rng *g, size_t n, size_t T, size_t d, double *V, double *Y,
                      double *X, double *Z) {
  int draws = 0;
  for (;;) {
    draws++;
    hm_rng_fill_normal(g, V, d * d);
    double s = 0;
    for (size_t j = 0; j < d * d; j++) s += V[j] * V[j];
    s = sqrt(s);
    if (s > 0)
      for (size_t j = 0; j < d * d; j++) V[j] /= s;
    hm_rng_fill_normal(g, X, n * T * d);
    hm_rows_normalize(X, n * T, d);
    draw_labels(g, n, Y);
    hm_rng_fill_normal(g, Z, n * d);
    hm_rows_normalize(Z, n, d);
    int allpos = 1;
    for (size_t i = 0; i < n; i++)
      if (Y[i] < 0) allpos = 0;
    if (!allpos || n == 0 || draws >= 10000) return draws;
  }
}

void hm_data_fr_joint(hm_rng *g, size_t n, size_t T, size_t d, double mu_scale, double *Y,
                      double *X, double *Z) {
  draw_labels(g, n, Y);
  hm_rng_fill_normal(g, X, n * T * d);
  double sc = 1.0 / sqrt((double)d);
  for (size_t j = 0; j < n * T * d; j++) X[j] *= sc;
  for (size_t i = 0; i < n; i++) X[i * T * d] += Y[i] * mu_scale;
  hm_rng_fill_normal(g, Z, n * d);
  hm_rows_normalize(Z, n, d);
}

void hm_data_scores_linear(const hm_dataset *ds, const double *v, double *gamma) {
  size_t n = ds->n, T = ds->T, d = ds->d;
  for (size_t i = 0; i < n; i++)
    for (size_t t = 0; t < T; t++) {
      const double *x = ds->X + (i * T + t) * d;
      double s = 0;
      for (size_t j = 0; j < d; j++) s += v[j] * x[j];
      gamma[i * T + t] = ds->Y[i] * s;
    }
}

size_t hm_data_argmax_rows(const double *gamma, size_t n, size_t T, size_t *opt, int *tied) {
  size_t ties = 0;
  for (size_t i = 0; i < n; i++) {
    const double *g = gamma + i * T;
    size_t m = 0;
    for (size_t t = 1; t < T; t++)
      if (g[t] > g[m]) m = t;
    opt[i] = m;
    int tie = 0;
    double tol = 1e-12 * fmax(1.0, fabs(g[m]));
    for (size_t t = 0; t < T; t++)
      if (t != m && g[m] - g[t] <= tol) tie = 1;
    if (tied) tied[i] = tie;
    ties += (size_t)tie;
  }
  return ties;
}
