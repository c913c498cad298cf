/* hardmax.sys — the small OS layer of the experiment harness (lua/hardmax/exp.lua, plot.lua). */
#ifndef HM_LSYS_H
#define HM_LSYS_H
#include <lua.h>
int luaopen_hardmax_sys(lua_State *L);
/* adds the file functions (l_sys_files.c) to the sys table on top of the stack */
void hmL_sys_open_files(lua_State *L);
/* plot.lua's private gnuplot runner (l_gnuplot.c): run(dir, script, gpname) */
int hmL_run_gnuplot(lua_State *L);
/* hardmax.jsonc — internal fast paths of lua/hardmax/json.lua (l_jsonc.c) */
int luaopen_hardmax_jsonc(lua_State *L);
#endif
