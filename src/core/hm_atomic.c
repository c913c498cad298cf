#include "hm_atomic.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static hm_status ioerr(char *err, size_t errlen, const char *what, const char *path) {
  if (err && errlen) snprintf(err, errlen, "cannot %s '%s': %s", what, path, strerror(errno));
  return HM_EIO;
}

hm_status hm_atomic_begin(hm_atomic *a, const char *path, char *err, size_t errlen) {
  size_t plen = strlen(path);
  a->path = path;
  a->fd = -1;
  a->tmp = (char *)malloc(plen + 16);
  if (!a->tmp) {
    if (err && errlen) snprintf(err, errlen, "not enough memory");
    return HM_ENOMEM;
  }
  memcpy(a->tmp, path, plen);
  memcpy(a->tmp + plen, ".tmp.XXXXXX", 12);
  a->fd = mkstemp(a->tmp);
  if (a->fd < 0) {
    hm_status s = ioerr(err, errlen, "create a temporary file next to", path);
    free(a->tmp);
    a->tmp = NULL;
    return s;
  }
  if (fchmod(a->fd, 0644) != 0) return hm_atomic_end(a, 0, err, errlen);
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

hm_status hm_atomic_end(hm_atomic *a, int ok, char *err, size_t errlen) {
  int saved = errno;
  if (ok && fsync(a->fd) != 0) {
    ok = 0;
    saved = errno;
  }
  if (close(a->fd) != 0 && ok) {
    ok = 0;
    saved = errno;
  }
  if (ok && rename(a->tmp, a->path) != 0) {
    ok = 0;
    saved = errno;
  }
  if (!ok) unlink(a->tmp);
  free(a->tmp);
  a->tmp = NULL;
  a->fd = -1;
  if (!ok) {
    errno = saved;
    return ioerr(err, errlen, "write", a->path);
  }
  /* make the rename durable: fsync the directory (best effort) */
  const char *slash = strrchr(a->path, '/');
  char *dir = slash ? strndup(a->path, slash == a->path ? 1 : (size_t)(slash - a->path))
                    : strdup(".");
  if (dir) {
    int dfd = open(dir, O_RDONLY);
    if (dfd >= 0) {
      (void)fsync(dfd);
      close(dfd);
    }
    free(dir);
  }
  return HM_OK;
}
