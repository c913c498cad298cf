#define _GNU_SOURCE 1 /* renameat2 */
#include "hm_atomic.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hm_lock.h"

static hm_status ioerr(char *err, size_t errlen, const char *what, const char *path) {
  if (err && errlen) snprintf(err, errlen, "cannot %s '%s': %s", what, path, strerror(errno));
  return HM_EIO;
}

hm_status hm_atomic_begin(hm_atomic *a, const char *path, char *err, size_t errlen) {
  size_t plen = strlen(path);
  a->path = path;
  a->fd = -1;
  a->tmp = NULL;
  char *prefix = (char *)malloc(plen + 6);
  if (!prefix) return hm_fail(err, errlen, HM_ENOMEM, "not enough memory");
  memcpy(prefix, path, plen);
  memcpy(prefix + plen, ".tmp.", 6);
  char why[256];
  hm_status s = hm_lock_create(prefix, "", &a->fd, &a->tmp, why, sizeof why);
  free(prefix);
  if (s != HM_OK) {
    if (s == HM_ENOMEM) return hm_fail(err, errlen, s, "not enough memory");
    return ioerr(err, errlen, "create a temporary file next to", path);
  }
  return HM_OK;
}

int hm_mkdir_p(const char *path, char *failed, size_t failedlen) {
  size_t len = strlen(path);
  char *buf = (char *)malloc(len + 1);
  if (!buf) {
    if (failed && failedlen) snprintf(failed, failedlen, "%s", path);
    return -1;
  }
  memcpy(buf, path, len + 1);
  for (size_t i = 1; i <= len; i++) {
    if (buf[i] == '/' || buf[i] == '\0') {
      char c = buf[i];
      buf[i] = '\0';
      if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
        int e = errno;
        if (failed && failedlen) snprintf(failed, failedlen, "%s", buf);
        free(buf);
        errno = e;
        return -1;
      }
      buf[i] = c;
    }
  }
  free(buf);
  return 0;
}

int hm_write_all(int fd, const void *buf, size_t n) {
  const char *p = (const char *)buf;
  while (n > 0) {
    ssize_t w = write(fd, p, n > (1u << 30) ? (1u << 30) : n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* rename tmp to path only if path does not exist: 0 published, 1 kept, -1 error */
static int publish_noreplace(const char *tmp, const char *path) {
  if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0) return 0;
  if (errno == EEXIST) return 1;
  if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP) return -1;
  /* a file system without RENAME_NOREPLACE (NFS, older kernels): link() fails on an
   * existing target just as atomically; the temporary name goes afterwards */
  if (link(tmp, path) != 0) return errno == EEXIST ? 1 : -1;
  (void)unlink(tmp);
  return 0;
}

hm_status hm_atomic_finish(hm_atomic *a, int ok, unsigned flags, int *kept, char *err,
                           size_t errlen) {
  int saved = errno;
  int durable = !(flags & HM_ATOMIC_NOSYNC);
  if (kept) *kept = 0;
  if (ok && durable && fsync(a->fd) != 0) {
    ok = 0;
    saved = errno;
  }
  /* The lock must outlive the rename (a cleaner would otherwise take the temporary for a
   * dead writer's), yet close() is where NFS reports delayed write errors: close a duplicate
   * first, then rename, then drop the lock with the last descriptor. */
  int keep = ok ? dup(a->fd) : -1;
  if (ok && keep < 0) {
    ok = 0;
    saved = errno;
  }
  if (close(a->fd) != 0 && ok) {
    ok = 0;
    saved = errno;
  }
  if (ok) {
    int r = 0;
    if (flags & HM_ATOMIC_NOREPLACE) {
      r = publish_noreplace(a->tmp, a->path);
      if (r == 1) {
        if (kept) *kept = 1;
        (void)unlink(a->tmp);
      }
    } else if (rename(a->tmp, a->path) != 0) {
      r = -1;
    }
    if (r < 0) {
      ok = 0;
      saved = errno;
    }
  }
  if (!ok) unlink(a->tmp);
  if (keep >= 0) close(keep);
  free(a->tmp);
  a->tmp = NULL;
  a->fd = -1;
  if (!ok) {
    errno = saved;
    return ioerr(err, errlen, "write", a->path);
  }
  if (!durable) return HM_OK;
  /* make the rename durable: fsync the directory (best effort) */
  const char *slash = strrchr(a->path, '/');
  char *dir = slash ? strndup(a->path, slash == a->path ? 1 : (size_t)(slash - a->path))
                    : strdup(".");
  if (dir) {
    int dfd = open(dir, O_RDONLY | O_CLOEXEC);
    if (dfd >= 0) {
      (void)fsync(dfd);
      close(dfd);
    }
    free(dir);
  }
  return HM_OK;
}

hm_status hm_atomic_end(hm_atomic *a, int ok, char *err, size_t errlen) {
  return hm_atomic_finish(a, ok, 0, NULL, err, errlen);
}
