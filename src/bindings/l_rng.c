/* hardmax.rng — explicit random generators (xoshiro256** seeded by SplitMix64, Box-Muller
 * normals; the algorithm is fixed in src/core/hm_rng.c and documented in docs/rng.md).
 *
 *   rng.new([seed])            generator for an integer seed (default 0)
 *   rng.default()              the default generator (seeded from --seed, default 0)
 *   rng.restore(state)         generator from a g:state() string
 *   g:randn([d1[, d2[, d3]]])  N(0,1) array of that shape (a number without dims)
 *   g:rand([d1[, d2[, d3]]])   U[0,1) array of that shape (a number without dims)
 *   g:normal(), g:uniform()    one draw
 *   g:randint(lo, hi)          uniform integer in [lo, hi] (unbiased)
 *   g:sign(n)                  rank-1 array of n independent ±1
 *   g:perm(n)                  random permutation of 1..n (Lua table)
 *   g:split(key)               child generator for an integer or string key
 *   g:state(), g:clone(), g:id(), tostring(g) */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hm_lua.h"

/* Type name for messages: the metatable's __name (e.g. hardmax.mat) or the Lua type. */
static const char *type_name(lua_State *L, int arg) {
  int t = luaL_getmetafield(L, arg, "__name");
  if (t == LUA_TSTRING) {
    const char *n = lua_tostring(L, -1);
    lua_pop(L, 1); /* still referenced by the metatable */
    return n;
  }
  if (t != LUA_TNIL) lua_pop(L, 1);
  return luaL_typename(L, arg);
}

hm_rng *hmL_checkrng(lua_State *L, int arg, const char *fn) {
  hm_rng *g = (hm_rng *)luaL_testudata(L, arg, HM_RNG_TNAME);
  if (!g) hmL_argerror(L, fn, arg, "rng expected, got %s", type_name(L, arg));
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

/* ---- module functions ----------------------------------------------------------------- */

static int rng_new(lua_State *L) {
  lua_Integer seed = lua_isnoneornil(L, 1) ? 0 : hmL_checkint(L, 1, "rng.new");
  hmL_newrng(L, (uint64_t)seed);
  return 1;
}

static int rng_default(lua_State *L) {
  default_rng(L);
  lua_getfield(L, LUA_REGISTRYINDEX, "hardmax.rng.default");
  return 1;
}

/* State string: "xoshiro256**:S0:S1:S2:S3:ID:C:X", each field 16 lowercase hex digits
 * except C (0 or 1: Box-Muller spare present); X is the bit pattern of the spare. */
#define STATE_PREFIX "xoshiro256**:"

static int rng_state(lua_State *L) {
  hm_rng *g = hmL_checkrng(L, 1, "rng.state");
  uint64_t bits;
  memcpy(&bits, &g->cached, sizeof bits);
  char buf[160];
  snprintf(buf, sizeof buf,
           STATE_PREFIX "%016" PRIx64 ":%016" PRIx64 ":%016" PRIx64 ":%016" PRIx64
                        ":%016" PRIx64 ":%d:%016" PRIx64,
           g->s[0], g->s[1], g->s[2], g->s[3], g->id, g->has_cached ? 1 : 0, bits);
  lua_pushstring(L, buf);
  return 1;
}

static int parse_hex16(const char **p, uint64_t *out) {
  uint64_t v = 0;
  for (int i = 0; i < 16; i++) {
    char c = (*p)[i];
    int d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      d = c - 'A' + 10;
    else
      return 0;
    v = (v << 4) | (uint64_t)d;
  }
  *p += 16;
  *out = v;
  return 1;
}

static int rng_restore(lua_State *L) {
  const char *fn = "rng.restore";
  if (lua_type(L, 1) != LUA_TSTRING)
    return hmL_argerror(L, fn, 1, "state string expected, got %s", luaL_typename(L, 1));
  size_t len;
  const char *s = lua_tolstring(L, 1, &len);
  const char *p = s;
  uint64_t v[5], bits = 0;
  int ok = strncmp(p, STATE_PREFIX, strlen(STATE_PREFIX)) == 0;
  if (ok) p += strlen(STATE_PREFIX);
  for (int k = 0; ok && k < 5; k++) {
    ok = parse_hex16(&p, &v[k]) && *p == ':';
    p++;
  }
  int cached = 0;
  if (ok) {
    ok = (*p == '0' || *p == '1') && p[1] == ':';
    cached = *p == '1';
    p += 2;
  }
  if (ok) ok = parse_hex16(&p, &bits) && (size_t)(p - s) == len;
  if (!ok) return hmL_argerror(L, fn, 1, "malformed rng state string '%s'", s);
  if ((v[0] | v[1] | v[2] | v[3]) == 0)
    return hmL_argerror(L, fn, 1, "invalid rng state (all-zero xoshiro state)");
  hm_rng *g = hmL_newrng(L, 0);
  for (int k = 0; k < 4; k++) g->s[k] = v[k];
  g->id = v[4];
  g->has_cached = cached;
  memcpy(&g->cached, &bits, sizeof bits);
  return 1;
}

/* ---- methods --------------------------------------------------------------------------- */

/* Shape arguments 2.. (0 to 3 sizes): pushes a fresh array and returns it, or returns NULL
 * when no dims are given. */
static hm_mat *shape_args(lua_State *L, const char *fn) {
  int top = lua_gettop(L);
  int rank = top - 1;
  if (rank == 0) return NULL;
  if (rank > HM_MAXRANK)
    hmL_error(L, fn, "at most %d dimensions expected, got %d", HM_MAXRANK, rank);
  size_t dim[HM_MAXRANK];
  for (int k = 0; k < rank; k++) dim[k] = hmL_checksize(L, k + 2, fn);
  return hmL_newmat(L, rank, dim, fn);
}

static int g_randn(lua_State *L) {
  const char *fn = "rng.randn";
  hm_rng *g = hmL_checkrng(L, 1, fn);
  hm_mat *m = shape_args(L, fn);
  if (!m)
    lua_pushnumber(L, hm_rng_normal(g));
  else
    hm_rng_fill_normal(g, m->data, m->size);
  return 1;
}

static int g_rand(lua_State *L) {
  const char *fn = "rng.rand";
  hm_rng *g = hmL_checkrng(L, 1, fn);
  hm_mat *m = shape_args(L, fn);
  if (!m)
    lua_pushnumber(L, hm_rng_uniform(g));
  else
    hm_rng_fill_uniform(g, m->data, m->size);
  return 1;
}

static int g_normal(lua_State *L) {
  hm_rng *g = hmL_checkrng(L, 1, "rng.normal");
  lua_pushnumber(L, hm_rng_normal(g));
  return 1;
}

static int g_uniform(lua_State *L) {
  hm_rng *g = hmL_checkrng(L, 1, "rng.uniform");
  lua_pushnumber(L, hm_rng_uniform(g));
  return 1;
}

static int g_randint(lua_State *L) {
  const char *fn = "rng.randint";
  hm_rng *g = hmL_checkrng(L, 1, fn);
  lua_Integer lo = hmL_checkint(L, 2, fn);
  lua_Integer hi = hmL_checkint(L, 3, fn);
  if (hi < lo) return hmL_error(L, fn, "empty range [%I, %I] (lo > hi)", lo, hi);
  uint64_t n = (uint64_t)hi - (uint64_t)lo + 1; /* 0 means the full 2^64 range */
  uint64_t r = n == 0 ? hm_rng_next(g) : hm_rng_below(g, n);
  lua_pushinteger(L, (lua_Integer)((uint64_t)lo + r));
  return 1;
}

static int g_sign(lua_State *L) {
  const char *fn = "rng.sign";
  hm_rng *g = hmL_checkrng(L, 1, fn);
  size_t n = hmL_checksize(L, 2, fn);
  hm_mat *m = hmL_newvec(L, n, fn);
  for (size_t i = 0; i < n; i++) m->data[i] = (hm_rng_next(g) >> 63) ? -1.0 : 1.0;
  return 1;
}

static int g_perm(lua_State *L) {
  const char *fn = "rng.perm";
  hm_rng *g = hmL_checkrng(L, 1, fn);
  size_t n = hmL_checksize(L, 2, fn);
  if (n > (size_t)INT_MAX - 1)
    return hmL_argerror(L, fn, 2, "permutation size at most %d expected, got %I", INT_MAX - 1,
                        (lua_Integer)n);
  lua_Integer *a = (lua_Integer *)lua_newuserdatauv(L, (n ? n : 1) * sizeof(lua_Integer), 0);
  for (size_t i = 0; i < n; i++) a[i] = (lua_Integer)i + 1;
  for (size_t i = n; i > 1; i--) { /* Fisher-Yates (Durstenfeld), from the end */
    size_t j = (size_t)hm_rng_below(g, (uint64_t)i);
    lua_Integer t = a[i - 1];
    a[i - 1] = a[j];
    a[j] = t;
  }
  lua_createtable(L, (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    lua_pushinteger(L, a[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}

/* Key bytes: integer k -> 'i' followed by the 8 bytes of k (two's complement, little-endian);
 * string s -> 's' followed by the bytes of s. The tag keeps integer and string keys apart. */
static int g_split(lua_State *L) {
  const char *fn = "rng.split";
  hm_rng *g = hmL_checkrng(L, 1, fn);
  luaL_Buffer b;
  int t = lua_type(L, 2);
  if (t == LUA_TNUMBER) {
    uint64_t k = (uint64_t)hmL_checkint(L, 2, fn);
    luaL_buffinit(L, &b);
    luaL_addchar(&b, 'i');
    for (int i = 0; i < 8; i++) luaL_addchar(&b, (char)(unsigned char)(k >> (8 * i)));
  } else if (t == LUA_TSTRING) {
    size_t len;
    const char *s = lua_tolstring(L, 2, &len);
    luaL_buffinit(L, &b);
    luaL_addchar(&b, 's');
    luaL_addlstring(&b, s, len);
  } else
    return hmL_argerror(L, fn, 2, "integer or string key expected, got %s",
                        type_name(L, 2));
  luaL_pushresult(&b);
  size_t klen;
  const char *key = lua_tolstring(L, -1, &klen);
  hm_rng child;
  hm_rng_split(g, key, klen, &child);
  hm_rng *c = hmL_newrng(L, 0);
  *c = child;
  return 1;
}

static int g_clone(lua_State *L) {
  hm_rng *g = hmL_checkrng(L, 1, "rng.clone");
  hm_rng *c = hmL_newrng(L, 0);
  *c = *g;
  return 1;
}

static int g_id(lua_State *L) {
  hm_rng *g = hmL_checkrng(L, 1, "rng.id");
  lua_pushinteger(L, (lua_Integer)g->id);
  return 1;
}

static int g_tostring(lua_State *L) {
  hm_rng *g = hmL_checkrng(L, 1, "rng.__tostring");
  char buf[64];
  snprintf(buf, sizeof buf, "rng(id=0x%016" PRIx64 ")", g->id);
  lua_pushstring(L, buf);
  return 1;
}

static const luaL_Reg meta[] = {{"__tostring", g_tostring}, {NULL, NULL}};

static const luaL_Reg methods[] = {
  {"randn", g_randn},     {"rand", g_rand},   {"normal", g_normal}, {"uniform", g_uniform},
  {"randint", g_randint}, {"sign", g_sign},   {"perm", g_perm},     {"split", g_split},
  {"state", rng_state},   {"clone", g_clone}, {"id", g_id},         {NULL, NULL}};

static const luaL_Reg funcs[] = {
  {"new", rng_new}, {"default", rng_default}, {"restore", rng_restore}, {NULL, NULL}};

int luaopen_hardmax_rng(lua_State *L) {
  hmL_newtype(L, HM_RNG_TNAME, meta, methods);
  luaL_newlib(L, funcs);
  return 1;
}
