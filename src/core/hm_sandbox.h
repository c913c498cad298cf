/* The sandbox's path policy (hardmax --sandbox, hardmax.sandbox{}): one process-wide list of
 * canonical directory roots, readable or writable, and the one check every file operation
 * of hardmax goes through once the sandbox is on. Roots are added, then the sandbox is
 * engaged; from then on it can be neither widened nor switched off. Pure C, no Lua. */
#ifndef HM_SANDBOX_H
#define HM_SANDBOX_H

#include <stddef.h>
#include "hm_status.h"

#define HM_SANDBOX_READ 1
#define HM_SANDBOX_WRITE 2

/* Add a root (a directory or a file; it must exist) for access HM_SANDBOX_READ or
 * HM_SANDBOX_READ | HM_SANDBOX_WRITE. The root is canonicalised (realpath). HM_EARG once
 * engaged, HM_EIO when the path cannot be resolved (message in err). */
hm_status hm_sandbox_allow(const char *path, int access, char *err, size_t errlen);

/* Switch the sandbox on (irreversible). */
void hm_sandbox_engage(void);
int hm_sandbox_on(void);

/* Number of roots and the i-th one (0-based; its access in *access), for listings. */
size_t hm_sandbox_nroots(void);
const char *hm_sandbox_root(size_t i, int *access);

/* 1 when the sandbox is off or `path` (made absolute, symlinks and .. resolved; for a path
 * that does not exist yet, its deepest existing ancestor) lies below a root with `access`;
 * 0 otherwise, with the reason in err ("'/etc/passwd' is outside the allowed paths"). */
int hm_sandbox_permits(const char *path, int access, char *err, size_t errlen);

/* The canonical form used by hm_sandbox_permits: 0 and the path in out, or -1 and a reason
 * in err (exposed for the tests of the resolution itself). */
int hm_sandbox_resolve(const char *path, char *out, size_t outlen, char *err, size_t errlen);

#endif
