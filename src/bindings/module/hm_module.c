/* hardmax.so: `require "hardmax"` from stock lua5.4. */
#include "hm_lua.h"

LUAMOD_API int luaopen_hardmax_so(lua_State *L);

/* Exported entry point: require "hardmax" looks for luaopen_hardmax, which hm_lua defines;
 * this file only makes sure it is linked into the module. */
LUAMOD_API int luaopen_hardmax_so(lua_State *L) { return luaopen_hardmax(L); }
