#define _DEFAULT_SOURCE 1 /* realpath, lstat */
#include "hm_sandbox.h"
#include "hm_atomic.h"

#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_ROOTS 64

static struct {
  char *path;
  int access;
} roots[MAX_ROOTS];
static size_t nroots = 0;
static int engaged = 0;

int hm_sandbox_on(void) { return engaged; }
void hm_sandbox_engage(void) { engaged = 1; }
size_t hm_sandbox_nroots(void) { return nroots; }

const char *hm_sandbox_root(size_t i, int *access) {
  if (i >= nroots) return NULL;
  if (access) *access = roots[i].access;
  return roots[i].path;
}

static int say(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int say(char *err, size_t errlen, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (err && errlen) vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
  return -1;
}

int hm_sandbox_resolve(const char *path, char *out, size_t outlen, char *err, size_t errlen) {
  char abs[PATH_MAX];
  if (!path || !*path) return say(err, errlen, "empty path");
  if (path[0] == '/') {
    if (snprintf(abs, sizeof abs, "%s", path) >= (int)sizeof abs) return say(err, errlen, "'%s' is too long", path);
  } else {
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) return say(err, errlen, "cannot resolve '%s': %s", path, strerror(errno));
    if (snprintf(abs, sizeof abs, "%s/%s", cwd, path) >= (int)sizeof abs) return say(err, errlen, "'%s' is too long", path);
  }
  char real[PATH_MAX];
  if (realpath(abs, real)) {
    if (snprintf(out, outlen, "%s", real) >= (int)outlen) return say(err, errlen, "'%s' is too long", path);
    return 0;
  }
  if (errno != ENOENT) return say(err, errlen, "cannot resolve '%s': %s", path, strerror(errno));
  /* Not there (yet): resolve the deepest existing ancestor and append the missing names,
   * which must be plain names (no . or ..) and must not exist as dangling symbolic links. */
  char buf[PATH_MAX];
  memcpy(buf, abs, strlen(abs) + 1);
  const char *tail[PATH_MAX / 2];
  size_t ntail = 0;
  for (;;) {
    size_t len = strlen(buf);
    while (len > 1 && buf[len - 1] == '/') buf[--len] = '\0';
    char *slash = strrchr(buf, '/');
    if (!slash) return say(err, errlen, "cannot resolve '%s'", path);
    char *name = slash + 1;
    if (*name) {
      if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return say(err, errlen, "'%s' goes through '%s' below a directory that does not exist", path, name);
      tail[ntail++] = name;
    }
    if (slash == buf) {
      strcpy(real, "/");
      slash[0] = '\0';
      break;
    }
    *slash = '\0';
    if (realpath(buf, real)) break;
    if (errno != ENOENT) return say(err, errlen, "cannot resolve '%s': %s", path, strerror(errno));
  }
  size_t off = strlen(real);
  if (off == 1) off = 0; /* "/" */
  for (size_t k = ntail; k-- > 0;) {
    int n = snprintf(real + off, sizeof real - off, "/%s", tail[k]);
    if (n < 0 || (size_t)n >= sizeof real - off) return say(err, errlen, "'%s' is too long", path);
    if (k + 1 == ntail) {
      struct stat st;
      if (lstat(real, &st) == 0) return say(err, errlen, "'%s' is a dangling symbolic link", path);
    }
    off += (size_t)n;
  }
  if (snprintf(out, outlen, "%s", real) >= (int)outlen) return say(err, errlen, "'%s' is too long", path);
  return 0;
}

hm_status hm_sandbox_allow(const char *path, int access, char *err, size_t errlen) {
  if (engaged) return hm_fail(err, errlen, HM_EARG, "the sandbox is on: its paths cannot change");
  if (nroots == MAX_ROOTS) return hm_fail(err, errlen, HM_EARG, "at most %d sandbox paths", MAX_ROOTS);
  char real[PATH_MAX];
  if ((access & HM_SANDBOX_WRITE) && hm_mkdir_p(path, NULL, 0) != 0) /* created so it resolves */
    return hm_fail(err, errlen, HM_EIO, "cannot create directory '%s': %s", path, strerror(errno));
  if (!realpath(path, real)) return hm_fail(err, errlen, HM_EIO, "cannot resolve '%s': %s", path, strerror(errno));
  char *copy = strdup(real);
  if (!copy) return hm_fail(err, errlen, HM_ENOMEM, "not enough memory");
  roots[nroots].path = copy;
  roots[nroots].access = access | HM_SANDBOX_READ;
  nroots++;
  return HM_OK;
}

static int below(const char *p, const char *root) {
  size_t n = strlen(root);
  if (n == 1 && root[0] == '/') return 1;
  return strncmp(p, root, n) == 0 && (p[n] == '\0' || p[n] == '/');
}

int hm_sandbox_permits(const char *path, int access, char *err, size_t errlen) {
  if (!engaged) return 1;
  char real[PATH_MAX];
  char why[PATH_MAX + 128];
  if (hm_sandbox_resolve(path, real, sizeof real, why, sizeof why) != 0) {
    if (err && errlen) snprintf(err, errlen, "%s", why);
    return 0;
  }
  for (size_t i = 0; i < nroots; i++)
    if ((roots[i].access & access) == access && below(real, roots[i].path)) return 1;
  const char *kind = (access & HM_SANDBOX_WRITE) ? "writable" : "allowed";
  if (err && errlen) {
    if (strcmp(real, path) == 0)
      snprintf(err, errlen, "'%s' is outside the %s paths", path, kind);
    else
      snprintf(err, errlen, "'%s' (%s) is outside the %s paths", path, real, kind);
  }
  return 0;
}
