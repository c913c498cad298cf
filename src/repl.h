/* The interactive read-eval-print loop of the hardmax host (lua.c's algorithm with libedit
 * line editing, persistent history and tab completion). */
#ifndef HM_REPL_H
#define HM_REPL_H

#include <lua.h>

/* Run the REPL on L until end of input. */
void hm_repl(lua_State *L);

/* Provided by main.c: protected call with traceback and SIGINT handling (as lua.c's
 * docall), and error reporting without the program name (interactive mode). */
int hm_host_docall(lua_State *L, int narg, int nres);
int hm_host_report(lua_State *L, int status);

#endif
