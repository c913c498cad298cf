/* hm_platform: the libm probe agrees with the environment that selects the variant, the
 * pinned state is exactly (Prescott core, generic libm), the requested mode parses, and
 * /proc/self/cmdline is read back as this process's argv. The re-executions themselves are
 * tested end to end by tests/spec/portable_spec.lua. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hm_platform.h"
#include "hm_test.h"

int main(int argc, char **argv) {
  const char *libm = hm_platform_libm_variant();
  CHECK(strcmp(libm, "generic") == 0 || strcmp(libm, "fma") == 0);
  /* the probe is the same on every call (IFUNCs are bound once) */
  CHECK(strcmp(libm, hm_platform_libm_variant()) == 0);
  /* glibc's mask sends libm to the SSE2 variants: the probe must see it */
  const char *tun = getenv("GLIBC_TUNABLES");
  if (tun && strstr(tun, HM_PORTABLE_TUNABLES)) CHECK(strcmp(libm, "generic") == 0);
  CHECK(hm_platform_is_pinned() ==
        (strcasecmp(hm_platform_blas_core(), HM_PORTABLE_BLAS_CORE) == 0 && strcmp(libm, "generic") == 0));
  CHECK(hm_platform_glibc_version()[0] >= '2');

  unsetenv("HARDMAX_MODE");
  CHECK(hm_platform_requested_mode(HM_MODE_PORTABLE) == HM_MODE_PORTABLE);
  CHECK(hm_platform_requested_mode(HM_MODE_NATIVE) == HM_MODE_NATIVE);
  setenv("HARDMAX_MODE", "", 1);
  CHECK(hm_platform_requested_mode(HM_MODE_NATIVE) == HM_MODE_NATIVE);
  setenv("HARDMAX_MODE", "portable", 1);
  CHECK(hm_platform_requested_mode(HM_MODE_NATIVE) == HM_MODE_PORTABLE);
  setenv("HARDMAX_MODE", "native", 1);
  CHECK(hm_platform_requested_mode(HM_MODE_PORTABLE) == HM_MODE_NATIVE);
  setenv("HARDMAX_MODE", "Portable", 1);
  CHECK(hm_platform_requested_mode(HM_MODE_PORTABLE) == -1);

  /* without HARDMAX_PINNED, leaving pinning is a no-op that returns 0 */
  unsetenv(HM_PINNED_ENV);
  char msg[256] = "";
  CHECK(hm_platform_reexec_unpinned(NULL, argv, msg, (int)sizeof msg) == 0);
  /* with it set, pinning again refuses (no loop) and says why */
  setenv(HM_PINNED_ENV, "1", 1);
  if (!hm_platform_is_pinned()) {
    CHECK(hm_platform_reexec_pinned(NULL, argv, msg, (int)sizeof msg) == 0);
    CHECK(strstr(msg, "already re-executed") != NULL);
  }
  unsetenv(HM_PINNED_ENV);

  char **self = hm_platform_self_argv();
  CHECK(self != NULL);
  if (self) {
    int n = 0;
    while (self[n]) n++;
    CHECK(n == argc);
    for (int i = 0; i < n && i < argc; i++) CHECK(strcmp(self[i], argv[i]) == 0);
    hm_platform_free_argv(self);
  }
  return hm_test_report("platform");
}
