/* Split of the svm binding: l_svm.c (QP family, checks) owns the module table and calls
 * hmL_svm_open_conic to add the conic solvers (nuclear norm, l_p) of l_svm_conic.c. */
#ifndef HM_LSVM_H
#define HM_LSVM_H
#include "hm_lua.h"

/* Adds functions to the table at the top of the stack. */
void hmL_svm_open_conic(lua_State *L);
#endif
