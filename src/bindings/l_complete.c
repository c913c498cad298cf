/* hardmax.complete: completion candidates for the trailing expression of a line. Only raw
 * look-ups (tables, and __index tables of metatables) are made, so completing never runs
 * user code. */
#include <stdlib.h>
#include <string.h>

#include "hm_lcomplete.h"
#include "hm_lua.h"

#define MAX_INDEX_DEPTH 8

static const char *const keywords[] = {
  "and",  "break", "do",    "else",   "elseif", "end",  "false", "for",   "function", "goto",
  "if",   "in",    "local", "nil",    "not",    "or",   "repeat", "return", "then",   "true",
  "until", "while", NULL};

static int is_ident_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static int is_identifier(const char *s, size_t n) {
  if (n == 0 || (s[0] >= '0' && s[0] <= '9')) return 0;
  for (size_t i = 0; i < n; i++)
    if (!is_ident_char(s[i])) return 0;
  for (const char *const *k = keywords; *k; k++)
    if (strlen(*k) == n && memcmp(*k, s, n) == 0) return 0;
  return 1;
}

/* Push the table of fields the metatable of the value at idx provides: its __index table;
 * when __index is a function, the metatable's __methods table (the hardmax convention for
 * userdata that dispatch through a function, e.g. mat), or, when `listing`, the metatable
 * itself for a non-table value. Returns 0 (nothing pushed) when there is none. */
static int push_index_table(lua_State *L, int idx, int listing) {
  idx = lua_absindex(L, idx);
  if (!lua_getmetatable(L, idx)) return 0;
  if (lua_getfield(L, -1, "__index") == LUA_TTABLE) {
    lua_remove(L, -2);
    return 1;
  }
  lua_pop(L, 1);
  if (lua_getfield(L, -1, "__methods") == LUA_TTABLE) {
    lua_remove(L, -2);
    return 1;
  }
  lua_pop(L, 1);
  if (listing && lua_type(L, idx) != LUA_TTABLE) return 1;
  lua_pop(L, 1);
  return 0;
}

/* Raw field look-up following __index tables: replaces the value at the top by value[key]
 * (nil when not found). */
static void field(lua_State *L, const char *key, size_t len) {
  for (int depth = 0; depth < MAX_INDEX_DEPTH; depth++) {
    if (lua_istable(L, -1)) {
      lua_pushlstring(L, key, len);
      if (lua_rawget(L, -2) != LUA_TNIL) {
        lua_remove(L, -2);
        return;
      }
      lua_pop(L, 1);
    }
    if (!push_index_table(L, -1, 0)) break;
    lua_remove(L, -2);
  }
  lua_pop(L, 1);
  lua_pushnil(L);
}

/* Add the matching keys of the value at the top (and of its __index chain) to the set at
 * index set. */
static void collect(lua_State *L, int set, const char *partial, size_t plen, int methods) {
  int top = lua_gettop(L);
  lua_pushvalue(L, -1);
  for (int depth = 0; depth < MAX_INDEX_DEPTH; depth++) {
    if (lua_istable(L, -1)) {
      lua_pushnil(L);
      while (lua_next(L, -2)) {
        size_t klen;
        if (lua_type(L, -2) == LUA_TSTRING && (!methods || lua_isfunction(L, -1))) {
          const char *k = lua_tolstring(L, -2, &klen);
          int hidden = klen >= 2 && k[0] == '_' && k[1] == '_' &&
                       !(plen >= 2 && partial[0] == '_' && partial[1] == '_');
          if (!hidden && klen >= plen && memcmp(k, partial, plen) == 0 &&
              is_identifier(k, klen)) {
            lua_pushvalue(L, -2);
            lua_pushboolean(L, 1);
            lua_rawset(L, set);
          }
        }
        lua_pop(L, 1);
      }
    }
    if (!push_index_table(L, -1, 1)) break;
    lua_remove(L, -2);
  }
  lua_settop(L, top);
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int hmL_complete(lua_State *L) {
  size_t len;
  const char *line = luaL_checklstring(L, 1, &len);
  lua_settop(L, 1);
  size_t start = len;
  while (start > 0 && (is_ident_char(line[start - 1]) || line[start - 1] == '.' ||
                       line[start - 1] == ':'))
    start--;
  const char *word = line + start;
  size_t wlen = len - start;
  lua_newtable(L); /* 2: the set of keys */
  int set = 2;
  const char *sep = NULL;
  for (size_t i = 0; i < wlen; i++)
    if (word[i] == '.' || word[i] == ':') sep = word + i;
  /* a number, or a method call in the middle of the path: nothing to complete */
  int ok = !(wlen > 0 && word[0] >= '0' && word[0] <= '9') && !(wlen > 0 && word[0] == '.');
  if (ok && sep == NULL) {
    lua_pushglobaltable(L);
    collect(L, set, word, wlen, 0);
    lua_pop(L, 1);
    for (const char *const *k = keywords; *k; k++)
      if (strncmp(*k, word, wlen) == 0) {
        lua_pushstring(L, *k);
        lua_pushboolean(L, 1);
        lua_rawset(L, set);
      }
  } else if (ok) {
    lua_pushglobaltable(L);
    const char *p = word;
    while (p < sep) {
      const char *q = p;
      while (q < sep && *q != '.' && *q != ':') q++;
      if (*q == ':' && q != sep) ok = 0; /* a:b.c is not a path */
      if (!is_identifier(p, (size_t)(q - p))) ok = 0;
      if (!ok) break;
      field(L, p, (size_t)(q - p));
      p = q + 1;
    }
    if (ok && !lua_isnil(L, -1))
      collect(L, set, sep + 1, (size_t)(word + wlen - (sep + 1)), *sep == ':');
    lua_pop(L, 1);
  }
  /* sorted array of prefix .. key */
  size_t n = 0;
  lua_pushnil(L);
  while (lua_next(L, set)) {
    lua_pop(L, 1);
    n++;
  }
  const char **keys = (const char **)lua_newuserdatauv(L, (n ? n : 1) * sizeof(char *), 0);
  size_t i = 0;
  lua_pushnil(L);
  while (lua_next(L, set)) {
    lua_pop(L, 1);
    keys[i++] = lua_tostring(L, -1); /* anchored in the set */
  }
  qsort(keys, n, sizeof(char *), cmp_str);
  size_t plen = sep ? (size_t)(sep + 1 - word) : 0;
  lua_createtable(L, (int)n, 0);
  for (i = 0; i < n; i++) {
    lua_pushlstring(L, word, plen);
    lua_pushstring(L, keys[i]);
    lua_concat(L, 2);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}
