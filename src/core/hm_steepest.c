/* Steepest-descent directions under a norm (see hm_steepest.h). */
#include "hm_steepest.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include <cblas.h>
#include <lapacke.h>

#include "hm_optim.h"

/* one-sided Jacobi (jacobi_polar) up to min(rows, cols) = JAC_MAX, LAPACK above */
#define JAC_MAX 24
static size_t jac_work(size_t m, size_t n) { return 2 * n * n + m + 4 * n; }

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
  size_t lap = L.iw + iw + L.lwork, k = (size_t)L.k, mx = rows + cols - k;
  size_t jac = 2 * mx * k + jac_work(mx, k);
  return lap > jac ? lap : jac;
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

/* Polar factor of a small H (m x n, m >= n, column j at H + j m: a column-major copy) by
 * QR-preconditioned one-sided Jacobi (Drmac & Veselic 2008), where LAPACK's per-call cost
 * dominates (dgesdd: ~30 us at 10 x 10 here): H P = Q R with column pivoting; rows of R
 * below |R_11| n eps are dropped (rank r); the r columns of X = R_1^T are rotated, X V =
 * U_X diag(sigma), so R_1 = V diag(sigma) U_X^T and the polar factor of H is
 * Q_1 V U_X^T P^T. Jacobi on the preconditioned R converges in a few sweeps. Writes the
 * polar factor into Dh (column-major m x n) and returns 0, or -1 (no convergence: the
 * caller uses LAPACK). work: jac_work(m, n) doubles. */

static int jacobi_polar(double *H, size_t m, size_t n, double *Dh, double *dual, double *work) {
  double *X = work, *V = X + n * n, *tau = V + n * n, *cn = tau + n, *sg = cn + n, *y = sg + n;
  size_t *piv = (size_t *)(y + m); /* n entries; jac_work reserves them as doubles */
  /* Householder QR with column pivoting (largest remaining column norm first) */
  for (size_t j = 0; j < n; j++) {
    piv[j] = j;
    cn[j] = hm_vnorm2(H + j * m, m);
  }
  size_t r = 0;
  double r11 = 0;
  for (size_t k = 0; k < n; k++) {
    size_t p = k;
    for (size_t j = k + 1; j < n; j++)
      if (cn[j] > cn[p]) p = j;
    if (p != k) {
      for (size_t i = 0; i < m; i++) {
        double t = H[k * m + i];
        H[k * m + i] = H[p * m + i];
        H[p * m + i] = t;
      }
      double t = cn[k];
      cn[k] = cn[p];
      cn[p] = t;
      size_t q = piv[k];
      piv[k] = piv[p];
      piv[p] = q;
    }
    double *h = H + k * m;
    double al = hm_vnorm2(h + k, m - k);
    if (k == 0) r11 = al;
    if (!(al > r11 * (double)n * DBL_EPSILON) || al == 0) break; /* numerical rank reached */
    double beta = h[k] > 0 ? -al : al; /* H_k h = beta e_k */
    double v0 = h[k] - beta;
    for (size_t i = k + 1; i < m; i++) h[i] /= v0; /* v = (1, h[k+1..]) */
    tau[k] = (beta - h[k]) / beta;
    h[k] = beta;
    for (size_t j = k + 1; j < n; j++) {
      double *c = H + j * m, s = c[k];
      for (size_t i = k + 1; i < m; i++) s += h[i] * c[i];
      s *= tau[k];
      c[k] -= s;
      for (size_t i = k + 1; i < m; i++) c[i] -= s * h[i];
      /* downdate the remaining norm (recompute: n is small) */
      cn[j] = hm_vnorm2(c + k + 1, m - k - 1);
    }
    r = k + 1;
  }
  memset(Dh, 0, m * n * sizeof(double));
  *dual = 0;
  if (r == 0) return 0;
  /* X = R_1^T: column j (length n) = row j of R_1, R_1[j][c] = H[c m + j] for c >= j */
  for (size_t j = 0; j < r; j++)
    for (size_t c = 0; c < n; c++) X[j * n + c] = c >= j ? H[c * m + j] : 0.0;
  memset(V, 0, r * r * sizeof(double));
  for (size_t j = 0; j < r; j++) V[j * r + j] = 1.0;
  const double tol = (double)n * DBL_EPSILON;
  int conv = 0;
  for (int sweep = 0; sweep < 40 && !conv; sweep++) {
    conv = 1;
    for (size_t p = 0; p + 1 < r; p++)
      for (size_t q = p + 1; q < r; q++) {
        double *xp = X + p * n, *xq = X + q * n;
        double a = 0, b = 0, g = 0;
        for (size_t i = 0; i < n; i++) {
          a += xp[i] * xp[i];
          b += xq[i] * xq[i];
          g += xp[i] * xq[i];
        }
        if (g == 0 || !(fabs(g) > tol * sqrt(a * b))) continue;
        conv = 0;
        double zeta = (b - a) / (2 * g);
        double t = copysign(1.0, zeta) / (fabs(zeta) + sqrt(1 + zeta * zeta));
        double c = 1 / sqrt(1 + t * t), sn = c * t;
        for (size_t i = 0; i < n; i++) {
          double u = xp[i], w = xq[i];
          xp[i] = c * u - sn * w;
          xq[i] = sn * u + c * w;
        }
        double *vp = V + p * r, *vq = V + q * r;
        for (size_t i = 0; i < r; i++) {
          double u = vp[i], w = vq[i];
          vp[i] = c * u - sn * w;
          vq[i] = sn * u + c * w;
        }
      }
  }
  if (!conv) return -1;
  double smax = 0, tot = 0;
  for (size_t j = 0; j < r; j++) {
    sg[j] = hm_vnorm2(X + j * n, n);
    smax = fmax(smax, sg[j]);
    tot += sg[j];
  }
  *dual = tot;
  double cut = smax * (double)(m > n ? m : n) * DBL_EPSILON;
  for (size_t j = 0; j < r; j++) {
    if (!(sg[j] > cut)) continue;
    /* y = Q_1 v_j = H_0 ... H_{r-1} [v_j; 0] */
    memset(y, 0, m * sizeof(double));
    memcpy(y, V + j * r, r * sizeof(double));
    for (size_t k = r; k-- > 0;) {
      const double *h = H + k * m;
      double s = y[k];
      for (size_t i = k + 1; i < m; i++) s += h[i] * y[i];
      s *= tau[k];
      y[k] -= s;
      for (size_t i = k + 1; i < m; i++) y[i] -= s * h[i];
    }
    /* column piv[c] of the polar factor += y (x_j[c] / sigma_j) */
    const double *x = X + j * n;
    for (size_t c = 0; c < n; c++) {
      double f = x[c] / sg[j];
      double *d = Dh + piv[c] * m;
      for (size_t i = 0; i < m; i++) d[i] += y[i] * f;
    }
  }
  return 0;
}

/* the small-tensor path: G^T or G as a column-major m x n (m >= n) copy, Jacobi polar, back */
static int small_polar(const double *G, size_t rows, size_t cols, double *D, double *dual,
                       double *work) {
  int tr = rows < cols; /* column-major view of row-major G is G^T (cols x rows) */
  size_t m = tr ? cols : rows, n = tr ? rows : cols;
  double *H = work, *Dh = H + m * n, *jw = Dh + m * n;
  /* H column j: tr ? row j of G (G^T's columns... ) */
  for (size_t i = 0; i < rows; i++)
    for (size_t j = 0; j < cols; j++) {
      if (tr) H[i * m + j] = G[i * cols + j]; /* H = G^T: column i = row i of G */
      else H[j * m + i] = G[i * cols + j];    /* H = G: column j = column j of G */
    }
  if (jacobi_polar(H, m, n, Dh, dual, jw) != 0) return -1;
  for (size_t i = 0; i < rows; i++)
    for (size_t j = 0; j < cols; j++) D[i * cols + j] = tr ? Dh[i * m + j] : Dh[j * m + i];
  return 0;
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
      if ((rows < cols ? rows : cols) <= JAC_MAX &&
          hm_steepest_work_size(HM_STEEP_SPECTRAL, rows, cols) <= work_size &&
          small_polar(G, rows, cols, D, dual, work) == 0)
        return HM_OK;
      return spectral_dir(G, rows, cols, D, dual, work, work_size);
    case HM_STEEP_NEWTON_SCHULZ:
      *dual = NAN;
      if (ns_steps < 1) return HM_EARG;
      return newton_schulz_dir(G, rows, cols, ns_steps, D, work, work_size);
  }
  return HM_EARG;
}
