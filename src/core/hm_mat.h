/* Dense double arrays of rank 1..3, row-major and contiguous.
 *
 * hm_mat is a plain descriptor: it does not own its data. The Lua binding allocates the
 * descriptor and the data together in one userdata (so the GC sees the true size); views
 * point into a parent's data. Numeric routines in the core take hm_mat pointers (or raw
 * double arrays with explicit sizes) and return hm_status. */
#ifndef HM_MAT_H
#define HM_MAT_H

#include <stddef.h>
#include "hm_status.h"

#define HM_MAXRANK 3

typedef struct hm_mat {
  int rank;                 /* 1, 2 or 3 */
  size_t dim[HM_MAXRANK];   /* unused trailing dims are 1 */
  size_t size;              /* product of dims */
  double *data;             /* row-major, contiguous */
} hm_mat;

/* Number of elements of a shape; HM_ENOMEM if the product (or its byte size) overflows. */
hm_status hm_shape_size(int rank, const size_t *dim, size_t *size);

/* Fill a descriptor for existing storage (no allocation). */
void hm_mat_init(hm_mat *m, int rank, const size_t *dim, double *data);

/* Rows and columns when an array is viewed as a matrix: rank 1 -> 1 x n (row vector),
 * rank 2 -> dim0 x dim1, rank 3 -> (dim0*dim1) x dim2 (the (nT) x d view of a dataset). */
size_t hm_mat_rows(const hm_mat *m);
size_t hm_mat_cols(const hm_mat *m);

/* 1 if every element is finite. */
int hm_all_finite(const double *x, size_t n);

#endif
