/* Atomic file writing, shared by the .npy and .npz writers: the data goes to a temporary
 * file next to the target ("<path>.tmp.XXXXXX", mode 0644), which is fsync'ed and renamed
 * over the target; the directory is then fsync'ed (best effort). On any failure the
 * temporary file is removed and the target is untouched. */
#ifndef HM_ATOMIC_H
#define HM_ATOMIC_H

#include <stddef.h>
#include "hm_status.h"

typedef struct hm_atomic {
  const char *path; /* the target */
  char *tmp;        /* the temporary file */
  int fd;           /* open for writing */
} hm_atomic;

/* Create the temporary file. On failure: HM_EIO/HM_ENOMEM and a message in err. */
hm_status hm_atomic_begin(hm_atomic *a, const char *path, char *err, size_t errlen);
/* Write all n bytes to fd (retrying on EINTR and short writes); 0 or -1 with errno set. */
int hm_write_all(int fd, const void *buf, size_t n);
/* ok != 0: fsync, close, rename over the target, fsync the directory. ok == 0: close and
 * remove the temporary file (errno as left by the failed write is reported). Either way
 * a is released; the status is HM_OK only when the target was replaced. */
hm_status hm_atomic_end(hm_atomic *a, int ok, char *err, size_t errlen);

/* mkdir -p: create path and its missing parents (mode 0755). 0, or -1 with errno set and
 * the component that could not be created in failed (failedlen bytes, may be 0). */
int hm_mkdir_p(const char *path, char *failed, size_t failedlen);

#endif
