/* Entry points of the Jupyter kernel: both hand over to lua/hardmax/kernel.lua with the
 * transport module preloaded. Errors are reported like the host's (message and traceback on
 * stderr, status 1). */
#include <stdlib.h>

#include "kernel.h"
#include "lauxlib.h"
#include "repl.h"

static void preload_wire(lua_State *L) {
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, hm_kernel_open_wire);
  lua_setfield(L, -2, "hardmax.kernel_wire");
  lua_pop(L, 1);
}

/* require("hardmax.kernel")[fn](args...) with the host's error reporting; the result is the
 * exit status (an integer, or 0). */
static int call_kernel(lua_State *L, const char *fn, int argc, char **argv) {
  preload_wire(L);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "hardmax.kernel");
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) return hm_host_report(L, LUA_ERRRUN), EXIT_FAILURE;
  lua_getfield(L, -1, fn);
  lua_remove(L, -2);
  for (int i = 0; i < argc; i++) lua_pushstring(L, argv[i]);
  /* not hm_host_docall: between cells SIGINT must not interrupt the serving loop (each cell
   * runs under hm_host_docall itself) */
  if (lua_pcall(L, argc, 1, 0) != LUA_OK) {
    hm_host_report(L, LUA_ERRRUN);
    return EXIT_FAILURE;
  }
  int status = lua_isinteger(L, -1) ? (int)lua_tointeger(L, -1) : EXIT_SUCCESS;
  lua_pop(L, 1);
  return status;
}

int hm_kernel_open(lua_State *L, const char *connection_file) {
  char *argv[] = {(char *)connection_file};
  return call_kernel(L, "open", 1, argv);
}

int hm_kernel_serve(lua_State *L) { return call_kernel(L, "serve", 0, NULL); }

int hm_kernel_install(lua_State *L, int argc, char **argv) {
  return call_kernel(L, "install", argc, argv);
}
