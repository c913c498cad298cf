/* Atomic file writing, shared by sys.write_atomic and the .npy and .npz writers: the data
 * goes to a temporary file next to the target, "<path>.tmp.<16 random hex digits>" (created
 * with O_EXCL, so names never collide across processes, hosts or PID namespaces, and a
 * leftover can never block a write), mode 0644, locked by the writer while it exists
 * (hm_lock.h: a cleaner recognises the temporary of a killed writer by its free lock). It is
 * fsync'ed and renamed over the target, then the directory is fsync'ed (best effort). On any
 * failure the temporary file is removed and the target is untouched. */
#ifndef HM_ATOMIC_H
#define HM_ATOMIC_H

#include <stddef.h>
#include "hm_status.h"

typedef struct hm_atomic {
  const char *path; /* the target */
  char *tmp;        /* the temporary file */
  int fd;           /* open for writing, locked */
} hm_atomic;

/* Create the temporary file. On failure: HM_EIO/HM_ENOMEM and a message in err. */
hm_status hm_atomic_begin(hm_atomic *a, const char *path, char *err, size_t errlen);
/* Write all n bytes to fd (retrying on EINTR and short writes); 0 or -1 with errno set. */
int hm_write_all(int fd, const void *buf, size_t n);

enum {
  HM_ATOMIC_NOSYNC = 1,   /* no fsync of the file and the directory: still atomic for readers
                           * and against a crash of the process, not against one of the OS */
  HM_ATOMIC_NOREPLACE = 2 /* keep an existing target (then *kept = 1 and the data is dropped) */
};
/* ok != 0: fsync, rename over the target (or publish it only if absent), fsync the
 * directory. ok == 0: remove the temporary file (errno as left by the failed write is
 * reported). Either way a is released; the status is HM_OK only when the target holds the
 * data (or, with HM_ATOMIC_NOREPLACE, was kept: *kept, which may be NULL otherwise). */
hm_status hm_atomic_finish(hm_atomic *a, int ok, unsigned flags, int *kept, char *err,
                           size_t errlen);
/* hm_atomic_finish(a, ok, 0, NULL, err, errlen) */
hm_status hm_atomic_end(hm_atomic *a, int ok, char *err, size_t errlen);

/* mkdir -p: create path and its missing parents (mode 0755). 0, or -1 with errno set and
 * the component that could not be created in failed (failedlen bytes, may be 0). */
int hm_mkdir_p(const char *path, char *failed, size_t failedlen);

#endif
