/* hardmax.mat — .npy load/save (through the core's hm_npy). */
#include <string.h>

#include "hm_lmat.h"
#include "hm_npy.h"

static int mat_save_npy(lua_State *L) {
  const char *fn = "mat.save_npy";
  if (lua_type(L, 1) != LUA_TSTRING)
    hmL_argerror(L, fn, 1, "path string expected, got %s", luaL_typename(L, 1));
  const char *path = lua_tostring(L, 1);
  hm_mat *m = hmL_checkmat(L, 2, fn);
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
  if (lua_type(L, 1) != LUA_TSTRING)
    hmL_argerror(L, fn, 1, "path string expected, got %s", luaL_typename(L, 1));
  const char *path = lua_tostring(L, 1);
  char err[512];
  hm_npy_header h;
  if (hm_npy_read_header(path, &h, err, sizeof err) != HM_OK) load_error(L, fn, path, err);
  hm_mat *m = hmL_newmat(L, h.rank, h.dim, fn);
  if (hm_npy_read_data(path, &h, m->data, err, sizeof err) != HM_OK)
    load_error(L, fn, path, err);
  return 1;
}

const luaL_Reg hmL_mat_io_funcs[] = {
  {"save_npy", mat_save_npy}, {"load_npy", mat_load_npy}, {NULL, NULL}};
