/* hardmax — the host: a lua(1) 5.4 compatible stand-alone interpreter with the hardmax modules
 * preloaded as globals.
 *
 * The command-line handling follows the stock lua.c of Lua 5.4.4 option by option (-e, -l,
 * -l g=mod, -i, -v, -E, -W, --, -, LUA_INIT_5_4 / LUA_INIT incl. @file, the `arg` table, script
 * arguments as `...`, tracebacks on stderr, exit status 1, stdin executed as a chunk when it
 * is not a terminal). hardmax adds long options, accepted anywhere before the script:
 *   --seed N      master seed (registry "hardmax.seed"; hardmax.seed(), rng.default())
 *   --threads N   OpenBLAS threads (default 1)
 *   --portable    pin the BLAS kernel and libm variant (the default), --native: do not
 *   --version     hardmax, Lua and OpenBLAS versions, then exit 0
 *   --help        usage on stdout, then exit 0
 *   --sandbox, --allow-read PATH, --allow-write PATH   run an untrusted script (docs/host.md)
 *   --kernel F    serve a Jupyter connection file (src/kernel.c, docs/jupyter.md)
 * and three subcommands, `hardmax merge ...` and `hardmax verify ...`, forwarded to
 * require("hardmax.exp").cli(subcommand, args...), and `hardmax --install-kernel ...`, which
 * writes the Jupyter kernelspec. See docs/host.md. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cblas.h>

#include "hm_interrupt.h"
#include "hm_lsandbox.h"
#include "hm_platform.h"
#include "hm_lua.h"
#include "kernel.h"
#include "lualib.h"
#include "repl.h"

#define LUA_INIT_VAR "LUA_INIT"
#define LUA_INITVARVERSION LUA_INIT_VAR LUA_VERSUFFIX

static const char *progname = "hardmax";

/* ---------------------------------------------------------------------------------------
 * Messages and calls
 * --------------------------------------------------------------------------------------- */

static void l_message(const char *pname, const char *msg) {
  if (pname) fprintf(stderr, "%s: ", pname);
  fprintf(stderr, "%s\n", msg);
  fflush(stderr);
}

/* Print the error message on top of the stack (if status is an error) and pop it. */
static int report(lua_State *L, int status) {
  if (status != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    if (msg == NULL) msg = "(error object is not a string)";
    l_message(progname, msg);
    lua_pop(L, 1);
  }
  return status;
}

int hm_host_report(lua_State *L, int status) {
  const char *saved = progname;
  progname = NULL; /* no program name on errors in interactive mode, as lua.c */
  report(L, status);
  progname = saved;
  return status;
}

/* Message handler: add a traceback; non-string errors use __tostring or their type. */
static int msghandler(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
    msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}

/* ---------------------------------------------------------------------------------------
 * SIGINT: as lua.c, the first Ctrl-C during a call installs a hook that raises
 * "interrupted!" at the next Lua event; in addition it raises the hardmax interrupt flag so
 * long C loops (which run no Lua code) stop too. A second Ctrl-C before the first is
 * served terminates the process (default action).
 * --------------------------------------------------------------------------------------- */

static lua_State *globalL = NULL;
static volatile sig_atomic_t hook_armed = 0;

static void setsignal(int sig, void (*handler)(int), struct sigaction *old) {
  struct sigaction sa;
  sa.sa_handler = handler;
  sa.sa_flags = 0;
  sigemptyset(&sa.sa_mask);
  sigaction(sig, &sa, old);
}

static void lstop(lua_State *L, lua_Debug *ar) {
  (void)ar;
  lua_sethook(L, NULL, 0, 0);
  hook_armed = 0;
  hm_interrupt_clear(); /* the error below unwinds whatever polled loop was running */
  luaL_error(L, "interrupted!");
}

static void laction(int i) {
  int flag = LUA_MASKCALL | LUA_MASKRET | LUA_MASKLINE | LUA_MASKCOUNT;
  setsignal(i, SIG_DFL, NULL); /* if another SIGINT happens, terminate the process */
  hm_interrupt_raise();
  hook_armed = 1;
  lua_sethook(globalL, lstop, flag, 1);
}

int hm_host_docall(lua_State *L, int narg, int nres) {
  int base = lua_gettop(L) - narg;
  lua_pushcfunction(L, msghandler);
  lua_insert(L, base);
  globalL = L;
  hm_interrupt_clear();
  struct sigaction outside; /* SIG_DFL, or the REPL's prompt handler */
  setsignal(SIGINT, laction, &outside);
  int status = lua_pcall(L, narg, nres, base);
  sigaction(SIGINT, &outside, NULL);
  /* An interrupt served by a C loop (which raised its own error) leaves the hook armed and
   * the flag set: disarm both so the next call starts clean. */
  if (hook_armed) {
    if (lua_gethook(L) == lstop) lua_sethook(L, NULL, 0, 0);
    hook_armed = 0;
  }
  hm_interrupt_clear();
  lua_remove(L, base);
  return status;
}

/* ---------------------------------------------------------------------------------------
 * Usage and versions
 * --------------------------------------------------------------------------------------- */

static void print_usage_text(FILE *f) {
  fprintf(f,
          "usage: %s [options] [script [args]]\n"
          "       %s merge|verify [args]   (experiment harness, see hardmax.exp)\n"
          "       %s --install-kernel [--user|--prefix DIR|--sys-prefix] [--name N]\n"
          "Available options are:\n"
          "  -e stat      execute string 'stat'\n"
          "  -i           enter interactive mode after executing 'script'\n"
          "  -l mod       require library 'mod' into global 'mod'\n"
          "  -l g=mod     require library 'mod' into global 'g'\n"
          "  -v           show version information\n"
          "  -E           ignore environment variables\n"
          "  -W           turn warnings on\n"
          "  --seed N     master random seed (integer; default 0)\n"
          "  --threads N  OpenBLAS threads (default 1)\n"
          "  --portable   bit-identical results on every x86-64 CPU (default; HARDMAX_MODE)\n"
          "  --native     the CPU's own BLAS kernel and libm variants (faster on large BLAS work)\n"
          "  --kernel F   run as a Jupyter kernel on connection file F\n"
          "  --version    show hardmax, Lua and OpenBLAS versions and exit\n"
          "  --help       show this help and exit\n"
          "  --sandbox    run an untrusted script: no processes, files only below its --out\n"
          "               (default ./out; reads also from its folder), see docs/host.md\n"
          "  --allow-read PATH, --allow-write PATH   widen the sandbox (implies --sandbox)\n"
          "  --           stop handling options\n"
          "  -            stop handling options and execute stdin\n",
          progname, progname, progname);
  fflush(f);
}

/* Long options that take a value ("--name value" or "--name=value"). */
static int option_takes_value(const char *arg) {
  static const char *const with_value[] = {"--seed", "--threads", "--allow-read", "--allow-write",
                                           "--kernel", NULL};
  for (const char *const *o = with_value; *o; o++)
    if (strcmp(arg, *o) == 0) return 1;
  return 0;
}

static void print_usage(const char *badoption) {
  fprintf(stderr, "%s: ", progname);
  if ((badoption[1] == 'e' || badoption[1] == 'l') && badoption[2] == '\0')
    fprintf(stderr, "'%s' needs argument\n", badoption);
  else if (option_takes_value(badoption))
    fprintf(stderr, "'%s' needs argument\n", badoption);
  else
    fprintf(stderr, "unrecognized option '%s'\n", badoption);
  print_usage_text(stderr);
}

static void print_version(void) {
  printf("%s\n", LUA_COPYRIGHT);
  fflush(stdout);
}

/* --version: needs hardmax.config() (versions live in the bindings). */
static int print_full_version(lua_State *L) {
  lua_getglobal(L, "hardmax");
  lua_getfield(L, -1, "config");
  lua_call(L, 0, 1);
  lua_getfield(L, -1, "version");
  lua_getfield(L, -2, "git_commit");
  lua_getfield(L, -3, "openblas");
  lua_getfield(L, -4, "openblas_core");
  lua_getfield(L, -5, "threads");
  printf("hardmax %s (git %s)\n%s\n%s (core %s, %d thread%s)\n", lua_tostring(L, -5),
         lua_tostring(L, -4), LUA_COPYRIGHT, lua_tostring(L, -3), lua_tostring(L, -2),
         (int)lua_tointeger(L, -1), lua_tointeger(L, -1) == 1 ? "" : "s");
  fflush(stdout);
  lua_pop(L, 7);
  return 0;
}

/* ---------------------------------------------------------------------------------------
 * Chunks, libraries, scripts
 * --------------------------------------------------------------------------------------- */

static void createargtable(lua_State *L, char **argv, int argc, int script) {
  if (script == argc) script = 0; /* no script name? */
  int narg = argc - (script + 1);
  lua_createtable(L, narg > 0 ? narg : 0, script + 1);
  for (int i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - script);
  }
  lua_setglobal(L, "arg");
}

static int dochunk(lua_State *L, int status) {
  if (status == LUA_OK) status = hm_host_docall(L, 0, 0);
  return report(L, status);
}

static int dofile(lua_State *L, const char *name) { return dochunk(L, luaL_loadfile(L, name)); }

static int dostring(lua_State *L, const char *s, const char *name) {
  return dochunk(L, luaL_loadbuffer(L, s, strlen(s), name));
}

/* 'globname[=modname]': globname = require(modname). */
static int dolibrary(lua_State *L, char *globname) {
  char *modname = strchr(globname, '=');
  if (modname == NULL)
    modname = globname;
  else {
    *modname = '\0';
    modname++;
  }
  lua_getglobal(L, "require");
  lua_pushstring(L, modname);
  int status = hm_host_docall(L, 1, 1);
  if (status == LUA_OK) lua_setglobal(L, globname);
  return report(L, status);
}

static int pushargs(lua_State *L) {
  if (lua_getglobal(L, "arg") != LUA_TTABLE) luaL_error(L, "'arg' is not a table");
  int n = (int)luaL_len(L, -1);
  luaL_checkstack(L, n + 3, "too many arguments to script");
  int i;
  for (i = 1; i <= n; i++) lua_rawgeti(L, -i, i);
  lua_remove(L, -i);
  return n;
}

/* package.path = dir/?.lua;dir/?/init.lua;<old path> for the script's directory. */
static void prepend_script_dir(lua_State *L, const char *fname) {
  const char *slash = strrchr(fname, '/');
  lua_getglobal(L, "package");
  if (!lua_istable(L, -1)) {
    lua_pop(L, 1);
    return;
  }
  if (slash == NULL)
    lua_pushliteral(L, ".");
  else if (slash == fname)
    lua_pushliteral(L, "");
  else
    lua_pushlstring(L, fname, (size_t)(slash - fname));
  const char *dir = lua_tostring(L, -1);
  lua_getfield(L, -2, "path");
  const char *old = lua_tostring(L, -1);
  lua_pushfstring(L, "%s/?.lua;%s/?/init.lua;%s", dir, dir, old ? old : "");
  lua_setfield(L, -4, "path");
  lua_pop(L, 3);
}

static int handle_script(lua_State *L, char **argv) {
  const char *fname = argv[0];
  if (strcmp(fname, "-") == 0 && strcmp(argv[-1], "--") != 0) fname = NULL; /* stdin */
  if (fname) prepend_script_dir(L, fname);
  int status = luaL_loadfile(L, fname);
  if (status == LUA_OK) {
    int n = pushargs(L);
    status = hm_host_docall(L, n, LUA_MULTRET);
  }
  return report(L, status);
}

/* ---------------------------------------------------------------------------------------
 * Options
 * --------------------------------------------------------------------------------------- */

#define has_error 1 /* bad option */
#define has_i 2     /* -i */
#define has_v 4     /* -v */
#define has_e 8     /* -e */
#define has_E 16    /* -E */
#define has_version 32
#define has_help 64

#define MAX_ALLOW 32

typedef struct hostopts {
  const char *seed;    /* --seed value, or NULL */
  const char *threads; /* --threads value, or NULL */
  int mode;            /* --portable / --native (hm_numeric_mode), or -1 */
  int sandbox;         /* --sandbox (or an --allow-* option) */
  int nallow;
  const char *allow[MAX_ALLOW]; /* --allow-read / --allow-write paths, in order */
  int allow_write[MAX_ALLOW];
  const char *kernel;  /* --kernel connection file, or NULL */
} hostopts;

static void hostopts_init(hostopts *ho) {
  memset(ho, 0, sizeof *ho);
  ho->mode = -1;
}

/* Long option at argv[i] ("--name" or "--name=value"); returns the number of extra argv
 * entries it consumes (0 or 1), or -1 if it is not a valid long option. */
static int long_option(char **argv, int i, int *args, hostopts *ho) {
  const char *a = argv[i] + 2;
  const char *eq = strchr(a, '=');
  size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
  const char **slot = NULL;
  if (nlen == 4 && strncmp(a, "seed", 4) == 0)
    slot = &ho->seed;
  else if (!eq && strcmp(a, "sandbox") == 0) {
    ho->sandbox = 1;
    return 0;
  } else if ((nlen == 10 && strncmp(a, "allow-read", 10) == 0) ||
             (nlen == 11 && strncmp(a, "allow-write", 11) == 0)) {
    if (ho->nallow == MAX_ALLOW) return -1;
    ho->sandbox = 1;
    ho->allow_write[ho->nallow] = nlen == 11;
    slot = &ho->allow[ho->nallow++];
  }
  else if (nlen == 7 && strncmp(a, "threads", 7) == 0)
    slot = &ho->threads;
  else if (nlen == 6 && strncmp(a, "kernel", 6) == 0)
    slot = &ho->kernel;
  else if (!eq && strcmp(a, "version") == 0) {
    *args |= has_version;
    return 0;
  } else if (!eq && strcmp(a, "help") == 0) {
    *args |= has_help;
    return 0;
  } else if (!eq && (strcmp(a, "portable") == 0 || strcmp(a, "native") == 0)) {
    ho->mode = a[0] == 'p' ? HM_MODE_PORTABLE : HM_MODE_NATIVE;
    return 0;
  } else
    return -1;
  if (eq) {
    *slot = eq + 1;
    return 0;
  }
  if (argv[i + 1] == NULL) return -1;
  *slot = argv[i + 1];
  return 1;
}

/* Traverse the options (as lua.c's collectargs) and return the flags; *first is the index
 * of the script (or of the bad option on error, or argc when there is no script). */
static int collectargs(char **argv, int *first, hostopts *ho) {
  int args = 0;
  int i;
  for (i = 1; argv[i] != NULL; i++) {
    *first = i;
    if (argv[i][0] != '-') return args; /* not an option: the script */
    switch (argv[i][1]) {
      case '-': /* '--' or a long option */
        if (argv[i][2] == '\0') {
          *first = i + 1;
          return args;
        } else {
          int k = long_option(argv, i, &args, ho);
          if (k < 0) return has_error;
          i += k;
        }
        break;
      case '\0': /* '-': script "name" is '-' */
        return args;
      case 'E':
        if (argv[i][2] != '\0') return has_error;
        args |= has_E;
        break;
      case 'W':
        if (argv[i][2] != '\0') return has_error;
        break;
      case 'i':
        args |= has_i; /* (-i implies -v) */
        /* FALLTHROUGH */
      case 'v':
        if (argv[i][2] != '\0') return has_error;
        args |= has_v;
        break;
      case 'e':
        args |= has_e;
        /* FALLTHROUGH */
      case 'l': /* both options need an argument */
        if (argv[i][2] == '\0') {
          i++;
          if (argv[i] == NULL || argv[i][0] == '-') return has_error;
        }
        break;
      default:
        return has_error;
    }
  }
  *first = i; /* no script name */
  return args;
}

/* Run -e, -l and -W in order; long options were handled before. Returns 0 on failure. */
static int runargs(lua_State *L, char **argv, int n) {
  for (int i = 1; i < n; i++) {
    int option = argv[i][1];
    switch (option) {
      case 'e':
      case 'l': {
        char *extra = argv[i] + 2;
        if (*extra == '\0') extra = argv[++i];
        int status = option == 'e' ? dostring(L, extra, "=(command line)") : dolibrary(L, extra);
        if (status != LUA_OK) return 0;
        break;
      }
      case 'W':
        lua_warning(L, "@on", 0);
        break;
      case '-':
        if (argv[i][2] != '\0' && !strchr(argv[i], '=') && option_takes_value(argv[i]))
          i++; /* skip the option's value */
        break;
      default:
        break;
    }
  }
  return 1;
}

static int handle_luainit(lua_State *L) {
  const char *name = "=" LUA_INITVARVERSION;
  const char *init = getenv(name + 1);
  if (init == NULL) {
    name = "=" LUA_INIT_VAR;
    init = getenv(name + 1);
  }
  if (init == NULL) return LUA_OK;
  if (init[0] == '@') return dofile(L, init + 1);
  return dostring(L, init, name);
}

/* Parse an integer option value the way Lua reads integer literals (decimal or hex). */
static int parse_integer(lua_State *L, const char *s, lua_Integer *out) {
  int ok = 0;
  if (lua_stringtonumber(L, s) != 0) {
    if (lua_isinteger(L, -1)) {
      *out = lua_tointeger(L, -1);
      ok = 1;
    }
    lua_pop(L, 1);
  }
  return ok;
}

static void mark_host(lua_State *L) {
  lua_pushboolean(L, 1); /* the host settled the numeric mode before starting (main) */
  lua_setfield(L, LUA_REGISTRYINDEX, "hardmax.host");
}

static int apply_hostopts(lua_State *L, const hostopts *ho) {
  lua_Integer seed = 0;
  if (ho->seed && !parse_integer(L, ho->seed, &seed)) {
    fprintf(stderr, "%s: --seed: integer expected, got '%s'\n", progname, ho->seed);
    return 0;
  }
  lua_pushinteger(L, seed);
  lua_setfield(L, LUA_REGISTRYINDEX, "hardmax.seed");
  lua_Integer threads = 1;
  if (ho->threads && (!parse_integer(L, ho->threads, &threads) || threads < 1 || threads > 1024)) {
    fprintf(stderr, "%s: --threads: integer in [1, 1024] expected, got '%s'\n", progname,
            ho->threads);
    return 0;
  }
  openblas_set_num_threads((int)threads);
  return 1;
}

/* ---------------------------------------------------------------------------------------
 * --sandbox: writes below the script's --out (default ./out), reads also from the script's
 * folder and --allow-read paths; then the policy is engaged and the state wrapped.
 * --------------------------------------------------------------------------------------- */

/* The value of the script's own --out option (the invoker typed it), or NULL. */
static const char *script_out(char **argv, int script, int argc) {
  for (int i = script + 1; i < argc; i++) {
    if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) return argv[i + 1];
    if (strncmp(argv[i], "--out=", 6) == 0) return argv[i] + 6;
  }
  return NULL;
}

static int sandbox_fail(const char *what, const char *msg) {
  fprintf(stderr, "%s: --sandbox: %s%s%s\n", progname, what, *what ? ": " : "", msg);
  return 0;
}

static int start_sandbox(lua_State *L, const hostopts *ho, char **argv, int script, int argc) {
  char err[PATH_MAX + 128];
  const char *out = script < argc ? script_out(argv, script, argc) : NULL;
  if (!out) {
    struct stat st;
    out = "out";
    /* the default must not be a link planted next to the script to redirect the writes */
    if (lstat(out, &st) == 0 && S_ISLNK(st.st_mode))
      return sandbox_fail("", "./out is a symbolic link; name the output directory with --out DIR");
  }
  if (hm_sandbox_allow(out, HM_SANDBOX_READ | HM_SANDBOX_WRITE, err, sizeof err) != HM_OK)
    return sandbox_fail("--out", err);
  for (int k = 0; k < ho->nallow; k++) {
    int access = HM_SANDBOX_READ | (ho->allow_write[k] ? HM_SANDBOX_WRITE : 0);
    if (hm_sandbox_allow(ho->allow[k], access, err, sizeof err) != HM_OK)
      return sandbox_fail(ho->allow_write[k] ? "--allow-write" : "--allow-read", err);
  }
  if (script < argc && strcmp(argv[script], "-") != 0) {
    const char *fname = argv[script];
    const char *slash = strrchr(fname, '/');
    char dir[PATH_MAX];
    if (!slash) strcpy(dir, ".");
    else snprintf(dir, sizeof dir, "%.*s", slash == fname ? 1 : (int)(slash - fname), fname);
    if (hm_sandbox_allow(dir, HM_SANDBOX_READ, err, sizeof err) != HM_OK)
      return sandbox_fail("script folder", err);
  }
  hm_sandbox_engage();
  hmL_sandbox_apply(L);
  return 1;
}

/* --sandbox --kernel: the sandbox of a script with no script folder (cells write below ./out,
 * the notebook's folder, and the --allow-* paths), plus what the kernel itself needs: its
 * figure folder (read and write) and hardmax's docs (read, for inspection). The connection
 * file and the sockets were opened before (hm_kernel_open), so the policy covers cells only. */
static int kernel_sandbox(lua_State *L, const hostopts *ho, char **argv, int argc) {
  char err[PATH_MAX + 128];
  const char *figures = hm_kernel_figure_dir();
  if (!figures || hm_sandbox_allow(figures, HM_SANDBOX_READ | HM_SANDBOX_WRITE, err, sizeof err) != HM_OK)
    return sandbox_fail("kernel figure folder", figures ? err : "missing");
  struct stat st;
  if (stat(HM_SOURCE_DIR "/docs", &st) == 0) /* absent in an installed copy: inspection says less */
    hm_sandbox_allow(HM_SOURCE_DIR "/docs", HM_SANDBOX_READ, err, sizeof err);
  return start_sandbox(L, ho, argv, argc, argc);
}

/* ---------------------------------------------------------------------------------------
 * Subcommands: hardmax merge|verify args...  ->  require("hardmax.exp").cli(sub, args...)
 * --------------------------------------------------------------------------------------- */

static int is_subcommand(char **argv) {
  struct stat st;
  if (argv[0] == NULL || argv[1] == NULL) return 0;
  if (strcmp(argv[1], "merge") != 0 && strcmp(argv[1], "verify") != 0) return 0;
  return stat(argv[1], &st) != 0; /* an existing file of that name is a script */
}

static int run_subcommand(lua_State *L, int argc, char **argv, int *exitcode) {
  createargtable(L, argv, argc, 1);
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "preload");
  int found = lua_getfield(L, -1, "hardmax.exp") != LUA_TNIL;
  lua_pop(L, 3);
  if (!found) {
    l_message(progname, "subcommand needs hardmax.exp");
    *exitcode = EXIT_FAILURE;
    return 1;
  }
  lua_getglobal(L, "require");
  lua_pushliteral(L, "hardmax.exp");
  int status = hm_host_docall(L, 1, 1);
  if (status == LUA_OK) {
    lua_getfield(L, -1, "cli");
    lua_remove(L, -2);
    if (!lua_isfunction(L, -1)) {
      lua_pop(L, 1);
      l_message(progname, "subcommand needs hardmax.exp.cli");
      *exitcode = EXIT_FAILURE;
      return 1;
    }
    for (int i = 1; i < argc; i++) lua_pushstring(L, argv[i]);
    status = hm_host_docall(L, argc - 1, 1);
  }
  if (report(L, status) != LUA_OK) {
    *exitcode = EXIT_FAILURE;
    return 1;
  }
  /* result: integer -> exit status; false -> 1; anything else -> 0 */
  if (lua_isinteger(L, -1))
    *exitcode = (int)lua_tointeger(L, -1);
  else if (lua_isboolean(L, -1) && !lua_toboolean(L, -1))
    *exitcode = EXIT_FAILURE;
  else
    *exitcode = EXIT_SUCCESS;
  lua_pop(L, 1);
  return 1;
}

/* ---------------------------------------------------------------------------------------
 * Main
 * --------------------------------------------------------------------------------------- */

/* Protected main: returns true (on the stack) when everything ran, plus an exit code. */
static int pmain(lua_State *L) {
  int argc = (int)lua_tointeger(L, 1);
  char **argv = (char **)lua_touserdata(L, 2);
  int *exitcode = (int *)lua_touserdata(L, 3);
  hostopts ho;
  hostopts_init(&ho);
  int script = argc;
  luaL_checkversion(L);
  if (argv[0] && argv[0][0]) progname = argv[0];
  *exitcode = EXIT_FAILURE;
  mark_host(L);
  if (is_subcommand(argv)) {
    luaL_openlibs(L);
    openblas_set_num_threads(1);
    lua_pushinteger(L, 0);
    lua_setfield(L, LUA_REGISTRYINDEX, "hardmax.seed");
    hmL_openlibs(L, 1);
    run_subcommand(L, argc, argv, exitcode);
    return 0;
  }
  if (argc > 1 && strcmp(argv[1], "--install-kernel") == 0) {
    luaL_openlibs(L);
    hmL_openlibs(L, 1);
    *exitcode = hm_kernel_install(L, argc - 2, argv + 2);
    return 0;
  }
  int args = argc > 0 ? collectargs(argv, &script, &ho) : 0;
  if (args == has_error) {
    print_usage(argv[script]);
    return 0;
  }
  if (args & has_help) {
    print_usage_text(stdout);
    *exitcode = EXIT_SUCCESS;
    return 0;
  }
  if (!apply_hostopts(L, &ho)) return 0;
  if ((args & has_v) && !(args & has_version)) print_version();
  if (ho.sandbox) args |= has_E; /* no LUA_INIT, LUA_PATH, LUA_CPATH from the environment */
  if (args & has_E) {
    lua_pushboolean(L, 1); /* signal for libraries to ignore env. vars. */
    lua_setfield(L, LUA_REGISTRYINDEX, "LUA_NOENV");
  }
  luaL_openlibs(L);
  hmL_openlibs(L, 1);
  if (args & has_version) {
    print_full_version(L);
    *exitcode = EXIT_SUCCESS;
    return 0;
  }
  /* a kernel engages its sandbox after it has opened (kernel_sandbox below) */
  if (ho.sandbox && !ho.kernel && !start_sandbox(L, &ho, argv, script, argc)) return 0;
  createargtable(L, argv, argc, script);
  lua_gc(L, LUA_GCGEN, 0, 0);
  if (!(args & has_E) && handle_luainit(L) != LUA_OK) return 0;
  if (!runargs(L, argv, script)) return 0;
  if (ho.kernel) {
    if (script < argc) {
      l_message(progname, "--kernel takes no script");
      return 0;
    }
    *exitcode = hm_kernel_open(L, ho.kernel);
    if (*exitcode == EXIT_SUCCESS && ho.sandbox && !kernel_sandbox(L, &ho, argv, argc))
      *exitcode = EXIT_FAILURE;
    if (*exitcode == EXIT_SUCCESS) *exitcode = hm_kernel_serve(L);
    return 0;
  }
  if (script < argc && handle_script(L, argv + script) != LUA_OK) return 0;
  if (args & has_i)
    hm_repl(L);
  else if (script == argc && !(args & (has_e | has_v))) {
    if (isatty(0)) {
      print_version();
      hm_repl(L);
    } else if (dofile(L, NULL) != LUA_OK)
      return 0;
  }
  *exitcode = EXIT_SUCCESS;
  return 0;
}

/* Portable numerics (hm_platform.h) must be in place before OpenBLAS and libm choose their
 * kernels, i.e. before this process started: re-execute with the pinning environment. The
 * mode comes from --portable / --native, else HARDMAX_MODE, else portable. */
static void ensure_numeric_mode(char **argv, int optmode) {
  int mode = optmode >= 0 ? optmode : hm_platform_requested_mode(HM_MODE_PORTABLE);
  if (mode < 0) {
    l_message(argv[0], "HARDMAX_MODE: 'portable' or 'native' expected; running portable");
    mode = HM_MODE_PORTABLE;
  }
  char msg[512];
  if (mode == HM_MODE_NATIVE) {
    if (hm_platform_reexec_unpinned(NULL, argv, msg, (int)sizeof msg) != 0)
      fprintf(stderr, "%s: warning: cannot leave portable numerics (%s)\n",
              argv[0] ? argv[0] : progname, msg);
    return;
  }
  if (hm_platform_is_pinned()) return;
  hm_platform_reexec_pinned(NULL, argv, msg, (int)sizeof msg);
  fprintf(stderr, "%s: warning: portable numerics unavailable (%s); results are native\n",
          argv[0] ? argv[0] : progname, msg);
}

int main(int argc, char **argv) {
  int exitcode = EXIT_FAILURE;
  if (argc > 0 && !is_subcommand(argv)) {
    hostopts early;
    hostopts_init(&early);
    int first = argc;
    if (collectargs(argv, &first, &early) != has_error) ensure_numeric_mode(argv, early.mode);
  } else if (argc > 0) {
    ensure_numeric_mode(argv, -1);
  }
  lua_State *L = luaL_newstate();
  if (L == NULL) {
    l_message(argv[0], "cannot create state: not enough memory");
    return EXIT_FAILURE;
  }
  lua_gc(L, LUA_GCSTOP);
  lua_pushcfunction(L, pmain);
  lua_pushinteger(L, argc);
  lua_pushlightuserdata(L, argv);
  lua_pushlightuserdata(L, &exitcode);
  lua_gc(L, LUA_GCRESTART);
  int status = lua_pcall(L, 3, 0, 0);
  if (status != LUA_OK) {
    report(L, status);
    exitcode = EXIT_FAILURE;
  }
  lua_close(L);
  return exitcode;
}
