/* The sandbox in a Lua state: the checks the bindings call before touching a file, the
 * wrapped standard library, and hardmax.sandbox{} / hardmax.sandboxed(). The path policy is
 * process-wide (src/core/hm_sandbox.c); the wrappers are per state, and luaopen_hardmax
 * applies them to every state opened after the sandbox went on. See docs/host.md. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "hm_lsandbox.h"
#include "hm_lua.h"
#include "lualib.h"

#define SANDBOXED_KEY "hardmax.sandboxed_state"

void hmL_sandbox_check(lua_State *L, const char *fn, const char *path, int access) {
  char why[PATH_MAX + 256];
  if (!hm_sandbox_permits(path, access, why, sizeof why)) {
    lua_pushfstring(L, "sandbox: %s: %s", fn, why); /* no position: as hardmax's own errors */
    lua_error(L);
  }
}

void hmL_sandbox_refuse(lua_State *L, const char *what) {
  if (hm_sandbox_on()) {
    lua_pushfstring(L, "sandbox: %s is disabled", what);
    lua_error(L);
  }
}

/* Call the original function (upvalue 1) with the current arguments. */
static int forward(lua_State *L) {
  int n = lua_gettop(L);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, n, LUA_MULTRET);
  return lua_gettop(L);
}

static int sb_disabled(lua_State *L) {
  lua_pushfstring(L, "sandbox: %s is disabled", lua_tostring(L, lua_upvalueindex(1)));
  return lua_error(L);
}

static int sb_io_open(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  const char *mode = luaL_optstring(L, 2, "r");
  hmL_sandbox_check(L, "io.open", path, strpbrk(mode, "wa+") ? HM_SANDBOX_WRITE : HM_SANDBOX_READ);
  return forward(L);
}

static int sb_io_lines(lua_State *L) {
  if (!lua_isnoneornil(L, 1)) hmL_sandbox_check(L, "io.lines", luaL_checkstring(L, 1), HM_SANDBOX_READ);
  return forward(L);
}

static int sb_io_input(lua_State *L) {
  if (lua_type(L, 1) == LUA_TSTRING) hmL_sandbox_check(L, "io.input", lua_tostring(L, 1), HM_SANDBOX_READ);
  return forward(L);
}

static int sb_io_output(lua_State *L) {
  if (lua_type(L, 1) == LUA_TSTRING) hmL_sandbox_check(L, "io.output", lua_tostring(L, 1), HM_SANDBOX_WRITE);
  return forward(L);
}

static int sb_os_remove(lua_State *L) {
  hmL_sandbox_check(L, "os.remove", luaL_checkstring(L, 1), HM_SANDBOX_WRITE);
  return forward(L);
}

static int sb_os_rename(lua_State *L) {
  hmL_sandbox_check(L, "os.rename", luaL_checkstring(L, 1), HM_SANDBOX_WRITE);
  hmL_sandbox_check(L, "os.rename", luaL_checkstring(L, 2), HM_SANDBOX_WRITE);
  return forward(L);
}

/* Text chunks only: a crafted binary chunk can break the Lua VM's memory safety. */
static void force_text_mode(lua_State *L, int idx, const char *fn) {
  if (lua_gettop(L) >= idx) {
    const char *mode = luaL_optstring(L, idx, "bt");
    if (strchr(mode, 'b') && !strchr(mode, 't')) {
      lua_pushfstring(L, "sandbox: %s: binary chunks are disabled", fn);
      lua_error(L);
    }
    lua_pushliteral(L, "t");
    lua_replace(L, idx);
  } else {
    lua_settop(L, idx - 1);
    lua_pushliteral(L, "t");
  }
}

static int sb_load(lua_State *L) {
  force_text_mode(L, 3, "load");
  return forward(L);
}

static int sb_loadfile(lua_State *L) {
  if (!lua_isnoneornil(L, 1)) hmL_sandbox_check(L, "loadfile", luaL_checkstring(L, 1), HM_SANDBOX_READ);
  force_text_mode(L, 2, "loadfile");
  return forward(L);
}

static int sb_dofile(lua_State *L) {
  const char *path = luaL_optstring(L, 1, NULL);
  if (path) hmL_sandbox_check(L, "dofile", path, HM_SANDBOX_READ);
  lua_settop(L, 1);
  if (luaL_loadfilex(L, path, "t") != LUA_OK) return lua_error(L);
  lua_call(L, 0, LUA_MULTRET);
  return lua_gettop(L) - 1;
}

/* package.searchpath without probing files the policy does not let the script read (so it
 * is no oracle for what exists elsewhere). */
static int search(lua_State *L, const char *name, const char *path, const char *sep,
                  const char *rep) {
  luaL_Buffer msg;
  luaL_buffinit(L, &msg);
  if (*sep != '\0' && strchr(name, *sep) != NULL) name = luaL_gsub(L, name, sep, rep);
  int nameidx = lua_gettop(L);
  (void)nameidx;
  const char *p = path;
  while (*p) {
    while (*p == ';') p++;
    if (!*p) break;
    const char *e = strchr(p, ';');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    lua_pushlstring(L, p, len);
    const char *filename = luaL_gsub(L, lua_tostring(L, -1), LUA_PATH_MARK, name);
    lua_remove(L, -2);
    if (hm_sandbox_permits(filename, HM_SANDBOX_READ, NULL, 0)) {
      FILE *f = fopen(filename, "r");
      if (f) {
        fclose(f);
        return 1; /* filename on top */
      }
    }
    lua_pushfstring(L, "\n\tno file '%s'", filename);
    lua_remove(L, -2);
    luaL_addvalue(&msg);
    p += len;
  }
  luaL_pushresult(&msg);
  return 0; /* message on top */
}

static int sb_searchpath(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  const char *path = luaL_checkstring(L, 2);
  const char *sep = luaL_optstring(L, 3, ".");
  const char *rep = luaL_optstring(L, 4, LUA_DIRSEP);
  if (search(L, name, path, sep, rep)) return 1;
  lua_pushnil(L);
  lua_insert(L, -2);
  return 2;
}

/* The Lua-file searcher (upvalue 1: the package table). */
static int sb_searcher_lua(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  lua_getfield(L, lua_upvalueindex(1), "path");
  const char *path = lua_tostring(L, -1);
  if (!path) return luaL_error(L, "'package.path' must be a string");
  if (!search(L, name, path, ".", LUA_DIRSEP)) return 1; /* the "no file" message */
  const char *filename = lua_tostring(L, -1);
  if (luaL_loadfilex(L, filename, "t") != LUA_OK)
    return luaL_error(L, "error loading module '%s' from file '%s':\n\t%s", name, filename,
                      lua_tostring(L, -1));
  lua_pushstring(L, filename);
  return 2;
}

static void wrap(lua_State *L, int table, const char *field, lua_CFunction f) {
  lua_getfield(L, table, field);
  lua_pushcclosure(L, f, 1);
  lua_setfield(L, table, field);
}

static void disable(lua_State *L, int table, const char *field, const char *what) {
  lua_pushstring(L, what);
  lua_pushcclosure(L, sb_disabled, 1);
  lua_setfield(L, table, field);
}

void hmL_sandbox_apply(lua_State *L) {
  if (!hm_sandbox_on()) return;
  if (lua_getfield(L, LUA_REGISTRYINDEX, SANDBOXED_KEY) == LUA_TBOOLEAN) {
    lua_pop(L, 1);
    return;
  }
  lua_pop(L, 1);
  lua_pushboolean(L, 1);
  lua_setfield(L, LUA_REGISTRYINDEX, SANDBOXED_KEY);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  int loaded = lua_gettop(L);
  if (lua_getfield(L, loaded, LUA_IOLIBNAME) == LUA_TTABLE) {
    int t = lua_gettop(L);
    wrap(L, t, "open", sb_io_open);
    wrap(L, t, "lines", sb_io_lines);
    wrap(L, t, "input", sb_io_input);
    wrap(L, t, "output", sb_io_output);
    disable(L, t, "popen", "io.popen");
  }
  lua_pop(L, 1);
  if (lua_getfield(L, loaded, LUA_OSLIBNAME) == LUA_TTABLE) {
    int t = lua_gettop(L);
    wrap(L, t, "remove", sb_os_remove);
    wrap(L, t, "rename", sb_os_rename);
    disable(L, t, "execute", "os.execute");
    disable(L, t, "tmpname", "os.tmpname");
  }
  lua_pop(L, 1);
  if (lua_getfield(L, loaded, LUA_LOADLIBNAME) == LUA_TTABLE) {
    int t = lua_gettop(L);
    disable(L, t, "loadlib", "package.loadlib");
    lua_pushliteral(L, "");
    lua_setfield(L, t, "cpath");
    lua_pushcfunction(L, sb_searchpath);
    lua_setfield(L, t, "searchpath");
    lua_createtable(L, 2, 0); /* searchers: preload, then Lua files through the policy */
    lua_getfield(L, t, "searchers");
    if (lua_istable(L, -1)) lua_rawgeti(L, -1, 1);
    else lua_pushnil(L);
    lua_rawseti(L, -3, 1);
    lua_pop(L, 1);
    lua_pushvalue(L, t);
    lua_pushcclosure(L, sb_searcher_lua, 1);
    lua_rawseti(L, -2, 2);
    lua_setfield(L, t, "searchers");
  }
  lua_pop(L, 1);
  /* debug keeps traceback only (it reads the stack; getinfo, getlocal, upvalues, hooks and
   * metatables of any value would let a script reach into hardmax's own functions) */
  lua_createtable(L, 0, 1);
  if (lua_getfield(L, loaded, LUA_DBLIBNAME) == LUA_TTABLE) lua_getfield(L, -1, "traceback");
  else lua_pushnil(L);
  lua_setfield(L, -3, "traceback");
  lua_pop(L, 1);
  lua_pushvalue(L, -1);
  lua_setfield(L, loaded, LUA_DBLIBNAME);
  lua_setglobal(L, LUA_DBLIBNAME);
  lua_pop(L, 1);
  lua_pushglobaltable(L);
  int g = lua_gettop(L);
  wrap(L, g, "load", sb_load);
  wrap(L, g, "loadfile", sb_loadfile);
  lua_pushcfunction(L, sb_dofile);
  lua_setfield(L, g, "dofile");
  lua_pop(L, 1);
}

static void allow_list(lua_State *L, int opts, const char *key, int access) {
  if (lua_getfield(L, opts, key) == LUA_TNIL) {
    lua_pop(L, 1);
    return;
  }
  if (!lua_istable(L, -1)) hmL_error(L, "hardmax.sandbox", "option '%s': array of paths expected", key);
  lua_Integer n = luaL_len(L, -1);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_geti(L, -1, i);
    const char *p = lua_tostring(L, -1);
    if (lua_type(L, -1) != LUA_TSTRING) hmL_error(L, "hardmax.sandbox", "option '%s'[%I]: path expected", key, i);
    char err[PATH_MAX + 128];
    if (hm_sandbox_allow(p, access, err, sizeof err) != HM_OK)
      hmL_error(L, "hardmax.sandbox", "option '%s': %s", key, err);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}

/* hardmax.sandbox{read = {paths}, write = {paths}}: switch the sandbox on for the rest of
 * the process (write directories are created; every path must resolve). */
int hmL_sandbox_lua(lua_State *L) {
  static const char *const keys[] = {"read", "write", NULL};
  const char *fn = "hardmax.sandbox";
  if (hm_sandbox_on()) hmL_error(L, fn, "the sandbox is already on (it can be neither widened nor switched off)");
  luaL_checktype(L, 1, LUA_TTABLE);
  hmL_checkoptions(L, 1, fn, keys);
  allow_list(L, 1, "write", HM_SANDBOX_READ | HM_SANDBOX_WRITE);
  allow_list(L, 1, "read", HM_SANDBOX_READ);
  hm_sandbox_engage();
  hmL_sandbox_apply(L);
  return 0;
}

/* hardmax.sandboxed() -> nil, or {read = {roots}, write = {roots}} (canonical paths). */
int hmL_sandboxed(lua_State *L) {
  if (!hm_sandbox_on()) {
    lua_pushnil(L);
    return 1;
  }
  lua_createtable(L, 0, 2);
  lua_newtable(L);
  lua_newtable(L);
  for (size_t i = 0; i < hm_sandbox_nroots(); i++) {
    int access;
    const char *p = hm_sandbox_root(i, &access);
    int t = lua_absindex(L, (access & HM_SANDBOX_WRITE) ? -1 : -2);
    lua_Integer n = luaL_len(L, t);
    lua_pushstring(L, p);
    lua_rawseti(L, t, n + 1);
  }
  lua_setfield(L, -3, "write");
  lua_setfield(L, -2, "read");
  return 1;
}
