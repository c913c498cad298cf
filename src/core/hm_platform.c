/* The numeric platform: BLAS kernel and libm variant, and pinning them (hm_platform.h). */
#include "hm_platform.h"

#include <cblas.h>
#include <errno.h>
#include <gnu/libc-version.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

int hm_platform_requested_mode(hm_numeric_mode fallback) {
  const char *m = getenv("HARDMAX_MODE");
  if (!m || !*m) return (int)fallback;
  if (strcmp(m, "portable") == 0) return HM_MODE_PORTABLE;
  if (strcmp(m, "native") == 0) return HM_MODE_NATIVE;
  return -1;
}

/* Inputs where glibc 2.36's FMA variants of exp and sin round to the other neighbour than the
 * SSE2 variants (found by comparing 3e6 random arguments under both; any FMA4 variant would
 * differ from the SSE2 result too, which is all this probe needs). volatile keeps the
 * compiler from folding the calls. */
const char *hm_platform_libm_variant(void) {
  volatile double xe = 0x1.a98cf681927fcp-1, xs = 0x1.6295a46a86139p+4;
  double e = exp(xe), s = sin(xs);
  return (e == 0x1.25e23526abf8cp+1 && s == -0x1.5b434d3a5af37p-3) ? "generic" : "fma";
}

const char *hm_platform_blas_core(void) { return openblas_get_corename(); }

int hm_platform_cpu_runs_core(const char *core) {
#if defined(__GNUC__) && defined(__x86_64__)
  __builtin_cpu_init();
  int avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
               __builtin_cpu_supports("avx512cd");
  int avx2fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (!core) return 0;
  if (!strcasecmp(core, "Prescott")) return __builtin_cpu_supports("sse3");
  if (!strcasecmp(core, "Core2") || !strcasecmp(core, "Atom")) return __builtin_cpu_supports("ssse3");
  if (!strcasecmp(core, "Penryn") || !strcasecmp(core, "Dunnington"))
    return __builtin_cpu_supports("sse4.1");
  if (!strcasecmp(core, "Nehalem")) return __builtin_cpu_supports("sse4.2");
  if (!strcasecmp(core, "Barcelona")) return __builtin_cpu_supports("sse4a");
  if (!strcasecmp(core, "Sandybridge")) return __builtin_cpu_supports("avx");
  if (!strcasecmp(core, "Bulldozer")) return __builtin_cpu_supports("avx") && __builtin_cpu_supports("fma4");
  if (!strcasecmp(core, "Piledriver") || !strcasecmp(core, "Steamroller"))
    return __builtin_cpu_supports("fma") && __builtin_cpu_supports("fma4");
  if (!strcasecmp(core, "Excavator")) return avx2fma && __builtin_cpu_supports("fma4");
  if (!strcasecmp(core, "Haswell") || !strcasecmp(core, "Zen")) return avx2fma;
  if (!strcasecmp(core, "SkylakeX")) return avx2fma && avx512;
  if (!strcasecmp(core, "Cooperlake")) return avx2fma && avx512 && __builtin_cpu_supports("avx512bf16");
#endif
  (void)core;
  return 0;
}

const char *hm_platform_glibc_version(void) { return gnu_get_libc_version(); }

int hm_platform_is_pinned(void) {
  return strcasecmp(hm_platform_blas_core(), HM_PORTABLE_BLAS_CORE) == 0 &&
         strcmp(hm_platform_libm_variant(), "generic") == 0;
}

/* GLIBC_TUNABLES is a colon-separated list; keep the user's other tunables, replace any
 * glibc.cpu.hwcaps entry by ours. */
static int set_tunables(void) {
  const char *old = getenv("GLIBC_TUNABLES");
  size_t cap = strlen(HM_PORTABLE_TUNABLES) + (old ? strlen(old) : 0) + 2;
  char *buf = malloc(cap), *copy = old ? strdup(old) : NULL;
  if (!buf || (old && !copy)) {
    free(buf);
    free(copy);
    return -1;
  }
  strcpy(buf, HM_PORTABLE_TUNABLES);
  if (copy) {
    char *save = NULL;
    for (char *t = strtok_r(copy, ":", &save); t; t = strtok_r(NULL, ":", &save)) {
      if (strncmp(t, "glibc.cpu.hwcaps=", 17) == 0 || !*t) continue;
      strcat(buf, ":");
      strcat(buf, t);
    }
  }
  int rc = setenv("GLIBC_TUNABLES", buf, 1);
  free(buf);
  free(copy);
  return rc;
}

/* execv, or the reason it failed in msg (-1) */
static int reexec(const char *path, char *const argv[], char *msg, int msglen) {
  const char *exe = path ? path : "/proc/self/exe";
  execv(exe, argv);
  snprintf(msg, (size_t)msglen, "cannot re-execute %s: %s", exe, strerror(errno));
  return -1;
}

static int env_failed(char *msg, int msglen) {
  snprintf(msg, (size_t)msglen, "cannot set the environment: %s", strerror(errno));
  return -1;
}

int hm_platform_reexec_pinned(const char *path, char *const argv[], char *msg, int msglen) {
  if (getenv(HM_PINNED_ENV)) {
    snprintf(msg, (size_t)msglen,
             "already re-executed with OPENBLAS_CORETYPE=%s and GLIBC_TUNABLES=%s, but the "
             "process still runs BLAS core %s with the %s libm",
             HM_PORTABLE_BLAS_CORE, HM_PORTABLE_TUNABLES, hm_platform_blas_core(),
             hm_platform_libm_variant());
    return 0;
  }
  if (setenv("OPENBLAS_CORETYPE", HM_PORTABLE_BLAS_CORE, 1) != 0 || set_tunables() != 0 ||
      setenv(HM_PINNED_ENV, "1", 1) != 0)
    return env_failed(msg, msglen);
  return reexec(path, argv, msg, msglen);
}

int hm_platform_reexec_unpinned(const char *path, char *const argv[], char *msg, int msglen) {
  if (!getenv(HM_PINNED_ENV)) return 0;
  /* the user's own other tunables were merged into ours; dropping them all is the price of
   * not recording them (a native run inside a portable one is rare: hardmax verify) */
  if (unsetenv("OPENBLAS_CORETYPE") != 0 || unsetenv("GLIBC_TUNABLES") != 0 ||
      unsetenv(HM_PINNED_ENV) != 0)
    return env_failed(msg, msglen);
  return reexec(path, argv, msg, msglen);
}

char **hm_platform_self_argv(void) {
  FILE *f = fopen("/proc/self/cmdline", "rb");
  if (!f) return NULL;
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap);
  while (buf) {
    size_t got = fread(buf + len, 1, cap - len, f);
    len += got;
    if (len < cap) break;
    char *nb = realloc(buf, cap *= 2);
    if (!nb) {
      free(buf);
      buf = NULL;
    } else {
      buf = nb;
    }
  }
  fclose(f);
  if (!buf || len == 0) {
    free(buf);
    return NULL;
  }
  size_t n = 0;
  for (size_t i = 0; i < len; i++) n += buf[i] == '\0';
  if (buf[len - 1] != '\0') n++; /* a last argument without its terminator */
  /* one block: the pointer array, then the strings */
  char **argv = malloc((n + 1) * sizeof(char *) + len + 1);
  if (!argv) {
    free(buf);
    return NULL;
  }
  char *strs = (char *)(argv + n + 1);
  memcpy(strs, buf, len);
  strs[len] = '\0';
  free(buf);
  size_t k = 0;
  for (size_t i = 0; i < len && k < n; k++) {
    argv[k] = strs + i;
    i += strlen(strs + i) + 1;
  }
  argv[k] = NULL;
  return argv;
}

void hm_platform_free_argv(char **argv) { free(argv); }
