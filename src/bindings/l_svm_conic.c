/* Conic max-margin solvers (nuclear norm, entrywise l_p) — placeholder until they land. */
#include "hm_lsvm.h"

void hmL_svm_open_conic(lua_State *L) { (void)L; }
