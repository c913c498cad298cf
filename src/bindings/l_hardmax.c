/* The hardmax umbrella module: module registry (package.preload), config(), threads(),
 * seed(). Shared by the host and by hardmax.so. */
#include <cblas.h>
#include <stdio.h>
#include <string.h>

#include "hm_embedded.h"
#include "hm_lcomplete.h"
#include "hm_lsandbox.h"
#include "hm_lsys.h"
#include "hm_lua.h"
#include "hm_platform.h"
#include "lualib.h"

/* C modules, in the order they become globals. */
static const luaL_Reg c_modules[] = {
  {"mat", luaopen_hardmax_mat},     {"rng", luaopen_hardmax_rng},
  {"data", luaopen_hardmax_data},   {"loss", luaopen_hardmax_loss},
  {"model", luaopen_hardmax_model}, {"optim", luaopen_hardmax_optim},
  {"svm", luaopen_hardmax_svm},     {"sys", luaopen_hardmax_sys},
  {"ad", luaopen_hardmax_ad},
  {NULL, NULL}};

/* Lua-side modules that become globals in the host (others are require-only). */
static const char *const lua_globals[] = {"plot", "exp", NULL};

static int load_embedded(lua_State *L) {
  const hm_embedded_module *e = (const hm_embedded_module *)lua_touserdata(L, lua_upvalueindex(1));
  if (luaL_loadbuffer(L, e->source, e->len, e->chunkname) != LUA_OK) return lua_error(L);
  lua_pushvalue(L, 1); /* module name */
  int nargs = 1;
  if (strcmp(e->name, "hardmax.plot") == 0) { /* its gnuplot runner, never a public function */
    lua_pushcfunction(L, hmL_run_gnuplot);
    nargs = 2;
  }
  lua_call(L, nargs, 1);
  return 1;
}

static int hm_config(lua_State *L) {
  lua_createtable(L, 0, 12);
  lua_pushstring(L, HM_VERSION);
  lua_setfield(L, -2, "version");
  lua_pushstring(L, HM_GIT_COMMIT);
  lua_setfield(L, -2, "git_commit");
  lua_pushstring(L, LUA_RELEASE);
  lua_setfield(L, -2, "lua");
  lua_pushstring(L, openblas_get_config());
  lua_setfield(L, -2, "openblas");
  lua_pushstring(L, openblas_get_corename());
  lua_setfield(L, -2, "openblas_core");
  lua_pushinteger(L, openblas_get_num_threads());
  lua_setfield(L, -2, "threads");
  /* the mode is what runs, not what was asked for: pinned kernel and libm, or not */
  lua_pushstring(L, hm_platform_is_pinned() ? "portable" : "native");
  lua_setfield(L, -2, "mode");
  lua_pushstring(L, hm_platform_libm_variant());
  lua_setfield(L, -2, "libm");
  lua_pushstring(L, hm_platform_glibc_version());
  lua_setfield(L, -2, "glibc");
  /* the GLIBC_TUNABLES value that selects the generic libm (what verify re-creates) */
  lua_pushstring(L, HM_PORTABLE_TUNABLES);
  lua_setfield(L, -2, "generic_libm_tunables");
  lua_getfield(L, LUA_REGISTRYINDEX, "hardmax.seed");
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    lua_pushinteger(L, 0);
  }
  lua_setfield(L, -2, "seed");
  return 1;
}

static int hm_threads(lua_State *L) {
  if (!lua_isnoneornil(L, 1)) {
    lua_Integer n = hmL_checkint(L, 1, "hardmax.threads");
    if (n < 1 || n > 1024)
      hmL_argerror(L, "hardmax.threads", 1, "thread count in [1, 1024] expected, got %I", n);
    openblas_set_num_threads((int)n);
  }
  lua_pushinteger(L, openblas_get_num_threads());
  return 1;
}

/* hardmax.seed() -> the master seed (--seed N in the host, 0 otherwise). */
static int hm_seed(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, "hardmax.seed");
  if (lua_isnil(L, -1)) lua_pushinteger(L, 0);
  return 1;
}

/* hardmax.cpu_runs_core(name) -> can this CPU run OpenBLAS's kernel `name`? */
static int hm_cpu_runs_core(lua_State *L) {
  if (lua_type(L, 1) != LUA_TSTRING)
    hmL_argerror(L, "hardmax.cpu_runs_core", 1, "kernel name expected, got %s", luaL_typename(L, 1));
  lua_pushboolean(L, hm_platform_cpu_runs_core(lua_tostring(L, 1)));
  return 1;
}

static const luaL_Reg hm_funcs[] = {
  {"config", hm_config}, {"threads", hm_threads}, {"seed", hm_seed},
  {"cpu_runs_core", hm_cpu_runs_core},
  {"complete", hmL_complete}, {"sandbox", hmL_sandbox_lua}, {"sandboxed", hmL_sandboxed},
  {NULL, NULL}};

static void set_preloads(lua_State *L) {
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  for (const luaL_Reg *m = c_modules; m->name; m++) {
    lua_pushfstring(L, "hardmax.%s", m->name);
    lua_pushcfunction(L, m->func);
    lua_settable(L, -3);
  }
  /* internal C helpers of the Lua-side modules: require-able, never globals */
  lua_pushcfunction(L, luaopen_hardmax_jsonc);
  lua_setfield(L, -2, "hardmax.jsonc");
  for (const hm_embedded_module *e = hm_embedded_lua; e->name; e++) {
    lua_pushlightuserdata(L, (void *)e);
    lua_pushcclosure(L, load_embedded, 1);
    lua_setfield(L, -2, e->name);
  }
  lua_pop(L, 1);
}

/* HARDMAX_MODE=portable asks for portable numerics (hm_platform.h) from stock Lua too. The
 * kernels were chosen when this process started, so the interpreter is re-executed with the
 * same command line and the pinning environment: whatever ran before the first
 * require "hardmax" runs again (docs/host.md). Unset or native: nothing changes. The host
 * settles the mode itself before any Lua runs (registry "hardmax.host"). */
static void ensure_requested_mode(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, "hardmax.host");
  int host = lua_toboolean(L, -1);
  lua_pop(L, 1);
  if (host || hm_sandbox_on()) return; /* no re-execution from inside the sandbox */
  int mode = hm_platform_requested_mode(HM_MODE_NATIVE);
  if (mode < 0) luaL_error(L, "hardmax: HARDMAX_MODE: 'portable' or 'native' expected");
  if (hm_platform_is_pinned()) {
    /* portable also means the host's thread count: BLAS-internal sums split by thread
     * (hardmax.threads(n) changes it, and manifests record it) */
    openblas_set_num_threads(1);
    return;
  }
  if (mode != HM_MODE_PORTABLE) return;
  char msg[512];
  char **argv = hm_platform_self_argv();
  if (!argv) luaL_error(L, "hardmax: HARDMAX_MODE=portable: cannot read /proc/self/cmdline");
  fflush(NULL);
  hm_platform_reexec_pinned(NULL, argv, msg, (int)sizeof msg);
  hm_platform_free_argv(argv);
  luaL_error(L, "hardmax: HARDMAX_MODE=portable: %s", msg);
}

int luaopen_hardmax(lua_State *L) {
  ensure_requested_mode(L);
  set_preloads(L);
  luaL_newlib(L, hm_funcs);
  /* hardmax.mat etc. (loaded through require so each module is a singleton) */
  for (const luaL_Reg *m = c_modules; m->name; m++) {
    lua_getglobal(L, "require");
    lua_pushfstring(L, "hardmax.%s", m->name);
    lua_call(L, 1, 1);
    lua_setfield(L, -2, m->name);
  }
  /* hardmax.printoptions is mat's (printing is the only global display state) */
  lua_getfield(L, -1, "mat");
  lua_getfield(L, -1, "printoptions");
  lua_setfield(L, -3, "printoptions");
  lua_pop(L, 1);
  hmL_sandbox_apply(L); /* a state opened while the sandbox is on gets it too */
  return 1;
}

void hmL_openlibs(lua_State *L, int globals) {
  luaL_requiref(L, "hardmax", luaopen_hardmax, globals);
  if (globals) {
    for (const luaL_Reg *m = c_modules; m->name; m++) {
      lua_getfield(L, -1, m->name);
      lua_setglobal(L, m->name);
    }
    for (const char *const *g = lua_globals; *g; g++) {
      int found = 0;
      for (const hm_embedded_module *e = hm_embedded_lua; e->name; e++)
        if (strcmp(e->name + 8, *g) == 0) found = 1;
      if (!found) continue;
      lua_getglobal(L, "require");
      lua_pushfstring(L, "hardmax.%s", *g);
      lua_call(L, 1, 1);
      lua_setglobal(L, *g);
    }
  }
  lua_pop(L, 1);
}
