#include "hm_lua.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int hmL_error(lua_State *L, const char *fn, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  lua_pushfstring(L, "%s: ", fn);
  lua_pushvfstring(L, fmt, ap);
  va_end(ap);
  lua_concat(L, 2);
  return lua_error(L);
}

int hmL_argerror(lua_State *L, const char *fn, int arg, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  lua_pushfstring(L, "%s: bad argument #%d (", fn, arg);
  lua_pushvfstring(L, fmt, ap);
  lua_pushliteral(L, ")");
  va_end(ap);
  lua_concat(L, 3);
  return lua_error(L);
}

void hmL_check(lua_State *L, const char *fn, hm_status s) {
  if (s != HM_OK) hmL_error(L, fn, "%s", hm_status_message(s));
}

const char *hmL_shapestr(const hm_mat *m, char *buf) {
  int off = 0;
  for (int k = 0; k < m->rank; k++)
    off += snprintf(buf + off, (size_t)(80 - off), k ? "x%zu" : "%zu", m->dim[k]);
  return buf;
}

hm_mat *hmL_testmat(lua_State *L, int arg) {
  hm_lmat *u = (hm_lmat *)luaL_testudata(L, arg, HM_MAT_TNAME);
  return u ? &u->m : NULL;
}

hm_mat *hmL_checkmat(lua_State *L, int arg, const char *fn) {
  hm_lmat *u = (hm_lmat *)luaL_testudata(L, arg, HM_MAT_TNAME);
  if (!u) hmL_argerror(L, fn, arg, "mat expected, got %s", luaL_typename(L, arg));
  if (u->closed) hmL_argerror(L, fn, arg, "mat was closed");
  return &u->m;
}

hm_mat *hmL_checkmatrank(lua_State *L, int arg, const char *fn, int rank) {
  hm_mat *m = hmL_checkmat(L, arg, fn);
  if (m->rank != rank) {
    char b[80];
    hmL_argerror(L, fn, arg, "rank-%d mat expected, got shape %s", rank, hmL_shapestr(m, b));
  }
  return m;
}

static int alloc_protected(lua_State *L) {
  const size_t *bytes = (const size_t *)lua_touserdata(L, 1);
  lua_newuserdatauv(L, *bytes, (int)lua_tointeger(L, 2));
  return 1;
}

void *hmL_newuserdata(lua_State *L, size_t bytes, int nuvalue, const char *fn) {
  /* small blocks: the direct call (a failure there is Lua's own, rare, memory error) */
  if (bytes < ((size_t)1 << 24)) return lua_newuserdatauv(L, bytes, nuvalue);
  lua_pushcfunction(L, alloc_protected);
  lua_pushlightuserdata(L, &bytes);
  lua_pushinteger(L, nuvalue);
  int rc = lua_pcall(L, 2, 1, 0);
  if (rc == LUA_OK) return lua_touserdata(L, -1);
  if (rc != LUA_ERRMEM) lua_error(L);
  lua_pop(L, 1);
  double b = (double)bytes;
  const char *unit = "bytes";
  const char *units[] = {"kB", "MB", "GB", "TB", "PB", "EB"};
  for (int k = 0; k < 6 && b >= 1000; k++) b /= 1000, unit = units[k];
  char size[32];
  snprintf(size, sizeof size, "%.3g %s", b, unit); /* lua_pushfstring has no %g */
  return (void *)(size_t)hmL_error(L, fn, "not enough memory for %s", size);
}

hm_mat *hmL_newmat(lua_State *L, int rank, const size_t *dim, const char *fn) {
  size_t n;
  hm_status s = hm_shape_size(rank, dim, &n);
  if (s != HM_OK) hmL_error(L, fn, "array of that shape is too large");
  size_t header = (sizeof(hm_lmat) + 15) & ~(size_t)15;
  if (n > ((size_t)-1 - header) / sizeof(double)) hmL_error(L, fn, "array of that shape is too large");
  hm_lmat *u = (hm_lmat *)hmL_newuserdata(L, header + n * sizeof(double), 1, fn);
  double *data = (double *)(void *)((char *)u + header);
  hm_mat_init(&u->m, rank, dim, data);
  u->is_view = 0;
  u->closed = 0;
  if (n) memset(data, 0, n * sizeof(double));
  luaL_setmetatable(L, HM_MAT_TNAME);
  return &u->m;
}

hm_mat *hmL_newvec(lua_State *L, size_t n, const char *fn) {
  size_t d[1] = {n};
  return hmL_newmat(L, 1, d, fn);
}

hm_mat *hmL_newmat2(lua_State *L, size_t rows, size_t cols, const char *fn) {
  size_t d[2] = {rows, cols};
  return hmL_newmat(L, 2, d, fn);
}

hm_mat *hmL_newmat3(lua_State *L, size_t a, size_t b, size_t c, const char *fn) {
  size_t d[3] = {a, b, c};
  return hmL_newmat(L, 3, d, fn);
}

hm_mat *hmL_pushcopy(lua_State *L, const hm_mat *src, const char *fn) {
  hm_mat *m = hmL_newmat(L, src->rank, src->dim, fn);
  if (src->size) memcpy(m->data, src->data, src->size * sizeof(double));
  return m;
}

hm_mat *hmL_pushview(lua_State *L, int parent, int rank, const size_t *dim, double *data) {
  parent = lua_absindex(L, parent);
  hm_lmat *u = (hm_lmat *)lua_newuserdatauv(L, sizeof(hm_lmat), 1);
  hm_mat_init(&u->m, rank, dim, data);
  u->is_view = 1;
  u->closed = 0;
  luaL_setmetatable(L, HM_MAT_TNAME);
  lua_pushvalue(L, parent);
  lua_setiuservalue(L, -2, 1);
  return &u->m;
}

lua_Integer hmL_checkint(lua_State *L, int arg, const char *fn) {
  int isnum;
  lua_Integer v = lua_tointegerx(L, arg, &isnum);
  if (!isnum) {
    if (lua_isnumber(L, arg))
      hmL_argerror(L, fn, arg, "integer expected, got non-integral number %s",
                   lua_tostring(L, arg));
    hmL_argerror(L, fn, arg, "integer expected, got %s", luaL_typename(L, arg));
  }
  return v;
}

size_t hmL_checksize(lua_State *L, int arg, const char *fn) {
  lua_Integer v = hmL_checkint(L, arg, fn);
  if (v < 0) hmL_argerror(L, fn, arg, "non-negative size expected, got %I", v);
  return (size_t)v;
}

size_t hmL_checkindex(lua_State *L, int arg, size_t n, const char *fn) {
  lua_Integer v = hmL_checkint(L, arg, fn);
  if (v < 1 || (lua_Unsigned)v > (lua_Unsigned)n)
    hmL_argerror(L, fn, arg, "index out of range: %I not in [1, %I]", v, (lua_Integer)n);
  return (size_t)(v - 1);
}

double hmL_checkfinite(lua_State *L, int arg, const char *fn) {
  if (!lua_isnumber(L, arg))
    hmL_argerror(L, fn, arg, "number expected, got %s", luaL_typename(L, arg));
  double x = (double)lua_tonumber(L, arg);
  if (!isfinite(x)) hmL_argerror(L, fn, arg, "finite number expected, got %f", x);
  return x;
}

void hmL_checkoptions(lua_State *L, int idx, const char *fn, const char *const *allowed) {
  if (lua_isnoneornil(L, idx)) return;
  if (!lua_istable(L, idx))
    hmL_argerror(L, fn, idx, "options table expected, got %s", luaL_typename(L, idx));
  idx = lua_absindex(L, idx);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    int ok = 0;
    if (lua_type(L, -1) == LUA_TSTRING) {
      const char *k = lua_tostring(L, -1);
      for (const char *const *a = allowed; a && *a; a++)
        if (strcmp(*a, k) == 0) { ok = 1; break; }
    }
    if (!ok) {
      luaL_Buffer b;
      const char *key = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1)
                                                        : luaL_typename(L, -1);
      luaL_buffinit(L, &b);
      for (const char *const *a = allowed; a && *a; a++) {
        if (a != allowed) luaL_addstring(&b, ", ");
        luaL_addstring(&b, *a);
      }
      luaL_pushresult(&b);
      hmL_error(L, fn, "unknown option '%s' (valid options: %s)", key, lua_tostring(L, -1));
    }
  }
}

int hmL_optfield(lua_State *L, int idx, const char *key) {
  if (lua_isnoneornil(L, idx)) {
    lua_pushnil(L);
    return LUA_TNIL;
  }
  return lua_getfield(L, idx, key);
}

double hmL_optnumber(lua_State *L, int idx, const char *key, double def, const char *fn) {
  int t = hmL_optfield(L, idx, key);
  double v = def;
  if (t != LUA_TNIL) {
    if (!lua_isnumber(L, -1))
      hmL_error(L, fn, "option '%s': number expected, got %s", key, luaL_typename(L, -1));
    v = (double)lua_tonumber(L, -1);
    if (isnan(v)) hmL_error(L, fn, "option '%s': number expected, got nan", key);
  }
  lua_pop(L, 1);
  return v;
}

lua_Integer hmL_optinteger(lua_State *L, int idx, const char *key, lua_Integer def,
                           const char *fn) {
  int t = hmL_optfield(L, idx, key);
  lua_Integer v = def;
  if (t != LUA_TNIL) {
    int isnum;
    v = lua_tointegerx(L, -1, &isnum);
    if (!isnum)
      hmL_error(L, fn, "option '%s': integer expected, got %s", key,
                lua_isnumber(L, -1) ? lua_tostring(L, -1) : luaL_typename(L, -1));
  }
  lua_pop(L, 1);
  return v;
}

int hmL_optboolean(lua_State *L, int idx, const char *key, int def, const char *fn) {
  int t = hmL_optfield(L, idx, key);
  int v = def;
  if (t != LUA_TNIL) {
    if (t != LUA_TBOOLEAN)
      hmL_error(L, fn, "option '%s': boolean expected, got %s", key, luaL_typename(L, -1));
    v = lua_toboolean(L, -1);
  }
  lua_pop(L, 1);
  return v;
}

const char *hmL_optstring(lua_State *L, int idx, const char *key, const char *def,
                          const char *fn) {
  int t = hmL_optfield(L, idx, key);
  const char *v = def;
  if (t != LUA_TNIL) {
    if (t != LUA_TSTRING)
      hmL_error(L, fn, "option '%s': string expected, got %s", key, luaL_typename(L, -1));
    v = lua_tostring(L, -1); /* anchored in the options table */
  }
  lua_pop(L, 1);
  return v;
}

void hmL_newtype(lua_State *L, const char *tname, const luaL_Reg *meta,
                 const luaL_Reg *methods) {
  luaL_newmetatable(L, tname);
  if (meta) luaL_setfuncs(L, meta, 0);
  if (methods) {
    lua_getfield(L, -1, "__index");
    if (lua_isnil(L, -1)) {
      lua_pop(L, 1);
      lua_newtable(L);
      lua_pushvalue(L, -1);
      lua_setfield(L, -3, "__index");
    }
    luaL_setfuncs(L, methods, 0);
    lua_pop(L, 1);
  }
  lua_pushstring(L, tname);
  lua_setfield(L, -2, "__name");
  lua_pop(L, 1);
}
