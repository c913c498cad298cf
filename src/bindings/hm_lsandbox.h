/* The sandbox in a Lua state (l_sandbox.c): checks for the bindings, the wrapped standard
 * library, and hardmax.sandbox{} / hardmax.sandboxed(). The policy itself is hm_sandbox.h. */
#ifndef HM_LSANDBOX_H
#define HM_LSANDBOX_H
#include <lua.h>
#include "hm_sandbox.h"

/* Raise "sandbox: <fn>: '<path>' is outside the allowed paths" unless the policy permits
 * `access` (HM_SANDBOX_READ / HM_SANDBOX_WRITE) to path. A no-op when the sandbox is off. */
void hmL_sandbox_check(lua_State *L, const char *fn, const char *path, int access);
/* Raise "sandbox: <what> is disabled" when the sandbox is on. */
void hmL_sandbox_refuse(lua_State *L, const char *what);
/* Engage the sandbox (after hm_sandbox_allow) and wrap L's standard library: no
 * os.execute, io.popen, os.tmpname, package.loadlib, C searchers, debug (but for
 * debug.traceback), binary chunks;
 * io/os/loadfile/dofile/require file access through the policy. Idempotent per state. */
void hmL_sandbox_apply(lua_State *L);
/* hardmax.sandbox{read = {paths}, write = {paths}} and hardmax.sandboxed(). */
int hmL_sandbox_lua(lua_State *L);
int hmL_sandboxed(lua_State *L);
#endif
