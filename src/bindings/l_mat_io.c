/* hardmax.mat — .npy and .npz load/save (through the core's hm_npy and hm_npz). */
#include <stdlib.h>
#include <string.h>

#include "hm_lmat.h"
#include "hm_lsandbox.h"
#include "hm_lnpz.h"
#include "hm_npy.h"

#define NPZ_HANDLE "hardmax.npz_reader"

static const char *check_path(lua_State *L, int arg, const char *fn) {
  if (lua_type(L, arg) != LUA_TSTRING)
    hmL_argerror(L, fn, arg, "path string expected, got %s", luaL_typename(L, arg));
  return lua_tostring(L, arg);
}

static int mat_save_npy(lua_State *L) {
  const char *fn = "mat.save_npy";
  const char *path = check_path(L, 1, fn);
  hm_mat *m = hmL_checkmat(L, 2, fn);
  hmL_sandbox_check(L, fn, path, HM_SANDBOX_WRITE);
  char err[512];
  if (hm_npy_save(path, m, err, sizeof err) != HM_OK) hmL_error(L, fn, "%s", err);
  return 0;
}

/* I/O errors already name the file ("cannot open 'x': ..."); format errors do not. */
static void load_error(lua_State *L, const char *fn, const char *path, const char *err) {
  if (strncmp(err, "cannot ", 7) == 0) hmL_error(L, fn, "%s", err);
  hmL_error(L, fn, "'%s': %s", path, err);
}

static int mat_load_npy(lua_State *L) {
  const char *fn = "mat.load_npy";
  const char *path = check_path(L, 1, fn);
  hmL_sandbox_check(L, fn, path, HM_SANDBOX_READ);
  char err[512];
  hm_npy_header h;
  if (hm_npy_read_header(path, &h, err, sizeof err) != HM_OK) load_error(L, fn, path, err);
  hm_mat *m = hmL_newmat(L, h.rank, h.dim, fn);
  if (hm_npy_read_data(path, &h, m->data, err, sizeof err) != HM_OK)
    load_error(L, fn, path, err);
  return 1;
}

/* ---- .npz ------------------------------------------------------------------------------ */

typedef struct npz_box {
  hm_npz *z;
} npz_box;

static int npz_box_gc(lua_State *L) {
  npz_box *b = (npz_box *)luaL_checkudata(L, 1, NPZ_HANDLE);
  hm_npz_close(b->z);
  b->z = NULL;
  return 0;
}

hm_npz *hmL_npz_open(lua_State *L, const char *path, const char *fn) {
  hmL_sandbox_check(L, fn, path, HM_SANDBOX_READ);
  npz_box *b = (npz_box *)lua_newuserdatauv(L, sizeof *b, 0);
  b->z = NULL;
  if (luaL_newmetatable(L, NPZ_HANDLE)) {
    lua_pushcfunction(L, npz_box_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  char err[512];
  if (hm_npz_open(path, &b->z, err, sizeof err) != HM_OK) load_error(L, fn, path, err);
  return b->z;
}

void hmL_npz_close(lua_State *L, int idx) {
  npz_box *b = (npz_box *)luaL_checkudata(L, idx, NPZ_HANDLE);
  hm_npz_close(b->z);
  b->z = NULL;
}

hm_mat *hmL_npz_pushmember(lua_State *L, hm_npz *z, size_t i, const char *path,
                           const char *fn) {
  char err[512];
  hm_npy_header h;
  if (hm_npz_header(z, i, &h, err, sizeof err) != HM_OK) load_error(L, fn, path, err);
  hm_mat *m = hmL_newmat(L, h.rank, h.dim, fn);
  if (hm_npz_read(z, i, &h, m->data, err, sizeof err) != HM_OK) load_error(L, fn, path, err);
  return m;
}

void hmL_npz_save(lua_State *L, const char *path, const hm_npz_item *items, size_t n,
                  int compress, const char *fn) {
  hmL_sandbox_check(L, fn, path, HM_SANDBOX_WRITE);
  char err[512];
  if (hm_npz_save(path, items, n, compress ? HM_NPZ_DEFLATE : 0, err, sizeof err) != HM_OK)
    hmL_error(L, fn, "%s", err);
}

int hmL_is_npz_path(const char *path) {
  size_t n = strlen(path);
  return n >= 4 && strcmp(path + n - 4, ".npz") == 0;
}

static int mat_load_npz(lua_State *L) {
  const char *fn = "mat.load_npz";
  const char *path = check_path(L, 1, fn);
  lua_settop(L, 1);
  hm_npz *z = hmL_npz_open(L, path, fn); /* 2 */
  lua_newtable(L);                        /* 3: arrays */
  lua_newtable(L);                        /* 4: names of the other members */
  lua_Integer skipped = 0;
  for (size_t i = 0; i < hm_npz_count(z); i++) {
    const char *name = hm_npz_name(z, i);
    if (!hm_npz_is_npy(z, i)) {
      lua_pushstring(L, name);
      lua_rawseti(L, 4, ++skipped);
      continue;
    }
    lua_pushlstring(L, name, strlen(name) - 4);
    hmL_npz_pushmember(L, z, i, path, fn);
    lua_rawset(L, 3);
  }
  hmL_npz_close(L, 2);
  return 2;
}

static int mat_save_npz(lua_State *L) {
  const char *fn = "mat.save_npz";
  static const char *const opts[] = {"compress", NULL};
  const char *path = check_path(L, 1, fn);
  if (!lua_istable(L, 2))
    hmL_argerror(L, fn, 2, "table of name = mat expected, got %s", luaL_typename(L, 2));
  hmL_checkoptions(L, 3, fn, opts);
  int compress = hmL_optboolean(L, 3, "compress", 0, fn);
  size_t n = 0;
  lua_pushnil(L);
  while (lua_next(L, 2)) {
    lua_pop(L, 1);
    n++;
  }
  hm_npz_item *items =
      (hm_npz_item *)lua_newuserdatauv(L, (n ? n : 1) * sizeof(hm_npz_item), 0);
  size_t k = 0;
  lua_pushnil(L);
  while (lua_next(L, 2)) {
    if (lua_type(L, -2) != LUA_TSTRING) {
      if (lua_type(L, -2) == LUA_TNUMBER) {
        lua_pushvalue(L, -2); /* convert a copy, not the key */
        hmL_argerror(L, fn, 2, "array names must be strings, got number %s",
                     lua_tostring(L, -1));
      }
      hmL_argerror(L, fn, 2, "array names must be strings, got %s", luaL_typename(L, -2));
    }
    size_t len;
    const char *name = lua_tolstring(L, -2, &len);
    if (len == 0) hmL_argerror(L, fn, 2, "array names must be non-empty");
    if (strlen(name) != len)
      hmL_argerror(L, fn, 2, "array name '%s...' contains a NUL byte", name);
    hm_lmat *u = (hm_lmat *)luaL_testudata(L, -1, HM_MAT_TNAME);
    if (!u)
      hmL_argerror(L, fn, 2, "entry '%s': mat expected, got %s", name, luaL_typename(L, -1));
    if (u->closed) hmL_argerror(L, fn, 2, "entry '%s': mat was closed", name);
    items[k].name = name;
    items[k].m = &u->m;
    k++;
    lua_pop(L, 1);
  }
  hmL_npz_save(L, path, items, k, compress, fn);
  return 0;
}

const luaL_Reg hmL_mat_io_funcs[] = {{"save_npy", mat_save_npy}, {"load_npy", mat_load_npy},
                                     {"save_npz", mat_save_npz}, {"load_npz", mat_load_npz},
                                     {NULL, NULL}};
