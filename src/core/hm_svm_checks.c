/* Numerical helpers of the theory checks: rank with a relative tolerance (solvers.md 2.4.5). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <lapacke.h>

#include "hm_mat.h"
#include "hm_svm.h"

hm_status hm_svm_rank(const double *W, size_t rows, size_t cols, double rtol, int *rank,
                      double *gap, double *s) {
  size_t k = rows < cols ? rows : cols;
  if (!(rtol >= 0)) return HM_EARG;
  if (!hm_all_finite(W, rows * cols)) return HM_ENONFINITE;
  if (k == 0) {
    *rank = 0;
    *gap = 0;
    return HM_OK;
  }
  double *a = malloc(rows * cols * sizeof *a), *sv = malloc(k * sizeof *sv);
  double *sup = malloc(k * sizeof *sup);
  if (!a || !sv || !sup) {
    free(a);
    free(sv);
    free(sup);
    return HM_ENOMEM;
  }
  memcpy(a, W, rows * cols * sizeof *a);
  double dummy[1];
  lapack_int ld = (lapack_int)(rows > cols ? rows : cols);
  lapack_int info = LAPACKE_dgesdd(LAPACK_ROW_MAJOR, 'N', (lapack_int)rows, (lapack_int)cols, a,
                                   (lapack_int)cols, sv, dummy, ld, dummy, ld);
  if (info > 0) {
    memcpy(a, W, rows * cols * sizeof *a);
    info = LAPACKE_dgesvd(LAPACK_ROW_MAJOR, 'N', 'N', (lapack_int)rows, (lapack_int)cols, a,
                          (lapack_int)cols, sv, dummy, ld, dummy, ld, sup);
  }
  hm_status st = HM_OK;
  if (info != 0) {
    st = info < 0 ? HM_ELAPACK : HM_ENOCONV;
  } else {
    int r = 0;
    for (size_t i = 0; i < k; i++)
      if (sv[i] > rtol * sv[0]) r++;
    *rank = r;
    *gap = (r > 0 && (size_t)r < k) ? sv[r] / sv[r - 1] : 0;
    if (s) memcpy(s, sv, k * sizeof *sv);
  }
  free(a);
  free(sv);
  free(sup);
  return st;
}
