/* Tab completion of Lua expressions, shared by the REPL (src/repl.c) and hardmax.complete. */
#ifndef HM_LCOMPLETE_H
#define HM_LCOMPLETE_H

#include <lua.h>

/* hardmax.complete(line_prefix) -> sorted array of candidate words.
 * The word completed is the trailing run of [A-Za-z0-9_.:] of line_prefix; each candidate is
 * that word completed (e.g. "x = mat.ze" -> {"mat.zeros"}). Globals and keywords complete
 * bare names; `t.` lists table fields (and __index tables of its metatable); `obj:` lists the
 * methods of userdata/strings/tables (function values reachable through __index tables).
 * Never calls metamethods or evaluates code: only raw field look-ups. */
int hmL_complete(lua_State *L);

#endif
