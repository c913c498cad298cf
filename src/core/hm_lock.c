#define _GNU_SOURCE 1 /* F_OFD_SETLK, getrandom */
#include "hm_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void hm_random_hex(char *buf, size_t n) {
  static const char hex[] = "0123456789abcdef";
  unsigned char r[32];
  size_t done = 0;
  while (done < n) {
    size_t want = (n - done + 1) / 2;
    if (want > sizeof r) want = sizeof r;
    ssize_t got = getrandom(r, want, GRND_NONBLOCK);
    if (got <= 0) {
      /* no entropy yet (early boot) or no getrandom: time, pid and a counter still make the
       * name unique enough, and O_EXCL + retry makes a collision harmless anyway */
      static uint64_t counter = 0;
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^ ((uint64_t)getpid() << 17) ^
                   (++counter * 0x9E3779B97F4A7C15u);
      x ^= x >> 31;
      x *= 0xBF58476D1CE4E5B9u;
      x ^= x >> 29;
      memcpy(r, &x, sizeof x);
      got = (ssize_t)(want < sizeof x ? want : sizeof x);
    }
    for (ssize_t i = 0; i < got && done < n; i++) {
      buf[done++] = hex[r[i] >> 4];
      if (done < n) buf[done++] = hex[r[i] & 15];
    }
  }
  buf[n] = '\0';
}

int hm_lock_fd(int fd, int exclusive, int wait) {
  struct flock fl;
  memset(&fl, 0, sizeof fl);
  fl.l_type = exclusive ? F_WRLCK : F_RDLCK;
  fl.l_whence = SEEK_SET; /* l_start = l_len = 0: the whole file; l_pid must be 0 */
  for (;;) {
    if (fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl) == 0) return 1;
    if (errno == EINTR) continue;
    if (!wait && (errno == EAGAIN || errno == EACCES)) return 0;
    return -1;
  }
}

/* does path still name the file open as fd? */
static int same_file(int fd, const char *path) {
  struct stat a, b;
  if (fstat(fd, &a) != 0 || stat(path, &b) != 0) return 0;
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

hm_status hm_lock_create(const char *prefix, const char *suffix, int *fd, char **path,
                         char *err, size_t errlen) {
  size_t plen = strlen(prefix), slen = strlen(suffix);
  char *name = (char *)malloc(plen + 16 + slen + 1);
  if (!name) return hm_fail(err, errlen, HM_ENOMEM, "not enough memory");
  memcpy(name, prefix, plen);
  for (int attempt = 0; attempt < 100; attempt++) {
    hm_random_hex(name + plen, 16);
    memcpy(name + plen + 16, suffix, slen + 1);
    int f = open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (f < 0) {
      if (errno == EEXIST) continue;
      int e = errno;
      hm_fail(err, errlen, HM_EIO, "cannot create '%s': %s", name, strerror(e));
      free(name);
      errno = e;
      return HM_EIO;
    }
    /* the umask may have narrowed the mode; results are meant to be shared */
    (void)fchmod(f, 0644);
    int got = hm_lock_fd(f, 1, 1);
    if (got < 0 && (errno == EINVAL || errno == ENOLCK || errno == EOPNOTSUPP)) {
      /* a file system without locks: the name is still unique, only cleaning is lost
       * (a probe cannot take a lock there either, so it never removes such a file) */
      *fd = f;
      *path = name;
      return HM_OK;
    }
    if (got == 1 && same_file(f, name)) {
      *fd = f;
      *path = name;
      return HM_OK;
    }
    int e = errno;
    close(f);
    if (got < 0) {
      hm_fail(err, errlen, HM_EIO, "cannot lock '%s': %s", name, strerror(e));
      free(name);
      errno = e;
      return HM_EIO;
    }
    /* a cleaner removed the file between open and lock: try another name */
  }
  hm_fail(err, errlen, HM_EIO, "cannot create a unique file '%s*%s' (100 attempts)", prefix, suffix);
  free(name);
  errno = EEXIST;
  return HM_EIO;
}

int hm_lock_open(const char *path, int wait, int *fd) {
  int f = open(path, O_RDWR | O_CLOEXEC);
  if (f < 0) return -1;
  int got = hm_lock_fd(f, 1, wait);
  if (got == 1 && !same_file(f, path)) {
    got = -1;
    errno = ENOENT;
  }
  if (got != 1) {
    int e = errno;
    close(f);
    errno = e;
    return got;
  }
  *fd = f;
  return 1;
}

int hm_lock_remove_dead(const char *path) {
  /* read-only and a shared lock: enough to detect an owner's exclusive lock, and it works
   * for files of another user in a group-writable directory */
  int f = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (f < 0) return -1;
  int got = hm_lock_fd(f, 0, 0);
  int rc = got;
  if (got == 1) {
    /* the path may have gone meanwhile (another cleaner): then remove nothing */
    rc = same_file(f, path) ? (unlink(path) == 0 ? 1 : -1) : (errno = ENOENT, -1);
  }
  int e = errno;
  close(f);
  errno = e;
  return rc;
}
