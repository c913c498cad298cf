/* Internals shared by the files of the mat binding (l_mat.c, l_mat_math.c, l_mat_linalg.c, l_mat_io.c).
 * Other modules use the hmL_* helpers of hm_lua.h instead. */
#ifndef HM_LMAT_H
#define HM_LMAT_H

#include "hm_lua.h"

/* Registration tables of the secondary files: functions that are both mat.f(A, ...) and
 * methods A:f(...), and module-only functions. */
extern const luaL_Reg hmL_mat_linalg_methods[];
extern const luaL_Reg hmL_mat_math_methods[];
extern const luaL_Reg hmL_mat_io_funcs[];

/* "3x4" of the mat at stack index i (buf of 80 bytes). */
const char *hmL_matshape(lua_State *L, int i, char *buf);
/* Raise "fn: <status message>" with extra context for common statuses. */
void hmL_matcheck(lua_State *L, const char *fn, hm_status s);
/* A rank-2 argument, or raise "fn: bad argument #arg (rank-2 mat expected, got shape 3)". */
hm_mat *hmL_checkmatrix(lua_State *L, int arg, const char *fn);
/* A rank-2 square argument. */
hm_mat *hmL_checksquare(lua_State *L, int arg, const char *fn);
/* Shared argument checks of l_mat.c and l_mat_math.c */
int hmL_mat_same_shape(const hm_mat *a, const hm_mat *b);
void hmL_mat_shape_error(lua_State *L, const char *fn, int a, int b); /* "shapes 2x3 and 3 do not conform" */
int hmL_mat_checkaxis(lua_State *L, int arg, const hm_mat *m, const char *fn); /* 1-based -> 0-based */
double hmL_mat_checknumber(lua_State *L, int arg, const char *fn);
/* Raise for non-finite entries of the argument. */
void hmL_checkallfinite(lua_State *L, int arg, const hm_mat *m, const char *fn);

#endif
