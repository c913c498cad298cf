/* hardmax host — minimal bootstrap version (the foundation issue replaces it with the full
 * lua(1)-compatible host and the libedit REPL). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include "hm_lua.h"
#include "lualib.h"

static int report(lua_State *L, int status) {
  if (status != LUA_OK) {
    fprintf(stderr, "hardmax: %s\n", lua_tostring(L, -1));
    lua_pop(L, 1);
  }
  return status;
}

static int msghandler(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  luaL_traceback(L, L, msg ? msg : "(error object is not a string)", 1);
  return 1;
}

static int docall(lua_State *L, int narg, int nres) {
  int base = lua_gettop(L) - narg;
  lua_pushcfunction(L, msghandler);
  lua_insert(L, base);
  int status = lua_pcall(L, narg, nres, base);
  lua_remove(L, base);
  return status;
}

int main(int argc, char **argv) {
  openblas_set_num_threads(1);
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  int i = 1;
  long long seed = 0;
  for (; i < argc; i++) {
    if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) seed = atoll(argv[++i]);
    else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) openblas_set_num_threads(atoi(argv[++i]));
    else break;
  }
  lua_pushinteger(L, seed);
  lua_setfield(L, LUA_REGISTRYINDEX, "hardmax.seed");
  hmL_openlibs(L, 1);
  int status = LUA_OK;
  for (; i < argc && status == LUA_OK; i++) {
    if (strcmp(argv[i], "-e") == 0 && i + 1 < argc) {
      status = luaL_loadstring(L, argv[++i]);
      if (status == LUA_OK) status = docall(L, 0, 0);
    } else {
      int script = i;
      lua_createtable(L, argc - script, script + 1);
      for (int k = 0; k < argc; k++) {
        lua_pushstring(L, argv[k]);
        lua_rawseti(L, -2, k - script);
      }
      lua_setglobal(L, "arg");
      status = luaL_loadfile(L, strcmp(argv[script], "-") == 0 ? NULL : argv[script]);
      if (status == LUA_OK) {
        for (int k = script + 1; k < argc; k++) lua_pushstring(L, argv[k]);
        status = docall(L, argc - script - 1, 0);
      }
      break;
    }
  }
  report(L, status);
  lua_close(L);
  return status == LUA_OK ? EXIT_SUCCESS : EXIT_FAILURE;
}
