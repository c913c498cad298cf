/* NumPy .npz archives: ZIP files whose members "<name>.npy" are .npy files (hm_npy.h).
 *
 * Reading accepts what np.savez (members stored, method 0) and np.savez_compressed
 * (deflate, method 8) write, including ZIP64 (extra fields in local and central headers,
 * the zip64 end-of-central-directory record) and data descriptors (flag bit 3); every
 * member read is checked against its CRC-32 and declared sizes. The central directory is
 * authoritative for sizes and CRCs. Members whose names do not end in ".npy" (text files,
 * directory entries) are listed but never decoded. Rejected with a message: truncated or
 * corrupt archives, multi-disk archives, duplicate member names, names containing a NUL
 * byte, encrypted members, compression methods other than 0 and 8, sizes inconsistent
 * with the archive (a member must lie before the central directory; a deflated member
 * cannot declare more than 1032 bytes per compressed byte, deflate's limit), and .npy
 * headers whose array size differs from the member size. Allocations are at most a small
 * multiple of the archive size (the central directory and its entries) plus fixed 64 KiB
 * buffers, except the caller's h->size doubles, which the checks above bound by
 * 1032 x 2 x the archive size (a deflate bomb of 4-byte elements).
 *
 * Writing produces an archive of '<f8' version-1.0 .npy members (hm_npy_header_v1),
 * sorted by name, stored or deflated (raw deflate, zlib level 6 as Python's zipfile), with
 * a fixed timestamp of 1980-01-01 00:00:00 (the earliest DOS date), Unix mode 0644, and the
 * UTF-8 flag for non-ASCII names. ZIP64 fields are used where sizes or offsets need them
 * (or always with HM_NPZ_ZIP64). Writes are atomic (hm_atomic.h).
 *
 * Every routine returns a status and, on failure, an English message in err (errlen
 * bytes) such as "member 'a.npy': CRC-32 mismatch (...)". */
#ifndef HM_NPZ_H
#define HM_NPZ_H

#include <stddef.h>
#include "hm_mat.h"
#include "hm_npy.h"

typedef struct hm_npz hm_npz; /* an archive open for reading */

#define HM_NPZ_NONE ((size_t)-1)

/* Open path and read its central directory. */
hm_status hm_npz_open(const char *path, hm_npz **out, char *err, size_t errlen);
/* The same on len bytes at buf (not copied: buf must outlive the archive). */
hm_status hm_npz_open_mem(const void *buf, size_t len, hm_npz **out, char *err,
                          size_t errlen);
void hm_npz_close(hm_npz *z); /* NULL is fine */

size_t hm_npz_count(const hm_npz *z);                 /* members, in directory order */
const char *hm_npz_name(const hm_npz *z, size_t i);   /* member name as stored */
int hm_npz_is_npy(const hm_npz *z, size_t i);         /* name ends in ".npy" */
size_t hm_npz_find(const hm_npz *z, const char *name); /* index, or HM_NPZ_NONE */

/* Check member i (encryption, method, local header, sizes) and parse its .npy header. */
hm_status hm_npz_header(hm_npz *z, size_t i, hm_npy_header *h, char *err, size_t errlen);
/* Decode the h->size elements of member i (h from hm_npz_header) into out, verifying the
 * member's size and CRC-32. */
hm_status hm_npz_read(hm_npz *z, size_t i, const hm_npy_header *h, double *out, char *err,
                      size_t errlen);

typedef struct hm_npz_item {
  const char *name; /* without ".npy"; non-empty, at most 65000 bytes */
  const hm_mat *m;
} hm_npz_item;

#define HM_NPZ_DEFLATE 1u /* deflate members (default: stored) */
#define HM_NPZ_ZIP64 2u   /* ZIP64 fields even when not needed (as np.savez's force_zip64) */

/* Write the n items to path as members "<name>.npy" (names must be distinct). */
hm_status hm_npz_save(const char *path, const hm_npz_item *items, size_t n, unsigned flags,
                      char *err, size_t errlen);

#endif
