/* Split of the svm binding: l_svm.c (solvers) owns the module table and calls
 * hmL_svm_open_checks to add the theory checks of l_svm_checks.c and hmL_svm_open_conic to
 * add the conic solvers (nuclear norm, l_p) of l_svm_conic.c. Shared argument and result
 * helpers of l_svm.c and l_svm_checks.c: hm_lsvm_args.h. */
#ifndef HM_LSVM_H
#define HM_LSVM_H
#include "hm_lua.h"
#include "hm_objective.h"

/* Add functions to the table at the top of the stack. */
void hmL_svm_open_checks(lua_State *L);
void hmL_svm_open_conic(lua_State *L);
/* Next-token prediction (l_ntp.c): svm.ntp, svm.ntp_graph / data.ntp / model.ntp. */
void hmL_ntp_open_svm(lua_State *L);
void hmL_ntp_open_data(lua_State *L);
void hmL_ntp_open_model(lua_State *L);
/* The soft-label linear NTP model (l_ntp_soft.c), registered by the three functions above. */
void hmL_ntps_open_svm(lua_State *L);
void hmL_ntps_open_data(lua_State *L);
void hmL_ntps_open_model(lua_State *L);
int hmL_ntps_is_model(lua_State *L, int idx);
int hmL_ntps_is_objective(const hm_objective *o);
hm_objective *hmL_ntps_objective(lua_State *L, int model_idx, int data_idx, const char *fn);
hm_objective *hmL_ntps_method_objective(lua_State *L, int model_idx, int data_idx, const char *fn);
#endif
