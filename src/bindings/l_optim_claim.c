/* hardmax.optim — runs in progress. optim.train claims its model and its optimizer for the
 * whole call; a call made meanwhile (from a train callback) that would change the claimed
 * model's parameters (optim.train, opt:step, optim.regpath) or drive the claimed optimizer
 * raises instead of silently corrupting the enclosing run: the outer run keeps the model's
 * objective, gradient buffers and the optimizer's state across its callbacks
 * (docs/optim.md, "Callbacks and nested runs"). The claims are keys of a weak registry
 * table; a to-be-closed lease on the claiming call's stack releases them when that call
 * returns or raises. */
#include "hm_loptim.h"

#define BUSY_KEY "hardmax.optim.busy"
#define LEASE_TNAME "hardmax.optim.lease"

static const char *const busy_msg[2] = {
  "the model is already being trained by an enclosing optim.train (called from its "
  "callback); train a copy (m:clone()) instead",
  "the optimizer is in use by an enclosing optim.train (called from its callback); give the "
  "inner run its own optimizer"};

static void push_busy(lua_State *L) {
  if (!luaL_getsubtable(L, LUA_REGISTRYINDEX, BUSY_KEY)) {
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
  }
}

void hmL_optim_check_idle(lua_State *L, int model_idx, int opt_idx, const char *fn) {
  const int idx[2] = {model_idx, opt_idx};
  push_busy(L);
  for (int k = 0; k < 2; k++) {
    if (idx[k] == 0 || lua_type(L, idx[k]) != LUA_TUSERDATA) continue;
    lua_pushvalue(L, idx[k]);
    if (lua_rawget(L, -2) != LUA_TNIL) hmL_error(L, fn, "%s", busy_msg[k]);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}

/* __close of a lease: release the claimed values (user values 1 and 2) */
static int lease_close(lua_State *L) {
  push_busy(L);
  for (int k = 1; k <= 2; k++) {
    if (lua_getiuservalue(L, 1, k) != LUA_TNIL) {
      lua_pushnil(L);
      lua_rawset(L, -3);
    } else {
      lua_pop(L, 1);
    }
  }
  return 0;
}

void hmL_optim_claim(lua_State *L, int model_idx, int opt_idx, const char *fn) {
  model_idx = lua_absindex(L, model_idx);
  opt_idx = opt_idx ? lua_absindex(L, opt_idx) : 0;
  hmL_optim_check_idle(L, model_idx, opt_idx, fn);
  const int idx[2] = {model_idx, opt_idx};
  lua_newuserdatauv(L, 0, 2);
  if (luaL_newmetatable(L, LEASE_TNAME)) {
    lua_pushcfunction(L, lease_close);
    lua_setfield(L, -2, "__close");
  }
  lua_setmetatable(L, -2);
  lua_toclose(L, -1); /* from here on the claims are released on return and on error */
  push_busy(L);
  for (int k = 0; k < 2; k++) {
    if (idx[k] == 0 || lua_type(L, idx[k]) != LUA_TUSERDATA) continue;
    lua_pushvalue(L, idx[k]);
    lua_setiuservalue(L, -3, k + 1);
    lua_pushvalue(L, idx[k]);
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
  }
  lua_pop(L, 1);
}
