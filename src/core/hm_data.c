#include "hm_data.h"

#include <errno.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
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

/* ---- .npy ---------------------------------------------------------------------------- */

hm_status hm_npy_write_f8(const char *path, int rank, const size_t *dim, const double *data) {
  char shape[200];
  int off = 0;
  size_t total = 1;
  for (int k = 0; k < rank; k++) {
    off += snprintf(shape + off, sizeof shape - (size_t)off, "%zu,%s", dim[k],
                    (rank > 1 && k < rank - 1) ? " " : "");
    total *= dim[k];
  }
  if (rank > 1) off--; /* drop the trailing comma of "a, b," */
  if (rank > 1) shape[off] = 0;
  char header[256];
  int hl = snprintf(header, sizeof header,
                    "{'descr': '<f8', 'fortran_order': False, 'shape': (%s), }", shape);
  size_t pad = 64 - ((size_t)(10 + hl + 1) % 64);
  if (pad == 64) pad = 0;
  size_t hlen = (size_t)hl + pad + 1;
  FILE *fp = fopen(path, "wb");
  if (!fp) return HM_EIO;
  unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                           (unsigned char)(hlen & 0xff), (unsigned char)(hlen >> 8)};
  int ok = fwrite(pre, 1, 10, fp) == 10 && fwrite(header, 1, (size_t)hl, fp) == (size_t)hl;
  for (size_t j = 0; ok && j < pad; j++) ok = fputc(' ', fp) != EOF;
  if (ok) ok = fputc('\n', fp) != EOF;
  /* little-endian host assumed (x86-64/aarch64); checked at runtime */
  union { uint16_t u; unsigned char c[2]; } probe = {1};
  if (ok && probe.c[0] != 1) ok = 0;
  if (ok && total) ok = fwrite(data, sizeof(double), total, fp) == total;
  if (fclose(fp) != 0) ok = 0;
  return ok ? HM_OK : HM_EIO;
}

hm_status hm_npy_read_f8(const char *path, int *rank, size_t *dim, double *data, size_t cap) {
  FILE *fp = fopen(path, "rb");
  if (!fp) return HM_EIO;
  unsigned char pre[12];
  hm_status st = HM_EIO;
  char *hdr = NULL;
  if (fread(pre, 1, 10, fp) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0) goto out;
  size_t hlen;
  if (pre[6] == 1) {
    hlen = (size_t)pre[8] | ((size_t)pre[9] << 8);
  } else if (pre[6] == 2 || pre[6] == 3) {
    if (fread(pre + 10, 1, 2, fp) != 2) goto out;
    hlen = (size_t)pre[8] | ((size_t)pre[9] << 8) | ((size_t)pre[10] << 16) |
           ((size_t)pre[11] << 24);
  } else {
    goto out;
  }
  if (hlen > 1 << 20) goto out;
  hdr = (char *)malloc(hlen + 1);
  if (!hdr || fread(hdr, 1, hlen, fp) != hlen) goto out;
  hdr[hlen] = 0;
  st = HM_EARG;
  int is_i8 = 0;
  if (strstr(hdr, "'<i8'")) is_i8 = 1;
  else if (!strstr(hdr, "'<f8'")) goto out;
  if (!strstr(hdr, "'fortran_order': False")) goto out;
  char *sp = strstr(hdr, "'shape':");
  if (!sp) goto out;
  sp = strchr(sp, '(');
  if (!sp) goto out;
  sp++;
  int r = 0;
  size_t total = 1;
  for (;;) {
    while (*sp == ' ' || *sp == ',') sp++;
    if (*sp == ')') break;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(sp, &end, 10);
    if (end == sp || errno || r >= 3) goto out;
    dim[r++] = (size_t)v;
    total *= (size_t)v;
    sp = end;
  }
  if (r == 0) { dim[0] = 1; r = 1; } /* scalar -> length-1 vector */
  *rank = r;
  st = HM_OK;
  if (!data) goto out;
  if (total > cap) { st = HM_ESHAPE; goto out; }
  st = HM_EIO;
  if (is_i8) {
    for (size_t j = 0; j < total; j++) {
      long long q;
      if (fread(&q, sizeof q, 1, fp) != 1) goto out;
      data[j] = (double)q;
    }
  } else if (total && fread(data, sizeof(double), total, fp) != total) {
    goto out;
  }
  st = HM_OK;
out:
  free(hdr);
  fclose(fp);
  return st;
}
