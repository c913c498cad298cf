/* Shared helpers of the Lua bindings: the mat userdata, argument and option checking,
 * error messages of the form "mat.mul: shapes 3x4 and 5x2 do not conform".
 * Modelled on lauxlib: every check either returns a valid value or raises a Lua error. */
#ifndef HM_LUA_H
#define HM_LUA_H

#include <lua.h>
#include <lauxlib.h>
#include "hm_mat.h"

#include "hm_rng.h"

#define HM_MAT_TNAME "hardmax.mat"
#define HM_RNG_TNAME "hardmax.rng"

/* The mat userdata: descriptor, then (for owners) the data itself in the same block.
 * A view keeps its parent alive through user value 1. */
typedef struct hm_lmat {
  hm_mat m;
  int is_view;
  int closed; /* set by __close: further use raises an error */
} hm_lmat;

/* "fn: message" as a Lua error. Never returns. */
int hmL_error(lua_State *L, const char *fn, const char *fmt, ...);
/* "fn: bad argument #arg (message)". Never returns. */
int hmL_argerror(lua_State *L, const char *fn, int arg, const char *fmt, ...);
/* Raise for a non-OK core status: "fn: <status message>". */
void hmL_check(lua_State *L, const char *fn, hm_status s);

/* Shape in Lua terms, e.g. "3x4" or "2x3x4". buf needs 80 bytes. */
const char *hmL_shapestr(const hm_mat *m, char *buf);

/* mat arguments */
hm_mat *hmL_testmat(lua_State *L, int arg);                   /* NULL if not a mat */
hm_mat *hmL_checkmat(lua_State *L, int arg, const char *fn);  /* error if not a live mat */
hm_mat *hmL_checkmatrank(lua_State *L, int arg, const char *fn, int rank); /* exact rank */

/* lua_newuserdatauv that names fn when the memory is not there: large blocks are allocated
 * in protected mode, so "fn: not enough memory for 8 TB" replaces Lua's bare "not enough
 * memory". */
void *hmL_newuserdata(lua_State *L, size_t bytes, int nuvalue, const char *fn);

/* Push a new zero-filled array (data in the payload). Raises on bad/overflowing sizes. */
hm_mat *hmL_newmat(lua_State *L, int rank, const size_t *dim, const char *fn);
hm_mat *hmL_newvec(lua_State *L, size_t n, const char *fn);
hm_mat *hmL_newmat2(lua_State *L, size_t rows, size_t cols, const char *fn);
hm_mat *hmL_newmat3(lua_State *L, size_t a, size_t b, size_t c, const char *fn);
/* Push a copy of a core descriptor's data as a fresh array. */
hm_mat *hmL_pushcopy(lua_State *L, const hm_mat *src, const char *fn);
/* Push a view aliasing data inside the array at stack index parent (which it pins). */
hm_mat *hmL_pushview(lua_State *L, int parent, int rank, const size_t *dim, double *data);

/* rng arguments (implemented in l_rng.c) */
hm_rng *hmL_checkrng(lua_State *L, int arg, const char *fn);
hm_rng *hmL_newrng(lua_State *L, uint64_t seed);  /* push a new generator */
/* The generator at arg if it is one, else the default generator (seeded from --seed). */
hm_rng *hmL_optrng(lua_State *L, int arg, const char *fn);

/* integers and numbers */
lua_Integer hmL_checkint(lua_State *L, int arg, const char *fn);       /* integral number */
size_t hmL_checksize(lua_State *L, int arg, const char *fn);           /* integer >= 0 */
/* 1-based Lua index in [1, n] -> 0-based. */
size_t hmL_checkindex(lua_State *L, int arg, size_t n, const char *fn);
double hmL_checkfinite(lua_State *L, int arg, const char *fn);

/* Option tables: a trailing table argument; unknown keys are an error listing the valid ones.
 * `allowed` is NULL-terminated. idx may be absent or nil (no options). */
void hmL_checkoptions(lua_State *L, int idx, const char *fn, const char *const *allowed);
double hmL_optnumber(lua_State *L, int idx, const char *key, double def, const char *fn);
lua_Integer hmL_optinteger(lua_State *L, int idx, const char *key, lua_Integer def, const char *fn);
int hmL_optboolean(lua_State *L, int idx, const char *key, int def, const char *fn);
const char *hmL_optstring(lua_State *L, int idx, const char *key, const char *def, const char *fn);
/* Push options[key] (or nil) and return its Lua type. */
int hmL_optfield(lua_State *L, int idx, const char *key);

/* Register a userdata type: metatable named tname with the metamethods in meta and an
 * __index table holding methods (so tab completion can list them). Leaves nothing on the stack. */
void hmL_newtype(lua_State *L, const char *tname, const luaL_Reg *meta, const luaL_Reg *methods);

/* Every C module of hardmax. */
int luaopen_hardmax_mat(lua_State *L);
int luaopen_hardmax_rng(lua_State *L);
int luaopen_hardmax_data(lua_State *L);
int luaopen_hardmax_model(lua_State *L);
int luaopen_hardmax_loss(lua_State *L);
int luaopen_hardmax_optim(lua_State *L);
int luaopen_hardmax_svm(lua_State *L);
int luaopen_hardmax_ad(lua_State *L);
int luaopen_hardmax(lua_State *L);

/* Host setup: install package.preload entries for every module (C and embedded Lua) and,
 * when `globals` is set, make the modules globals (mat, rng, data, ...). */
void hmL_openlibs(lua_State *L, int globals);

#endif
