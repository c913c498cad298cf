/* Steepest-descent directions under a norm (see hm_steepest.h). */
#include "hm_steepest.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include <cblas.h>
#include <lapacke.h>

#include "hm_optim.h"

/* the tensor as LAPACK sees it: the row-major rows x cols array is the column-major
 * cols x rows matrix G^T, whose polar factor is the transpose of G's, i.e. the same array */
typedef struct svd_layout {
  lapack_int m, n, k;
  size_t a, s, u, vt, iw, lwork; /* offsets / sizes in doubles */
} svd_layout;

static int fits_int(size_t v) { return v <= 0x7fffffffu; }

static int svd_layout_of(size_t rows, size_t cols, svd_layout *L) {
  if (!fits_int(rows) || !fits_int(cols) || (rows && cols > 0x7fffffffu / rows)) return 0;
  L->m = (lapack_int)cols;
  L->n = (lapack_int)rows;
  L->k = L->m < L->n ? L->m : L->n;
  size_t mn = rows * cols, k = (size_t)L->k;
  L->a = 0;
  L->s = L->a + mn;
  L->u = L->s + k;
  L->vt = L->u + (size_t)L->m * k;
  L->iw = L->vt + k * (size_t)L->n;
  double q1 = 0, q2 = 0, dummy = 0;
  lapack_int idummy = 0;
  lapack_int ld = L->m > 1 ? L->m : 1, ldvt = L->k > 1 ? L->k : 1;
  if (LAPACKE_dgesdd_work(LAPACK_COL_MAJOR, 'S', L->m, L->n, &dummy, ld, &dummy, &dummy, ld,
                          &dummy, ldvt, &q1, -1, &idummy) != 0)
    return 0;
  if (LAPACKE_dgesvd_work(LAPACK_COL_MAJOR, 'S', 'S', L->m, L->n, &dummy, ld, &dummy, &dummy,
                          ld, &dummy, ldvt, &q2, -1) != 0)
    return 0;
  L->lwork = (size_t)fmax(q1, q2) + 1;
  return 1;
}

size_t hm_steepest_work_size(hm_steep_norm norm, size_t rows, size_t cols) {
  if (norm == HM_STEEP_NEWTON_SCHULZ) {
    size_t s = rows < cols ? rows : cols;
    if (s && s > ((size_t)-1 / 8) / s) return 0;
    return 2 * s * s + rows * cols + 1;
  }
  if (norm != HM_STEEP_SPECTRAL) return 1;
  svd_layout L;
  if (!svd_layout_of(rows, cols, &L)) return 0;
  size_t iw = (8 * (size_t)L.k * sizeof(lapack_int) + sizeof(double) - 1) / sizeof(double);
  return L.iw + iw + L.lwork;
}

static void scale_to(const double *G, size_t n, double s, double *D) {
  for (size_t j = 0; j < n; j++) D[j] = G[j] / s;
}

/* D = U_r V_r^T from a column-major SVD of G^T; *dual = sum sigma */
static hm_status spectral_dir(const double *G, size_t rows, size_t cols, double *D,
                              double *dual, double *work, size_t work_size) {
  svd_layout L;
  if (!svd_layout_of(rows, cols, &L)) return HM_ENOMEM;
  if (hm_steepest_work_size(HM_STEEP_SPECTRAL, rows, cols) > work_size) return HM_ENOMEM;
  size_t mn = rows * cols;
  double *a = work + L.a, *s = work + L.s, *u = work + L.u, *vt = work + L.vt;
  lapack_int *iw = (lapack_int *)(work + L.iw);
  size_t iwd = (8 * (size_t)L.k * sizeof(lapack_int) + sizeof(double) - 1) / sizeof(double);
  double *wk = work + L.iw + iwd;
  lapack_int ld = L.m > 1 ? L.m : 1, ldvt = L.k > 1 ? L.k : 1;
  memcpy(a, G, mn * sizeof(double));
  lapack_int info = LAPACKE_dgesdd_work(LAPACK_COL_MAJOR, 'S', L.m, L.n, a, ld, s, u, ld, vt,
                                        ldvt, wk, (lapack_int)L.lwork, iw);
  if (info > 0) { /* dgesdd did not converge: QR-iteration dgesvd */
    memcpy(a, G, mn * sizeof(double));
    info = LAPACKE_dgesvd_work(LAPACK_COL_MAJOR, 'S', 'S', L.m, L.n, a, ld, s, u, ld, vt, ldvt,
                               wk, (lapack_int)L.lwork);
  }
  if (info > 0) return HM_ENOCONV;
  if (info < 0) return HM_EARG;
  double tot = 0;
  lapack_int r = 0;
  double cut = L.k > 0 ? s[0] * (double)(L.m > L.n ? L.m : L.n) * DBL_EPSILON : 0;
  for (lapack_int i = 0; i < L.k; i++) {
    tot += s[i];
    if (s[i] > cut) r = i + 1;
  }
  *dual = tot;
  if (r == 0) {
    memset(D, 0, mn * sizeof(double));
    return HM_OK;
  }
  /* D^T (column-major m x n) = U_r Vt_r */
  cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, L.m, L.n, r, 1.0, u, ld, vt, ldvt, 0.0,
              D, ld);
  return HM_OK;
}

/* Muon's quintic Newton-Schulz iteration on the smaller Gram side */
static hm_status newton_schulz_dir(const double *G, size_t rows, size_t cols, int steps,
                                   double *D, double *work, size_t work_size) {
  const double a = 3.4445, b = -4.7750, c = 2.0315;
  size_t mn = rows * cols, s = rows < cols ? rows : cols;
  if (hm_steepest_work_size(HM_STEEP_NEWTON_SCHULZ, rows, cols) > work_size) return HM_ENOMEM;
  double nf = hm_vnorm2(G, mn);
  if (nf == 0.0) {
    memset(D, 0, mn * sizeof(double));
    return HM_OK;
  }
  scale_to(G, mn, nf, D);
  double *A = work, *B = A + s * s, *T = B + s * s;
  int wide = rows <= cols; /* A = X X^T (rows x rows) when wide, else X^T X */
  int R = (int)rows, C = (int)cols, S = (int)s;
  for (int it = 0; it < steps; it++) {
    if (wide)
      cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, S, C, 1.0, D, C, 0.0, A, S);
    else
      cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, S, R, 1.0, D, C, 0.0, A, S);
    for (size_t i = 0; i < s; i++)
      for (size_t j = 0; j < i; j++) A[i * s + j] = A[j * s + i];
    /* B = b A + c A^2 */
    memcpy(B, A, s * s * sizeof(double));
    cblas_dsymm(CblasRowMajor, CblasLeft, CblasUpper, S, S, c, A, S, A, S, b, B, S);
    memcpy(T, D, mn * sizeof(double));
    if (wide) /* X <- a X + B X */
      cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, R, C, S, 1.0, B, S, T, C, a, D, C);
    else /* X <- a X + X B */
      cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, R, C, S, 1.0, T, C, B, S, a, D, C);
  }
  return HM_OK;
}

hm_status hm_steepest_dir(hm_steep_norm norm, const double *G, size_t rows, size_t cols,
                          int ns_steps, double *D, double *dual, double *work,
                          size_t work_size) {
  size_t n = rows * cols;
  *dual = 0.0;
  switch (norm) {
    case HM_STEEP_FRO: {
      double nf = hm_vnorm2(G, n);
      *dual = nf;
      if (nf == 0.0) memset(D, 0, n * sizeof(double));
      else scale_to(G, n, nf, D);
      return HM_OK;
    }
    case HM_STEEP_LINF:
      for (size_t j = 0; j < n; j++) D[j] = G[j] > 0 ? 1.0 : G[j] < 0 ? -1.0 : 0.0;
      *dual = hm_normp(G, n, 1.0);
      return HM_OK;
    case HM_STEEP_L1: {
      double amax = 0.0;
      size_t cnt = 0;
      for (size_t j = 0; j < n; j++) {
        double v = fabs(G[j]);
        if (v > amax) {
          amax = v;
          cnt = 1;
        } else if (v == amax && v > 0) {
          cnt++;
        }
      }
      *dual = amax;
      for (size_t j = 0; j < n; j++)
        D[j] = (amax > 0 && fabs(G[j]) == amax) ? copysign(1.0 / (double)cnt, G[j]) : 0.0;
      return HM_OK;
    }
    case HM_STEEP_SPECTRAL:
      if (cols == 1 || rows == 1) { /* a vector: the spectral norm is the Euclidean one */
        hm_status st = hm_steepest_dir(HM_STEEP_FRO, G, rows, cols, 0, D, dual, work, work_size);
        return st;
      }
      return spectral_dir(G, rows, cols, D, dual, work, work_size);
    case HM_STEEP_NEWTON_SCHULZ:
      *dual = NAN;
      if (ns_steps < 1) return HM_EARG;
      return newton_schulz_dir(G, rows, cols, ns_steps, D, work, work_size);
  }
  return HM_EARG;
}
