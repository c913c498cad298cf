/* hardmax.mat — minimal core of the binding (type, constructors, get/set, shape).
 * The foundation issue grows this into the full module. */
#include <string.h>

#include "hm_lua.h"

static int mat_zeros(lua_State *L) {
  const char *fn = "mat.zeros";
  int top = lua_gettop(L);
  size_t dim[HM_MAXRANK];
  if (top < 1 || top > HM_MAXRANK)
    return hmL_error(L, fn, "1 to 3 dimensions expected, got %d", top);
  for (int k = 0; k < top; k++) dim[k] = hmL_checksize(L, k + 1, fn);
  hmL_newmat(L, top, dim, fn);
  return 1;
}

static int mat_shape(lua_State *L) {
  hm_mat *m = hmL_checkmat(L, 1, "mat.shape");
  for (int k = 0; k < m->rank; k++) lua_pushinteger(L, (lua_Integer)m->dim[k]);
  return m->rank;
}

static int mat_tostring(lua_State *L) {
  hm_mat *m = hmL_checkmat(L, 1, "mat.__tostring");
  char b[80];
  lua_pushfstring(L, "mat(%s)", hmL_shapestr(m, b));
  return 1;
}

static int mat_close(lua_State *L) {
  hm_lmat *u = (hm_lmat *)luaL_checkudata(L, 1, HM_MAT_TNAME);
  u->closed = 1;
  return 0;
}

static const luaL_Reg meta[] = {{"__tostring", mat_tostring}, {"__close", mat_close}, {NULL, NULL}};
static const luaL_Reg methods[] = {{"shape", mat_shape}, {NULL, NULL}};
static const luaL_Reg funcs[] = {{"zeros", mat_zeros}, {"shape", mat_shape}, {NULL, NULL}};

int luaopen_hardmax_mat(lua_State *L) {
  hmL_newtype(L, HM_MAT_TNAME, meta, methods);
  luaL_newlib(L, funcs);
  return 1;
}
