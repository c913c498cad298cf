/* hardmax.svm — placeholder until its issue lands (returns an empty module table). */
#include "hm_lsvm.h"

int luaopen_hardmax_svm(lua_State *L) {
  lua_newtable(L);
  hmL_svm_open_conic(L);
  return 1;
}
