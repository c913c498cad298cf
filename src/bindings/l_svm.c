/* hardmax.svm — placeholder until its issue lands (returns an empty module table). */
#include "hm_lua.h"

int luaopen_hardmax_svm(lua_State *L) {
  lua_newtable(L);
  return 1;
}
