/* hardmax.rng — minimal binding (type, rng.new, default generator). The foundation issue
 * completes it (randn, rand, randint, sign, perm, split, state/restore). */
#include "hm_lua.h"

hm_rng *hmL_checkrng(lua_State *L, int arg, const char *fn) {
  hm_rng *g = (hm_rng *)luaL_testudata(L, arg, HM_RNG_TNAME);
  if (!g) hmL_argerror(L, fn, arg, "rng expected, got %s", luaL_typename(L, arg));
  return g;
}

hm_rng *hmL_newrng(lua_State *L, uint64_t seed) {
  hm_rng *g = (hm_rng *)lua_newuserdatauv(L, sizeof(hm_rng), 0);
  hm_rng_seed(g, seed);
  luaL_setmetatable(L, HM_RNG_TNAME);
  return g;
}

static hm_rng *default_rng(lua_State *L) {
  if (lua_getfield(L, LUA_REGISTRYINDEX, "hardmax.rng.default") == LUA_TNIL) {
    lua_pop(L, 1);
    lua_getfield(L, LUA_REGISTRYINDEX, "hardmax.seed");
    uint64_t seed = (uint64_t)lua_tointeger(L, -1);
    lua_pop(L, 1);
    hmL_newrng(L, seed);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, "hardmax.rng.default");
  }
  hm_rng *g = (hm_rng *)lua_touserdata(L, -1);
  lua_pop(L, 1); /* anchored in the registry */
  return g;
}

hm_rng *hmL_optrng(lua_State *L, int arg, const char *fn) {
  if (luaL_testudata(L, arg, HM_RNG_TNAME)) return (hm_rng *)lua_touserdata(L, arg);
  return default_rng(L);
}

static int rng_new(lua_State *L) {
  lua_Integer seed = lua_isnoneornil(L, 1) ? 0 : hmL_checkint(L, 1, "rng.new");
  hmL_newrng(L, (uint64_t)seed);
  return 1;
}

static const luaL_Reg funcs[] = {{"new", rng_new}, {NULL, NULL}};

int luaopen_hardmax_rng(lua_State *L) {
  hmL_newtype(L, HM_RNG_TNAME, NULL, NULL);
  luaL_newlib(L, funcs);
  return 1;
}
