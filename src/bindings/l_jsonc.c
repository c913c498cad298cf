/* hardmax.jsonc — C fast paths for lua/hardmax/json.lua (internal, not a public module).
 *
 * Result files are mostly arrays of numbers (curves recorded every k steps), and the Lua
 * codec handled them one string.format / tonumber at a time: about 2 ms to encode and 1 ms
 * to decode one SVM-F3 trial, a third of the flagship's run time. These two functions do
 * only the plain case — a flat array of finite-or-not numbers — with exactly the Lua
 * codec's output and values, and return nil for anything else so that json.lua handles it
 * (and reports its errors with their positions). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "hm_lsys.h"
#include "hm_lua.h"

/* json.number: integers as %d, floats as %.17g with ".0" when it reads as an integer,
 * NaN / Infinity / -Infinity spelled out. Takes the value off the stack before touching the
 * buffer (a luaL_Buffer must see the stack as it left it). */
static void add_number(lua_State *L, luaL_Buffer *b) {
  char buf[64];
  if (lua_isinteger(L, -1)) {
    lua_Integer v = lua_tointeger(L, -1);
    lua_pop(L, 1);
    snprintf(buf, sizeof buf, LUA_INTEGER_FMT, (LUAI_UACINT)v);
  } else {
    double x = (double)lua_tonumber(L, -1);
    lua_pop(L, 1);
    if (isnan(x)) {
      strcpy(buf, "NaN");
    } else if (isinf(x)) {
      strcpy(buf, x > 0 ? "Infinity" : "-Infinity");
    } else {
      snprintf(buf, sizeof buf, "%.17g", x);
      if (!strpbrk(buf, ".eEn")) strcat(buf, ".0");
    }
  }
  luaL_addstring(b, buf);
}

/* encode_numbers(t, n) -> "[x1,x2,...]" for t[1..n] all numbers, else nil */
static int encode_numbers(lua_State *L) {
  const char *fn = "jsonc.encode_numbers";
  if (!lua_istable(L, 1)) hmL_argerror(L, fn, 1, "table expected, got %s", luaL_typename(L, 1));
  lua_Integer n = hmL_checkint(L, 2, fn);
  for (lua_Integer i = 1; i <= n; i++) {
    int t = lua_rawgeti(L, 1, i);
    lua_pop(L, 1);
    if (t != LUA_TNUMBER) {
      lua_pushnil(L);
      return 1;
    }
  }
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  luaL_addchar(&b, '[');
  for (lua_Integer i = 1; i <= n; i++) {
    if (i > 1) luaL_addchar(&b, ',');
    lua_rawgeti(L, 1, i);
    add_number(L, &b);
  }
  luaL_addchar(&b, ']');
  luaL_pushresult(&b);
  return 1;
}

static size_t skip_ws(const char *s, size_t i, size_t len) {
  while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')) i++;
  return i;
}

/* The json.lua number token at s[i]: -?%d+%.?%d*[eE]?[-+]?%d* ; returns its length (0: none)
 * and whether it has integer syntax. */
static size_t number_token(const char *s, size_t i, size_t len, int *isint) {
  size_t j = i;
  if (j < len && s[j] == '-') j++;
  size_t d0 = j;
  while (j < len && s[j] >= '0' && s[j] <= '9') j++;
  if (j == d0) return 0;
  *isint = 1;
  if (j < len && s[j] == '.') j++, *isint = 0;
  while (j < len && s[j] >= '0' && s[j] <= '9') j++;
  if (j < len && (s[j] == 'e' || s[j] == 'E')) j++, *isint = 0;
  if (j < len && (s[j] == '-' || s[j] == '+')) j++;
  while (j < len && s[j] >= '0' && s[j] <= '9') j++;
  return j - i;
}

/* decode_numbers(s, i) -> t, j: s:sub(i, i) == "[" opens an array of plain numbers, t holds
 * them and j is the position after "]"; nil when anything else shows up. */
static int decode_numbers(lua_State *L) {
  const char *fn = "jsonc.decode_numbers";
  if (lua_type(L, 1) != LUA_TSTRING) hmL_argerror(L, fn, 1, "string expected, got %s", luaL_typename(L, 1));
  size_t len;
  const char *s = lua_tolstring(L, 1, &len);
  lua_Integer pos = hmL_checkint(L, 2, fn);
  if (pos < 1 || (size_t)pos > len || s[pos - 1] != '[') return 0;
  size_t i = skip_ws(s, (size_t)pos, len); /* 0-based, just after '[' */
  lua_newtable(L);
  if (i < len && s[i] == ']') {
    lua_pushinteger(L, (lua_Integer)i + 2);
    return 2;
  }
  char tok[128];
  for (lua_Integer k = 1;; k++) {
    int isint = 0;
    size_t n = number_token(s, i, len, &isint);
    if (n == 0 || n >= sizeof tok) return 0; /* not a number (or absurdly long): Lua decides */
    memcpy(tok, s + i, n);
    tok[n] = 0;
    if (lua_stringtonumber(L, tok) != n + 1) return 0; /* malformed, e.g. "1e": Lua's error */
    /* json.lua: integer syntax beyond 64 bits becomes a float, unless that float is an
     * exact integer in range (math.tointeger) */
    if (isint && !lua_isinteger(L, -1)) {
      lua_Integer iv;
      double x = (double)lua_tonumber(L, -1);
      if (lua_numbertointeger(x, &iv)) {
        lua_pop(L, 1);
        lua_pushinteger(L, iv);
      }
    }
    lua_rawseti(L, -2, k);
    i = skip_ws(s, i + n, len);
    if (i >= len) return 0;
    if (s[i] == ']') {
      lua_pushinteger(L, (lua_Integer)i + 2);
      return 2;
    }
    if (s[i] != ',') return 0;
    i = skip_ws(s, i + 1, len);
  }
}

static const luaL_Reg funcs[] = {
  {"encode_numbers", encode_numbers}, {"decode_numbers", decode_numbers}, {NULL, NULL}};

int luaopen_hardmax_jsonc(lua_State *L) {
  luaL_newlib(L, funcs);
  return 1;
}
