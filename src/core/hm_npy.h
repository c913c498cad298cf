/* NumPy .npy files: format versions 1.0 (written), 1.0/2.0/3.0 (read); C order only;
 * dtypes '<f8' (written and read), '<i8', '<f4', '<i4' (read, converted to double; int64
 * values beyond 2^53 round to the nearest double). Writes are atomic: a temporary file in
 * the same directory, fsync, rename over the target.
 *
 * Every routine returns a status and, on failure, an English message in err (errlen bytes)
 * such as "not a .npy file (bad magic string)". */
#ifndef HM_NPY_H
#define HM_NPY_H

#include <stddef.h>
#include "hm_mat.h"

/* Largest header dictionary accepted by the reader (bytes). */
#define HM_NPY_MAX_HEADER 65536

typedef enum hm_npy_dtype { HM_NPY_F8, HM_NPY_I8, HM_NPY_F4, HM_NPY_I4 } hm_npy_dtype;

typedef struct hm_npy_header {
  int rank;              /* 1..3 */
  size_t dim[HM_MAXRANK];
  size_t size;           /* product of dims */
  hm_npy_dtype dtype;
  size_t data_offset;    /* bytes before the data */
} hm_npy_header;

/* Build the complete version-1.0 header (magic, length, dict, padding, newline; a multiple
 * of 64 bytes) for a C-order '<f8' array into out (cap bytes); *len receives its length. */
hm_status hm_npy_header_v1(int rank, const size_t *dim, char *out, size_t cap, size_t *len);
/* Parse a header from the first len bytes of a file (len may exceed the header). */
hm_status hm_npy_parse(const unsigned char *buf, size_t len, hm_npy_header *h, char *err,
                       size_t errlen);

/* Bytes per element of a dtype (8 or 4). */
size_t hm_npy_itemsize(hm_npy_dtype t);
/* Convert count little-endian elements of dtype t at src to doubles. */
void hm_npy_decode(hm_npy_dtype t, const unsigned char *src, size_t count, double *out);
/* Write count doubles as little-endian '<f8' bytes (8 * count) to out. */
void hm_npy_encode(const double *src, size_t count, unsigned char *out);

/* Save m as '<f8' to path atomically. */
hm_status hm_npy_save(const char *path, const hm_mat *m, char *err, size_t errlen);
/* Read the header of path (the caller then allocates h->size doubles). */
hm_status hm_npy_read_header(const char *path, hm_npy_header *h, char *err, size_t errlen);
/* Read the data described by h (from hm_npy_read_header on the same path) into out. */
hm_status hm_npy_read_data(const char *path, const hm_npy_header *h, double *out, char *err,
                           size_t errlen);

#endif
