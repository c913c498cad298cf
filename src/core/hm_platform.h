/* The numeric platform: which BLAS kernel and which libm variant compute the results, and
 * pinning both so that one script and seed give bit-identical numbers on every x86-64 CPU.
 *
 * OpenBLAS (DYNAMIC_ARCH) picks its kernel from the CPU when the library loads, and glibc's
 * libm picks FMA or SSE2 variants of exp/log/sin/pow/... by IFUNC at relocation time: both
 * round differently on different CPUs. Only the process environment controls them before
 * they are chosen (OPENBLAS_CORETYPE, GLIBC_TUNABLES), so portable mode sets both and
 * re-executes the process. See docs/host.md, "Portable numerics". */
#ifndef HM_PLATFORM_H
#define HM_PLATFORM_H

/* The kernel every x86-64 CPU with SSE3 runs, and the glibc hardware-capability mask that
 * sends libm to its SSE2 variants (the FMA/AVX2 ones are the only ones that round
 * differently; AVX variants are the SSE2 code VEX-encoded). */
#define HM_PORTABLE_BLAS_CORE "Prescott"
#define HM_PORTABLE_TUNABLES "glibc.cpu.hwcaps=-AVX2,-FMA,-FMA4"
/* Set in the environment of the re-executed process: a second attempt never loops. */
#define HM_PINNED_ENV "HARDMAX_PINNED"

typedef enum { HM_MODE_NATIVE = 0, HM_MODE_PORTABLE = 1 } hm_numeric_mode;

/* Mode asked for by HARDMAX_MODE ("portable" / "native"); `fallback` when unset or empty.
 * Returns -1 for any other value. */
int hm_platform_requested_mode(hm_numeric_mode fallback);

/* True when this process already runs pinned: the BLAS core is the portable one and libm
 * computes with its generic variants (checked by probing, not by reading variables). */
int hm_platform_is_pinned(void);

/* "generic" or "fma": the libm variant in use, found by evaluating exp and sin at inputs
 * where the two variants are known to round differently. */
const char *hm_platform_libm_variant(void);

/* The BLAS kernel OpenBLAS runs ("Prescott", "Haswell", ...). */
const char *hm_platform_blas_core(void);

/* Can this CPU run OpenBLAS's kernel `core` (a name openblas_get_corename reports)? Forcing
 * a kernel the CPU lacks the instructions for crashes with SIGILL, so hardmax verify asks
 * first. Unknown names: 0. */
int hm_platform_cpu_runs_core(const char *core);

/* glibc's version string ("2.36"). */
const char *hm_platform_glibc_version(void);

/* Puts the pinning variables into the environment (GLIBC_TUNABLES keeps other tunables)
 * and re-executes `path` (argv as given; NULL path = /proc/self/exe). Returns only on
 * failure, with a reason in msg; 0 when re-execution was not attempted because an earlier
 * attempt in this process tree already failed to pin (HARDMAX_PINNED set). */
int hm_platform_reexec_pinned(const char *path, char *const argv[], char *msg, int msglen);

/* Native mode in a process that inherited our pinning (HARDMAX_PINNED set, e.g. a child of
 * a portable run): removes the pinning variables and re-executes. Returns 0 without doing
 * anything when the pinning is not ours; -1 on failure (reason in msg). */
int hm_platform_reexec_unpinned(const char *path, char *const argv[], char *msg, int msglen);

/* The argument vector of this process from /proc/self/cmdline (for re-executing a host
 * that is not ours, e.g. stock lua5.4 loading hardmax.so). malloc'ed; NULL on failure.
 * Free with hm_platform_free_argv. */
char **hm_platform_self_argv(void);
void hm_platform_free_argv(char **argv);

#endif
