/* .npz archives from Lua (l_mat_io.c), shared by mat.load_npz/save_npz and data.load/save. */
#ifndef HM_LNPZ_H
#define HM_LNPZ_H

#include "hm_lua.h"
#include "hm_npz.h"

/* Open path for reading. The handle lives in a userdata pushed on the stack (closed by its
 * __gc if a later error unwinds); hmL_npz_close(L, idx) closes it early. Raises
 * "fn: cannot open '<path>': ..." or "fn: '<path>': <problem>". */
hm_npz *hmL_npz_open(lua_State *L, const char *path, const char *fn);
void hmL_npz_close(lua_State *L, int idx);
/* Push member i (a .npy member) as a fresh mat; errors name fn and path. */
hm_mat *hmL_npz_pushmember(lua_State *L, hm_npz *z, size_t i, const char *path,
                           const char *fn);
/* Write items (names without .npy) to path; compress selects deflate. Raises on failure. */
void hmL_npz_save(lua_State *L, const char *path, const hm_npz_item *items, size_t n,
                  int compress, const char *fn);
/* 1 if path ends in ".npz" */
int hmL_is_npz_path(const char *path);

#endif
